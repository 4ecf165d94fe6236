"""Campaign reports on hand-built histories: funnel, breakdowns, times, costs, uplift with intervals."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select
from typer.testing import CliRunner

from outreach.campaigns.definition import Campaign
from outreach.campaigns.library import load_campaigns
from outreach.cli.main import app
from outreach.db import default_engine
from outreach.errors import ConfigurationError
from outreach.models import (
    AuditEntry,
    CampaignRun,
    Message,
    MessageEngagement,
    OutcomeEvent,
    SatisfactionAnswer,
    SegmentMembership,
)
from outreach.reports.build import build_report, render
from outreach.reports.costs import Prices, load_prices
from outreach.reports.model import FunnelRow
from outreach.reports.stats import newcombe, wilson
from tests.people import load, person

CAMPAIGN = "career_statement_35"  # 10 % holdout, steps first_contact -> sms_reminder -> letter_reminder
WAVE = date(2026, 11, 2)
SENT = datetime(2026, 11, 2, 9, 0)


def add_run(engine: Engine, as_of: date = WAVE, dry_run: bool = False, campaign: str = CAMPAIGN) -> int:
    with engine.begin() as connection:
        return connection.execute(
            insert(CampaignRun)
            .values(campaign=campaign, wave=as_of.isoformat(), as_of=as_of, dry_run=dry_run, status="done")
            .returning(CampaignRun.id)
        ).scalar_one()


def add_messages(engine: Engine, run_id: int, rows: list[dict[str, Any]]) -> list[int]:
    """Insert messages (with optional `engagement` dicts); returns their ids in order."""
    ids = []
    with engine.begin() as connection:
        for row in rows:
            engagement = row.pop("engagement", None)
            values = {"run_id": run_id, "journey": "follow_career", "step": "first_contact", **row}
            message_id = connection.execute(
                insert(Message).values(**values).returning(Message.id)
            ).scalar_one()
            if engagement is not None:
                connection.execute(
                    insert(MessageEngagement).values(message_id=message_id, updated_at=SENT, **engagement)
                )
            ids.append(message_id)
    return ids


def small_campaign(engine: Engine) -> dict[str, int]:
    """Twelve people through one wave, every fate a message can have; returns message ids by person."""
    born = date(1991, 10, 14)  # 35 on the wave's date
    people = [person(i, born) for i in range(12)]
    people[5]["birth_date"] = date(1991, 11, 14)  # 35 twelve days after the wave: still 34
    people[6].update(birth_date=date(1960, 4, 1), fragility_flags="aah")
    load(engine, people)
    run = add_run(engine)
    rehearsal = add_run(engine, dry_run=True)
    add_messages(
        engine,
        rehearsal,
        [{"person_id": f"P0000{i}", "status": "queued", "channel": "email"} for i in range(4)],
    )

    def at(seconds: int) -> datetime:
        return SENT + timedelta(seconds=seconds)

    sent = {"status": "sent", "sent_at": SENT, "variant": "standard", "arm": "main"}
    rows = [
        {"person_id": "P00000", "channel": "email", **sent,
         "engagement": {"delivered_at": at(30), "first_open_at": at(600), "human_opens": 2,
                        "first_click_at": at(700), "clicks": 1}},
        {"person_id": "P00001", "channel": "email", **sent,
         "engagement": {"delivered_at": at(120), "first_open_at": at(86400 + 60), "human_opens": 1}},
        {"person_id": "P00002", "channel": "email", **sent,
         "engagement": {"delivered_at": at(45), "machine_opens": 1}},  # an Apple Mail proxy, not a reader
        {"person_id": "P00003", "channel": "email", **sent,
         "engagement": {"bounce": "hard", "bounced_at": at(20)}},
        {"person_id": "P00004", "channel": "sms", **sent, "sms_segments": 2,
         "engagement": {"delivered_at": at(5), "replied_at": at(3600)}},
        {"person_id": "P00005", "channel": "sms", **sent, "sms_segments": 1,
         "engagement": {"delivered_at": at(7), "unsubscribed_at": at(7200)}},
        {"person_id": "P00006", "channel": "letter", **sent, "variant": "fragile",
         "engagement": {"responded_at": at(5 * 86400)}},
        {"person_id": "P00007", "status": "excluded", "reason": "opted_out"},
        {"person_id": "P00008", "status": "excluded", "reason": "no_address"},
        {"person_id": "P00009", "status": "holdout", "reason": "holdout", "channel": "email",
         "variant": "standard"},
        {"person_id": "P00010", "status": "deferred", "reason": "pressure_cap"},
        {"person_id": "P00011", "status": "failed", "reason": "provider_failed", "channel": "email",
         "variant": "standard"},
    ]  # fmt: skip
    ids = add_messages(engine, run, rows)
    reminder = {"step": "sms_reminder", "channel": "sms", "sms_segments": 1, **sent}
    add_messages(
        engine,
        run,
        [
            {"person_id": "P00001", **reminder, "engagement": {"delivered_at": at(10)}},
            {"person_id": "P00002", **reminder},
        ],
    )
    with engine.begin() as connection:
        connection.execute(
            insert(SatisfactionAnswer),
            [
                {"message_id": ids[0], "person_id": "P00000", "journey": "follow_career", "channel": "email",
                 "campaign": CAMPAIGN, "score": 5, "comment": "Très clair, merci", "answered_at": at(900)},
                {"message_id": ids[4], "person_id": "P00004", "journey": "follow_career", "channel": "sms",
                 "campaign": CAMPAIGN, "score": 3, "comment": None, "answered_at": at(4000)},
            ],
        )  # fmt: skip
    return {f"P{i:05d}": message_id for i, message_id in enumerate(ids)}


def outcomes(engine: Engine, rows: list[tuple[str, str, date]]) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(OutcomeEvent),
            [
                {"person_id": p, "outcome": o, "occurred_on": d, "source": "test", "imported_at": SENT}
                for p, o, d in rows
            ],
        )


@pytest.fixture
def campaign() -> Campaign:
    return load_campaigns().get(CAMPAIGN)


PRICES = Prices(email=0.01, sms_segment=0.05, letter=1.0)


def row(report_rows: tuple[FunnelRow, ...], step: str, group: str) -> dict[str, int]:
    return next(r.counts for r in report_rows if r.step == step and r.group == group)


def test_the_funnel_counts_every_fate_of_a_hand_built_wave(engine: Engine, campaign: Campaign) -> None:
    small_campaign(engine)
    report = build_report(engine, campaign, prices=PRICES)

    assert [r.wave for r in report.runs] == ["2026-11-02"]  # the rehearsal is not reported
    email = row(report.funnel, "first_contact", "email")
    assert email == {
        "targeted": 6, "excluded": 0, "deferred": 0, "holdout": 1, "pending": 0, "sent": 4, "failed": 1,
        "delivered": 3, "opened": 2, "clicked": 1, "responded": 0, "bounced": 1, "opted_out": 0,
    }  # fmt: skip
    sms = row(report.funnel, "first_contact", "sms")
    assert (sms["sent"], sms["delivered"], sms["responded"], sms["opted_out"]) == (2, 2, 1, 1)
    letter = row(report.funnel, "first_contact", "letter")
    # a letter handed to the printer and not returned counts as delivered (nobody reports a delivery)
    assert (letter["sent"], letter["delivered"], letter["responded"]) == (1, 1, 1)
    nobody = row(report.funnel, "first_contact", "—")
    assert (nobody["targeted"], nobody["excluded"], nobody["deferred"]) == (3, 2, 1)
    reminder = row(report.funnel, "sms_reminder", "sms")
    assert (reminder["targeted"], reminder["sent"], reminder["delivered"]) == (2, 2, 1)
    assert [r.step for r in report.funnel][:1] == ["first_contact"]  # steps in the campaign's order
    assert report.totals()["targeted"] == 14

    assert {(r.status, r.reason): r.count for r in report.reasons} == {
        ("excluded", "opted_out"): 1,
        ("excluded", "no_address"): 1,
        ("deferred", "pressure_cap"): 1,
    }


def test_breakdowns_by_variant_age_band_and_segment_on_the_waves_date(
    engine: Engine, campaign: Campaign
) -> None:
    small_campaign(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(SegmentMembership),
            [
                *({"segment": CAMPAIGN, "person_id": f"P{i:05d}", "entered_on": WAVE, "left_on": None,
                   "entered_refresh_id": 1, "left_refresh_id": None} for i in range(12)),
                {"segment": "fragile", "person_id": "P00006", "entered_on": date(2026, 10, 1),
                 "left_on": None, "entered_refresh_id": 1, "left_refresh_id": None},
                {"segment": "fragile", "person_id": "P00000", "entered_on": date(2026, 9, 1),
                 "left_on": date(2026, 10, 15), "entered_refresh_id": 1, "left_refresh_id": 2},
            ],
        )  # fmt: skip
    report = build_report(engine, campaign, prices=PRICES)

    variant = report.breakdowns["variant"]
    assert row(variant, "first_contact", "fragile")["sent"] == 1
    assert row(variant, "first_contact", "standard")["targeted"] == 8
    assert row(variant, "first_contact", "—")["targeted"] == 3
    ages = report.breakdowns["age_band"]
    assert row(ages, "first_contact", "moins de 35 ans")["targeted"] == 1  # born 14/11/1991: 34 on 02/11/2026
    assert row(ages, "first_contact", "65-74 ans")["targeted"] == 1
    assert row(ages, "first_contact", "35-44 ans")["targeted"] == 10
    segments = report.breakdowns["segment"]
    assert row(segments, "first_contact", CAMPAIGN)["targeted"] == 12
    assert row(segments, "first_contact", "fragile")["targeted"] == 1  # P00000 had left by then
    assert row(report.breakdowns["journey"], "first_contact", "follow_career")["targeted"] == 12


def test_delivery_times_satisfaction_and_costs(engine: Engine, campaign: Campaign) -> None:
    small_campaign(engine)
    report = build_report(engine, campaign, prices=PRICES)

    times = {t.channel: t for t in report.delivery_times}
    assert (times["email"].delivered, times["email"].p50, times["email"].p90) == (3, 45, 120)
    assert (times["sms"].delivered, times["sms"].p50, times["sms"].p99) == (3, 7, 10)
    assert "letter" not in times

    assert report.satisfaction.answers == 2 and report.satisfaction.average == 4.0
    assert report.satisfaction.by_score == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert report.satisfaction.by_channel == {"email": (1, 5.0), "sms": (1, 3.0)}

    costs = {c.channel: (c.messages, c.units, c.total) for c in report.costs}
    assert costs == {"email": (4, 4, 0.04), "sms": (4, 5, 0.25), "letter": (1, 1, 1.0)}

    days = {d.day: d for d in report.engagement}
    assert (days["2026-11-02"].delivered, days["2026-11-02"].opened, days["2026-11-02"].clicked) == (6, 1, 1)
    assert days["2026-11-03"].opened == 1 and days["2026-11-07"].responded == 1


def test_prices_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OUTREACH_PRICE_LETTER", "1,12")
    monkeypatch.delenv("OUTREACH_PRICE_SMS_SEGMENT", raising=False)
    settings = tmp_path / "reports.yaml"
    settings.write_text("prices:\n  sms_segment: 0.04\n", encoding="utf-8")
    assert load_prices(settings) == Prices(email=0.001, sms_segment=0.04, letter=1.12)


def uplift_campaign(engine: Engine, contacted: int = 3000, held_out: int = 1000, first: int = 0) -> None:
    """A wave where 30 % of contacted people and 20 % of the holdout group started a claim online.

    Arms A and B split the contacted people (25 % and 35 %); `first` shifts the people's numbers.
    Outcomes before the wave or after the window are there to be ignored.
    """
    people = [person(first + i, date(1991, 10, 14)) for i in range(contacted + held_out)]
    load(engine, people)
    wave = WAVE + timedelta(days=first)
    run = add_run(engine, as_of=wave)
    with engine.begin() as connection:
        connection.execute(
            insert(Message),
            [
                {"run_id": run, "step": "first_contact", "person_id": p["person_id"],
                 "journey": "follow_career", "status": "sent" if i < contacted else "holdout",
                 "channel": "email", "sent_at": SENT,
                 "arm": ("A" if i % 2 == 0 else "B") if i < contacted else None}
                for i, p in enumerate(people)
            ],
        )  # fmt: skip
    in_window = wave + timedelta(days=20)
    ids = [p["person_id"] for p in people]
    arm_a, arm_b, holdout = ids[0:contacted:2], ids[1:contacted:2], ids[contacted:]
    claimed = arm_a[: len(arm_a) // 4] + arm_b[: len(arm_b) * 35 // 100] + holdout[: len(holdout) // 5]
    rows = [(p, "online_claim_started", in_window) for p in claimed]
    rows += [(p, "online_claim_started", wave - timedelta(days=3)) for p in arm_a[-len(arm_a) // 5 :]]
    rows += [(p, "online_claim_started", wave + timedelta(days=120)) for p in holdout[-len(holdout) // 4 :]]
    rows += [(p, "appointment_booked", in_window) for p in holdout[: len(holdout) // 20]]
    outcomes(engine, rows)


def test_uplift_against_the_holdout_recovers_a_known_effect(engine: Engine, campaign: Campaign) -> None:
    uplift_campaign(engine)
    report = build_report(engine, campaign, prices=PRICES)

    by_outcome = {c.measure: c for c in report.uplift}
    claim = by_outcome["online_claim_started"]
    assert (claim.group_hits, claim.group_total, claim.reference_hits, claim.reference_total) == (
        900,
        3000,
        200,
        1000,
    )
    assert claim.difference == pytest.approx(0.10)
    assert claim.low < 0.10 < claim.high and claim.low > 0  # contains the true effect, excludes none
    assert claim.high - claim.low < 0.07  # a few thousand people measure it to within a few points
    assert claim.significant and claim.p_value < 0.001
    booked = by_outcome["appointment_booked"]
    assert (booked.group_hits, booked.reference_hits) == (0, 50) and booked.high < 0


def test_ab_arms_are_compared_with_the_same_method(engine: Engine, campaign: Campaign) -> None:
    uplift_campaign(engine)
    report = build_report(engine, campaign, prices=PRICES)

    tests = {(c.measure, c.group, c.reference): c for c in report.ab_tests}
    claim = tests[("online_claim_started", "B", "A")]
    assert (claim.group_hits, claim.group_total, claim.reference_hits, claim.reference_total) == (
        525,
        1500,
        375,
        1500,
    )
    assert claim.low < 0.10 < claim.high and claim.low > 0
    clicks = tests[("clicked", "B", "A")]
    assert clicks.difference == 0 and clicks.low < 0 < clicks.high and not clicks.significant


def test_no_holdout_group_means_no_uplift_rather_than_a_made_up_one(
    engine: Engine, campaign: Campaign
) -> None:
    small_campaign(engine)
    with engine.begin() as connection:
        connection.execute(delete(Message).where(Message.status == "holdout"))
    outcomes(engine, [("P00000", "online_claim_started", WAVE)])
    assert build_report(engine, campaign, prices=PRICES).uplift == ()


def test_newcombe_interval_matches_the_published_examples() -> None:
    # Newcombe (1998), table II: 56/70 vs 48/80 -> 0.2000 (0.0524, 0.3339); 9/10 vs 3/10 -> (0.1705, 0.8090)
    assert newcombe(56, 70, 48, 80) == pytest.approx((0.2, 0.0524, 0.3339), abs=1e-4)
    assert newcombe(9, 10, 3, 10) == pytest.approx((0.6, 0.1705, 0.8090), abs=1e-4)
    assert wilson(0, 10)[0] == pytest.approx(0.0) and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)  # Wilson, 0 successes out of 10


def test_a_dry_run_or_another_campaigns_run_is_refused(engine: Engine, campaign: Campaign) -> None:
    small_campaign(engine)
    rehearsal = add_run(engine, as_of=date(2026, 11, 9), dry_run=True)
    other = add_run(engine, campaign="survivor_pension")
    with pytest.raises(ConfigurationError, match="is a dry run"):
        build_report(engine, campaign, rehearsal, prices=PRICES)
    with pytest.raises(ConfigurationError, match="is not a run of campaign"):
        build_report(engine, campaign, other, prices=PRICES)


def test_markdown_and_json_carry_the_same_figures_and_no_personal_data(
    engine: Engine, campaign: Campaign
) -> None:
    small_campaign(engine)
    uplift_free = build_report(engine, campaign, prices=PRICES)
    markdown = render(uplift_free, "md")
    data = json.loads(render(uplift_free, "json"))

    assert "| Ciblés | 14 |" in markdown and "| first_contact | E-mail |" in markdown
    assert data["totals"]["sent"] == 9 and data["total_cost"] == 1.29
    html = render(uplift_free, "html")
    for text in (markdown, json.dumps(data), html):
        assert "P0000" not in text and "Très clair" not in text and "orange.example.net" not in text


def test_the_report_command_writes_the_file_and_an_audit_entry(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_campaign(sqlite_engine)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", sqlite_url)
    default_engine.cache_clear()
    out = tmp_path / "bilan.json"
    result = CliRunner().invoke(app, ["report", CAMPAIGN, "--format", "json", "--out", str(out)])
    default_engine.cache_clear()

    assert result.exit_code == 0, result.output
    assert "14 targeted, 9 sent" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["campaign"] == CAMPAIGN
    with sqlite_engine.connect() as connection:
        entry = connection.execute(select(AuditEntry).where(AuditEntry.action == "report")).one()
    assert (entry.action, entry.target, entry.count) == ("report", CAMPAIGN, 14)
