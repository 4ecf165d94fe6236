"""Calendar arithmetic done in Python, so that SQL only ever compares dates.

Ages and anniversaries follow the birthday rule: one is N on one's N-th birthday; someone born on
29 February reaches a new age on 1 March in common years (the day after 28 February), which is what
comparing (month, day) tuples gives. Adding months keeps the day of the month and clamps it to the
month's last day (31 August + 6 months = 28 or 29 February).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def shift_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months, the day clamped to the end of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def latest_birth_for_age(as_of: date, months: int) -> date:
    """The latest birth date of someone who has lived at least `months` months on `as_of`.

    "Aged 55 or more on as_of" is `birth_date <= latest_birth_for_age(as_of, 55 * 12)`: a plain date
    comparison that uses the (status, birth_date) index. Clamping down is right for 29 February: on
    28 February 2027 someone born on 29 February 1992 is still 34, and the bound is 28 February 1992.
    """
    return shift_months(as_of, -months)


def age_on(birth: date, day: date) -> int:
    """Age in whole years on `day` (the reference the SQL bounds are tested against)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of the calendar month of `day`."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def year_bounds(day: date) -> tuple[date, date]:
    """First and last day of the calendar year of `day`."""
    return date(day.year, 1, 1), date(day.year, 12, 31)


_DURATION = re.compile(r"^\s*(\d+)\s*(day|days|week|weeks|month|months|year|years)\s*$")


@dataclass(frozen=True)
class Duration:
    """A calendar length such as "6 months": days and weeks are exact, months and years calendar ones."""

    amount: int
    unit: str  # "days" or "months"

    @classmethod
    def parse(cls, text: str) -> Duration | None:
        """`Duration` for "30 days", "2 weeks", "6 months", "1 year"; None when `text` is not one."""
        match = _DURATION.match(text)
        if not match:
            return None
        amount, unit = int(match.group(1)), match.group(2).rstrip("s")
        if unit == "week":
            return cls(amount * 7, "days")
        if unit == "year":
            return cls(amount * 12, "months")
        return cls(amount, unit + "s")

    def after(self, day: date) -> date:
        """`day` plus this duration."""
        if self.unit == "days":
            return day + timedelta(days=self.amount)
        return shift_months(day, self.amount)

    def before(self, day: date) -> date:
        """`day` minus this duration."""
        if self.unit == "days":
            return day - timedelta(days=self.amount)
        return shift_months(day, -self.amount)


def anniversary(birth: date, months: int) -> date:
    """The day someone born on `birth` has lived `months` months (their N-th birthday when months = 12 N).

    When the day does not exist in the target month (29 February, 31st), it is the 1st of the next
    month, consistent with `latest_birth_for_age`: `anniversary(b, m) <= d` iff
    `b <= latest_birth_for_age(d, m)`.
    """
    shifted = shift_months(birth, months)
    return shifted if shifted.day == birth.day else shifted + ONE_DAY
