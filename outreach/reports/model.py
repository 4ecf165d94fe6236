"""The report as data: frozen dataclasses of counts, rates and intervals, with no personal data.

These are what the renderers read and what `--format json` prints (`as_json`), so a dashboard or a
later comparison reads the same figures as the HTML.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

FUNNEL_MEASURES = (
    "targeted",
    "excluded",
    "deferred",
    "holdout",
    "pending",
    "sent",
    "failed",
    "delivered",
    "opened",
    "clicked",
    "responded",
    "bounced",
    "opted_out",
)
"""Funnel columns, in reading order (see `funnel.measures` for their definitions)."""
NONE = "—"
"""The group of messages with no value for a breakdown (no channel chosen, no A/B arm...)."""


@dataclass(frozen=True)
class RunInfo:
    """One wave of the campaign included in the report."""

    id: int
    wave: str
    as_of: date
    status: str
    purged: bool = False
    """Its messages were deleted by retention: only its counts remain (`reports.aggregated`)."""


@dataclass(frozen=True)
class FunnelRow:
    """Message counts for one group (a step and channel, or a step and a breakdown value)."""

    step: str
    group: str
    counts: dict[str, int]


@dataclass(frozen=True)
class ReasonCount:
    """People not contacted at a step, for one reason (excluded or deferred)."""

    step: str
    status: str
    reason: str
    count: int


@dataclass(frozen=True)
class DeliveryTimes:
    """Time from sending to delivery on one channel, in seconds (resolution: see `timing`)."""

    channel: str
    delivered: int
    p50: int | None
    p90: int | None
    p99: int | None


@dataclass(frozen=True)
class DailyEngagement:
    """How many messages were first delivered, opened (humans), clicked or answered on one day (UTC)."""

    day: str
    delivered: int
    opened: int
    clicked: int
    responded: int


@dataclass(frozen=True)
class Satisfaction:
    """Answers to the satisfaction survey of the campaign's messages."""

    answers: int
    average: float | None
    by_score: dict[int, int]
    by_channel: dict[str, tuple[int, float]]


@dataclass(frozen=True)
class CostLine:
    """What one channel cost: units (messages, or SMS segments) times the unit price."""

    channel: str
    messages: int
    units: int
    unit_price: float
    total: float


@dataclass(frozen=True)
class Comparison:
    """The difference in a rate between two groups, with its confidence interval (Newcombe, see `stats`)."""

    kind: str  # "uplift" (contacted vs holdout) or "ab" (an arm vs the reference arm)
    step: str
    measure: str  # an outcome code, or "clicked"
    group: str
    reference: str
    group_total: int
    group_hits: int
    reference_total: int
    reference_hits: int
    difference: float
    low: float
    high: float
    p_value: float

    @property
    def group_rate(self) -> float:
        return self.group_hits / self.group_total if self.group_total else 0.0

    @property
    def reference_rate(self) -> float:
        return self.reference_hits / self.reference_total if self.reference_total else 0.0

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class CampaignReport:
    """Everything a campaign report shows."""

    campaign: str
    description: str
    journey: str
    segment: str
    holdout_share: float
    runs: tuple[RunInfo, ...]
    generated_at: str
    outcome_window_days: int
    funnel: tuple[FunnelRow, ...]
    reasons: tuple[ReasonCount, ...]
    breakdowns: dict[str, tuple[FunnelRow, ...]]
    delivery_times: tuple[DeliveryTimes, ...]
    engagement: tuple[DailyEngagement, ...]
    satisfaction: Satisfaction
    costs: tuple[CostLine, ...]
    uplift: tuple[Comparison, ...]
    ab_tests: tuple[Comparison, ...]

    def totals(self) -> dict[str, int]:
        """The funnel summed over steps and channels."""
        return {m: sum(row.counts[m] for row in self.funnel) for m in FUNNEL_MEASURES}

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (dates as ISO text, rates and significance spelled out)."""
        data = asdict(self)
        data["runs"] = [{**run, "as_of": run["as_of"].isoformat()} for run in data["runs"]]
        for key in ("uplift", "ab_tests"):
            data[key] = [
                {
                    **item,
                    "group_rate": c.group_rate,
                    "reference_rate": c.reference_rate,
                    "significant": c.significant,
                }
                for item, c in zip(data[key], getattr(self, key), strict=True)
            ]
        data["totals"] = self.totals()
        data["total_cost"] = round(sum(line.total for line in self.costs), 2)
        return data
