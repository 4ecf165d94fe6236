"""A person's file: everything held about someone with a rich history, as JSON and as French text."""

from __future__ import annotations

import json
import stat
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, update

from outreach.campaigns.library import load_campaigns
from outreach.exports.export import export_partner_list
from outreach.exports.profile import load_profile
from outreach.models import Complaint, OutcomeEvent, Person
from outreach.privacy.objection import record_objection
from outreach.privacy.person import show_person
from outreach.privacy.person_text import render_text
from outreach.segments.history import refresh
from outreach.tracking.events import EventType
from outreach.tracking.satisfaction import record_answer
from tests.people import load, person
from tests.privacy_support import engage, message_ids, outbox_runner

AS_OF = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 9, 30)
LATER = date(2027, 2, 1)
SITE = "https://www.lassuranceretraite.fr/portail-info/home/actif/preparer-retraite/simulateur.html"


def _history(engine: Engine, tmp_path: Path) -> tuple[str, Path]:
    """P00000, 60, in Poitiers: opted out of letters, a closed complaint, invited to prepare retirement by
    e-mail (delivered, opened, clicked, answered the survey), on a France Services list, then objects to
    SMS, retires: leaves the pre-retirees' segment for the new retirees'."""
    born = date(1966, 5, 10)
    load(engine, [person(i, born) for i in range(6)], opt_outs=[("P00000", "letter")])
    library = load_campaigns()
    with engine.begin() as connection:
        connection.execute(
            insert(Complaint).values(
                complaint_id="REC-2026-0231", person_id="P00000", opened_on=date(2026, 2, 9),
                closed_on=date(2026, 3, 2), subject="documents_requested_again", received_by="phone",
            )
        )  # fmt: skip
        for name in library.segments.names:
            refresh(connection, library.segments, name, AS_OF)
    outbox_runner(engine, library, tmp_path).run_step("prepare_retirement", "invitation", AS_OF, now=NOW)
    message = message_ids(engine, "invitation")["P00000"]
    for event in (EventType.DELIVERED, EventType.OPENED, EventType.CLICKED):
        engage(engine, tmp_path / "spool", message, event, datetime(2026, 11, 27, 18, 5), url=SITE)
    record_answer(engine, message, 4, "Conseillère très claire, merci.", datetime(2026, 11, 28, 10, 0))
    with engine.begin() as connection:
        connection.execute(
            insert(OutcomeEvent).values(
                person_id="P00000", outcome="online_account_created", occurred_on=date(2026, 11, 29),
                source="espace-personnel", imported_at=datetime(2026, 11, 30, 6, 0),
            )
        )  # fmt: skip
    profile = load_profile("france_services_vienne", library.segments).profile
    export = export_partner_list(engine, profile, library.segments, AS_OF, folder=tmp_path / "exports")
    record_objection(engine, "P00000", "sms")
    with engine.begin() as connection:
        connection.execute(
            update(Person).where(Person.person_id == "P00000").values(status="retired", retirement_date=LATER)
        )
        for name in ("pre_retirees", "new_retirees"):
            refresh(connection, library.segments, name, LATER)
    return "P00000", export.path


def test_the_file_holds_everything_and_reads_in_french(engine: Engine, tmp_path: Path) -> None:
    person_id, export = _history(engine, tmp_path)

    held = show_person(engine, person_id)

    assert held["person"]["email"] == "assure.00000@orange.example.net"
    assert {(o["channel"], o["source"]) for o in held["opt_outs"]} == {
        ("letter", "import"),
        ("sms", "objection"),
    }
    assert [c["complaint_id"] for c in held["complaints"]] == ["REC-2026-0231"]
    stays = {s["segment"]: s["left_on"] for s in held["segments"]}
    assert stays["pre_retirees"] == LATER  # a past segment, with the day they left
    assert "new_retirees" in stays and stays["new_retirees"] is None  # and a present one
    [message] = held["messages"]
    assert (message["campaign"], message["step"], message["status"], message["channel"]) == (
        "prepare_retirement",
        "invitation",
        "sent",
        "email",
    )
    assert [e["event"] for e in message["events"]] == ["delivered", "opened", "clicked"]
    assert "raw" not in message["events"][0]  # the provider's payload repeats the address: never shown
    assert message["engagement"]["clicks"] == 1
    assert held["satisfaction_answers"][0]["score"] == 4
    assert held["outcomes"][0]["outcome"] == "online_account_created"
    assert [(e["profile"], e["file"]) for e in held["exports"]] == [("france_services_vienne", export.name)]
    assert [a["action"] for a in held["audit"]] == ["objection", "person_view"]
    assert stat.S_IMODE(export.stat().st_mode) == 0o600  # the partner's list is private to its owner
    json.dumps(held, default=str)  # the CLI's --json

    text = render_text(held)
    for expected in (
        "Données détenues sur la personne P00000",
        "Adresse e-mail : assure.00000@orange.example.net",
        "courrier (origine : import",
        "SMS (origine : objection",
        "REC-2026-0231 (documents_requested_again) ouverte le 09/02/2026, close le 02/03/2026",
        "pre_retirees depuis le 26/11/2026, sorti le 01/02/2027",
        "prepare_retirement, vague 2026-11-26, étape invitation : envoyé, e-mail",
        "événement clicked le 27/11/2026 18:05",
        "note 4/5 le 28/11/2026 10:00 : « Conseillère très claire, merci. »",
        "france_services_vienne au 26/11/2026",
        "objection par",
    ):
        assert expected in text, expected


def test_an_objection_to_partner_sharing_hides_later_exports(engine: Engine, tmp_path: Path) -> None:
    load(engine, [person(0, date(1966, 5, 10))])
    library = load_campaigns()
    with engine.begin() as connection:
        for name in library.segments.names:
            refresh(connection, library.segments, name, AS_OF)
    record_objection(engine, "P00000", "partner_sharing")
    profile = load_profile("france_services_vienne", library.segments).profile
    export = export_partner_list(engine, profile, library.segments, AS_OF, folder=tmp_path / "exports")

    assert export.rows == 0
    assert show_person(engine, "P00000")["exports"] == []
