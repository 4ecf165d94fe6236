"""`Renderer`: one message of one template for one context, per channel; compiled templates are cached.

Template names are channel-independent (`career_statement_35`, `career_statement_35_fragile`); each
channel has its files:

    mail/NAME.txt   subject, preheader and plain-text body  (blocks `subject`, `preheader`, `content`),
                    and its message class (`message_class.py`: information, or service)
    mail/NAME.html  HTML body                               (block `content`, CSS inlined at load)
    sms/NAME.txt    SMS body, with its max_segments header
    letter/NAME.html  letter body in the letter markup (see `letter_markup.py`)

Files whose name starts with `_` are layouts and partials, never messages. Everything that can be
prepared once (loading, CSS inlining, compiling, header parsing) is done on first use and cached.
E-mails and SMS are then filled from stencils (`stencil.py`): the template's text rendered once with
holes for the per-message values, checked against a full render; a message no stencil fits is
rendered in full. Any failure raises a `RenderError`, from the full render; a render's work and size
are bounded (`limits.py`), so a runaway template raises a `TemplateError` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Template

from outreach.config import PROJECT_ROOT
from outreach.rendering.environment import make_environment, template_error
from outreach.rendering.errors import RenderError, SmsTooLongError, TemplateError
from outreach.rendering.form import Form
from outreach.rendering.french import one_line
from outreach.rendering.gsm import measure, transliterate
from outreach.rendering.letter_markup import LetterContent, parse_letter
from outreach.rendering.message_class import MessageClass, email_headers, read_message_class
from outreach.rendering.sms_header import SmsHeader, read_sms_header
from outreach.rendering.stencil import Forms, Parts, PartsRender, StencilSet
from outreach.rendering.stencil_gate import stencil_obstacle
from outreach.rendering.tracing import TracingSandbox, make_tracing_environment

CHANNEL_FILES = {
    "email": ("mail", (".txt", ".html")),
    "sms": ("sms", (".txt",)),
    "letter": ("letter", (".html",)),
}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An e-mail ready for a provider: subject, preheader (already inside `html`), HTML and text parts,
    and its own headers (List-Unsubscribe with this message's signed URL, see `message_class.py`)."""

    subject: str
    preheader: str
    html: str
    text: str
    html_form: Form | None = None
    """`html` as its template's texts and this message's values, when it was filled from a stencil."""
    text_form: Form | None = None
    """The same for `text`."""
    message_class: MessageClass = "information"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RenderedSms:
    """An SMS body and what it will cost: encoding, length in that encoding's units, segments."""

    body: str
    encoding: str
    segments: int
    characters: int
    sender: str


@dataclass(frozen=True, slots=True)
class _Email:
    text: Template
    html: Template
    text_stencils: StencilSet
    html_stencils: StencilSet
    message_class: MessageClass


@dataclass(frozen=True, slots=True)
class _Sms:
    template: Template
    header: SmsHeader
    stencils: StencilSet


def _one_line(text: str) -> str:
    return one_line(text)


_one_line_cached = lru_cache(maxsize=256)(_one_line)
"""For subjects and preheaders, the same for most messages of a campaign."""


def _text_parts(template: Template, namespace: Mapping[str, Any]) -> Parts:
    """The text part of an e-mail, with its subject and preheader blocks (rendered in its context)."""
    context = template.new_context(namespace)
    join = template.environment.concat  # bounded: see `limits.py`
    text = join(template.root_render_func(context))
    blocks = context.blocks  # now holds the blocks of the whole inheritance chain
    if "subject" not in blocks or "preheader" not in blocks:
        raise TemplateError(
            template.name, None, "no subject or preheader block", "add both blocks to the text part"
        )
    subject = join(blocks["subject"][0](context))
    return {"text": text, "subject": subject, "preheader": join(blocks["preheader"][0](context))}


def _whole(template: Template, namespace: Mapping[str, Any]) -> Parts:
    """The one output of a template (an e-mail's HTML part, an SMS body)."""
    join = template.environment.concat  # bounded: see `limits.py`
    return {"body": join(template.root_render_func(template.new_context(namespace)))}


class Renderer:
    """Renders messages from the templates under `templates_dir` (default: the project's `templates/`)."""

    def __init__(self, templates_dir: Path | str | None = None, *, stencils: bool = True) -> None:
        """`stencils=False` renders every message in full: the reference stencils are checked against."""
        self.root = Path(templates_dir or PROJECT_ROOT / "templates").resolve()
        self._use_stencils = stencils
        self.environment = make_environment(self.root)
        self._emails: dict[str, _Email] = {}
        self._sms: dict[str, _Sms] = {}
        self._letters: dict[str, Template] = {}
        self._tracing: TracingSandbox | None = None

    # -- discovery -----------------------------------------------------------------------------------

    def names(self, channel: str) -> list[str]:
        """The message templates of `channel` ("email", "sms" or "letter"), partials excluded."""
        folder, extensions = CHANNEL_FILES[channel]
        directory = self.root / folder
        if not directory.is_dir():
            return []
        stems = {p.name.removesuffix(extensions[0]) for p in directory.glob(f"*{extensions[0]}")}
        return sorted(
            stem
            for stem in stems
            if not stem.startswith("_") and all((directory / f"{stem}{ext}").is_file() for ext in extensions)
        )

    def has(self, channel: str, name: str) -> bool:
        """Whether `name` exists for `channel` (all of its files)."""
        folder, extensions = CHANNEL_FILES[channel]
        return all((self.root / folder / f"{name}{ext}").is_file() for ext in extensions)

    # -- loading (once per template) -----------------------------------------------------------------

    def _load(self, path: str) -> Template:
        try:
            return self.environment.get_template(path)
        except RenderError:
            raise
        except Exception as exc:
            raise template_error(exc, path, self.root) from exc

    def _stencils(self, path: str, render: PartsRender) -> StencilSet:
        """The stencils of the template `path`, empty until messages are rendered."""
        if self._tracing is None:
            self._tracing = make_tracing_environment(self.root)
        tracing = self._tracing
        try:
            obstacle = stencil_obstacle(tracing, path) if self._use_stencils else "stencils are off"
        except Exception as exc:  # the full render reports template problems; here it only means no stencil
            obstacle = f"{type(exc).__name__}: {exc}"
        return StencilSet(render, lambda: tracing.get_template(path), self.environment, obstacle)

    def _email(self, name: str) -> _Email:
        loaded = self._emails.get(name)
        if loaded is None:
            text_path, html_path = f"mail/{name}.txt", f"mail/{name}.html"
            text, html = self._load(text_path), self._load(html_path)
            source = (self.root / text_path).read_text(encoding="utf-8")
            loaded = _Email(
                text,
                html,
                self._stencils(text_path, _text_parts),
                self._stencils(html_path, _whole),
                read_message_class(text_path, source),
            )
            self._emails[name] = loaded
        return loaded

    def _sms_loaded(self, name: str) -> _Sms:
        loaded = self._sms.get(name)
        if loaded is None:
            path = f"sms/{name}.txt"
            template = self._load(path)
            source = (self.root / path).read_text(encoding="utf-8")
            loaded = _Sms(template, read_sms_header(path, source), self._stencils(path, _whole))
            self._sms[name] = loaded
        return loaded

    def sms_template(self, name: str) -> tuple[Template, SmsHeader]:
        """The compiled SMS template `name` and its declared header."""
        loaded = self._sms_loaded(name)
        return loaded.template, loaded.header

    def _letter(self, name: str) -> Template:
        loaded = self._letters.get(name)
        if loaded is None:
            loaded = self._letters[name] = self._load(f"letter/{name}.html")
        return loaded

    def stencil_obstacles(self, channel: str, name: str) -> list[str]:
        """Why messages of `name` on `channel` ("email" or "sms") are rendered in full; empty if they are
        filled from stencils (known once the template is loaded; a refusal met while tracing shows
        after the first messages)."""
        if channel == "email":
            loaded = self._email(name)
            sets = (loaded.text_stencils, loaded.html_stencils)
        else:
            sets = (self._sms_loaded(name).stencils,)
        return [stencils.obstacle for stencils in sets if stencils.obstacle is not None]

    def _fail(self, exc: Exception, name: str) -> RenderError:
        """A one-line error for `exc`, located in the template thanks to Jinja's rewritten traceback."""
        try:
            self.environment.handle_exception()
        except Exception as rewritten:  # handle_exception always raises, with template lines
            return template_error(rewritten, name, self.root)
        return template_error(exc, name, self.root)  # pragma: no cover - handle_exception always raises

    # -- rendering (once per message) ----------------------------------------------------------------

    def _parts(
        self,
        stencils: StencilSet,
        render: PartsRender,
        template: Template,
        namespace: Mapping[str, Any],
        name: str,
    ) -> tuple[Parts, Forms | None]:
        """A message's parts, with their forms if a stencil fits; else rendered in full (and learnt)."""
        forms = stencils.fill(namespace)
        if forms is not None:
            return {part: form.text() for part, form in forms.items()}, forms
        try:
            parts = render(template, namespace)
        except RenderError:
            raise
        except Exception as exc:
            raise self._fail(exc, name) from exc
        stencils.learn(namespace, parts)
        return parts, None

    def message_class(self, name: str) -> MessageClass:
        """What the e-mail `name` declares it is: information (the default) or service."""
        return self._email(name).message_class

    def email(self, name: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Subject, preheader, HTML, text and headers of the e-mail `name` for `context`."""
        templates = self._email(name)
        # The layouts' footers differ by class: an information e-mail offers to stop them, a service
        # e-mail (about the person's own file) says why it comes anyway.
        text_namespace = {**context, "message_class": templates.message_class}
        text, text_forms = self._parts(
            templates.text_stencils, _text_parts, templates.text, text_namespace, f"mail/{name}"
        )
        subject, preheader = _one_line_cached(text["subject"]), _one_line_cached(text["preheader"])
        html_namespace = {**text_namespace, "subject": subject, "preheader": preheader}
        html, html_forms = self._parts(
            templates.html_stencils, _whole, templates.html, html_namespace, f"mail/{name}"
        )
        return RenderedEmail(
            subject,
            preheader,
            html["body"],
            text["text"].strip() + "\n",
            html_forms["body"] if html_forms else None,
            text_forms["text"].stripped() if text_forms else None,
            templates.message_class,
            email_headers(templates.message_class, context["links"]["unsubscribe"]),
        )

    def sms(self, name: str, context: Mapping[str, Any]) -> RenderedSms:
        """The SMS `name` for `context`: one line, transliterated if declared, within its segments."""
        loaded = self._sms_loaded(name)
        header = loaded.header
        parts, _ = self._parts(loaded.stencils, _whole, loaded.template, context, f"sms/{name}")
        body = _one_line(parts["body"])
        if header.transliterate:
            body = transliterate(body)
        length = measure(body)
        if length.segments > header.max_segments:
            raise SmsTooLongError(
                f"sms/{name}.txt", length.segments, header.max_segments, length.encoding, length.characters
            )
        return RenderedSms(body, length.encoding, length.segments, length.characters, self.fund_sender)

    @property
    def fund_sender(self) -> str:
        """The alphanumeric sender SMS are sent from (at most 11 characters)."""
        return self.environment.globals["fund"]["sms_sender"]

    def letter(self, name: str, context: Mapping[str, Any]) -> LetterContent:
        """The letter `name` for `context`, as typed blocks ready for page layout."""
        template = self._letter(name)
        try:
            markup = self.environment.concat(template.root_render_func(template.new_context(context)))
        except Exception as exc:
            raise self._fail(exc, f"letter/{name}") from exc
        return parse_letter(f"letter/{name}.html", markup)
