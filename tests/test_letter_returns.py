"""Returned letters (plis non distribués): the letter channel's hard bounce, end to end.

The return file goes through the CLI (`outreach letters returns import`) into a database where real
campaign steps sent the letters (CampaignRunner, the print channel into a drop folder, e-mail through
the SendGrid SDK to the emulator); the channel policy, a later population import and the report then
see the returns.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from outreach.campaigns.library import CampaignLibrary
from outreach.campaigns.runner import CampaignRunner
from outreach.cli.main import app
from outreach.db import default_engine
from outreach.delivery.policy import PersonFacts, PressureLimits, StepPolicy, decide
from outreach.models import AuditEntry, DeliveryEvent, LetterReturn, Message, MessageEngagement, Person
from outreach.reports.build import build_report
from tests.people import load
from tests.people import person as synthetic_person
from tests.population_files import person_row, write_extract

AS_OF = date(2026, 11, 26)  # a Thursday
NOW = datetime(2026, 11, 26, 9, 30)  # 10:30 in Paris: every send window is open
WELCOME_AS_OF = date(2026, 12, 1)  # a Tuesday
WELCOME_NOW = datetime(2026, 12, 1, 9, 30)


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `outreach` command on the test's database."""
    monkeypatch.setenv("OUTREACH_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OUTREACH_VAR_DIR", str(tmp_path / "var"))
    default_engine.cache_clear()
    yield CliRunner()
    default_engine.cache_clear()


def survivor(index: int, **values: str) -> dict[str, str]:
    """A new retiree of Poitiers whose spouse died this year: in `survivors_55plus` and `new_retirees`."""
    first, last = [
        ("Jacqueline", "Bérard"),
        ("André", "Nguyen"),
        ("Françoise", "Lévêque"),
        ("Gérard", "Roux"),
    ][index]
    row = person_row(
        f"P{index:05d}",
        civility="Mme" if index % 2 == 0 else "M",
        first_name=first,
        last_name=last,
        birth_date="1960-05-12",
        status="retired",
        worker_type="salaried",
        email=f"{first.lower()}.{index}@orange.example.net",
        mobile_phone=f"06 12 34 56 7{index}",
        retirement_date="2026-09-01",
        spouse_death_date="2026-03-10",
        address_street=f"{index + 2} rue de la Cathédrale",
    )
    row.update(values)
    return row


PEOPLE = [
    survivor(0, digital_profile="non_technophile"),  # fragile: a letter first wherever one is possible
    survivor(1, email="", mobile_phone=""),  # a postal address only
    survivor(2, email="", mobile_phone=""),
    survivor(3),
]


def invoke(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def letter_keys(engine: Engine, step: str) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.person_id, Message.id).where(Message.step == step, Message.channel == "letter")
        ).all()
    return {person_id: message_id for person_id, message_id in rows}


def write_returns(path: Path, rows: list[tuple[str, str, str]], delimiter: str = ";") -> Path:
    lines = [delimiter.join(("reference", "returned_on", "reason")), *(delimiter.join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_returned_letters_invalidate_the_address_and_move_people_to_another_channel(
    engine: Engine, runner: CampaignRunner, cli: CliRunner, library: CampaignLibrary, tmp_path: Path
) -> None:
    extract = write_extract(tmp_path / "extrait.csv", PEOPLE)
    assert invoke(cli, "population", "import", str(extract))[0] == 0
    runner.run_step("survivor_pension", "information", AS_OF, now=NOW)
    letters = letter_keys(engine, "information")
    assert sorted(letters) == ["P00000", "P00001", "P00002", "P00003"]
    email_message = letters["P00003"] + 10_000  # no such message

    returns = write_returns(
        tmp_path / "retours-laposte.csv",
        [
            (f"CO-m{letters['P00000']}", "2026-11-30", "NPAI"),
            (f"CO-m{letters['P00001']}", "30/11/2026", "Refusé"),
            (f"co-m{letters['P00002']}", "2026-12-01", "DÉCÉDÉ"),
            (f"CO-m{email_message}", "2026-11-30", "NPAI"),
            ("jacqueline.0@orange.example.net", "2026-11-30", "NPAI"),
            (f"CO-m{letters['P00003']}", "2099-01-01", "NPAI"),
            (f"CO-m{letters['P00003']}", "2026-11-30", "parti sans laisser d'adresse"),
            (f"CO-m{letters['P00000']}", "2026-11-30", "NPAI"),
        ],
    )
    report = tmp_path / "retours-rejets.csv"
    code, output = invoke(
        cli, "letters", "returns", "import", str(returns), "--report", str(report), "--json"
    )
    summary = json.loads(output.strip().splitlines()[-1])
    assert code == 5
    assert (summary["imported"], summary["addresses_invalidated"], summary["for_review"]) == (3, 2, 1)
    assert summary["by_reason"] == {"npai": 1, "refused": 1, "deceased": 1}
    assert summary["rejected"] == 5

    rejects = report.read_text(encoding="utf-8")
    assert rejects.splitlines()[0] == "line,reference,person_id,field,reason"
    assert "orange.example.net" not in rejects and "parti sans" not in rejects
    found = {(r[0], r[1], r[3], r[4].split(" (")[0]) for r in csv.reader(io.StringIO(rejects))}
    assert found - {("line", "reference", "field", "reason")} == {
        ("5", f"CO-m{email_message}", "reference", "unknown letter"),
        ("6", "", "reference", "not a letter reference"),
        ("7", f"CO-m{letters['P00003']}", "returned_on", "date in the future"),
        ("8", f"CO-m{letters['P00003']}", "reason", "unknown return reason"),
        ("9", f"CO-m{letters['P00000']}", "reference", "reference already seen earlier in the file"),
    }

    with engine.connect() as connection:
        people = {p.person_id: p for p in connection.execute(select(Person))}
        returned = {r.person_id: r for r in connection.execute(select(LetterReturn))}
        events = connection.execute(
            select(DeliveryEvent).where(DeliveryEvent.provider == "letter_returns")
        ).all()
        bounced = dict(
            connection.execute(select(MessageEngagement.message_id, MessageEngagement.bounce)).all()
        )
        statuses = dict(
            connection.execute(
                select(Message.person_id, Message.status).where(Message.step == "information")
            ).all()
        )
        audit = connection.execute(
            select(AuditEntry.count, AuditEntry.details).where(AuditEntry.action == "letter_returns_import")
        ).one()
    assert (people["P00000"].address_invalid_on, people["P00000"].address_invalid_reason) == (
        date(2026, 11, 30),
        "npai",
    )
    assert people["P00000"].address_street == "2 rue de la Cathédrale"  # kept, never deleted
    assert people["P00001"].address_invalid_reason == "refused"
    # "Décédé" goes to review: neither the person's status nor the address changes.
    assert (people["P00002"].status, people["P00002"].address_invalid_on) == ("retired", None)
    assert {p: r.action for p, r in returned.items()} == {
        "P00000": "address_invalid",
        "P00001": "address_invalid",
        "P00002": "review",
    }
    assert len(events) == 3 and {(e.event, e.bounce) for e in events} == {("bounced", "hard")}
    assert all(bounced[letters[p]] == "hard" for p in ("P00000", "P00001", "P00002"))
    assert statuses == {"P00000": "failed", "P00001": "failed", "P00002": "failed", "P00003": "sent"}
    details = json.loads(audit.details)
    assert audit.count == 3 and details["for_review"] == 1
    for person in PEOPLE:
        assert person["last_name"] not in audit.details and person["person_id"] not in audit.details

    code, output = invoke(cli, "letters", "returns", "review")
    assert code == 0
    assert f"CO-m{letters['P00002']}  P00002  returned 2026-12-01" in output
    assert "P00000" not in output

    again = write_returns(
        tmp_path / "retours-bis.csv", [(f"CO-m{letters['P00000']}", "2026-11-30", "NPAI")], ","
    )
    code, output = invoke(cli, "letters", "returns", "import", str(again), "--json")
    assert code == 0
    assert json.loads(output.strip().splitlines()[-1])["already_known"] == 1

    # The follow-up letter goes to P00003 only: a returned letter's people are followed up (they never
    # got it), but no letter goes to an invalid address, nor to someone a return says has died.
    reminder = runner.run_step("survivor_pension", "letter_reminder", AS_OF, now=NOW + timedelta(days=22))
    assert sorted(letter_keys(engine, "letter_reminder")) == ["P00003"]
    assert reminder.decisions["address_invalid"] == 2 and reminder.decisions["death_reported"] == 1

    # Another campaign: the fragile person's letter becomes an e-mail; without one, nobody is written to.
    runner.run_step("welcome_retirement", "welcome", WELCOME_AS_OF, now=WELCOME_NOW)
    with engine.connect() as connection:
        welcome = {
            r.person_id: (r.status, r.channel, r.reason)
            for r in connection.execute(select(Message).where(Message.step == "welcome"))
        }
    assert welcome["P00000"] == ("sent", "email", "address_invalid")
    assert welcome["P00001"] == ("excluded", None, "address_invalid")
    assert welcome["P00002"] == ("excluded", None, "death_reported")  # until an operator has reviewed it

    # The operator checked: the return was a mistake (or the death goes through the next extract).
    code, output = invoke(cli, "letters", "returns", "review", "--done", f"CO-m{letters['P00002']}")
    assert code == 0 and "reviewed" in output
    twice = cli.invoke(app, ["letters", "returns", "review", "--done", f"CO-m{letters['P00002']}"])
    assert "no returned letter of this reference waits for review" in str(twice.exception)
    assert "0 returned letter(s)" in invoke(cli, "letters", "returns", "review")[1]
    with engine.begin() as connection:
        connection.execute(delete(Message).where(Message.step == "welcome", Message.person_id == "P00002"))
    runner.run_step("welcome_retirement", "welcome", WELCOME_AS_OF, now=WELCOME_NOW)
    with engine.connect() as connection:
        again = connection.execute(
            select(Message.status, Message.channel).where(
                Message.step == "welcome", Message.person_id == "P00002"
            )
        ).one()
    assert tuple(again) == ("sent", "letter")
    assert welcome["P00003"][:2] == ("sent", "email")

    # Reports: a returned letter is a bounce; a letter handed over and not returned counts as delivered.
    funnel = build_report(engine, library.get("survivor_pension")).funnel
    information = next(row for row in funnel if row.step == "information" and row.group == "letter")
    assert (information.counts["sent"], information.counts["failed"]) == (1, 3)
    assert (information.counts["bounced"], information.counts["delivered"]) == (3, 1)

    # A new address in a later extract clears the mark; the same address keeps it.
    moved = [survivor(0, digital_profile="non_technophile", address_street="14 avenue de Nantes"), PEOPLE[1]]
    assert invoke(cli, "population", "import", str(write_extract(tmp_path / "extrait-2.csv", moved)))[0] == 0
    with engine.connect() as connection:
        marks = dict(connection.execute(select(Person.person_id, Person.address_invalid_on)).all())
    assert marks["P00000"] is None
    assert marks["P00001"] == date(2026, 11, 30)


def test_an_unusable_return_file_writes_nothing_and_exits_3(engine: Engine, tmp_path: Path) -> None:
    wrong = tmp_path / "retours.csv"
    wrong.write_text("Jacqueline Bérard;2 rue de la Cathédrale;NPAI\n", encoding="utf-8")
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "OUTREACH_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "outreach", "letters", "returns", "import", str(wrong)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "reference, returned_on, reason" in done.stderr
    assert "Bérard" not in done.stderr and "Cathédrale" not in done.stderr
    assert not list((tmp_path / "var").glob("imports/*"))
    with engine.connect() as connection:
        assert (
            connection.execute(select(AuditEntry).where(AuditEntry.action == "letter_returns_import")).all()
            == []
        )


def facts(**values: object) -> PersonFacts:
    base: dict[str, object] = dict(person_id="P00042", status="retired", has_email=True, has_mobile=True)
    base.update(has_address=True, address_invalid=True)
    base.update(values)
    return PersonFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("channels", "person", "expected"),
    [
        (("letter", "email"), facts(), ("queued", "address_invalid", "email")),
        (("letter", "sms"), facts(has_email=False), ("queued", "address_invalid", "sms")),
        (
            ("email", "letter"),
            facts(has_email=False, has_mobile=False),
            ("excluded", "address_invalid", None),
        ),
        (("letter",), facts(), ("excluded", "address_invalid", None)),
        (("email", "letter"), facts(), ("queued", "campaign_channel", "email")),
        (("letter", "email"), facts(address_invalid=False), ("queued", "campaign_channel", "letter")),
    ],
)
def test_the_policy_sends_no_letter_to_an_invalid_address(
    channels: tuple[str, ...], person: PersonFacts, expected: tuple[str, str, str | None]
) -> None:
    decision = decide(person, StepPolicy(channels), PressureLimits(), NOW)
    assert (decision.status, decision.reason, decision.channel) == expected


def test_a_returned_letter_is_followed_up_by_sms_and_a_bounced_email_too(
    engine: Engine, runner: CampaignRunner, cli: CliRunner, tmp_path: Path
) -> None:
    # Both 5 months from their legal age (born 1964: 62 y 9 m), in retirement_claim; the first is fragile
    # (a letter first), the second prefers e-mail. Neither message reaches them: La Poste returns the
    # letter, the e-mail bounces. Ten days on, the SMS reminder must reach both.
    load(
        engine,
        [
            synthetic_person(0, date(1964, 8, 10), digital_profile="non_technophile"),
            synthetic_person(1, date(1964, 8, 12), preferred_channel="email"),
        ],
    )
    runner.run_step("retirement_claim", "claim_invitation", AS_OF, now=NOW)
    letters = letter_keys(engine, "claim_invitation")
    assert list(letters) == ["P00000"]
    returns = write_returns(tmp_path / "retours.csv", [(f"CO-m{letters['P00000']}", "2026-11-30", "NPAI")])
    assert invoke(cli, "letters", "returns", "import", str(returns))[0] == 0
    with engine.begin() as connection:  # the e-mail's hard bounce, as the tracking service folds it
        connection.execute(
            update(Message)
            .where(Message.person_id == "P00001", Message.step == "claim_invitation")
            .values(status="failed", reason="hard_bounce")
        )

    runner.run_step("retirement_claim", "sms_reminder", AS_OF, now=NOW + timedelta(days=11))

    with engine.connect() as connection:
        reminders = {
            r.person_id: (r.status, r.channel)
            for r in connection.execute(select(Message).where(Message.step == "sms_reminder"))
        }
    assert reminders == {"P00000": ("sent", "sms"), "P00001": ("sent", "sms")}
