"""Who legally represents a protected adult: the organisation holding the measure, and the measure.

The extract's `legal_representative` column reads `ORGANISATION:MEASURE`, e.g.
`UDAF87:curatelle_renforcee`. The organisation is a short code agreed with the fund (letters then
letters or digits, such as `UDAF87` or `ATMP23`); the measure is one of the closed list below (the
protective measures of the civil code, articles 425 to 494-12). This fact is what makes it lawful to
send a guardianship organisation a person's details: a profile's `represented_by` exports only the
people whose measure that organisation holds.
"""

from __future__ import annotations

import re

MEASURES: tuple[str, ...] = (
    "tutelle",
    "curatelle",
    "curatelle_renforcee",
    "sauvegarde_de_justice",
    "habilitation_familiale",
    "mandat_protection_future",
)
ORGANISATION = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
ORGANISATION_RULE = (
    "organisation id must be 2-16 capital letters or digits, starting with a letter (e.g. UDAF87)"
)
SEPARATOR = ":"


class UnusableRepresentative(ValueError):
    """A `legal_representative` value that cannot be read; the message names the rule, not the value."""


def parse_representative(value: str) -> str:
    """The normalised `ORGANISATION:measure` of `value` (organisation upper-cased, measure lower-cased)."""
    organisation, separator, measure = value.partition(SEPARATOR)
    organisation, measure = organisation.strip().upper(), measure.strip().lower()
    if not separator or not organisation or not measure:
        raise UnusableRepresentative(
            "legal_representative must be ORGANISATION:MEASURE (e.g. UDAF87:tutelle)"
        )
    if not ORGANISATION.match(organisation):
        raise UnusableRepresentative(f"legal_representative {ORGANISATION_RULE}")
    if measure not in MEASURES:
        raise UnusableRepresentative(f"legal_representative measure must be one of {', '.join(MEASURES)}")
    return f"{organisation}{SEPARATOR}{measure}"


def represented_by_prefix(organisation: str) -> str:
    """What the stored values of `organisation`'s protégés start with (ids hold no LIKE wildcard)."""
    return f"{organisation}{SEPARATOR}"
