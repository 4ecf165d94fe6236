"""The shape of a campaign file, as Pydantic models that reject anything unknown.

A campaign is a journey for one segment: a first step, then follow-ups that reach those who did not
react to the previous step after a wait ("no open after 7 days: SMS; still nothing after 14 days:
letter"), and stop conditions that end the journey for a person who clicked, replied or left the
segment.

Two stops hold **by default** for every follow-up step, because a reminder sent after the person has
acted is wrong, not merely useless: an outcome event (`outreach outcomes import`: claim filed,
survivor's pension claimed...) since the wave's date, and leaving the campaign's segment. An author
opts out of one only in writing, with the reason (`opt_out_of_stops: {left_segment: "..."}`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outreach.models import OUTCOMES
from outreach.vocabulary import JOURNEYS

Channel = Literal["email", "sms", "letter"]
Reaction = Literal["delivered", "opened", "clicked", "replied", "responded"]
StopCondition = Literal["clicked", "replied", "responded", "left_segment", "outcome"]
DefaultStop = Literal[("outcome", "left_segment", *OUTCOMES)]  # type: ignore[valid-type]
"""What `opt_out_of_stops` may name: every outcome, one outcome, or leaving the segment."""
Journey = Literal[JOURNEYS]  # type: ignore[valid-type]
NAME = r"^[a-z][a-z0-9_]{0,62}$"
DURATION = re.compile(r"^(\d+)\s*(d|h|w)$")


def parse_duration(text: str) -> timedelta:
    """'7d', '48h', '2w' as a timedelta."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration: write a number then d (days), h (hours) or w (weeks)")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "w": timedelta(weeks=amount)}[unit]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(Strict):
    """An A/B variant: its share of the step's audience and the template it uses instead."""

    name: str = Field(pattern=NAME)
    share: float = Field(gt=0, le=1)
    template: str = Field(pattern=NAME)


class Step(Strict):
    """One step: who (the segment, or non-reactors of a previous step), on which channels, with what."""

    name: str = Field(pattern=NAME)
    channels: list[Channel] = Field(min_length=1)
    template: str = Field(pattern=NAME)
    """The template name for every channel (its `_fragile` version is used for fragile people)."""
    after: str | None = None
    wait: str | None = None
    unless: list[Reaction] = Field(default_factory=list)
    mandatory: bool = False
    fragile_gets_letter: bool = True
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("wait")
    @classmethod
    def _wait_is_a_duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Step:
        if (self.after is None) != (self.wait is None):
            raise ValueError("a follow-up step needs both 'after' (the previous step) and 'wait' (e.g. 7d)")
        if self.variants and abs(sum(v.share for v in self.variants) - 1) > 1e-9:
            raise ValueError("the shares of the variants must add up to 1")
        return self

    @property
    def wait_time(self) -> timedelta:
        return parse_duration(self.wait) if self.wait else timedelta(0)


class Schedule(Strict):
    """When the first step runs: a cron expression read in Europe/Paris."""

    cron: str

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(
                f"'{value}' is not a cron expression (minute hour day month weekday, e.g. '0 9 * * 1')"
            )
        return value


class Campaign(Strict):
    """A campaign file."""

    name: str = Field(pattern=NAME)
    description: str
    journey: Journey
    segment: str = Field(pattern=NAME)
    new_members_only: bool = True
    schedule: Schedule | None = None
    priority: int = Field(default=50, ge=0, le=100)
    pressure_class: Literal["information", "mandatory"] = "information"
    journey_gap: str | None = "14d"
    holdout: float = Field(default=0.0, ge=0, le=0.5)
    stop_when: list[StopCondition] = Field(default_factory=lambda: ["clicked", "replied", "responded"])
    """Reactions that end the journey; `outcome` and `left_segment` hold whether listed or not."""
    opt_out_of_stops: dict[DefaultStop, str] = Field(default_factory=dict)
    """Default stops this campaign does without, each with the reason (reviewed like any change)."""
    steps: list[Step] = Field(min_length=1)

    @field_validator("opt_out_of_stops")
    @classmethod
    def _reasons_are_written(cls, value: dict[str, str]) -> dict[str, str]:
        for stop, reason in value.items():
            if len(reason.strip()) < 10:
                raise ValueError(f"opting out of the '{stop}' stop needs its reason, in a sentence")
        return value

    @model_validator(mode="after")
    def _stops_agree(self) -> Campaign:
        both = {"outcome", "left_segment"} & set(self.stop_when) & set(self.opt_out_of_stops)
        if both:
            raise ValueError(f"'{sorted(both)[0]}' is both in stop_when and in opt_out_of_stops: keep one")
        return self

    @property
    def stop_outcomes(self) -> frozenset[str]:
        """The outcome events that end a person's journey in this campaign (all, by default)."""
        if "outcome" in self.opt_out_of_stops:
            return frozenset()
        return frozenset(o for o in OUTCOMES if o not in self.opt_out_of_stops)

    @property
    def stops_on_leaving_segment(self) -> bool:
        """Whether leaving the campaign's segment ends the journey (yes, by default)."""
        return "left_segment" not in self.opt_out_of_stops

    @field_validator("journey_gap")
    @classmethod
    def _gap_is_a_duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)
