"""The people's fields a segment rule may name, and what kind of value each holds.

A field's kind decides which operators apply to it (a date has `before`, a closed list has `is` with
its allowed values). Names and street addresses are not here on purpose: nobody should target people
by their surname, and a letter's reachability is a channel question, not a segment one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from outreach.vocabulary import (
    CHANNELS,
    CIVILITIES,
    DIGITAL_PROFILES,
    FRAGILITY_FLAGS,
    STATUSES,
    WORKER_TYPES,
)


class Kind(Enum):
    """The kinds of values a field holds."""

    CHOICE = "one of a closed list"
    TEXT = "text"
    DATE = "date"
    BOOLEAN = "true/false"
    FLAGS = "list of flags"


@dataclass(frozen=True)
class Field:
    """A field of `people` usable in rules; `choices` lists the allowed values of CHOICE and FLAGS."""

    name: str
    kind: Kind
    choices: tuple[str, ...] = ()
    computed: bool = False


LEGAL_RETIREMENT_DATE = "legal_retirement_date"

FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("status", Kind.CHOICE, STATUSES),
        Field("worker_type", Kind.CHOICE, WORKER_TYPES),
        Field("civility", Kind.CHOICE, CIVILITIES),
        Field("digital_profile", Kind.CHOICE, DIGITAL_PROFILES),
        Field("preferred_channel", Kind.CHOICE, CHANNELS),
        Field("fragility_flags", Kind.FLAGS, FRAGILITY_FLAGS),
        Field("receives_survivor_pension", Kind.BOOLEAN),
        Field("birth_date", Kind.DATE),
        Field("retirement_date", Kind.DATE),
        Field("spouse_death_date", Kind.DATE),
        Field(LEGAL_RETIREMENT_DATE, Kind.DATE, computed=True),
        Field("postal_code", Kind.TEXT),
        Field("city", Kind.TEXT),
        Field("country", Kind.TEXT),
        Field("email", Kind.TEXT),
        Field("mobile_phone", Kind.TEXT),
    )
}
"""Every field a rule may name. `legal_retirement_date` is computed from the birth cohort's legal age."""

DATE_FIELDS = tuple(name for name, f in FIELDS.items() if f.kind is Kind.DATE)

OPERATORS: dict[Kind, tuple[str, ...]] = {
    Kind.CHOICE: ("is", "in", "present"),
    Kind.TEXT: ("is", "in", "starts_with", "present"),
    Kind.DATE: ("before", "on_or_before", "after", "on_or_after", "present"),
    Kind.BOOLEAN: ("is",),
    Kind.FLAGS: ("has", "has_any", "present"),
}
"""The operators of each kind of field (see segments/README.md)."""
