"""How much work and text one render may take: a template that runs away stops at its file and line.

The sandbox keeps a template away from Python internals, not from wasting the machine: two nested
`range(100000)` loops, a macro calling itself twice per call, or a string doubled in a loop would hang
`templates lint` or a campaign. Every render is bounded instead, with limits far above what a letter,
an e-mail or an SMS needs (the project's largest e-mail is ~7,000 characters of HTML and loops over
nothing):

- `range()` gives at most `MAX_RANGE` numbers;
- one render makes at most `MAX_STEPS` loop turns and calls together (each `{% for %}` turn, each
  call of a macro, a function or `track`), so no loop nesting or recursion goes on forever;
- no text it builds — its output, a macro's or block's output, `a ~ b`, `a + b`, `"-" * n` — may pass
  `MAX_TEXT` characters, and no list `MAX_TEXT` items;
- no number it computes with `*` or `**` may pass `MAX_NUMBER_BITS` bits.

Crossing one raises `RenderLimitError` from the template's own frame, which the renderer turns into a
`TemplateError` naming the file and the line: the message is not rendered (nothing half-written is
sent), a send halts, `templates lint` lists it. Stencil fills (`stencil.py`) replay a bounded render's
texts with the message's values and run no loop, so they need no bound of their own.

Left unbounded: filters given huge arguments (`center(10**9)`) and `%`-formatting widths, which build
their result in one step before anything can look at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

MAX_RANGE = 10_000
MAX_STEPS = 100_000
MAX_TEXT = 200_000
MAX_NUMBER_BITS = 4_096
"""A number of 1,233 digits: money and dates need a few."""

_SIZED = (str, list, tuple)


class RenderLimitError(Exception):
    """A render went past one of this module's limits.

    Deliberately not a `RenderError` (the renderer would pass it on without locating it in the
    template) nor a TypeError, LookupError or AttributeError (Jinja and the sandbox turn those into
    undefined values).
    """

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


class _Budget:
    """The loop turns and calls left to one render."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = MAX_STEPS

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise RenderLimitError(
                f"more than {MAX_STEPS:,} loop turns and calls in one message",
                "a loop or a macro calling itself runs away: bound it",
            )


_current: ContextVar[_Budget | None] = ContextVar("outreach_render_budget", default=None)


def _budget() -> _Budget:
    """The budget of the render under way (a loose one outside a bounded render: never unbounded)."""
    return _current.get() or _Budget()


def spend_step() -> None:
    """Count one call against the render under way (the sandbox's `call`)."""
    _budget().spend()


def counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """`iterable`, each item counted as a loop turn of the render under way."""
    budget = _budget()
    for item in iterable:
        budget.spend()
        yield item


def bounded_range(*args: int) -> range:
    """The template's `range()`: at most `MAX_RANGE` numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderLimitError(
            f"range() of {len(numbers):,} numbers (at most {MAX_RANGE:,})", "loop over fewer numbers"
        )
    return numbers


def _too_long(size: int) -> RenderLimitError:
    return RenderLimitError(
        f"a text or list of {size:,} characters or items (at most {MAX_TEXT:,})",
        "a loop or a repetition writes far more than a message holds",
    )


def checked_text(value: Any) -> Any:
    """`value` (the result of `a ~ b`), refused if it is too long."""
    if len(value) > MAX_TEXT:
        raise _too_long(len(value))
    return value


def bounded_join(chunks: Iterable[str]) -> str:
    """`Environment.concat`: joins what a template, block or macro writes, up to `MAX_TEXT` characters.

    The outermost join runs the whole render (Jinja renders lazily, as the output is consumed), so
    it is the one that opens the render's step budget. Too much output is thrown into the template's
    own generator, so the error comes from the line that wrote it.
    """
    token = _current.set(_Budget()) if _current.get() is None else None
    try:
        pieces: list[str] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_TEXT:
                error = _too_long(size)
                throw = getattr(chunks, "throw", None)
                if throw is not None:
                    throw(error)
                raise error
            pieces.append(chunk)
        return "".join(pieces)
    finally:
        if token is not None:
            _current.reset(token)


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left <operator> right` (`*`, `**` or `+`) before it builds something too large."""
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, _SIZED) and isinstance(count, int) and len(sequence) * count > MAX_TEXT:
                raise _too_long(len(sequence) * count)
        if _bits(left) + _bits(right) > MAX_NUMBER_BITS:
            raise _too_big()
    elif operator == "**":
        if isinstance(right, int) and _bits(left) * max(right, 0) > MAX_NUMBER_BITS:
            raise _too_big()
    elif isinstance(left, _SIZED) and isinstance(right, _SIZED) and len(left) + len(right) > MAX_TEXT:
        raise _too_long(len(left) + len(right))


def _too_big() -> RenderLimitError:
    return RenderLimitError(f"a number of more than {MAX_NUMBER_BITS:,} bits", "compute smaller numbers")


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's compiler, with every `{% for %}` loop counted and every `~` checked (see the module).

    The loop's iterable becomes `environment.counted_loop(<iterable>)`, a call the sandbox makes; the
    node is copied, so the template's tree (which the lint and the stencil gate read) is unchanged.
    """

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        loop = nodes.For(
            node.target,
            nodes.Call(
                nodes.EnvironmentAttribute("counted_loop", lineno=node.lineno),
                [node.iter],
                [],
                None,
                None,
                lineno=node.lineno,
            ),
            node.body,
            node.else_,
            node.test,
            node.recursive,
            lineno=node.lineno,
        )
        super().visit_For(loop, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_text(")
        super().visit_Concat(node, frame)
        self.write(")")
