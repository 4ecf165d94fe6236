"""Erasure: the person goes, a keyed hash stays, and neither an import nor the generator brings them back."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from outreach.errors import ConfigurationError
from outreach.models import AuditEntry, CampaignRun, Complaint, ErasedPerson, Message, OptOut, Person
from outreach.population import generator
from outreach.population.importer import import_population
from outreach.privacy import erasure
from outreach.privacy.erasure import ERASED_REASON, ErasureRefused, erase
from tests.population_files import person_row, write_extract
from tests.privacy_support import SECRET

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(erasure.SECRET_VARIABLE, SECRET)
    monkeypatch.setattr(erasure, "prefect_secret", lambda _name: None)  # no Prefect server in these tests


def _extract(tmp_path: Path) -> Path:
    rows = [
        person_row("1860486123456", opt_out_channels="sms"),
        person_row(
            "2550317654321", civility="M", first_name="Jean-Luc", last_name="Chevalier",
            email="jl.chevalier@laposte.example.net", mobile_phone="07 81 22 33 44", city="Limoges",
            postal_code="87000", birth_date="1955-03-17",
        ),
        person_row(
            "2671023987654", first_name="Françoise", last_name="Bérard", email="f.berard@free.example.net",
            mobile_phone="06 45 67 89 01", city="Angoulême", postal_code="16000", birth_date="1967-10-23",
        ),
    ]  # fmt: skip
    return write_extract(tmp_path / "extrait-population.csv", rows)


def _ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(Person.person_id)))


def test_an_erased_person_is_not_recreated_by_a_reimport_of_the_same_file(
    engine: Engine, tmp_path: Path
) -> None:
    source = _extract(tmp_path)
    import_population(engine, source, tmp_path / "first.report.csv", today=TODAY)
    with engine.begin() as connection:
        connection.execute(
            insert(Complaint).values(
                complaint_id="REC-2026-0412", person_id="1860486123456", opened_on=date(2026, 3, 2),
                closed_on=date(2026, 4, 15), subject="pension_not_paid", received_by="phone",
            )
        )  # fmt: skip

    result = erase(engine, "1860486123456", today=TODAY)

    assert result.removed["opt_outs"] == 1 and result.removed["complaints"] == 1
    assert _ids(engine) == {"2550317654321", "2671023987654"}
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(OptOut)) == 0
        assert connection.scalar(select(func.count()).select_from(Complaint)) == 0
        record = connection.execute(select(ErasedPerson.digest, ErasedPerson.erased_on)).one()
        trail = connection.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.details)).all()
    assert record == (result.digest, TODAY) and "1860486123456" not in result.digest
    assert [action for action, _, _ in trail] == ["import", "erasure"]
    assert not any("1860486123456" in f"{target}{details}" for _, target, details in trail)

    again = import_population(engine, source, tmp_path / "second.report.csv", today=TODAY)

    assert _ids(engine) == {"2550317654321", "2671023987654"}
    assert (again.rejected, dict(again.rejected_by_reason)) == (1, {ERASED_REASON: 1})
    with (tmp_path / "second.report.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row == {
        "line": "2",
        "person_id": "",
        "outcome": "rejected",
        "field": "person_id",
        "reason": ERASED_REASON,
    }


def test_erasure_waits_for_an_open_complaint_and_for_messages_in_flight(
    engine: Engine, tmp_path: Path
) -> None:
    import_population(engine, _extract(tmp_path), tmp_path / "report.csv", today=TODAY)
    with engine.begin() as connection:
        connection.execute(
            insert(Complaint).values(
                complaint_id="REC-2026-0977", person_id="2550317654321", opened_on=date(2026, 10, 5),
                subject="documents_requested_again", received_by="letter",
            )
        )  # fmt: skip
        run_id = connection.execute(
            insert(CampaignRun)
            .values(campaign="retirement_claim", wave="2026-11-26", as_of=TODAY, dry_run=False)
            .returning(CampaignRun.id)
        ).scalar_one()
        connection.execute(
            insert(Message).values(
                run_id=run_id, step="claim_invitation", person_id="2671023987654",
                journey="apply_for_retirement", status="queued", channel="email",
            )
        )  # fmt: skip

    with pytest.raises(ErasureRefused, match=r"REC-2026-0977.*ouverte"):
        erase(engine, "2550317654321", today=TODAY)
    with pytest.raises(ErasureRefused, match=r"1 message.*en cours d'envoi"):
        erase(engine, "2671023987654", today=TODAY)
    assert _ids(engine) == {"1860486123456", "2550317654321", "2671023987654"}


def test_an_import_refuses_to_run_blind_when_the_secret_is_missing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _extract(tmp_path)
    import_population(engine, source, tmp_path / "first.report.csv", today=TODAY)
    erase(engine, "1860486123456", today=TODAY)
    monkeypatch.delenv(erasure.SECRET_VARIABLE)
    with pytest.raises(ConfigurationError, match=erasure.SECRET_VARIABLE):
        import_population(engine, source, tmp_path / "second.report.csv", today=TODAY)
    assert _ids(engine) == {"2550317654321", "2671023987654"}


def test_the_generators_direct_load_skips_erased_people(engine: Engine) -> None:
    generator.load_database(engine, 60, seed=7, as_of=TODAY)
    everyone = sorted(_ids(engine))
    erase(engine, everyone[0], today=TODAY)

    summary = generator.load_database(engine, 60, seed=7, as_of=TODAY)

    assert summary.people == 59
    assert _ids(engine) == set(everyone[1:])
