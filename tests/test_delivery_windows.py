"""Send windows in Paris time: working days, hours, French public holidays, DST."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from outreach.clock import PARIS
from outreach.delivery.windows import SMS_WINDOW, SendWindow, holiday_name


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (paris(2026, 11, 26, 8, 0), True),  # Thursday 08:00
        (paris(2026, 11, 26, 7, 59), False),
        (paris(2026, 11, 26, 19, 59), True),
        (paris(2026, 11, 26, 20, 0), False),
        (paris(2026, 11, 28, 10, 0), False),  # Saturday
        (paris(2026, 11, 11, 10, 0), False),  # Armistice, a Wednesday
        (paris(2026, 5, 14, 10, 0), False),  # Ascension
        (datetime(2026, 11, 26, 7, 30, tzinfo=UTC), True),  # 08:30 in Paris
    ],
)
def test_sms_window(moment: datetime, open_: bool) -> None:
    assert SMS_WINDOW.is_open(moment) is open_


def test_a_closed_window_says_when_it_opens_again() -> None:
    assert SMS_WINDOW.next_opening(paris(2026, 12, 24, 20, 30)) == paris(
        2026, 12, 28, 8, 0
    )  # Christmas, weekend
    assert SMS_WINDOW.next_opening(paris(2026, 5, 13, 21, 0)) == paris(2026, 5, 15, 8, 0)  # over Ascension
    assert SMS_WINDOW.next_opening(paris(2026, 11, 26, 6, 0)) == paris(2026, 11, 26, 8, 0)
    during = paris(2026, 11, 26, 9, 15)
    assert SMS_WINDOW.next_opening(during) == during


def test_opening_after_the_spring_clock_change_is_8_in_paris() -> None:
    opening = SMS_WINDOW.next_opening(paris(2027, 3, 26, 21, 0))  # Friday; clocks change on Sunday 28
    assert opening == paris(2027, 3, 30, 8, 0)  # Monday 29 is Easter Monday
    assert opening.utcoffset().total_seconds() == 7200


def test_holidays_are_named_in_french() -> None:
    assert holiday_name(datetime(2026, 7, 14).date()) == "Fête nationale"
    assert holiday_name(datetime(2026, 7, 15).date()) is None


def test_a_window_must_make_sense() -> None:
    with pytest.raises(ValueError, match="start before it ends"):
        SendWindow(start=time(20, 0), end=time(8, 0))
    with pytest.raises(ValueError, match="window days"):
        SendWindow(days=("lundi",))
