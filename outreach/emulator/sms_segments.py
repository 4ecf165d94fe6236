"""How many parts an SMS costs: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67 per part).

One character outside GSM 03.38 (’, « », ê, œ...) turns the whole message into UCS-2. Lower-case ç
shares code point 0x09 with Ç and is rendered as Ç by many phones, so it counts as UCS-2 here.
"""

from __future__ import annotations

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
"""Characters sent as an escape plus one septet: they count twice."""


def encoding(body: str) -> str:
    """'GSM-7' when every character fits the GSM 03.38 tables, else 'UCS-2'."""
    return "GSM-7" if all(c in GSM_BASIC or c in GSM_EXTENSION for c in body) else "UCS-2"


def count_segments(body: str) -> int:
    """The number of parts the network bills for `body` (at least one, even when empty)."""
    if encoding(body) == "GSM-7":
        units = sum(2 if c in GSM_EXTENSION else 1 for c in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)
