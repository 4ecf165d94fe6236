"""`outreach templates lint`: everything that can be checked before a template reaches anyone.

Per file: Jinja syntax; every variable and attribute it reads exists in the context (a typo such as
`person.frist_name` is caught here, not at 6 a.m. on the day of a campaign); literal links are absolute
https URLs. Per message: it renders for every sample person, including the longest plausible values
with accents that force UCS-2 (so an SMS that could exceed its declared segments for someone is
caught); the HTML has `lang`, alt text on images, no empty links, well-formed https links and
readable contrast; an e-mail's `_fragile` variant is of the same class (information or service) as
the message it varies. Nothing is fetched: the machine, like the fund's, may have no network.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import TemplateSyntaxError, meta, nodes

from outreach.rendering.context import CONTEXT_FIELDS, EXTRA_FIELDS, PERSON_FIELDS, person_context
from outreach.rendering.errors import RenderError, SmsTooLongError
from outreach.rendering.french import off_style_words, typography_problems, unaccented_words
from outreach.rendering.fund import Fund
from outreach.rendering.links import Links
from outreach.rendering.renderer import Renderer
from outreach.rendering.samples import SAMPLE_AS_OF, SAMPLE_EXTRA, WORST_CASE_PEOPLE

ATTRIBUTES = {
    "person": set(PERSON_FIELDS),
    "fund": {f.name for f in dataclasses.fields(Fund)},
    "links": {f.name for f in dataclasses.fields(Links)},
    "extra": set(EXTRA_FIELDS),
}
LAYOUT_NAMES = {"subject", "preheader", "message_class"}  # given to the e-mail layouts by the renderer
MIN_CONTRAST = 4.5
_LITERAL_URL = re.compile(r"""(?:href|src)\s*=\s*["']([^"'{]+)["']""")
_STYLE = re.compile(r"""style="([^"]*)\"""")
_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_GLUED = re.compile(r"[a-zà-ÿ0-9][.!?,;:][A-ZÀ-Ý]\w*")
_SMS_URL = re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)*\.(?:fr|com|org|net|eu|gouv)(?:/\S*)?")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: where (template file, line if known) and what to do."""

    template: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.template}:{self.line}: {self.message}"
            if self.line
            else f"{self.template}: {self.message}"
        )


def _check_url(url: str) -> str | None:
    """Why `url` is not a well-formed absolute https URL (mailto: and tel: are fine), or None."""
    if url.startswith(("mailto:", "tel:")):
        return None
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"link {url!r} is not https"
    if "." not in parts.netloc or " " in url:
        return f"link {url!r} is not a well-formed absolute URL"
    return None


# -- per file ----------------------------------------------------------------------------------------


def _attribute_reads(tree: nodes.Template) -> Iterator[tuple[str, str, int]]:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node.node, nodes.Name):
            if isinstance(node, nodes.Getattr):
                yield node.node.name, node.attr, node.lineno
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                yield node.node.name, node.arg.value, node.lineno


def _imported_names(tree: nodes.Template) -> set[str]:
    """Names a file imports or defines at its top level (visible inside its blocks too)."""
    names: set[str] = set()
    for node in tree.find_all(nodes.FromImport):
        names.update(item if isinstance(item, str) else item[1] for item in node.names)
    names.update(node.target for node in tree.find_all(nodes.Import))
    names.update(node.name for node in tree.find_all(nodes.Macro))
    return names


CHANNEL_PATHS = {
    "email": ("mail", (".txt", ".html")),
    "sms": ("sms", (".txt",)),
    "letter": ("letter", (".html",)),
}


def extra_reads(renderer: Renderer, channel: str, name: str) -> set[str]:
    """The `extra.NAME` values message `name` reads on `channel`, through every file it extends,
    includes or imports: what the campaign step sending it must supply for each of its audience."""
    folder, suffixes = CHANNEL_PATHS[channel]
    environment = renderer.environment
    pending, seen, reads = [f"{folder}/{name}{suffix}" for suffix in suffixes], set(), set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            source, _, _ = environment.loader.get_source(environment, path)  # type: ignore[union-attr]
            tree = environment.parse(source, path)
        except (TemplateSyntaxError, RenderError, OSError):
            continue  # the lint of that file says what is wrong with it
        reads.update(attribute for root, attribute, _ in _attribute_reads(tree) if root == "extra")
        pending.extend(p for p in meta.find_referenced_templates(tree) if p)
    return reads


def lint_file(renderer: Renderer, path: str) -> list[Problem]:
    """Syntax, variables and literal links of one template file (`mail/x.html`, ...)."""
    environment = renderer.environment
    try:
        source, _, _ = environment.loader.get_source(environment, path)  # type: ignore[union-attr]
        tree = environment.parse(source, path)
    except TemplateSyntaxError as exc:
        return [Problem(path, exc.lineno, f"syntax error: {exc.message}")]
    except RenderError as exc:
        return [Problem(path, None, str(exc))]
    problems: list[Problem] = []
    known = set(CONTEXT_FIELDS) | set(environment.globals) | LAYOUT_NAMES | _imported_names(tree)
    for name in sorted(meta.find_undeclared_variables(tree) - known):
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), None)
        problems.append(
            Problem(path, line, f"unknown variable '{name}' (see templates/README.md for the list)")
        )
    for root, attribute, line in _attribute_reads(tree):
        if root in ATTRIBUTES and attribute not in ATTRIBUTES[root]:
            problems.append(
                Problem(path, line, f"'{root}.{attribute}' does not exist (see templates/README.md)")
            )
    raw = (renderer.root / path).read_text(encoding="utf-8")
    if path.startswith(("mail/", "letter/")) and not path.endswith(".css"):
        for line, message in typography_problems(raw, spaces=True):
            problems.append(Problem(path, line, message))
    for match in _LITERAL_URL.finditer(raw):
        reason = _check_url(match.group(1))
        if reason:
            problems.append(Problem(path, raw.count("\n", 0, match.start()) + 1, reason))
    return problems


# -- per rendered e-mail -----------------------------------------------------------------------------


class _HtmlAudit(HTMLParser):
    """Collects what the accessibility checks need from rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.images_without_alt = 0
        self.links: list[tuple[str, str]] = []
        self._link_href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "img":
            if "alt" not in values:
                self.images_without_alt += 1
            if values.get("src"):
                self.links.append((values["src"] or "", "image"))
        elif tag == "a":
            self._link_href = values.get("href") or ""
            self._link_text = []

    def handle_data(self, data: str) -> None:
        if self._link_href is not None:
            self._link_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link_href is not None:
            self.links.append((self._link_href, "".join(self._link_text).strip()))
            self._link_href = None


def _luminance(hex_colour: str) -> float:
    hex_colour = hex_colour if len(hex_colour) == 6 else "".join(c * 2 for c in hex_colour)
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two "#RRGGBB" colours (1 to 21)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _colour(style: str, prop: str) -> str | None:
    match = re.search(rf"(?:^|;)\s*{prop}\s*:\s*([^;]+)", style)
    if not match:
        return None
    hex_match = _HEX.search(match.group(1))
    return hex_match.group(1) if hex_match else None


def audit_html(template: str, html: str) -> list[Problem]:
    """Accessibility and link checks on one rendered HTML e-mail."""
    audit = _HtmlAudit()
    audit.feed(html)
    problems = []
    if audit.lang != "fr":
        problems.append(Problem(template, None, 'the <html> element needs lang="fr" (screen readers)'))
    if audit.images_without_alt:
        problems.append(Problem(template, None, f"{audit.images_without_alt} image(s) without alt text"))
    for href, text in audit.links:
        if not href:
            problems.append(Problem(template, None, f"link '{text}' has an empty address"))
            continue
        if not text:
            problems.append(
                Problem(template, None, f"link to {href} has no text (screen readers say nothing)")
            )
        reason = _check_url(href)
        if reason:
            problems.append(Problem(template, None, reason))
    for style in _STYLE.findall(html):
        foreground, background = _colour(style, "color"), _colour(style, "background-color")
        if foreground and background and contrast_ratio(foreground, background) < MIN_CONTRAST:
            ratio = contrast_ratio(foreground, background)
            problems.append(
                Problem(template, None, f"contrast #{foreground} on #{background} is {ratio:.1f}:1 (< 4.5:1)")
            )
    return problems


def class_problems(renderer: Renderer) -> list[Problem]:
    """A `_fragile` e-mail must declare the class of its standard one: the same message, other words."""
    problems = []
    names = set(renderer.names("email"))
    for name in sorted(names):
        standard = name.removesuffix("_fragile")
        if standard == name or standard not in names:
            continue
        try:
            ours, theirs = renderer.message_class(name), renderer.message_class(standard)
        except RenderError as exc:
            problems.append(Problem(f"mail/{name}.txt", None, str(exc)))
            continue
        if ours != theirs:
            problems.append(
                Problem(
                    f"mail/{name}.txt",
                    1,
                    f"message_class {ours}, but {theirs} in mail/{standard}.txt "
                    f"(start both with {{# message_class: {theirs} #}} or neither)",
                )
            )
    return problems


# -- per rendered SMS -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmsCost:
    """What an SMS template costs at worst over the lint's people, against the budget it declares."""

    name: str
    segments: int
    max_segments: int
    sample: str
    """The sample person the worst case is for."""

    def __str__(self) -> str:
        verdict = "ok" if self.segments <= self.max_segments else "OVER BUDGET"
        return (
            f"sms/{self.name}.txt: {self.segments} segment(s) at worst (sample {self.sample}), "
            f"max_segments {self.max_segments}: {verdict}"
        )


def _contexts() -> list[dict]:
    return [person_context(p, as_of=SAMPLE_AS_OF, extra=SAMPLE_EXTRA) for p in WORST_CASE_PEOPLE]


def sms_costs(renderer: Renderer) -> list[SmsCost]:
    """The worst-case segment count of every SMS template (what `outreach templates lint` prints)."""
    costs = []
    for name in renderer.names("sms"):
        try:
            _, header = renderer.sms_template(name)
        except RenderError:
            continue  # the lint reports it
        worst, sample = 0, ""
        for context in _contexts():
            try:
                segments = renderer.sms(name, context).segments
            except SmsTooLongError as exc:
                segments = exc.segments
            except RenderError:
                continue  # the lint reports it
            if segments > worst:
                worst, sample = segments, str(context["person"]["id"])
        costs.append(SmsCost(name, worst, header.max_segments, sample))
    return costs


def audit_sms(template: str, body: str) -> list[Problem]:
    """Wording checks on one rendered SMS: accents kept (or the word reworded), links set apart."""
    problems = [
        Problem(
            template,
            None,
            f"'{wrong}' is written without its accents: write '{right}', and "
            "reword if a character of it is not GSM-7 (ê, â, ç)",
        )
        for wrong, right in unaccented_words(body)
    ]
    for match in _GLUED.finditer(body):
        problems.append(Problem(template, None, f"no space after the punctuation in '{match.group()}'"))
    for match in _SMS_URL.finditer(body):
        after = body[match.end() : match.end() + 2]
        if after[:1].isspace() and after[1:].isalnum():
            problems.append(
                Problem(
                    template,
                    None,
                    f"'{match.group()}' runs on into the next words: end it with "
                    "a full stop or a comma (phones take what follows for part of the link)",
                )
            )
    return problems


def audit_text(template: str, text: str) -> list[Problem]:
    """Accents and the house vocabulary in the words of a rendered e-mail or letter."""
    return [
        Problem(template, None, f"'{wrong}' is written without its accents: write '{right}'")
        for wrong, right in dict.fromkeys(unaccented_words(text))
    ] + [
        Problem(template, None, f"'{wrong}': the fund writes '{right}'")
        for wrong, right in dict.fromkeys(off_style_words(text))
    ]


# -- letters on paper -------------------------------------------------------------------------------


def person_kind(person: dict) -> str:
    """What makes a sample person hard for a template, without naming them (for lint messages)."""
    kinds = ["fragile" if person["is_fragile"] else "not fragile"]
    if not person["civility"]:
        kinds.append("no civility")
    if len(person["full_name"]) > 40:
        kinds.append("longest names")
    return ", ".join(kinds)


def letter_page_problems(renderer: Renderer, contexts: list[dict]) -> list[Problem]:
    """A letter is one sheet: every letter template, laid out for every sample person, on one page."""
    from outreach.rendering.letter_pdf import LetterBatch  # reportlab: only when letters are checked

    problems = []
    with tempfile.TemporaryDirectory() as folder:
        for name in renderer.names("letter"):
            with LetterBatch(Path(folder) / f"{name}.pdf", renderer) as batch:
                for context in contexts:
                    try:
                        row = batch.add(name, context)
                    except RenderError:
                        continue  # reported by the render check
                    if row.pages > 1:
                        person = context["person"]
                        problems.append(
                            Problem(
                                f"letter/{name}.html",
                                None,
                                f"{row.pages} pages for sample {person['id']} ({person_kind(person)}): "
                                "a letter must fit on one page (shorten it)",
                            )
                        )
                        break
    return problems


# -- everything --------------------------------------------------------------------------------------


def lint(renderer: Renderer) -> list[Problem]:
    """All problems of all templates under `renderer.root` (an empty list means ready to use)."""
    problems: list[Problem] = []
    for folder in ("mail", "sms", "letter"):
        for file in sorted((renderer.root / folder).glob("*")):
            if file.suffix in {".html", ".txt"}:
                problems.extend(lint_file(renderer, f"{folder}/{file.name}"))
    if problems:
        return problems  # rendering broken files would only repeat the same findings
    problems.extend(class_problems(renderer))
    contexts = _contexts()
    seen: set[str] = set()
    for channel in ("email", "sms", "letter"):
        for name in renderer.names(channel):
            for context in contexts:
                try:
                    if channel == "email":
                        email = renderer.email(name, context)
                        found = audit_html(f"mail/{name}.html", email.html)
                        found += audit_text(
                            f"mail/{name}.txt", f"{email.subject}\n{email.preheader}\n{email.text}"
                        )
                    elif channel == "sms":
                        found = audit_sms(f"sms/{name}.txt", renderer.sms(name, context).body)
                    else:
                        letter = renderer.letter(name, context)
                        found = audit_text(
                            f"letter/{name}.html",
                            "\n".join([letter.subject, *(b.markup for b in letter.blocks)]),
                        )
                    problems.extend(p for p in found if str(p) not in seen)
                    seen.update(str(p) for p in found)
                except RenderError as exc:
                    problem = Problem(f"{channel}:{name}", None, f"{exc} [sample {context['person']['id']}]")
                    problems.append(problem)
                    break
    problems.extend(letter_page_problems(renderer, contexts))
    return problems
