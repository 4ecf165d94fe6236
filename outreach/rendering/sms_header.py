"""The header an SMS template starts with: how many segments it may cost, and whether to transliterate.

    {#
    max_segments: 2
    transliterate: true
    #}

It is a Jinja comment, so it never reaches the message; a template without it is refused, because an
SMS whose cost nobody declared is an SMS whose cost nobody checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from outreach.rendering.errors import TemplateError

HEADER_COMMENT = re.compile(r"\A\s*\{#(.*?)#\}", re.DOTALL)
"""A Jinja comment opening a template file: where a template declares things about itself."""
MAX_SEGMENTS_CEILING = 10


@dataclass(frozen=True, slots=True)
class SmsHeader:
    """What an SMS template declares about itself."""

    max_segments: int
    transliterate: bool


def read_sms_header(name: str, source: str) -> SmsHeader:
    """Parse the header of the SMS template `name`, or raise a `TemplateError` saying what to write."""
    example = "start the file with {# max_segments: 2 #} (and optionally transliterate: true)"
    match = HEADER_COMMENT.match(source)
    if not match:
        raise TemplateError(name, 1, "no header declaring max_segments", example)
    try:
        values = yaml.safe_load("\n".join(line.strip() for line in match.group(1).splitlines())) or {}
    except yaml.YAMLError as exc:
        raise TemplateError(name, 1, f"the header is not 'key: value' lines ({exc})", example) from exc
    if not isinstance(values, dict):
        raise TemplateError(name, 1, "the header is not 'key: value' lines", example)
    unknown = set(values) - {"max_segments", "transliterate"}
    if unknown:
        raise TemplateError(name, 1, f"unknown header keys {sorted(unknown)}", example)
    segments = values.get("max_segments")
    if (
        not isinstance(segments, int)
        or isinstance(segments, bool)
        or not 1 <= segments <= MAX_SEGMENTS_CEILING
    ):
        raise TemplateError(
            name, 1, f"max_segments must be a whole number from 1 to {MAX_SEGMENTS_CEILING}", example
        )
    transliterate = values.get("transliterate", False)
    if not isinstance(transliterate, bool):
        raise TemplateError(name, 1, "transliterate must be true or false", example)
    return SmsHeader(segments, transliterate)
