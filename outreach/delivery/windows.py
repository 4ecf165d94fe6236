"""Send windows: when a channel may reach people, in Paris time, never on a French public holiday.

The fund's default for SMS is the conservative 08:00-20:00 on working days (Monday to Friday), never
on public holidays (the operators' charter would allow up to 22:00). A message outside its window
waits for the next opening; it is never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from outreach.clock import PARIS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=32)
def french_holidays(year: int, subdivision: str | None = None) -> holidays.HolidayBase:
    """France's public holidays for `year` (subdivision '57'/'67'/'68' adds the Alsace-Moselle days)."""
    return holidays.France(years=year, subdiv=subdivision, language="fr")


def holiday_name(day: date, subdivision: str | None = None) -> str | None:
    """The public holiday on `day`, in French, or None."""
    return french_holidays(day.year, subdivision).get(day)


@dataclass(frozen=True)
class SendWindow:
    """Days of the week and hours (Paris time) in which a channel may send."""

    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(8, 0)
    end: time = time(20, 0)
    skip_holidays: bool = True

    def __post_init__(self) -> None:
        unknown = [d for d in self.days if d not in WEEKDAYS]
        if unknown or not self.days:
            raise ValueError(f"window days must be among {', '.join(WEEKDAYS)}, got {self.days}")
        if self.start >= self.end:
            raise ValueError(f"a window must start before it ends ({self.start} >= {self.end})")

    def _open_day(self, day: date) -> bool:
        if WEEKDAYS[day.weekday()] not in self.days:
            return False
        return not (self.skip_holidays and holiday_name(day) is not None)

    def is_open(self, moment: datetime) -> bool:
        """Whether a message may be sent at `moment` (an aware datetime, any zone)."""
        local = moment.astimezone(PARIS)
        return self._open_day(local.date()) and self.start <= local.time() < self.end

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself if the window is open, else the next time it opens (Paris time)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(PARIS)
        day = local.date()
        if local.time() >= self.start:
            day += timedelta(days=1)
        for _ in range(400):
            if self._open_day(day):
                return datetime.combine(day, self.start, tzinfo=PARIS)
            day += timedelta(days=1)
        raise ValueError("this window never opens")  # only if every day of a year is excluded


SMS_WINDOW = SendWindow()
EMAIL_WINDOW = SendWindow(days=WEEKDAYS, start=time(7, 0), end=time(22, 0), skip_holidays=False)
LETTER_WINDOW = SendWindow(days=WEEKDAYS, start=time(0, 0), end=time(23, 59, 59), skip_holidays=False)
DEFAULT_WINDOWS = {"email": EMAIL_WINDOW, "sms": SMS_WINDOW, "letter": LETTER_WINDOW}
