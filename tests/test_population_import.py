"""Import of the fund's extract: good rows, every rejection, warnings, re-import, file-level errors."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from outreach.errors import InputFileError
from outreach.models import ImportRun, OptOut, Person
from outreach.population.columns import CSV_COLUMNS
from outreach.population.importer import import_population
from tests.population_files import person_row, write_extract

TODAY = date(2026, 11, 26)


def run_import(engine: Engine, tmp_path: Path, rows: list[dict[str, str]], **kwargs):  # type: ignore[no-untyped-def]
    source = write_extract(tmp_path / "extract.csv", rows, **kwargs)
    return import_population(engine, source, tmp_path / "report.csv", today=TODAY)


def people(engine: Engine) -> dict[str, Person]:
    with engine.connect() as connection:
        return {p.person_id: p for p in connection.execute(select(Person)).all()}


def report_rows(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "report.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_good_rows_are_stored_normalised(engine: Engine, tmp_path: Path) -> None:
    rows = [
        person_row("1800486000001"),
        person_row(
            "1620517000002",
            civility="Monsieur",
            first_name="Jean-Baptiste",
            last_name="de La Fontaine-Dupré",
            birth_date="1962-05-17",
            status="retired",
            retirement_date="2024-10-01",
            email="JB.Fontaine@Free.Example.NET",
            mobile_phone="+33 7 81 23 45 67",
            fragility_flags="rsa;aah",
            digital_profile="non_technophile",
            preferred_channel="letter",
            opt_out_channels="email;sms",
            address_street="",
            address_locality="Lieu-dit La Brousse",
            postal_code="23000",
            city="Guéret",
        ),
        person_row(
            "1550219000003",
            mobile_phone="0033 6 98 76 54 32",
            spouse_death_date="2008-06-30",
            receives_survivor_pension="true",
            status="retired",
        ),
    ]
    summary = run_import(engine, tmp_path, rows)

    assert (summary.imported, summary.created, summary.rejected, summary.warnings) == (3, 3, 0, 0)
    stored = people(engine)
    elodie = stored["1800486000001"]
    assert elodie.mobile_phone == "+33612345678"
    assert elodie.birth_date == date(1980, 4, 12)
    assert elodie.address_street == "3 rue de l'Église"
    assert elodie.country == "FRANCE"
    jean = stored["1620517000002"]
    assert jean.civility == "M"
    assert jean.email == "JB.Fontaine@free.example.net"  # domain lower-cased, local part kept
    assert jean.mobile_phone == "+33781234567"
    assert jean.fragility_flags == "aah;rsa"
    assert jean.address_locality == "Lieu-dit La Brousse"
    assert jean.retirement_date == date(2024, 10, 1)
    assert stored["1550219000003"].mobile_phone == "+33698765432"
    assert stored["1550219000003"].receives_survivor_pension is True
    assert stored["1550219000003"].spouse_death_date == date(2008, 6, 30)
    with engine.connect() as connection:
        opt_outs = connection.execute(select(OptOut.person_id, OptOut.channel, OptOut.source)).all()
        runs = connection.execute(select(ImportRun.imported, ImportRun.rejected)).all()
    assert sorted(opt_outs) == [("1620517000002", "email", "import"), ("1620517000002", "sms", "import")]
    assert runs == [(3, 0)]


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"person_id": ""}, "person_id", "missing person_id"),
        ({"person_id": "18 004 86"}, "person_id", "person_id must be"),
        ({"last_name": "  "}, "last_name", "missing last_name"),
        ({"birth_date": ""}, "birth_date", "missing birth_date"),
        ({"birth_date": "12/04/1980"}, "birth_date", "not a valid YYYY-MM-DD date"),
        ({"birth_date": "1980-02-30"}, "birth_date", "not a valid YYYY-MM-DD date"),
        ({"birth_date": "2027-01-01"}, "birth_date", "in the future"),
        ({"status": ""}, "status", "missing status"),
        ({"status": "retraité"}, "status", "status must be one of active, retired, deceased"),
    ],
)
def test_each_rejection_reason_is_reported_with_its_line(
    sqlite_engine: Engine, tmp_path: Path, values: dict[str, str], field: str, reason: str
) -> None:
    rows = [person_row("P1"), {**person_row("P2"), **values}, person_row("P3")]
    summary = run_import(sqlite_engine, tmp_path, rows)

    assert (summary.imported, summary.rejected) == (2, 1)
    assert set(people(sqlite_engine)) == {"P1", "P3"}
    [rejected] = [r for r in report_rows(tmp_path) if r["outcome"] == "rejected"]
    assert rejected["line"] == "3"
    assert rejected["field"] == field
    assert reason in rejected["reason"]


def test_a_person_id_seen_twice_keeps_the_first_row(sqlite_engine: Engine, tmp_path: Path) -> None:
    rows = [
        person_row("P1", city="Niort", postal_code="79000"),
        person_row("P1", city="Tulle", postal_code="19000"),
    ]
    summary = run_import(sqlite_engine, tmp_path, rows)

    assert (summary.imported, summary.rejected) == (1, 1)
    assert people(sqlite_engine)["P1"].city == "Niort"
    [rejected] = report_rows(tmp_path)
    assert (rejected["line"], rejected["reason"]) == ("3", "person_id already seen earlier in the file")


def test_a_line_with_the_wrong_number_of_fields_is_rejected(sqlite_engine: Engine, tmp_path: Path) -> None:
    source = write_extract(tmp_path / "extract.csv", [person_row("P1")])
    with source.open("a", encoding="utf-8") as handle:
        handle.write("P2,Mme,Anne,Martin,1970-01-01,active\n")
    summary = import_population(sqlite_engine, source, tmp_path / "report.csv", today=TODAY)

    assert (summary.imported, summary.rejected) == (1, 1)
    [rejected] = report_rows(tmp_path)
    assert rejected["line"] == "3"
    assert rejected["reason"] == f"the line has 6 fields, expected {len(CSV_COLUMNS)}"


def test_unusable_contact_details_keep_the_person_with_a_warning(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    rows = [
        person_row("P1", email="jean.martin@orange", mobile_phone="05 49 12 34 56"),
        person_row("P2", email="anne martin@free.example.net", mobile_phone="06 12 AB 56 78", postal_code=""),
        person_row("P3", mobile_phone="06 12 34 56", postal_code="8600", fragility_flags="rsa;handicap"),
        person_row("P4", opt_out_channels="courrier", preferred_channel="pigeon"),
    ]
    summary = run_import(sqlite_engine, tmp_path, rows)

    assert (summary.imported, summary.rejected, summary.warnings) == (4, 0, 10)
    stored = people(sqlite_engine)
    assert (stored["P1"].email, stored["P1"].mobile_phone) == (None, None)
    assert stored["P1"].city == "Poitiers"
    assert (
        stored["P2"].email,
        stored["P2"].mobile_phone,
        stored["P2"].address_street,
        stored["P2"].city,
    ) == (
        None,
        None,
        None,
        None,
    )
    assert stored["P3"].fragility_flags == "rsa"
    assert stored["P3"].postal_code is None
    assert stored["P4"].preferred_channel is None
    warnings = {(r["person_id"], r["field"]) for r in report_rows(tmp_path)}
    assert ("P1", "email") in warnings and ("P1", "mobile_phone") in warnings
    assert ("P2", "address") in warnings and ("P3", "fragility_flags") in warnings
    assert summary.warnings_by_reason["mobile_phone: not a valid French mobile number, left out"] == 3
    # An opt-out we cannot read fails closed: the person is opted out of everything.
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(OptOut.channel).where(OptOut.person_id == "P4")).scalars().all() == [
            "all"
        ]


def test_reimport_updates_in_place_and_keeps_opt_outs(engine: Engine, tmp_path: Path) -> None:
    run_import(engine, tmp_path, [person_row("P1", opt_out_channels="sms"), person_row("P2")])
    summary = run_import(
        engine,
        tmp_path,
        [person_row("P1", city="Angoulême", postal_code="16000"), person_row("P2"), person_row("P3")],
    )

    assert (summary.created, summary.updated) == (1, 2)
    stored = people(engine)
    assert len(stored) == 3
    assert (stored["P1"].city, stored["P1"].postal_code) == ("Angoulême", "16000")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(OptOut)) == 1  # never removed by a file


def test_semicolon_separated_files_from_spreadsheets_are_read(sqlite_engine: Engine, tmp_path: Path) -> None:
    summary = run_import(sqlite_engine, tmp_path, [person_row("P1"), person_row("P2")], delimiter=";")
    assert summary.imported == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"person_id,last_name\nP1,Martin\n", "missing column(s) civility, first_name"),
        (",".join((*CSV_COLUMNS, "nir")).encode() + b"\n", "unexpected column(s) nir"),
        (",".join(CSV_COLUMNS).encode() + "\nP1,Mme,Hélène".encode("latin-1"), "not UTF-8 text"),
        (b"PK\x03\x04\x14\x00\x00\x00", "binary data"),
    ],
)
def test_file_level_problems_stop_before_writing_anything(
    sqlite_engine: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    source = tmp_path / "extract.csv"
    source.write_bytes(content)
    with pytest.raises(InputFileError, match=re.escape(message)):
        import_population(sqlite_engine, source, tmp_path / "report.csv", today=TODAY)
    assert people(sqlite_engine) == {}
    assert not (tmp_path / "report.csv").exists()


def test_a_broken_csv_half_way_rolls_everything_back(sqlite_engine: Engine, tmp_path: Path) -> None:
    rows = [person_row(f"P{i}") for i in range(12_000)]  # more than one write chunk before the error
    source = write_extract(tmp_path / "extract.csv", rows)
    with source.open("a", encoding="utf-8") as handle:
        handle.write('P99999,Mme,"' + "x" * 200_000 + '"\n')  # a field beyond the CSV field limit
    with pytest.raises(InputFileError, match=r"line 12002: not a readable CSV"):
        import_population(sqlite_engine, source, tmp_path / "report.csv", today=TODAY)
    assert people(sqlite_engine) == {}


def test_a_file_without_its_header_row_is_refused_without_quoting_the_first_person(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """The error is printed and may be logged: the first row's name and contact details stay out of it."""
    source = write_extract(tmp_path / "extract.csv", [person_row("P1"), person_row("P2")])
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    source.write_text("".join(lines[1:]), encoding="utf-8")  # the header row was not exported
    with pytest.raises(InputFileError) as raised:
        import_population(sqlite_engine, source, tmp_path / "report.csv", today=TODAY)
    message = str(raised.value)
    assert "are not column names (not quoted: if that line is a person, the header row is missing)" in message
    for value in ("Moreau", "moreau", "Élodie", "élodie", "orange.example.net", "06 12 34 56 78", "Église"):
        assert value not in message
    assert people(sqlite_engine) == {}


def test_a_header_with_a_misnamed_column_still_names_it(sqlite_engine: Engine, tmp_path: Path) -> None:
    columns = tuple("courriel" if c == "email" else c for c in CSV_COLUMNS)
    source = write_extract(tmp_path / "extract.csv", [person_row("P1")], columns=columns)
    with pytest.raises(InputFileError, match=r"missing column\(s\) email; unexpected column\(s\) courriel"):
        import_population(sqlite_engine, source, tmp_path / "report.csv", today=TODAY)


def test_a_legal_representative_is_stored_normalised_and_an_unusable_one_only_warns(
    engine: Engine, tmp_path: Path
) -> None:
    """An unreadable measure keeps the person, leaves the measure out, and never repeats the value."""
    rows = [
        person_row("1500387000001", legal_representative="udaf87 : Curatelle_Renforcee"),
        person_row("1500387000002", legal_representative="UDAF87:habilitation_familiale"),
        person_row("1500387000003", legal_representative="Mme Lefèvre, sa fille"),
        person_row("1500387000004", legal_representative="UDAF87:curatelle simple"),
        person_row("1500387000005", legal_representative="U:tutelle"),
        person_row("1500387000006"),
    ]
    summary = run_import(engine, tmp_path, rows)

    assert (summary.imported, summary.rejected, summary.warnings) == (6, 0, 3)
    stored = people(engine)
    assert stored["1500387000001"].legal_representative == "UDAF87:curatelle_renforcee"
    assert stored["1500387000002"].legal_representative == "UDAF87:habilitation_familiale"
    for person_id in ("1500387000003", "1500387000004", "1500387000005", "1500387000006"):
        assert stored[person_id].legal_representative is None
    warned = report_rows(tmp_path)
    assert [(r["person_id"], r["outcome"], r["field"]) for r in warned] == [
        ("1500387000003", "warning", "legal_representative"),
        ("1500387000004", "warning", "legal_representative"),
        ("1500387000005", "warning", "legal_representative"),
    ]
    assert "must be ORGANISATION:MEASURE" in warned[0]["reason"]
    assert "measure must be one of tutelle, curatelle" in warned[1]["reason"]
    assert "organisation id" in warned[2]["reason"]
    report = (tmp_path / "report.csv").read_text(encoding="utf-8")
    assert "Lefèvre" not in report and "curatelle simple" not in report and "U:" not in report
    assert all(reason.startswith("legal_representative: ") for reason in summary.warnings_by_reason)


def test_an_extract_without_the_legal_representative_column_still_imports(
    engine: Engine, tmp_path: Path
) -> None:
    """Extracts made before the column existed: nobody is represented, so no organisation gets them."""
    columns = tuple(c for c in CSV_COLUMNS if c != "legal_representative")
    summary = run_import(engine, tmp_path, [person_row("1500387000001")], columns=columns)
    assert (summary.imported, summary.rejected, summary.warnings) == (1, 0, 0)
    assert people(engine)["1500387000001"].legal_representative is None
