"""The parsed form of a segment file: frozen dataclasses, one per kind of condition.

Each node keeps the line it came from, so `explain` can point at the condition that kept someone out.
A new kind of condition is one more dataclass here, one parse function in `parser.py`, one compile
branch in `compiler.py` and one line in `explain.describe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from outreach.segments.dates import Duration


@dataclass(frozen=True)
class AllOf:
    """True when every condition is true."""

    line: int
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True when at least one condition is true."""

    line: int
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """True when the condition is false (a missing value makes a condition false, so `not` is true)."""

    line: int
    condition: Condition


@dataclass(frozen=True)
class FieldTest:
    """A test on a field's value: `field: status` with `is: active`, `before: 2009-01-01`, ..."""

    line: int
    field: str
    operator: str
    value: str | bool | date | tuple[str, ...]


@dataclass(frozen=True)
class Age:
    """Age in whole years at the as-of date, by birthday: `age: {at_least: 55, at_most: 61}`."""

    line: int
    at_least: int | None
    at_most: int | None


@dataclass(frozen=True)
class TurnsAge:
    """Has (or will have) their `age`-th birthday during the as-of date's calendar month or year."""

    line: int
    age: int
    during: str  # "month" or "year"


@dataclass(frozen=True)
class RelativeDate:
    """A date field compared with the as-of date.

    `since`: the date is on or before the as-of date, and at least / at most that long ago.
    `until`: the date is after the as-of date, and at least / at most that far ahead.
    """

    line: int
    direction: str  # "since" or "until"
    field: str
    at_least: Duration | None
    at_most: Duration | None


@dataclass(frozen=True)
class InSegment:
    """Is a member of another segment at the same as-of date."""

    line: int
    segment: str


@dataclass(frozen=True)
class OpenComplaint:
    """Has (`expected` true) or has not a complaint opened on or before the as-of date and not closed then."""

    line: int
    expected: bool


ENGAGEMENT_EVENTS = ("received", "delivered", "opened", "clicked", "bounced", "replied", "responded")
"""What a person did with a message; `opened` means a human open (machine opens never count)."""


@dataclass(frozen=True)
class Engagement:
    """Was sent a message of a campaign (step), and reacted to it: `engagement: {campaign: ..., event: ...}`.

    `received` only asks that a message was sent; the other events ask for that reaction, by the as-of
    date, and within `within` of the send when given. `sent_within` keeps messages sent at most that
    long before the as-of date. "Did not open within 7 days" is `not:` around `event: opened`.
    """

    line: int
    campaign: str
    step: str | None
    event: str
    within: Duration | None
    sent_within: Duration | None


Condition = (
    AllOf | AnyOf | Not | FieldTest | Age | TurnsAge | RelativeDate | InSegment | OpenComplaint | Engagement
)


@dataclass(frozen=True)
class Segment:
    """One segment file, parsed and checked on its own (references are checked by the library)."""

    name: str
    description: str
    journeys: tuple[str, ...]  # usually one; a profile such as `fragile` serves several
    rule: Condition
    path: Path
    line: int
    text_hash: str
