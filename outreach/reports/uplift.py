"""Did the campaign help? Outcome rates of contacted people against the holdout group, and A/B arms.

The comparison is made at the campaign's first step, which reaches the whole audience: the holdout
draw only ever takes people who would have been contacted (status queued before the draw), so the
fair counterpart of the holdout group is everyone who was to be contacted — sent, failed or still
in the queue (intention to treat), not only those whose message arrived. An outcome counts when it
happened on or after the wave's date and within the window (90 days by default), the same window for
both groups. A/B arms are compared among the people actually sent each arm, on clicks and outcomes.
Intervals: Newcombe's hybrid score method (see `stats`).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, Select, and_, case, func, literal, select, text

from outreach.models import OUTCOMES, CampaignRun, Message, MessageEngagement, OutcomeEvent
from outreach.reports.model import Comparison
from outreach.reports.scope import ReportScope
from outreach.reports.sql import add_days
from outreach.reports.stats import newcombe, two_proportion_p_value

MESSAGES = Message.__table__
RUNS = CampaignRun.__table__
OUTCOME_EVENTS = OutcomeEvent.__table__
ENGAGEMENT = MessageEngagement.__table__
TO_BE_CONTACTED = ("queued", "sending", "sent", "failed", "ambiguous")
DEFAULT_WINDOW_DAYS = 90


def _outcomes_after(query: Select, window_days: int) -> Select:
    """`query` joined to the outcome events of its messages' people within the wave's window."""
    return query.join(RUNS, RUNS.c.id == MESSAGES.c.run_id).join(
        OUTCOME_EVENTS,
        and_(
            OUTCOME_EVENTS.c.person_id == MESSAGES.c.person_id,
            OUTCOME_EVENTS.c.occurred_on >= RUNS.c.as_of,
            OUTCOME_EVENTS.c.occurred_on < add_days(RUNS.c.as_of, literal(window_days)),
        ),
    )


def _compare(
    kind: str, step: str, measure: str, group: tuple[str, int, int], reference: tuple[str, int, int]
) -> Comparison:
    name, total, hits = group
    reference_name, reference_total, reference_hits = reference
    difference, low, high = newcombe(hits, total, reference_hits, reference_total)
    p_value = two_proportion_p_value(hits, total, reference_hits, reference_total)
    return Comparison(
        kind,
        step,
        measure,
        name,
        reference_name,
        total,
        hits,
        reference_total,
        reference_hits,
        difference,
        low,
        high,
        p_value,
    )


def holdout_uplift(connection: Connection, scope: ReportScope, window_days: int) -> tuple[Comparison, ...]:
    """Per outcome: rate among people to be contacted minus rate in the holdout group (empty without one)."""
    group = case((MESSAGES.c.status == "holdout", "holdout"), else_="contacted").label("grp")
    where = (
        MESSAGES.c.run_id.in_(scope.run_ids),
        MESSAGES.c.step == scope.entry_step,
        MESSAGES.c.status.in_((*TO_BE_CONTACTED, "holdout")),
    )
    totals = dict(connection.execute(select(group, func.count()).where(*where).group_by(text("grp"))).all())
    if not totals.get("holdout") or not totals.get("contacted"):
        return ()
    hits_query = _outcomes_after(
        select(group, OUTCOME_EVENTS.c.outcome, func.count(func.distinct(MESSAGES.c.id))).select_from(
            MESSAGES
        ),
        window_days,
    ).where(*where)
    hits: dict[str, dict[str, int]] = defaultdict(lambda: {"contacted": 0, "holdout": 0})
    for name, outcome, count in connection.execute(
        hits_query.group_by(text("grp"), OUTCOME_EVENTS.c.outcome)
    ):
        hits[outcome][name] = int(count)
    return tuple(
        _compare(
            "uplift",
            scope.entry_step,
            outcome,
            ("contacted", totals["contacted"], hits[outcome]["contacted"]),
            ("holdout", totals["holdout"], hits[outcome]["holdout"]),
        )
        for outcome in OUTCOMES
        if outcome in hits
    )


def ab_tests(connection: Connection, scope: ReportScope, window_days: int) -> tuple[Comparison, ...]:
    """For each step with several arms: each arm against the first, on clicks and on each outcome."""
    where = (MESSAGES.c.run_id.in_(scope.run_ids), MESSAGES.c.status == "sent", MESSAGES.c.arm.is_not(None))
    sent = connection.execute(
        select(MESSAGES.c.step, MESSAGES.c.arm, func.count(), func.count(ENGAGEMENT.c.first_click_at))
        .select_from(MESSAGES.outerjoin(ENGAGEMENT, ENGAGEMENT.c.message_id == MESSAGES.c.id))
        .where(*where)
        .group_by(MESSAGES.c.step, MESSAGES.c.arm)
    ).all()
    arms: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for step, arm, total, clicked in sent:
        arms[step][arm] = (int(total), int(clicked))
    tested = {step: names for step, names in arms.items() if len(names) > 1}
    if not tested:
        return ()
    outcome_hits: dict[tuple[str, str, str], int] = {}
    query = _outcomes_after(
        select(
            MESSAGES.c.step,
            MESSAGES.c.arm,
            OUTCOME_EVENTS.c.outcome,
            func.count(func.distinct(MESSAGES.c.id)),
        ).select_from(MESSAGES),
        window_days,
    ).where(*where, MESSAGES.c.step.in_(tested))
    for step, arm, outcome, count in connection.execute(
        query.group_by(MESSAGES.c.step, MESSAGES.c.arm, OUTCOME_EVENTS.c.outcome)
    ):
        outcome_hits[(step, arm, outcome)] = int(count)

    def counts(step: str, arm: str, measure: str) -> tuple[str, int, int]:
        total, clicked = tested[step][arm]
        return arm, total, clicked if measure == "clicked" else outcome_hits.get((step, arm, measure), 0)

    comparisons = []
    for step in sorted(tested, key=lambda s: scope.step_order.get(s, 0)):
        reference, *others = _arm_order(scope, step, tested[step])
        observed = {outcome for (s, _, outcome) in outcome_hits if s == step}
        for arm in others:
            for measure in ("clicked", *(o for o in OUTCOMES if o in observed)):
                comparisons.append(
                    _compare(
                        "ab", step, measure, counts(step, arm, measure), counts(step, reference, measure)
                    )
                )
    return tuple(comparisons)


def _arm_order(scope: ReportScope, step: str, seen: dict[str, tuple[int, int]]) -> list[str]:
    """The arms in the campaign file's order (the first is the reference), then any others by name."""
    declared = []
    for definition in scope.campaign.steps:
        if definition.name == step:
            declared = [variant.name for variant in definition.variants]
    return [arm for arm in declared if arm in seen] + sorted(arm for arm in seen if arm not in declared)
