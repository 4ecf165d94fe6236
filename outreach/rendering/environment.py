"""The Jinja environment every channel shares: sandboxed, strict, autoescaped for HTML.

- `ImmutableSandboxedEnvironment`: templates are written by the communication team, not by
  programmers; the sandbox refuses `__class__`, `__globals__` and friends, so a template cannot reach
  Python internals, and cannot change shared values either (`fund.clear()`, `list.append`).
- Values are plain mappings (`person.first_name` is a key): the sandbox checks every attribute read
  on an object, but a key read costs nothing more than in bare Jinja.
- `StrictUndefined`: a missing variable raises instead of printing an empty string.
- Autoescape for `.html` files only: the text part of an e-mail and SMS bodies are not HTML.
- The loader inlines the mail stylesheet into `mail/*.html` sources as they load (see `inline.py`).
- Bounded: a render's loops, calls, texts and numbers are limited (see `limits.py`), so a runaway
  template stops at its file and line instead of hanging a lint or a campaign.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from jinja2 import (
    BaseLoader,
    Environment,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from outreach.rendering.errors import TemplateError
from outreach.rendering.french import french_date, french_month
from outreach.rendering.fund import FUND_VALUES
from outreach.rendering.inline import inline_template_source
from outreach.rendering.limits import (
    BoundedCodeGenerator,
    RenderLimitError,
    bounded_join,
    bounded_range,
    check_binop,
    checked_text,
    counted,
    spend_step,
)

MAIL_STYLESHEET = "mail/_styles.css"
_PLAIN_MAPPINGS = (dict, MappingProxyType)
_NO_ATTRIBUTE = re.compile(r"^'[\w .]+' has no attribute ('[^']+')$")


class OutreachSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, bounded (`limits.py`), reading keys of plain mappings first.

    Jinja resolves `person.first_name` by trying the attribute, catching the AttributeError, then
    the key; the context is made of plain dicts, so reading the key first skips an exception per
    variable (a third of the rendering time of an e-mail). It is as safe: a key of our own mapping is
    data we put there, and anything else (`x.__class__`, methods) falls through to the sandbox's
    checks unchanged.
    """

    code_generator_class = BoundedCodeGenerator
    concat = staticmethod(bounded_join)
    intercepted_binops = frozenset({"*", "**", "+"})
    counted_loop = staticmethod(counted)
    checked_text = staticmethod(checked_text)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) in _PLAIN_MAPPINGS:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call a template makes (macro, function, `track`) counts as a step of its render."""
        spend_step()
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`*`, `**` and `+`, refused before they build a text, list or number past the limits."""
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


Sandbox = TypeVar("Sandbox", bound=OutreachSandbox)


class TemplateLoader(BaseLoader):
    """Reads `templates/<channel>/<file>`; mail HTML comes back with its CSS already inlined."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.root.joinpath(*split_template_path(template))
        if not path.is_file():
            raise TemplateNotFound(template)
        mtime = path.stat().st_mtime
        source = path.read_text(encoding="utf-8")
        if template.startswith("mail/") and template.endswith(".html"):
            css = (self.root / MAIL_STYLESHEET).read_text(encoding="utf-8")
            try:
                source = inline_template_source(source, css)
            except ValueError as exc:
                raise TemplateError(template, None, str(exc), "make each partial a whole element") from exc
        return source, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime

    def list_templates(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())


def configure(environment: Environment) -> Environment:
    """Filters and globals shared by the sandboxed environment and the benchmark's bare one."""
    environment.filters["date_fr"] = french_date
    environment.filters["month_fr"] = french_month
    environment.globals["fund"] = FUND_VALUES
    return environment


def make_environment(root: Path, sandbox: type[Sandbox] = OutreachSandbox) -> Sandbox:  # type: ignore[assignment]
    """The environment templates under `root` are compiled in (one per `Renderer`; `sandbox` for tracing)."""
    environment = sandbox(
        loader=TemplateLoader(root),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.globals["range"] = bounded_range
    return configure(environment)


def _template_frame(exc: BaseException, root: Path) -> tuple[str | None, int | None]:
    """The innermost template file and line in `exc`'s (Jinja-rewritten) traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        try:
            relative = Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        return relative.as_posix(), frame.lineno
    return None, None


def template_error(exc: Exception, name: str, root: Path) -> TemplateError:
    """Turn whatever Jinja raised while loading or rendering `name` into a one-line `TemplateError`."""
    if isinstance(exc, TemplateError):
        return exc
    if isinstance(exc, TemplateSyntaxError):
        where = exc.name or exc.filename or name
        return TemplateError(where, exc.lineno, f"syntax error: {exc.message}", "correct the Jinja syntax")
    if isinstance(exc, TemplateNotFound):
        return TemplateError(name, None, f"template file {exc.name} not found", "create it or fix the name")
    template, line = _template_frame(exc, root)
    where = template or name
    if isinstance(exc, RenderLimitError):
        return TemplateError(where, line, f"too much for one message: {exc.problem}", exc.fix)
    if isinstance(exc, SecurityError):
        return TemplateError(where, line, f"unsafe access refused by the sandbox: {exc}", "remove it")
    if isinstance(exc, UndefinedError):
        plain = _NO_ATTRIBUTE.sub(r"\1 is not defined", exc.message or "")
        return TemplateError(
            where,
            line,
            f"undefined variable: {plain}",
            "use a documented variable (templates/README.md)",
        )
    return TemplateError(where, line, f"{type(exc).__name__}: {exc}", "correct the expression")
