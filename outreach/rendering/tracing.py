"""The environment templates are traced in: the shared sandbox, taught to handle holes (`holes.py`).

It is the rendering environment (same loader, filters, globals, sandbox and strictness) with:

- `finalize` turning an output hole into a slot mark, so the traced output shows where each goes;
- `getattr`, `getitem` and `call` on holes giving holes (read through the plain sandbox);
- filters and tests wrapped: given a hole, a replayable filter gives a hole, a test a recorded decision,
  and any other filter refuses;
- `random` and `lipsum` refusing: their output differs at each render, so no stencil may freeze it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from jinja2.runtime import Context

from outreach.rendering.environment import OutreachSandbox, make_environment
from outreach.rendering.holes import Hole, NotStencilable, first_hole, passes_jinja_argument

REPLAYABLE_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "d",
        "date_fr",
        "default",
        "e",
        "escape",
        "float",
        "int",
        "lower",
        "month_fr",
        "round",
        "string",
        "title",
        "trim",
        "upper",
    }
)
"""Filters that depend on nothing but their arguments: applied to a hole, they are replayed per message."""


class TracingSandbox(OutreachSandbox):
    """The rendering sandbox, with holes for per-message values (see the module docstring)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is Hole:
            return obj.tracer.attribute(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(obj) is Hole:
            return obj.tracer.item(obj, argument)
        if type(argument) is Hole:
            return argument.tracer.item(obj, argument)
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if type(__obj) is Hole:
            return __obj.tracer.call(__context, __obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _finalize(value: Any) -> Any:
    """Every `{{ ... }}` output passes here: a hole becomes a slot mark, anything else stays as it is."""
    return value.tracer.slot(value) if type(value) is Hole else value


def _traced_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    replayable = name in REPLAYABLE_FILTERS and not passes_jinja_argument(function)

    @wraps(function)  # keeps Jinja's pass-argument marker, so Jinja calls it as it calls the filter
    def traced(*args: Any, **kwargs: Any) -> Any:
        hole = first_hole(args, kwargs)
        if hole is None:
            return function(*args, **kwargs)
        if not replayable:
            raise NotStencilable(f"the filter {name!r} applied to a per-message value")
        return hole.tracer.filtered(function, args, kwargs)

    return traced


def _traced_test(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    replayable = not passes_jinja_argument(function)

    @wraps(function)
    def traced(*args: Any, **kwargs: Any) -> Any:
        hole = first_hole(args, kwargs)
        if hole is None:
            return function(*args, **kwargs)
        if not replayable:
            raise NotStencilable(f"the test {name!r} applied to a per-message value")
        return hole.tracer.tested(function, args, kwargs)

    return traced


def _refused(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NotStencilable(f"{name} gives a different result at each render")

    return refuse


def make_tracing_environment(root: Path) -> TracingSandbox:
    """The tracing twin of `make_environment(root)`."""
    environment = make_environment(root, TracingSandbox)
    environment.finalize = _finalize
    environment.filters = {name: _traced_filter(name, f) for name, f in environment.filters.items()}
    environment.tests = {name: _traced_test(name, f) for name, f in environment.tests.items()}
    environment.filters["random"] = _refused("the filter 'random'")
    environment.globals["lipsum"] = _refused("lipsum()")
    return environment
