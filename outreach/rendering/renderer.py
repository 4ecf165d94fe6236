"""`Renderer`: one message of one template for one context, per channel; compiled templates are cached.

Template names are channel-independent (`career_statement_35`, `career_statement_35_fragile`); each
channel has its files:

    mail/NAME.txt   subject, preheader and plain-text body  (blocks `subject`, `preheader`, `content`)
    mail/NAME.html  HTML body                               (block `content`, CSS inlined at load)
    sms/NAME.txt    SMS body, with its max_segments header
    letter/NAME.html  letter body in the letter markup (see `letter_markup.py`)

Files whose name starts with `_` are layouts and partials, never messages. Everything that can be
prepared once (loading, CSS inlining, compiling, header parsing) is done on first use and cached, so a
message costs its Jinja rendering and little else. Any failure raises a `RenderError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Template

from outreach.config import PROJECT_ROOT
from outreach.rendering.environment import make_environment, template_error
from outreach.rendering.errors import RenderError, SmsTooLongError, TemplateError
from outreach.rendering.gsm import measure, transliterate
from outreach.rendering.letter_markup import LetterContent, parse_letter
from outreach.rendering.sms_header import SmsHeader, read_sms_header

CHANNEL_FILES = {
    "email": ("mail", (".txt", ".html")),
    "sms": ("sms", (".txt",)),
    "letter": ("letter", (".html",)),
}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An e-mail ready for a provider: subject, preheader (already inside `html`), HTML and text parts."""

    subject: str
    preheader: str
    html: str
    text: str


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


@dataclass(frozen=True, slots=True)
class _Sms:
    template: Template
    header: SmsHeader


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Renderer:
    """Renders messages from the templates under `templates_dir` (default: the project's `templates/`)."""

    def __init__(self, templates_dir: Path | str | None = None) -> None:
        self.root = Path(templates_dir or PROJECT_ROOT / "templates").resolve()
        self.environment = make_environment(self.root)
        self._emails: dict[str, _Email] = {}
        self._sms: dict[str, _Sms] = {}
        self._letters: dict[str, Template] = {}

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

    def _email(self, name: str) -> _Email:
        loaded = self._emails.get(name)
        if loaded is None:
            text = self._load(f"mail/{name}.txt")
            html = self._load(f"mail/{name}.html")
            loaded = _Email(text, html)
            self._emails[name] = loaded
        return loaded

    def sms_template(self, name: str) -> tuple[Template, SmsHeader]:
        """The compiled SMS template `name` and its declared header."""
        loaded = self._sms.get(name)
        if loaded is None:
            path = f"sms/{name}.txt"
            template = self._load(path)
            source = (self.root / path).read_text(encoding="utf-8")
            loaded = _Sms(template, read_sms_header(path, source))
            self._sms[name] = loaded
        return loaded.template, loaded.header

    def _letter(self, name: str) -> Template:
        loaded = self._letters.get(name)
        if loaded is None:
            loaded = self._letters[name] = self._load(f"letter/{name}.html")
        return loaded

    def _fail(self, exc: Exception, name: str) -> RenderError:
        """A one-line error for `exc`, located in the template thanks to Jinja's rewritten traceback."""
        try:
            self.environment.handle_exception()
        except Exception as rewritten:  # handle_exception always raises, with template lines
            return template_error(rewritten, name, self.root)
        return template_error(exc, name, self.root)  # pragma: no cover - handle_exception always raises

    # -- rendering (once per message) ----------------------------------------------------------------

    def email(self, name: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Subject, preheader, HTML and text of the e-mail `name` for `context`."""
        templates = self._email(name)
        try:
            text_context = templates.text.new_context(context)
            text = "".join(templates.text.root_render_func(text_context))
            blocks = text_context.blocks  # now holds the blocks of the whole inheritance chain
            if "subject" not in blocks or "preheader" not in blocks:
                raise TemplateError(
                    f"mail/{name}.txt",
                    None,
                    "no subject or preheader block",
                    "add both blocks to the text part",
                )
            subject = _one_line("".join(blocks["subject"][0](text_context)))
            preheader = _one_line("".join(blocks["preheader"][0](text_context)))
            html_context = templates.html.new_context(
                context, locals={"subject": subject, "preheader": preheader}
            )
            html = "".join(templates.html.root_render_func(html_context))
        except RenderError:
            raise
        except Exception as exc:
            raise self._fail(exc, f"mail/{name}") from exc
        return RenderedEmail(subject, preheader, html, text.strip() + "\n")

    def sms(self, name: str, context: Mapping[str, Any]) -> RenderedSms:
        """The SMS `name` for `context`: one line, transliterated if declared, within its segments."""
        template, header = self.sms_template(name)
        try:
            body = _one_line("".join(template.root_render_func(template.new_context(context))))
        except Exception as exc:
            raise self._fail(exc, f"sms/{name}") from exc
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
            markup = "".join(template.root_render_func(template.new_context(context)))
        except Exception as exc:
            raise self._fail(exc, f"letter/{name}") from exc
        return parse_letter(f"letter/{name}.html", markup)
