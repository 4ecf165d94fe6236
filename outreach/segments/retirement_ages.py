"""The legal retirement age by birth cohort, read from `outreach/data/legal_retirement_ages.yaml`.

The law moved twice in three years, so the table is data with its source and date, not code. A
condition on the legal retirement date ("reaches it within 6 months") becomes birth-date ranges,
one per cohort, merged where they touch: the SQL stays plain date comparisons on `birth_date`, which
the (status, birth_date) index serves, and no date arithmetic runs in the database. With today's
table (ages never decrease with the birth date) every window collapses to a single range.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from outreach.errors import ConfigurationError
from outreach.segments.dates import ONE_DAY, anniversary, latest_birth_for_age

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "legal_retirement_ages.yaml"


@dataclass(frozen=True)
class Cohort:
    """People born from `born_from` to `born_to` (inclusive; None is open-ended) and their legal age."""

    born_from: date | None
    born_to: date | None
    years: int
    months: int

    @property
    def age_months(self) -> int:
        """The legal age in months (62 y 3 m is 747)."""
        return self.years * 12 + self.months

    def contains(self, birth: date) -> bool:
        """Whether `birth` falls in this cohort."""
        return (self.born_from is None or birth >= self.born_from) and (
            self.born_to is None or birth <= self.born_to
        )


@dataclass(frozen=True)
class LegalAgeTable:
    """The cohorts, in birth order, covering every birth date exactly once."""

    source: str
    applies_to_claims_from: date
    recorded_on: date
    cohorts: tuple[Cohort, ...]

    def cohort_of(self, birth: date) -> Cohort:
        """The cohort of someone born on `birth`."""
        return next(c for c in self.cohorts if c.contains(birth))

    def legal_retirement_date(self, birth: date) -> date:
        """The day someone born on `birth` reaches the legal retirement age of their cohort."""
        return anniversary(birth, self.cohort_of(birth).age_months)

    def birth_ranges(self, low: date | None, high: date | None) -> list[tuple[date | None, date | None]]:
        """Birth-date ranges (inclusive, None open) of people whose legal retirement date is in [low, high].

        Within a cohort the legal date grows with the birth date, so each cohort contributes at most
        one range; ranges that touch are merged.
        """
        ranges: list[tuple[date | None, date | None]] = []
        for cohort in self.cohorts:
            start, end = cohort.born_from, cohort.born_to
            if low is not None:
                first = latest_birth_for_age(low - ONE_DAY, cohort.age_months) + ONE_DAY
                start = first if start is None else max(start, first)
            if high is not None:
                last = latest_birth_for_age(high, cohort.age_months)
                end = last if end is None else min(end, last)
            if start is not None and end is not None and start > end:
                continue
            previous_end = ranges[-1][1] if ranges else None
            if ranges and previous_end is not None and start is not None and previous_end + ONE_DAY == start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        return ranges


def _date(value: object, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    raise ConfigurationError(f"{TABLE_PATH}: {where} must be a date (YYYY-MM-DD) or null, not {value!r}")


def parse_table(text: str, path: Path = TABLE_PATH) -> LegalAgeTable:
    """Parse and check the table: cohorts in order, no gap, no overlap, open at both ends."""
    data = yaml.safe_load(text)
    try:
        cohorts = tuple(
            Cohort(
                born_from=_date(row["born_from"], f"cohort {i + 1} born_from"),
                born_to=_date(row["born_to"], f"cohort {i + 1} born_to"),
                years=int(row["years"]),
                months=int(row["months"]),
            )
            for i, row in enumerate(data["cohorts"])
        )
        table = LegalAgeTable(
            source=str(data["source"]),
            applies_to_claims_from=data["applies_to_claims_from"],
            recorded_on=data["recorded_on"],
            cohorts=cohorts,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{path}: malformed legal-age table ({exc!r}); keep the keys source, applies_to_claims_from, "
            "recorded_on and cohorts[born_from, born_to, years, months]"
        ) from exc
    if not cohorts or cohorts[0].born_from is not None or cohorts[-1].born_to is not None:
        raise ConfigurationError(f"{path}: the first cohort must start at null and the last end at null")
    for before, after in itertools.pairwise(cohorts):
        if before.born_to is None or after.born_from != before.born_to + ONE_DAY:
            raise ConfigurationError(
                f"{path}: cohort starting {after.born_from} must start the day after {before.born_to}"
            )
    return table


@cache
def legal_age_table() -> LegalAgeTable:
    """The table shipped with the package (read once per process)."""
    return parse_table(TABLE_PATH.read_text(encoding="utf-8"))
