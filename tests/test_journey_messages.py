"""The right message for where the person is: condolences only for a recent death, "apply now" for
someone a few months from their legal age, no claim invitation for an invalidity pensioner (their
retirement replaces the invalidity pension without a claim) — through `run_step`, on both databases."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, select

from outreach.campaigns.runner import CampaignRunner
from outreach.emulator.running import EmulatorHandle
from outreach.models import CampaignRun, Message
from tests.people import load, person

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris: every window is open


def reached(engine: Engine, campaign: str) -> dict[str, str]:
    """person_id -> status of the campaign's first step."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.person_id, Message.status)
            .join(CampaignRun, CampaignRun.id == Message.run_id)
            .where(CampaignRun.campaign == campaign)
        ).all()
    return dict(rows)


def texts_by_message(emulator: EmulatorHandle, engine: Engine) -> dict[str, str]:
    """person_id -> the e-mail text they received."""
    with engine.connect() as connection:
        owners = {f"m{i}": p for i, p in connection.execute(select(Message.id, Message.person_id)).all()}
    return {
        owners[m["custom_args"]["outreach_message_id"]]: m["subject"] + "\n" + m["text"]
        for m in emulator.messages()["sendgrid"]
    }


def survivor(index: int, birth: date, death: date) -> dict:
    return person(index, birth, status="retired", spouse_death_date=death, preferred_channel="email")


def test_condolences_go_only_to_a_recent_loss_and_older_losses_get_plain_information(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle
) -> None:
    load(
        engine,
        [
            survivor(0, date(1956, 3, 2), date(2026, 7, 15)),  # 4 months ago: condolences
            survivor(1, date(1958, 6, 9), date(2026, 11, 5)),  # 3 weeks ago: not yet
            survivor(2, date(1949, 1, 20), date(2003, 9, 1)),  # 23 years ago: information
            survivor(3, date(1974, 5, 3), date(2008, 3, 12)),  # 52, death in 2008: the 51 rule
            survivor(4, date(1973, 2, 14), date(2006, 10, 2)),  # 53, death in 2006: 55 applies
            survivor(5, date(1961, 9, 30), date(2025, 10, 1)),  # 13 months ago: information
        ],
    )
    runner.run_step("survivor_pension", "information", AS_OF, now=NOW)
    runner.run_step("survivor_pension_information", "information", AS_OF, now=NOW)

    assert reached(engine, "survivor_pension") == {"P00000": "sent"}
    assert reached(engine, "survivor_pension_information") == {
        "P00002": "sent",
        "P00003": "sent",
        "P00005": "sent",
    }
    texts = texts_by_message(emulator, engine)
    assert "condoléances" in texts["P00000"]
    for older in ("P00002", "P00003", "P00005"):
        assert "condoléances" not in texts[older] and "pension de réversion" in texts[older]


def test_the_claim_message_fits_how_far_the_legal_age_is_and_skips_invalidity_pensioners(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle
) -> None:
    load(
        engine,
        [
            # born 1964: legal age 62 y 9 m
            person(0, date(1964, 8, 10), preferred_channel="email"),  # 10 May 2027: 5 months ahead
            person(1, date(1964, 4, 10), preferred_channel="email"),  # 10 January 2027: 6 weeks ahead
            person(2, date(1964, 4, 18), preferred_channel="email", fragility_flags="invalidity_pension"),
            person(3, date(1964, 8, 2), preferred_channel="email", fragility_flags="invalidity_pension"),
        ],
    )
    runner.run_step("retirement_claim", "claim_invitation", AS_OF, now=NOW)
    runner.run_step("retirement_claim_soon", "claim_invitation", AS_OF, now=NOW)

    assert reached(engine, "retirement_claim") == {"P00000": "sent"}
    assert reached(engine, "retirement_claim_soon") == {"P00001": "sent"}
    texts = texts_by_message(emulator, engine)
    assert "4 à 6 mois avant" in texts["P00000"].splitlines()[0]
    assert "dès maintenant" in texts["P00001"]
    assert "le 1er jour du mois qui suit votre demande" in texts["P00001"]
    assert "faites-la 4 à 6 mois avant votre départ" not in texts["P00001"]
