"""What personal data looks like to the privacy scans: one definition for logs, reports and the audit trail.

A scan looks for anything shaped like an e-mail address or a French phone number (+33, 0033, 06 and 07
forms, with or without separators), and for the exact names, addresses and contact details the test
put in (its "needles", compared in lower case).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w-])(?:\+33 ?[1-9]|0033 ?[1-9]|0[67])(?:[ .-]?\d{2}){4}(?![\w-])")
FUND_ADDRESSES = re.compile(r"@carsat-centreouest\.fr$")
"""The fund's own sender addresses may appear; nobody else's."""


def leaks(texts: Iterable[tuple[str, str]], needles: set[str]) -> list[str]:
    """Every personal datum found in (where, text) pairs, as 'where: what'."""
    found = []
    for where, text in texts:
        lowered = text.lower()
        found += [f"{where}: {m}" for m in EMAIL.findall(text) if not FUND_ADDRESSES.search(m)]
        found += [f"{where}: {m}" for m in PHONE.findall(text)]
        found += [f"{where}: {needle}" for needle in needles if needle in lowered]
    return found
