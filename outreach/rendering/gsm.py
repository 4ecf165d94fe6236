"""SMS length as carriers bill it: GSM 03.38 septets or UCS-2 code units, split into segments.

A message made only of the GSM 7-bit default alphabet holds 160 septets, or 153 per segment once it is
split (the rest carries the concatenation header); a character of the extension table (€, [, ], {, },
^, ~, |, backslash, form feed) costs two septets, and carriers never split such a pair across two
segments. One character outside both tables turns the whole message into UCS-2: 70 code units, 67 per
segment, an emoji costing two units that are not split either.

Lower-case ç sits on code point 0x09, which the original 03.38 table gives as upper-case Ç: phones and
carriers disagree, so it is treated as UCS-2 here (and transliterated to c on request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM_CHARSET = GSM_BASIC | GSM_EXTENSION

GSM7 = "GSM-7"
UCS2 = "UCS-2"

SINGLE = {GSM7: 160, UCS2: 70}
PART = {GSM7: 153, UCS2: 67}

_TRANSLITERATION = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "‚": "'",
        "ʼ": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "…": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\t": " ",
        "ç": "c",
        "â": "a",
        "ê": "e",
        "î": "i",
        "ô": "o",
        "û": "u",
        "ë": "e",
        "ï": "i",
        "ÿ": "y",
        "á": "a",
        "í": "i",
        "ó": "o",
        "ú": "u",
        "À": "A",
        "Â": "A",
        "È": "E",
        "Ê": "E",
        "Ë": "E",
        "Î": "I",
        "Ï": "I",
        "Ô": "O",
        "Û": "U",
        "Ù": "U",
        "Ÿ": "Y",
        "œ": "oe",
        "Œ": "OE",
        "`": "'",
    }
)
_FRENCH_QUOTES = re.compile(r"«[\s\u00a0\u202f]*|[\s\u00a0\u202f]*»")
_TO_TRANSLITERATE = re.compile("[" + re.escape("".join(chr(c) for c in _TRANSLITERATION)) + "]")


def _replacement(match: re.Match[str]) -> str:
    return _TRANSLITERATION[ord(match.group())]  # type: ignore[return-value]


def transliterate(text: str) -> str:
    """Replace the usual French characters that force UCS-2 by their nearest GSM-7 equivalent.

    "« Bien vivre ma retraite »" -> '"Bien vivre ma retraite"', "l’Assurance" -> "l'Assurance",
    "fenêtre" -> "fenetre", "ç" -> "c". Characters with no equivalent are left alone (and still count).
    Only the characters found are replaced (a regular expression, not `str.translate`, which looks up
    every character of the message and costs ten times more on short French texts).
    """
    if "«" in text or "»" in text:
        text = _FRENCH_QUOTES.sub('"', text)
    return _TO_TRANSLITERATE.sub(_replacement, text)


@dataclass(frozen=True, slots=True)
class SmsLength:
    """How a text travels: its encoding, its length in that encoding's units, and its segments."""

    encoding: str
    characters: int
    segments: int


def _gsm_costs(text: str) -> list[int]:
    return [2 if char in GSM_EXTENSION else 1 for char in text]


def _ucs2_costs(text: str) -> list[int]:
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _segments(costs: list[int], total: int, single: int, part: int) -> int:
    """Pack the characters greedily into parts, never splitting a two-unit character."""
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments


def measure(text: str) -> SmsLength:
    """The encoding, length and segment count carriers will use for `text` (empty text: 0 segments)."""
    if not text:
        return SmsLength(GSM7, 0, 0)
    if GSM_CHARSET.issuperset(text):
        extension = sum(text.count(char) for char in GSM_EXTENSION.intersection(text))
        total = len(text) + extension
        if total <= SINGLE[GSM7]:
            return SmsLength(GSM7, total, 1)
        if not extension:
            return SmsLength(GSM7, total, -(-total // PART[GSM7]))
        return SmsLength(GSM7, total, _segments(_gsm_costs(text), total, SINGLE[GSM7], PART[GSM7]))
    if text.isascii() or max(text) <= "\uffff":  # no surrogate pair: every character is one unit
        total = len(text)
        return SmsLength(UCS2, total, 1 if total <= SINGLE[UCS2] else -(-total // PART[UCS2]))
    costs = _ucs2_costs(text)
    total = sum(costs)
    return SmsLength(UCS2, total, _segments(costs, total, SINGLE[UCS2], PART[UCS2]))


def non_gsm_characters(text: str) -> str:
    """The distinct characters of `text` that force UCS-2, in order of appearance (for lint messages)."""
    return "".join(dict.fromkeys(char for char in text if char not in GSM_CHARSET))
