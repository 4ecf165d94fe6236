"""Partner exports: exactly the profile's columns, never an objector or a deceased person, checkable files."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from outreach.exports.columns import COLUMNS
from outreach.exports.encryption import decrypt_file
from outreach.exports.export import ExportResult, export_partner_list
from outreach.exports.profile import load_profile, load_profiles
from outreach.exports.pseudonyms import SECRET_VARIABLE
from outreach.models import AuditEntry, Person
from outreach.segments.history import HistoryError, refresh
from outreach.segments.library import SegmentLibrary, load_library
from outreach.yamlfiles import ConfigFileError
from tests.people import load, person

AS_OF = date(2026, 11, 26)
BORN_1968 = date(1968, 3, 10)  # 58, legal age 63 y 9 m: a pre-retiree
SECRET = "s3cret-de-test-pour-les-pseudonymes"

PROFILE = """\
name: {name}
partner: France Services de la Vienne
description: Accompagnement des futurs retraités de la Vienne.
segments: [pre_retirees, survivors_55plus]
columns: {columns}
legal_basis: Mission de service public (article 6.1.e du RGPD), convention France Services.
filters:
{filters}
format: {format}
pseudonymise: {pseudonymise}
territory: {territory}
"""


def write_profile(
    folder: Path,
    name: str = "fs_vienne",
    columns: str = "[person_id, last_name, age_band, postal_code, segment, fragile]",
    filters: str = '  departements: ["86"]',
    territory: str = '["86"]',
    format: str = "csv",
    pseudonymise: str = "false",
) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        PROFILE.format(
            name=name,
            columns=columns,
            filters=filters,
            territory=territory,
            format=format,
            pseudonymise=pseudonymise,
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def library() -> SegmentLibrary:
    return load_library()


@pytest.fixture
def population(engine: Engine, library: SegmentLibrary) -> Engine:
    """Pre-retirees and a survivor in the Vienne, with every reason not to be exported."""
    people = [
        person(0, BORN_1968),
        person(1, BORN_1968),  # objected to partner sharing
        person(2, BORN_1968),  # objected to everything
        person(3, BORN_1968),  # objected to e-mail only: still exported
        person(4, BORN_1968, postal_code="87000", city="Limoges"),  # outside the partner's territory
        person(5, BORN_1968),  # dies after the refresh
        person(6, date(1986, 5, 2)),  # 40: in no segment
        person(7, date(1962, 7, 1), spouse_death_date=date(2025, 9, 3)),  # survivor
        person(8, BORN_1968, fragility_flags="rsa", postal_code="86100", city="Châtellerault"),
    ]
    load(engine, people, opt_outs=[("P00001", "partner_sharing"), ("P00002", "all"), ("P00003", "email")])
    with engine.begin() as connection:
        for name in ("pre_retirees", "survivors_55plus"):
            refresh(connection, library, name, AS_OF)
        connection.execute(update(Person).where(Person.person_id == "P00005").values(status="deceased"))
    return engine


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark: spreadsheets read the accents
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def export(engine: Engine, library: SegmentLibrary, folder: Path, name: str, out: Path) -> ExportResult:
    loaded = load_profile(name, library, folder)
    return export_partner_list(engine, loaded.profile, library, AS_OF, out, public_key=loaded.public_key_path)


def test_the_file_has_exactly_the_profiles_columns_and_only_people_who_may_be_shared(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "partners"
    write_profile(folder)
    result = export(population, library, folder, "fs_vienne", tmp_path / "out")

    rows = read_csv(result.path)
    assert list(rows[0]) == [
        "identifiant",
        "nom",
        "tranche_age",
        "code_postal",
        "segments",
        "accompagnement_renforce",
    ]
    assert [r["identifiant"] for r in rows] == ["P00000", "P00003", "P00007", "P00008"]
    by_id = {r["identifiant"]: r for r in rows}
    assert by_id["P00000"]["tranche_age"] == "55-59 ans"
    assert by_id["P00007"]["segments"] == "survivors_55plus"
    assert by_id["P00007"]["tranche_age"] == "60-64 ans"
    assert by_id["P00008"]["accompagnement_renforce"] == "oui"
    assert by_id["P00000"]["accompagnement_renforce"] == "non"
    text = result.path.read_text(encoding="utf-8-sig")
    for absent in ("orange.example.net", "+33612", "Camille", "rue de l", "1968", "rsa"):
        assert absent not in text  # columns the profile does not allow never appear, not even in part
    assert result.rows == 4


def test_the_manifest_describes_and_checks_the_file_and_the_audit_log_records_it(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "partners"
    write_profile(folder)
    result = export(population, library, folder, "fs_vienne", tmp_path / "out")

    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert manifest["sha256"] == hashlib.sha256(result.path.read_bytes()).hexdigest() == result.sha256
    assert manifest["rows"] == 4 and manifest["as_of"] == "2026-11-26" and manifest["profile"] == "fs_vienne"
    assert [c["code"] for c in manifest["columns"]] == [
        "person_id",
        "last_name",
        "age_band",
        "postal_code",
        "segment",
        "fragile",
    ]
    versions = {s["name"]: s["version"] for s in manifest["segments"]}
    assert versions == {n: library.version(n) for n in ("pre_retirees", "survivors_55plus")}
    assert manifest["file"] == result.path.name
    for path in (result.path, result.manifest_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.path.parent.stat().st_mode) == 0o700
    assert not list(result.path.parent.glob(".*partial"))

    with population.connect() as connection:
        entries = connection.execute(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.target, entry.count, entry.id) == ("export", "fs_vienne", 4, result.audit_id)
    assert entry.actor
    details = json.loads(entry.details)
    assert details["sha256"] == result.sha256
    assert "P0000" not in entry.details  # counts and checksums, never people


def test_the_territory_filter_keeps_only_listed_postcodes(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "partners"
    write_profile(
        folder,
        name="ccas_limoges",
        filters='  postcodes: ["87000", "87100"]',
        territory='["87"]',
        columns="[person_id, city]",
    )
    rows = read_csv(export(population, library, folder, "ccas_limoges", tmp_path / "out").path)
    assert rows == [{"identifiant": "P00004", "commune": "Limoges"}]


def test_pseudonyms_are_stable_per_partner_different_between_partners_and_keyed(
    population: Engine, library: SegmentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    folder = tmp_path / "partners"
    for name in ("ft_seniors", "asept"):
        write_profile(folder, name=name, columns="[pseudonym, age_band]", pseudonymise="true")
    first = read_csv(export(population, library, folder, "ft_seniors", tmp_path / "a").path)
    again = read_csv(export(population, library, folder, "ft_seniors", tmp_path / "b").path)
    other = read_csv(export(population, library, folder, "asept", tmp_path / "c").path)

    pseudonyms = [r["pseudonyme"] for r in first]
    assert len(pseudonyms) == 4 and len(set(pseudonyms)) == 4
    assert sorted(pseudonyms) == sorted(r["pseudonyme"] for r in again)
    assert not set(pseudonyms) & {r["pseudonyme"] for r in other}
    assert all(len(p) == 32 and "P0000" not in p for p in pseudonyms)
    # not a plain hash of the identifier: without the secret nobody can recompute (or test a guess)
    assert hashlib.sha256(b"P00000").hexdigest()[:32] not in pseudonyms
    key = hmac.new(SECRET.encode(), b"partner:ft_seniors", hashlib.sha256).digest()
    assert hmac.new(key, b"P00000", hashlib.sha256).hexdigest()[:32] in pseudonyms


def test_without_the_secret_a_pseudonymised_export_writes_nothing(
    population: Engine, library: SegmentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    folder = tmp_path / "partners"
    write_profile(folder, name="ft_seniors", columns="[pseudonym, age_band]", pseudonymise="true")
    with pytest.raises(Exception, match=SECRET_VARIABLE):
        export(population, library, folder, "ft_seniors", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with population.connect() as connection:
        assert connection.execute(select(AuditEntry).where(AuditEntry.action == "export")).all() == []


def test_an_xlsx_export_has_the_same_columns_and_is_private(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "partners"
    write_profile(folder, format="xlsx", columns="[person_id, last_name, segment]")
    result = export(population, library, folder, "fs_vienne", tmp_path / "out")
    sheet = load_workbook(result.path, read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["identifiant", "nom", "segments"]
    assert [r[0] for r in rows[1:]] == ["P00000", "P00003", "P00007", "P00008"]
    assert rows[2][1] == "Rousseau"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600


def test_a_segment_never_refreshed_by_the_as_of_date_fails_and_writes_nothing(
    engine: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    folder = tmp_path / "partners"
    write_profile(folder)
    with pytest.raises(HistoryError, match="outreach segments refresh"):
        export(engine, library, folder, "fs_vienne", tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("columns", "pseudonymise", "line", "message"),
    [
        ("[person_id, nom]", "false", 5, "column 'nom' does not exist; exportable columns: person_id"),
        ("[person_id, mobile_phone]", "false", 5, "column 'mobile_phone' does not exist"),
        (
            "[person_id, age_band]",
            "true",
            5,
            "column 'person_id' is not allowed when identifiers are pseudonymised",
        ),
        ("[pseudonym]", "false", 5, "column 'pseudonym' needs pseudonymise: true"),
        ("[last_name, last_name]", "false", 5, "column 'last_name' is listed twice"),
    ],
)
def test_a_profile_asking_for_a_column_that_is_not_allowed_names_the_file_and_line(
    library: SegmentLibrary, tmp_path: Path, columns: str, pseudonymise: str, line: int, message: str
) -> None:
    folder = tmp_path / "partners"
    write_profile(folder, columns=columns, pseudonymise=pseudonymise)
    with pytest.raises(ConfigFileError) as raised:
        load_profile("fs_vienne", library, folder)
    assert f"fs_vienne.yaml, line {line}: {message}" in str(raised.value)


def test_a_column_on_its_own_line_is_reported_at_that_line(library: SegmentLibrary, tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    write_profile(folder, columns="\n  - person_id\n  - numero_secu\n", filters='  departements: ["75"]')
    with pytest.raises(ConfigFileError) as raised:
        load_profile("fs_vienne", library, folder)
    problems = raised.value.problems
    assert any("line 7: column 'numero_secu' does not exist" in p for p in problems)
    assert any("line 11: département '75' is not in the fund's territory" in p for p in problems)


def test_the_shipped_partner_profiles_are_valid(library: SegmentLibrary) -> None:
    loaded = {p.profile.name: p.profile for p in load_profiles(library)}
    assert {"france_services_vienne", "ccas_limoges", "france_travail_nouvelle_aquitaine"} <= set(loaded)
    assert all(set(p.columns) <= set(COLUMNS) for p in loaded.values())
    assert loaded["france_travail_nouvelle_aquitaine"].pseudonymise


def test_a_list_for_a_partner_with_a_public_key_exists_only_encrypted(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path / "partners"
    write_profile(folder)
    (folder / "fs_vienne.pem").write_bytes(
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    clear = export(population, library, folder, "fs_vienne", tmp_path / "clear")
    with (folder / "fs_vienne.yaml").open("a", encoding="utf-8") as profile:
        profile.write("encrypt_for: fs_vienne.pem\n")
    sealed = export(population, library, folder, "fs_vienne", tmp_path / "sealed")

    assert sealed.path.name.endswith(".csv.enc")
    assert [p.name for p in (tmp_path / "sealed").iterdir() if not p.name.endswith(".manifest.json")] == [
        sealed.path.name
    ]  # no clear copy left behind
    assert b"Moreau" not in sealed.path.read_bytes()
    assert decrypt_file(sealed.path, private_key).decode("utf-8-sig") == clear.path.read_bytes().decode(
        "utf-8-sig"
    )
    manifest = json.loads(sealed.manifest_path.read_text(encoding="utf-8"))
    assert manifest["encrypted"] is True
    assert manifest["sha256"] == hashlib.sha256(sealed.path.read_bytes()).hexdigest()
    assert stat.S_IMODE(sealed.path.stat().st_mode) == 0o600


def test_a_profile_whose_key_is_missing_is_refused(library: SegmentLibrary, tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    write_profile(folder)
    with (folder / "fs_vienne.yaml").open("a", encoding="utf-8") as profile:
        profile.write("encrypt_for: absent.pem\n")
    with pytest.raises(ConfigFileError, match=r"fs_vienne.yaml, line 12: cannot read a PEM public key"):
        load_profile("fs_vienne", library, folder)
