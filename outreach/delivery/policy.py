"""The channel policy: for one person at one campaign step, which channel — or why none.

The order of the checks is the fund's order of priorities, and every branch ends in a `Decision`
with a reason code, so nobody of an audience disappears without a trace:

1. **Nobody contacts the dead**: a deceased person is excluded (`deceased`), and so is someone a
   returned letter says has died, until an operator has reviewed it (`death_reported`): a postal
   return never records a death, but nothing more is sent on its strength meanwhile.
   **A journey the person has completed ends**: at a follow-up step, someone with an outcome the
   campaign stops on since the wave's date (claim filed, survivor's pension claimed...) is excluded
   (`stopped_outcome`), and so is someone who left the campaign's segment (`left_segment`).
2. **A "no" always wins**: an opt-out of every channel excludes (`opted_out`); an opt-out of one
   channel removes that channel.
3. **Reachability**: a channel needs a usable contact point that is not suppressed (a hard bounce,
   a spam report or a STOP suppresses it): e-mail address, French mobile, complete postal address.
   When the step's channels are all impossible, the person is excluded with the first channel's
   reason (e.g. `no_email`, `email_suppressed`, `opted_out_email`).
   A postal address a letter came back from (a returned letter, the letter's hard bounce) is marked
   invalid: no letter goes there. The person then gets another of the step's channels, with the
   reason `address_invalid` where the letter would have been chosen, or is excluded with
   `address_invalid` when the step has no other channel they can be reached on.
4. **Fragility**: people who are fragile or not at ease with digital tools get a letter (with the
   phone-appointment offer of the `fragile` variant) rather than only a link, when a letter is
   possible; otherwise they keep the `fragile` variant on the channel they can be reached on.
5. **Preference**: the person's preferred channel when it is possible.
6. **Fallback order**: otherwise the step's channels in the order the campaign lists them.
7. **Contact pressure**: a channel whose cap is reached falls back to the next possible one; when all
   are capped the person is deferred (`pressure_cap`) and a later run reconsiders them. Mandatory
   regulatory notices are never capped. A message of the same journey too recently sent defers too
   (`journey_gap`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from outreach.vocabulary import CHANNELS


@dataclass(frozen=True)
class PersonFacts:
    """What the policy knows of a person at decision time (read in bulk by `facts`)."""

    person_id: str
    status: str
    has_email: bool
    has_mobile: bool
    has_address: bool
    preferred_channel: str | None = None
    digital_profile: str | None = None
    fragility_flags: str = ""
    opted_out: frozenset[str] = frozenset()
    suppressed: frozenset[str] = frozenset()
    recent_contacts: dict[str, int] = field(default_factory=dict)
    last_journey_contact: datetime | None = None
    outcomes: frozenset[str] = frozenset()
    """Outcome events of the person since the wave's date (`outreach outcomes import`)."""
    segments: frozenset[str] = frozenset()
    """The segments the person is a member of, as of their latest refresh."""
    address_invalid: bool = False
    """A letter to the current address came back (see `outreach.letters.returns`)."""
    death_reported: bool = False
    """A letter came back marked "décédé" and an operator has not reviewed it yet."""

    @property
    def fragile(self) -> bool:
        """Fragile or not comfortable with digital tools: the seed's "assurés fragilisés"."""
        return bool(self.fragility_flags) or self.digital_profile == "non_technophile"

    def reachable(self, channel: str) -> bool:
        return {"email": self.has_email, "sms": self.has_mobile, "letter": self.has_address}[channel]


@dataclass(frozen=True)
class StepPolicy:
    """What a campaign step allows: its channels in fallback order, and how hard it may push."""

    channels: tuple[str, ...]
    mandatory: bool = False
    prefer_letter_for_fragile: bool = True
    journey_gap: timedelta | None = None
    stop_outcomes: frozenset[str] = frozenset()
    """Outcomes that end the journey before this step (a follow-up: the campaign's stops)."""
    stop_unless_member_of: str | None = None
    """The segment one must still be in to get this step (a follow-up: the campaign's segment)."""

    def __post_init__(self) -> None:
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown or not self.channels:
            raise ValueError(f"a step needs channels among {', '.join(CHANNELS)}, got {self.channels}")


@dataclass(frozen=True)
class PressureLimits:
    """At most `caps[channel]` messages per person on that channel within `window`, all campaigns."""

    caps: dict[str, int] = field(default_factory=lambda: {"email": 2, "sms": 1, "letter": 1})
    window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Decision:
    """The outcome for one person: a channel and variant to send with, or a status and its reason."""

    status: str  # queued | excluded | deferred
    reason: str
    channel: str | None = None
    variant: str | None = None


def _impossible_reason(person: PersonFacts, channel: str) -> str | None:
    if channel in person.opted_out:
        return f"opted_out_{channel}"
    if not person.reachable(channel):
        return {"email": "no_email", "sms": "no_mobile", "letter": "no_address"}[channel]
    if channel == "letter" and person.address_invalid:
        return "address_invalid"
    if channel in person.suppressed:
        return f"{channel}_suppressed"
    return None


def decide(person: PersonFacts, step: StepPolicy, limits: PressureLimits, now: datetime) -> Decision:
    """Choose the channel for `person` at `step` (see the module docstring for the order)."""
    if person.status == "deceased":
        return Decision("excluded", "deceased")
    if person.death_reported:
        return Decision("excluded", "death_reported")
    if person.outcomes & step.stop_outcomes:
        return Decision("excluded", "stopped_outcome")
    if step.stop_unless_member_of is not None and step.stop_unless_member_of not in person.segments:
        return Decision("excluded", "left_segment")
    if "all" in person.opted_out:
        return Decision("excluded", "opted_out")

    impossible = {c: _impossible_reason(person, c) for c in step.channels}
    possible = [c for c in step.channels if impossible[c] is None]
    if not possible:
        if "address_invalid" in impossible.values():
            return Decision("excluded", "address_invalid")
        return Decision("excluded", impossible[step.channels[0]] or "unreachable")

    variant = "fragile" if person.fragile else "standard"
    ordered = sorted(possible, key=lambda c: _rank(person, step, c))
    # The letter this person would have been sent, had its address not come back, is replaced.
    displaced = impossible.get("letter") == "address_invalid" and _rank(person, step, "letter") < _rank(
        person, step, ordered[0]
    )
    if step.mandatory:
        reason = "address_invalid" if displaced else _reason(person, step, ordered[0])
        return Decision("queued", reason, ordered[0], variant)
    if (
        step.journey_gap is not None
        and person.last_journey_contact is not None
        and now - person.last_journey_contact < step.journey_gap
    ):
        return Decision("deferred", "journey_gap")
    for rank, channel in enumerate(ordered):
        if person.recent_contacts.get(channel, 0) < limits.caps.get(channel, 1_000_000):
            if rank > 0:
                reason = "pressure_fallback"
            else:
                reason = "address_invalid" if displaced else _reason(person, step, channel)
            return Decision("queued", reason, channel, variant)
    return Decision("deferred", "pressure_cap")


def _letter_first(person: PersonFacts, step: StepPolicy, channel: str) -> bool:
    return channel == "letter" and person.fragile and step.prefer_letter_for_fragile


def _rank(person: PersonFacts, step: StepPolicy, channel: str) -> tuple[bool, bool, int]:
    """Sort key: a fragile person's letter first, then the preferred channel, then the step's order."""
    return (
        not _letter_first(person, step, channel),
        channel != person.preferred_channel,
        step.channels.index(channel),
    )


def _reason(person: PersonFacts, step: StepPolicy, channel: str) -> str:
    if _letter_first(person, step, channel):
        return "fragile_letter"
    if channel == person.preferred_channel:
        return "preferred_channel"
    return "campaign_channel" if channel == step.channels[0] else "fallback_channel"
