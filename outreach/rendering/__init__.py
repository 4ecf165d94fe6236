"""Rendering: French e-mails, SMS and print-ready letters from sandboxed Jinja templates.

renderer = Renderer()                                   # templates/ of the project
context = person_context(row, as_of=today, links=links) # row: a `people` mapping
renderer.email("career_statement_35", context)        -> RenderedEmail(subject, html, text, headers...)
renderer.sms("career_statement_35", context)          -> RenderedSms(body, encoding, segments, ...)
with LetterBatch(path, renderer) as batch:
    batch.add("career_statement_35", context)         -> ManifestRow (PDF + manifest CSV on close)
"""

from outreach.rendering.context import person_context
from outreach.rendering.errors import AddressError, RenderError, SmsTooLongError, TemplateError
from outreach.rendering.gsm import SmsLength, measure, transliterate
from outreach.rendering.letter_pdf import LetterBatch, ManifestRow
from outreach.rendering.links import Links
from outreach.rendering.renderer import RenderedEmail, RenderedSms, Renderer

__all__ = [
    "AddressError",
    "LetterBatch",
    "Links",
    "ManifestRow",
    "RenderError",
    "RenderedEmail",
    "RenderedSms",
    "Renderer",
    "SmsLength",
    "SmsTooLongError",
    "TemplateError",
    "measure",
    "person_context",
    "transliterate",
]
