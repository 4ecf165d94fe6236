"""Errors of the rendering library, each with one line that names the template (or person) and the fix.

They derive from `ConfigurationError` because a person can always fix them: a template to correct, a
declared SMS length to raise, an address to complete in the extract. A render that fails raises; it
never returns a half-rendered message.

    ConfigurationError
    └── RenderError             anything that stops a message from being rendered
        ├── TemplateError       syntax, undefined variable, unsafe access, missing file
        ├── SmsTooLongError     the SMS needs more segments than its template declares
        └── AddressError        the postal address cannot be laid out to NF Z10-011
"""

from __future__ import annotations

from outreach.errors import ConfigurationError


class RenderError(ConfigurationError):
    """A message could not be rendered; nothing was produced."""


class TemplateError(RenderError):
    """A template is wrong: its message names the template file, the line and the fix."""

    def __init__(self, template: str, line: int | None, problem: str, fix: str) -> None:
        where = f"{template}, line {line}" if line else template
        super().__init__(f"{where}: {problem} ({fix})")
        self.template = template
        self.line = line
        self.problem = problem


class SmsTooLongError(RenderError):
    """An SMS would cost more segments than its template allows."""

    def __init__(self, template: str, segments: int, allowed: int, encoding: str, characters: int) -> None:
        super().__init__(
            f"{template}: this SMS needs {segments} segments ({characters} {encoding} characters) but the "
            f"template allows {allowed} (shorten the text, turn on transliteration, or raise max_segments)"
        )
        self.template = template
        self.segments = segments


class AddressError(RenderError):
    """A person's postal address cannot be printed within the postal standard."""

    def __init__(self, person_id: str, problem: str) -> None:
        super().__init__(f"person {person_id}: {problem} (correct the address in the population extract)")
        self.person_id = person_id
