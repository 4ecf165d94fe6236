"""A campaign step end to end: segment, policy, rendering, the real SDKs over HTTP to the emulator."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from outreach.campaigns.runner import CampaignRunner
from outreach.emulator.running import EmulatorHandle
from outreach.models import Message
from tests.people import load, person

AS_OF = date(2026, 11, 26)  # a Thursday
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris: every send window is open
BORN_NOVEMBER_1991 = date(1991, 11, 14)  # turns 35 this month: in career_statement_35


def statuses(engine: Engine) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.person_id, Message.status, Message.channel, Message.reason, Message.template)
        ).all()
    return {r.person_id: (r.status, r.channel, r.reason, r.template) for r in rows}


def audience(count: int = 30) -> list[dict]:
    people = [person(i, BORN_NOVEMBER_1991) for i in range(count)]
    people[1].update(fragility_flags="rsa")
    people[2].update(preferred_channel="sms")
    people[3].update(email=None, mobile_phone=None)
    people[4].update(status="deceased")
    people[5].update(email=None, mobile_phone=None, address_street=None, postal_code=None, city=None)
    people.append(person(99, date(1991, 12, 2)))  # turns 35 in December: not in this month's segment
    return people


def test_first_step_decides_for_everyone_and_sends_each_message_once(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    load(engine, audience(), opt_outs=[("P00006", "all"), ("P00007", "email")])
    report = runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)

    decided = statuses(engine)
    campaign = runner.library.get("career_statement_35")
    spec = runner.library.step_spec(campaign, campaign.steps[0])

    def expect(person_id: str, channel: str, reason: str) -> tuple[str, str, str]:
        """Contactable people are sent, unless the reproducible draw put them in the control group."""
        return ("holdout", channel, "holdout") if spec.in_holdout(person_id) else ("sent", channel, reason)

    assert "P00004" not in decided and "P00099" not in decided  # deceased, and not 35 this month
    assert len(decided) == 29  # everyone else of the segment has a row, contacted or not
    assert decided["P00000"][:3] == expect("P00000", "email", "campaign_channel")
    assert decided["P00001"][:3] == expect("P00001", "letter", "fragile_letter")
    assert decided["P00001"][3] == "career_statement_35_fragile"
    assert decided["P00002"][:3] == expect("P00002", "sms", "preferred_channel")
    assert decided["P00003"][:3] == expect("P00003", "letter", "fallback_channel")
    assert decided["P00005"][:3] == ("excluded", None, "no_email")
    assert decided["P00006"][:3] == ("excluded", None, "opted_out")
    assert decided["P00007"][:3] == expect("P00007", "sms", "fallback_channel")
    held_out = {p for p, d in decided.items() if d[0] == "holdout"}
    assert held_out == {p for p in decided if spec.in_holdout(p) and decided[p][0] != "excluded"}
    assert 0 < len(held_out) < 10  # a 10 % control group

    sent = {p for p, d in decided.items() if d[0] == "sent"}
    received = emulator.messages()
    emails, texts = received["sendgrid"], received["twilio"]
    letters = {p for p in sent if decided[p][1] == "letter"}
    assert len(emails) + len(texts) + len(letters) == len(sent)
    assert all("Bonjour" in m["text"] for m in emails)
    keys = {m["custom_args"]["outreach_message_id"] for m in emails}
    with engine.connect() as connection:
        emailed = set(
            connection.scalars(
                select(Message.person_id).where(Message.channel == "email", Message.status == "sent")
            )
        )
        expected_keys = {
            f"m{i}" for i in connection.scalars(select(Message.id).where(Message.person_id.in_(emailed)))
        }
    assert keys == expected_keys
    manifests = list((tmp_path / "drop").glob("*.csv"))
    assert len(manifests) == (1 if letters else 0)
    assert all(p in manifests[0].read_text() for p in letters)
    assert report.by_status()["sent"] == len(sent)

    again = runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)
    assert emulator.messages() == received  # a rerun sends nothing twice
    assert again.new_in_audience == 0
    assert statuses(engine) == decided


def test_a_dry_run_renders_and_previews_but_sends_nothing(
    engine: Engine, runner: CampaignRunner, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    load(engine, audience(12))
    report = runner.run_step("career_statement_35", "first_contact", AS_OF, dry_run=True, now=NOW)

    assert emulator.messages() == {"sendgrid": [], "twilio": []}
    assert not list((tmp_path / "drop").glob("*"))
    assert report.by_status()["queued"] >= 8
    assert report.render_failures == 0
    names = [path.name for path in report.previews]
    assert any(n.endswith(".html") for n in names) and any(n.endswith(".pdf") for n in names)
    assert all(path.is_file() and path.stat().st_size > 0 for path in report.previews)

    real = runner.run_step("career_statement_35", "first_contact", AS_OF, now=NOW)
    assert real.by_status()["sent"] == report.by_status()["queued"]  # dry runs do not count as contacts
