"""A guardianship organisation receives only the people it represents, and no profile leaves its territory.

Through the CLI (`outreach export partner udaf_haute_vienne_mandataires`, `outreach export validate`)
with the shipped profile, on SQLite and PostgreSQL: fragile survivors of the Haute-Vienne (87) and the
Creuse (23), some under a measure held by the Haute-Vienne UDAF, some by another organisation, most
by none.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from outreach.cli.main import app
from outreach.db import default_engine
from outreach.exports.export import export_partner_list
from outreach.exports.profile import PartnerProfile, load_profile
from outreach.segments.history import refresh
from outreach.segments.library import SegmentLibrary, load_library
from tests.people import load, person

AS_OF = date(2026, 11, 26)
BORN_1960 = date(1960, 2, 14)  # 66: a survivor who meets the age condition
WIDOWED = {"spouse_death_date": date(2025, 9, 3), "fragility_flags": "aah", "status": "retired"}
LIMOGES = {"postal_code": "87000", "city": "Limoges"}
GUERET = {"postal_code": "23000", "city": "Guéret"}
POITIERS = {"postal_code": "86000", "city": "Poitiers"}

UDAF_PROFILE = """\
name: {name}
partner: UDAF de la Haute-Vienne, service des mandataires judiciaires
description: Les mandataires font les démarches de pension de réversion des majeurs protégés.
segments: [apply_for_retirement_accompanied, survivors_55plus]
columns: [person_id, last_name, postal_code, segment]
legal_basis: Obligation légale (article 6.1.c du RGPD), articles 473 et 496 du code civil.
territory: {territory}
filters:
{filters}
"""


def survivor(index: int, place: dict[str, str], representative: str | None = None) -> dict[str, object]:
    extra = {"legal_representative": representative} if representative else {}
    return person(index, BORN_1960, **WIDOWED, **place, **extra)


def refresh_udaf_segments(engine: Engine, library: SegmentLibrary) -> None:
    with engine.begin() as connection:
        for name in ("apply_for_retirement_accompanied", "survivors_55plus"):
            refresh(connection, library, name, AS_OF)


@pytest.fixture
def library() -> SegmentLibrary:
    return load_library()


@pytest.fixture
def population(engine: Engine, library: SegmentLibrary) -> Engine:
    """Fragile survivors in 87 and 23 (and one in 86), under measures of different organisations."""
    load(
        engine,
        [
            survivor(0, LIMOGES, "UDAF87:curatelle_renforcee"),  # the UDAF's: exported
            survivor(1, LIMOGES),  # fragile, represented by nobody
            survivor(2, GUERET, "UDAF87:tutelle"),  # the UDAF's, living in the Creuse
            survivor(3, GUERET),  # fragile Creusois, represented by nobody
            survivor(4, GUERET, "UDAF23:curatelle"),  # the Creuse UDAF's protégé
            survivor(5, LIMOGES, "ATMP87:tutelle"),  # another Haute-Vienne mandataire's
            survivor(6, POITIERS, "UDAF87:sauvegarde_de_justice"),  # the UDAF's, outside its territory
        ],
    )
    refresh_udaf_segments(engine, library)
    return engine


def run_cli(tmp_path: Path, *args: str, engine: Engine | None = None) -> tuple[int, str]:
    env = {"OUTREACH_VAR_DIR": str(tmp_path / "var")}
    if engine is not None:
        env["OUTREACH_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    default_engine.cache_clear()  # the CLI's engine is cached per process: this test's database
    try:
        result = CliRunner().invoke(app, list(args), env=env)
    finally:
        default_engine.cache_clear()
    return result.exit_code, result.output


def exported_ids(output: str) -> list[str]:
    summary = json.loads(output.strip().splitlines()[-1])
    raw = Path(summary["file"]).read_bytes().decode("utf-8-sig")
    return [row["identifiant"] for row in csv.DictReader(io.StringIO(raw), delimiter=";")]


def test_the_udaf_receives_no_fragile_person_it_does_not_represent(
    engine: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    """The defect: every fragile survivor of the 87 and the 23 went to the Haute-Vienne UDAF."""
    load(engine, [survivor(1, LIMOGES), survivor(3, GUERET)])
    refresh_udaf_segments(engine, library)
    code, output = run_cli(
        tmp_path,
        "export", "partner", "udaf_haute_vienne_mandataires", "--as-of", AS_OF.isoformat(), "--json",
        engine=engine,
    )  # fmt: skip
    assert code == 0, output
    assert exported_ids(output) == []


def test_the_udaf_receives_only_the_people_it_represents_on_its_territory(
    population: Engine, tmp_path: Path
) -> None:
    code, output = run_cli(
        tmp_path,
        "export", "partner", "udaf_haute_vienne_mandataires", "--as-of", AS_OF.isoformat(), "--json",
        engine=population,
    )  # fmt: skip
    assert code == 0, output
    # Not the fragile people nobody represents (1, 3), nor other organisations' protégés (4, 5), nor
    # the UDAF's own protégé outside the départements the profile declares (6).
    assert exported_ids(output) == ["P00000", "P00002"]


def test_a_representation_does_not_override_the_territory(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    """A profile that declares only the 87 leaves out the UDAF's protégé living in the Creuse."""
    folder = tmp_path / "partners"
    folder.mkdir()
    (folder / "udaf87_only.yaml").write_text(
        UDAF_PROFILE.format(name="udaf87_only", territory='["87"]', filters="  represented_by: UDAF87"),
        encoding="utf-8",
    )
    profile = load_profile("udaf87_only", library, folder).profile
    result = export_partner_list(population, profile, library, AS_OF, tmp_path / "out")
    rows = list(csv.DictReader(io.StringIO(result.path.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert [row["identifiant"] for row in rows] == ["P00000"]
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert manifest["territory"] == ["87"]
    assert manifest["filters"]["represented_by"] == "UDAF87"


def test_the_export_never_writes_anyone_outside_the_territory_even_from_an_unchecked_profile(
    population: Engine, library: SegmentLibrary, tmp_path: Path
) -> None:
    """Defence in depth: filters that reach the Creuse and the Vienne, built without the file checks."""
    checked = load_profile("udaf_haute_vienne_mandataires", library).profile
    unchecked = PartnerProfile.model_construct(
        **{
            **dict(checked),
            "territory": ["87"],
            "filters": checked.filters.model_construct(
                departements=["23", "86", "87"], postcodes=["23000"], represented_by=None
            ),
        }
    )
    result = export_partner_list(population, unchecked, library, AS_OF, tmp_path / "out")
    rows = list(csv.DictReader(io.StringIO(result.path.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert {row["code_postal"][:2] for row in rows} == {"87"}
    assert [row["identifiant"] for row in rows] == ["P00000", "P00001", "P00005"]


@pytest.mark.parametrize(
    ("territory", "filters", "problem"),
    [
        ('["87"]', '  departements: ["87", "23"]', "département '23' is outside the profile's territory"),
        ('["87"]', '  postcodes: ["23000"]', "postcode '23000' is outside the profile's territory"),
        ('["87", "75"]', "  represented_by: UDAF87", "département '75' is not in the fund's territory"),
        ('["87"]', "  represented_by: udaf 87", "represented_by: the organisation id must be"),
        ("[]", "  represented_by: UDAF87", "territory: List should have at least 1 item"),
    ],
)
def test_export_validate_refuses_a_profile_whose_filters_reach_outside_its_territory(
    tmp_path: Path, territory: str, filters: str, problem: str
) -> None:
    home = tmp_path / "home"
    (home / "partners").mkdir(parents=True)
    (home / "segments").symlink_to(Path.cwd() / "segments")
    (home / "partners" / "udaf_test.yaml").write_text(
        UDAF_PROFILE.format(name="udaf_test", territory=territory, filters=filters), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "outreach", "export", "validate"],
        capture_output=True,
        text=True,
        env={**os.environ, "OUTREACH_HOME": str(home)},
        check=False,
    )
    assert result.returncode != 0
    assert "udaf_test.yaml, line" in result.stderr
    assert problem in result.stderr


def test_the_shipped_profiles_declare_their_territory(library: SegmentLibrary) -> None:
    udaf = load_profile("udaf_haute_vienne_mandataires", library).profile
    assert udaf.territory == ["87", "23"]
    assert udaf.filters.represented_by == "UDAF87"
