"""The library's rules on real databases (SQLite and PostgreSQL): edges, a Python oracle, history, explain."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from outreach.models import Person, SegmentMembership
from outreach.population.columns import PERSON_FIELDS
from outreach.population.store import upsert_complaints, upsert_people
from outreach.segments import history
from outreach.segments.compiler import count_query, segment_query
from outreach.segments.dates import age_on, anniversary, shift_months
from outreach.segments.explain import explain_person, rule_lines
from outreach.segments.library import SegmentLibrary, load_library
from outreach.segments.retirement_ages import legal_age_table

REPO_SEGMENTS = Path(__file__).resolve().parent.parent / "segments"
AS_OF = date(2026, 11, 26)
NAMES = [
    ("Mme", "Camille", "Lefèvre"),
    ("M", "Jean-Pierre", "Moreau"),
    ("Mme", "Nathalie", "Girard"),
    ("M", "Thierry", "Rousseau"),
    ("Mme", "Sylvie", "Fontaine"),
    ("M", "Pascal", "Chevalier"),
    ("Mme", "Isabelle", "Gauthier"),
    ("M", "Didier", "Mercier"),
]


@pytest.fixture(scope="module")
def library() -> SegmentLibrary:
    return load_library(REPO_SEGMENTS)


def person(person_id: str, birth: date, status: str = "active", **overrides: Any) -> dict[str, Any]:
    """A complete `people` row: a salaried person of Poitiers, technophile, no flag, unless overridden."""
    civility, first, last = NAMES[hash(person_id) % len(NAMES)]
    row: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)
    row.update(
        person_id=person_id,
        civility=civility,
        first_name=first,
        last_name=last,
        birth_date=birth,
        status=status,
        worker_type="salaried",
        email=f"{first.lower()}.{person_id.lower()}@example.fr",
        address_street="12 RUE DE LA CATHEDRALE",
        postal_code="86000",
        city="Poitiers",
        country="France",
        receives_survivor_pension=False,
        digital_profile="technophile",
        fragility_flags="",
        retirement_date=date(2020, 1, 1) if status == "retired" else None,
    )
    row.update(overrides)
    return row


def load(engine: Engine, people: Iterable[dict[str, Any]], complaints: Iterable[dict[str, Any]] = ()) -> None:
    with engine.begin() as connection:
        upsert_people(connection, list(people))
        upsert_complaints(connection, list(complaints))


def members(engine: Engine, library: SegmentLibrary, name: str, as_of: date = AS_OF) -> set[str]:
    with engine.connect() as connection:
        found = list(connection.scalars(segment_query(library, name, as_of)))
        assert connection.execute(count_query(library, name, as_of)).scalar_one() == len(found)
    assert found == sorted(found)
    return set(found)


# -- each library rule at its edges ---------------------------------------------------------------


def test_career_statement_35_is_the_month_of_the_35th_birthday(
    engine: Engine, library: SegmentLibrary
) -> None:
    load(
        engine,
        [
            person("FIRST_DAY", date(1991, 11, 1)),
            person("ON_AS_OF", date(1991, 11, 26)),  # birthday on the as-of day
            person("DAY_AFTER", date(1991, 11, 27)),  # birthday the day after, same month
            person("LAST_DAY", date(1991, 11, 30)),
            person("MONTH_BEFORE", date(1991, 10, 31)),
            person("MONTH_AFTER", date(1991, 12, 1)),
            person("YEAR_BEFORE", date(1990, 11, 15)),
            person("RETIRED", date(1991, 11, 15), "retired"),
            person("DECEASED", date(1991, 11, 15), "deceased"),
        ],
    )
    assert members(engine, library, "career_statement_35") == {
        "FIRST_DAY",
        "ON_AS_OF",
        "DAY_AFTER",
        "LAST_DAY",
    }
    assert members(engine, library, "career_statement_40") == set()


def test_career_statement_35_february_29_births_turn_35_in_march(
    engine: Engine, library: SegmentLibrary
) -> None:
    load(engine, [person("LEAP", date(1992, 2, 29)), person("FEB_28", date(1992, 2, 28))])
    assert members(engine, library, "career_statement_35", date(2027, 2, 10)) == {"FEB_28"}
    assert members(engine, library, "career_statement_35", date(2027, 3, 31)) == {"LEAP"}


def test_pre_retirees_from_55_until_the_cohort_legal_age(engine: Engine, library: SegmentLibrary) -> None:
    load(
        engine,
        [
            person("TURNS_55_TODAY", date(1971, 11, 26)),
            person("TURNS_55_TOMORROW", date(1971, 11, 27)),
            person("LEGAL_AGE_TODAY", date(1964, 2, 26)),  # 62 y 9 m reached on 2026-11-26
            person("LEGAL_AGE_TOMORROW", date(1964, 2, 27)),
            person("BORN_1961", date(1961, 8, 31)),
            person("RETIRED_58", date(1968, 5, 5), "retired"),
            person("DECEASED_58", date(1968, 5, 5), "deceased"),
        ],
    )
    assert members(engine, library, "pre_retirees") == {"TURNS_55_TODAY", "LEGAL_AGE_TOMORROW"}


def test_pre_retirees_follow_the_cohort_table_across_1961(engine: Engine, library: SegmentLibrary) -> None:
    load(engine, [person("AUG_1961", date(1961, 8, 31)), person("SEP_1961", date(1961, 9, 1))])
    # On 2023-09-15 the August 1961 cohort (62) has reached its age, September's (62 y 3 m) has not.
    assert members(engine, library, "pre_retirees", date(2023, 9, 15)) == {"SEP_1961"}
    assert members(engine, library, "pre_retirees", date(2023, 11, 30)) == {"SEP_1961"}
    assert members(engine, library, "pre_retirees", date(2023, 12, 1)) == set()


def test_apply_for_retirement_within_the_next_6_months(engine: Engine, library: SegmentLibrary) -> None:
    load(
        engine,
        [
            person("REACHED_TODAY", date(1964, 2, 26)),
            person("REACHES_TOMORROW", date(1964, 2, 27)),
            person("REACHES_IN_6_MONTHS", date(1964, 8, 26)),  # legal date 2027-05-26
            person("REACHES_A_DAY_LATER", date(1964, 8, 27)),
            person("RETIRED", date(1964, 5, 1), "retired"),
            person("DECEASED", date(1964, 5, 1), "deceased"),
        ],
    )
    assert members(engine, library, "apply_for_retirement") == {"REACHES_TOMORROW", "REACHES_IN_6_MONTHS"}


def test_apply_for_retirement_stops_at_the_1965_cohort_jump(engine: Engine, library: SegmentLibrary) -> None:
    load(
        engine,
        [
            person("MAR_1965", date(1965, 3, 31)),  # 62 y 9 m: 2027-12-31
            person("APR_1965", date(1965, 4, 1)),  # 63: 2028-04-01, beyond 2028-03-15
            person("DEC_1964", date(1964, 12, 15)),  # 62 y 9 m: 2027-09-15, reached on the as-of day
            person("DEC_1964_16", date(1964, 12, 16)),
        ],
    )
    assert members(engine, library, "apply_for_retirement", date(2027, 9, 15)) == {"MAR_1965", "DEC_1964_16"}


def test_new_retirees_in_the_6_months_up_to_the_as_of_date(engine: Engine, library: SegmentLibrary) -> None:
    born = date(1960, 3, 3)
    load(
        engine,
        [
            person("SIX_MONTHS_AGO", born, "retired", retirement_date=date(2026, 5, 26)),
            person("A_DAY_TOO_EARLY", born, "retired", retirement_date=date(2026, 5, 25)),
            person("TODAY", born, "retired", retirement_date=AS_OF),
            person("TOMORROW", born, "retired", retirement_date=date(2026, 11, 27)),
            person("NO_DATE", born, "retired", retirement_date=None),
            person("STILL_ACTIVE", born, "active", retirement_date=date(2026, 9, 1)),
            person("DECEASED", born, "deceased", retirement_date=date(2026, 9, 1)),
        ],
    )
    assert members(engine, library, "new_retirees") == {"SIX_MONTHS_AGO", "TODAY"}


def test_survivors_55plus_and_the_2009_rule(engine: Engine, library: SegmentLibrary) -> None:
    recent, before_2009 = date(2020, 6, 1), date(2008, 12, 31)
    load(
        engine,
        [
            person("55_TODAY", date(1971, 11, 26), spouse_death_date=recent),
            person("55_TOMORROW", date(1971, 11, 27), spouse_death_date=recent),
            person("51_DEATH_2008", date(1975, 11, 26), spouse_death_date=before_2009),
            person("50_DEATH_2008", date(1975, 11, 27), spouse_death_date=before_2009),
            person("51_DEATH_2009", date(1975, 11, 26), spouse_death_date=date(2009, 1, 1)),
            person(
                "ALREADY_PAID",
                date(1950, 1, 1),
                "retired",
                spouse_death_date=recent,
                receives_survivor_pension=True,
            ),
            person("DEATH_TODAY", date(1950, 1, 1), "retired", spouse_death_date=AS_OF),
            person("DEATH_TOMORROW", date(1950, 1, 1), "retired", spouse_death_date=date(2026, 11, 27)),
            person("NO_SPOUSE_DEATH", date(1950, 1, 1), "retired"),
            person("DECEASED", date(1950, 1, 1), "deceased", spouse_death_date=recent),
        ],
    )
    assert members(engine, library, "survivors_55plus") == {"55_TODAY", "51_DEATH_2008", "DEATH_TODAY"}


def test_fragile_any_flag_or_not_at_ease_online(engine: Engine, library: SegmentLibrary) -> None:
    born = date(1980, 6, 6)
    load(
        engine,
        [
            person("AAH", born, fragility_flags="aah"),
            person("TWO_FLAGS", born, fragility_flags="financial_difficulty;rsa"),
            person("OFFLINE", born, digital_profile="non_technophile"),
            person("UNKNOWN_PROFILE", born, digital_profile=None),
            person("AT_EASE", born),
            person("DECEASED", born, "deceased", fragility_flags="aah"),
        ],
    )
    assert members(engine, library, "fragile") == {"AAH", "TWO_FLAGS", "OFFLINE"}


def test_complainants_have_a_complaint_open_on_the_as_of_date(
    engine: Engine, library: SegmentLibrary
) -> None:
    born = date(1958, 4, 4)
    people = ["OPEN", "CLOSED_BEFORE", "CLOSED_AFTER", "OPENED_LATER", "CLOSED_TODAY", "NONE", "DECEASED"]
    load(
        engine,
        [person(p, born, "deceased" if p == "DECEASED" else "retired") for p in people],
        [
            _complaint("C1", "OPEN", date(2026, 10, 1), None),
            _complaint("C2", "CLOSED_BEFORE", date(2026, 9, 1), date(2026, 10, 1)),
            _complaint("C3", "CLOSED_AFTER", date(2026, 9, 1), date(2026, 12, 1)),
            _complaint("C4", "OPENED_LATER", date(2026, 11, 27), None),
            _complaint("C5", "CLOSED_TODAY", date(2026, 9, 1), AS_OF),
            _complaint("C6", "DECEASED", date(2026, 10, 1), None),
        ],
    )
    assert members(engine, library, "complainants") == {"OPEN", "CLOSED_AFTER"}


def _complaint(complaint_id: str, person_id: str, opened: date, closed: date | None) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "person_id": person_id,
        "opened_on": opened,
        "closed_on": closed,
        "subject": "pension_not_paid",
        "received_by": "phone",
    }


def test_segment_references_are_evaluated_at_the_same_date(engine: Engine, library: SegmentLibrary) -> None:
    load(
        engine,
        [
            person("FRAGILE_SOON", date(1964, 5, 1), fragility_flags="disability"),
            person("AT_EASE_SOON", date(1964, 5, 1)),
            person("FRAGILE_YOUNG", date(1990, 5, 1), fragility_flags="disability"),
        ],
    )
    assert members(engine, library, "apply_for_retirement_accompanied") == {"FRAGILE_SOON"}


# -- every library rule against a Python oracle, on random people near the edges ------------------


def _oracle(name: str, p: dict[str, Any], as_of: date, open_complaint: bool) -> bool:
    if p["status"] == "deceased":
        return False
    active, birth = p["status"] == "active", p["birth_date"]
    age, legal = age_on(birth, as_of), legal_age_table().legal_retirement_date(birth)
    retired_on, death = p["retirement_date"], p["spouse_death_date"]
    rules = {
        "career_statement_35": active and anniversary(birth, 35 * 12).replace(day=1) == as_of.replace(day=1),
        "pre_retirees": active and age >= 55 and legal > as_of,
        "apply_for_retirement": active and as_of < legal <= shift_months(as_of, 6),
        "new_retirees": p["status"] == "retired"
        and retired_on is not None
        and shift_months(as_of, -6) <= retired_on <= as_of,
        "survivors_55plus": death is not None
        and death <= as_of
        and not p["receives_survivor_pension"]
        and (age >= 55 or (age >= 51 and death < date(2009, 1, 1))),
        "fragile": p["fragility_flags"] != "" or p["digital_profile"] == "non_technophile",
        "complainants": open_complaint,
    }
    return rules[name]


AS_OF_DATES = [AS_OF, date(2027, 2, 28), date(2028, 2, 29), date(2023, 12, 1), date(2027, 9, 15)]


def _random_population(seed: int, size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    ages = {35 * 12, 51 * 12, 55 * 12} | {c.age_months for c in legal_age_table().cohorts}
    edges = [shift_months(d, -months) for d in AS_OF_DATES for months in sorted(ages)]
    people, complaints = [], []
    for i in range(size):
        if rng.random() < 0.5:
            birth = rng.choice(edges) + timedelta(days=rng.randint(-40, 40))
        else:
            birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 65 * 365))
        status = rng.choices(["active", "retired", "deceased"], [6, 3, 1])[0]
        anchor = rng.choice([*AS_OF_DATES, date(2008, 12, 31), date(2009, 1, 1)])
        row = person(
            f"P{i:05d}",
            birth,
            status,
            retirement_date=anchor + timedelta(days=rng.randint(-200, 30)) if rng.random() < 0.5 else None,
            spouse_death_date=anchor + timedelta(days=rng.randint(-3, 3)) if rng.random() < 0.3 else None,
            receives_survivor_pension=rng.random() < 0.2,
            digital_profile=rng.choice(["technophile", "non_technophile", None]),
            fragility_flags=rng.choice(["", "", "", "aah", "france_travail;rsa"]),
        )
        people.append(row)
        if rng.random() < 0.15:
            opened = rng.choice(AS_OF_DATES) + timedelta(days=rng.randint(-60, 5))
            closed = opened + timedelta(days=rng.randint(0, 90)) if rng.random() < 0.5 else None
            complaints.append(_complaint(f"R{i:05d}", row["person_id"], opened, closed))
    return people, complaints


ORACLE_SEGMENTS = [
    "career_statement_35",
    "pre_retirees",
    "apply_for_retirement",
    "new_retirees",
    "survivors_55plus",
    "fragile",
    "complainants",
]


def test_library_rules_agree_with_a_python_oracle(engine: Engine, library: SegmentLibrary) -> None:
    people, complaints = _random_population(seed=2026, size=3000)
    load(engine, people, complaints)
    for as_of in AS_OF_DATES:
        open_on = {
            c["person_id"]
            for c in complaints
            if c["opened_on"] <= as_of and (c["closed_on"] is None or c["closed_on"] > as_of)
        }
        for name in ORACLE_SEGMENTS:
            expected = {p["person_id"] for p in people if _oracle(name, p, as_of, p["person_id"] in open_on)}
            assert members(engine, library, name, as_of) == expected, (name, as_of)
            assert expected or name == "career_statement_35", (name, as_of)  # the data reaches every rule


@pytest.mark.postgres
def test_sqlite_and_postgresql_agree_on_members_and_history(
    sqlite_engine: Engine, postgres_engine: Engine, library: SegmentLibrary
) -> None:
    people, complaints = _random_population(seed=7, size=2000)
    engines = (sqlite_engine, postgres_engine)
    for engine in engines:
        load(engine, people, complaints)
    for name in library.names:
        for as_of in (date(2026, 5, 31), AS_OF):
            results = [members(engine, library, name, as_of) for engine in engines]
            assert results[0] == results[1], (name, as_of)
            stays = []
            for engine in engines:
                with engine.begin() as connection:
                    history.refresh(connection, library, name, as_of)
                    stays.append(set(connection.execute(select(*_STAY_COLUMNS)).all()))
            assert stays[0] == stays[1], (name, as_of)


_STAY_COLUMNS = [
    SegmentMembership.segment,
    SegmentMembership.person_id,
    SegmentMembership.entered_on,
    SegmentMembership.left_on,
]


# -- membership history ---------------------------------------------------------------------------


def _stays(engine: Engine, segment: str) -> set[tuple[str, date, date | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                SegmentMembership.person_id, SegmentMembership.entered_on, SegmentMembership.left_on
            ).where(SegmentMembership.segment == segment)
        )
        return {tuple(row) for row in rows}


def test_refresh_records_who_entered_and_who_left(engine: Engine, library: SegmentLibrary) -> None:
    born = date(1980, 1, 1)
    load(
        engine,
        [
            person("STAYS", born, fragility_flags="rsa"),
            person("LEAVES", born, fragility_flags="france_travail"),
            person("DIES", born, digital_profile="non_technophile"),
            person("ARRIVES", born),
        ],
    )
    first, second = date(2026, 10, 1), date(2026, 11, 1)
    with engine.begin() as connection:
        result = history.refresh(connection, library, "fragile", first)
    assert (result.members, result.entered, result.left) == (3, 3, 0)

    load(
        engine,
        [
            person("LEAVES", born),  # found a job: no more flag
            person("DIES", born, "deceased", digital_profile="non_technophile"),
            person("ARRIVES", born, fragility_flags="disability"),
        ],
    )
    with engine.begin() as connection:
        result = history.refresh(connection, library, "fragile", second)
        assert (result.members, result.entered, result.left) == (2, 1, 2)
        assert history.open_member_count(connection, "fragile") == 2
        assert set(connection.scalars(history.new_members(connection, "fragile"))) == {"ARRIVES"}
        assert list(connection.scalars(history.members_on(connection, "fragile", first))) == [
            "DIES",
            "LEAVES",
            "STAYS",
        ]
        between = date(2026, 10, 20)
        assert set(connection.scalars(history.members_on(connection, "fragile", between))) == {
            "DIES",
            "LEAVES",
            "STAYS",
        }
        assert set(connection.scalars(history.members_on(connection, "fragile", second))) == {
            "ARRIVES",
            "STAYS",
        }
        assert set(connection.scalars(history.members_on(connection, "fragile", date(2027, 1, 1)))) == {
            "ARRIVES",
            "STAYS",
        }
    assert _stays(engine, "fragile") == {
        ("STAYS", first, None),
        ("LEAVES", first, second),
        ("DIES", first, second),
        ("ARRIVES", second, None),
    }


def test_a_refresh_with_no_change_records_nothing_and_a_return_opens_a_new_stay(
    engine: Engine, library: SegmentLibrary
) -> None:
    load(engine, [person("REVIENT", date(1991, 11, 10))])
    dates = [date(2026, 11, 2), date(2026, 11, 20), date(2026, 12, 1)]
    results = []
    for day in dates:
        with engine.begin() as connection:
            results.append(history.refresh(connection, library, "career_statement_35", day))
    assert [(r.members, r.entered, r.left) for r in results] == [(1, 1, 0), (1, 0, 0), (0, 0, 1)]
    with engine.begin() as connection:
        assert list(connection.scalars(history.new_members(connection, "career_statement_35"))) == []
    # A segment whose definition lets someone back in gives them a second stay, not a reopened one.
    load(engine, [person("REVIENT", date(1991, 12, 10))])  # corrected birth date: turns 35 in December
    with engine.begin() as connection:
        result = history.refresh(connection, library, "career_statement_35", date(2026, 12, 2))
    assert (result.members, result.entered, result.left) == (1, 1, 0)
    assert _stays(engine, "career_statement_35") == {
        ("REVIENT", dates[0], dates[2]),
        ("REVIENT", date(2026, 12, 2), None),
    }


def test_history_only_moves_forward_and_knows_its_beginning(engine: Engine, library: SegmentLibrary) -> None:
    with engine.begin() as connection:
        history.refresh(connection, library, "fragile", AS_OF)
    with (
        engine.begin() as connection,
        pytest.raises(history.HistoryError, match="already refreshed as of 2026-11-26"),
    ):
        history.refresh(connection, library, "fragile", date(2026, 11, 25))
    with engine.connect() as connection:
        with pytest.raises(history.HistoryError, match="no refresh on or before 2026-11-25"):
            history.members_on(connection, "fragile", date(2026, 11, 25))
        with pytest.raises(history.HistoryError, match="never refreshed"):
            history.new_members(connection, "complainants")


def test_refresh_records_the_definition_version(engine: Engine, library: SegmentLibrary) -> None:
    with engine.begin() as connection:
        result = history.refresh(connection, library, "apply_for_retirement_accompanied", AS_OF)
        refresh_row = history.last_refresh(connection, "apply_for_retirement_accompanied")
    assert refresh_row is not None and refresh_row.id == result.refresh_id
    assert refresh_row.version == library.version("apply_for_retirement_accompanied")
    assert refresh_row.version != library.version("apply_for_retirement")


# -- explain --------------------------------------------------------------------------------------


def test_explain_points_at_the_condition_that_keeps_someone_out(
    engine: Engine, library: SegmentLibrary
) -> None:
    load(
        engine,
        [
            person("TOO_YOUNG", date(1973, 3, 3), spouse_death_date=date(2015, 1, 1)),
            person("MEMBER", date(1950, 3, 3), "retired", spouse_death_date=date(2015, 1, 1)),
            person("DECEASED", date(1950, 3, 3), "deceased", spouse_death_date=date(2015, 1, 1)),
        ],
    )
    with engine.connect() as connection:
        too_young = explain_person(connection, library, "survivors_55plus", AS_OF, "TOO_YOUNG")
        member = explain_person(connection, library, "survivors_55plus", AS_OF, "MEMBER")
        deceased = explain_person(connection, library, "survivors_55plus", AS_OF, "DECEASED")
    assert [(v.line, v.text) for v in too_young if v.blocking] == [(14, "any of:")]
    assert not any(v.blocking for v in member) and all(v.passed for v in member[:5])
    assert [v.text for v in deceased if v.blocking] == ["not deceased (always)", "status in active, retired"]
    lines = rule_lines(library, "survivors_55plus", AS_OF)
    assert "age on 2026-11-26 at least 55 (born on or before 1971-11-26)  [line 15]" in lines[6]


# -- the rest of the grammar, on the database ----------------------------------------------------

GRAMMAR_SEGMENTS = {
    "vienne_offline": "all:\n    - field: postal_code\n      starts_with: '86'\n"
    "    - not:\n        field: email\n        present: true\n",
    "charente_towns": "field: city\n  in: [Angoulême, Cognac]",
    "job_seekers": "field: fragility_flags\n  has: france_travail",
    "benefits": "field: fragility_flags\n  has_any: [aah, rsa]",
    "forties": "age: {at_least: 40, at_most: 49}",
    "turns_60_this_year": "turns_age: 60\n  during: year",
    "legal_age_far_ahead": "until: legal_retirement_date\n  at_least: 1 year",
    "legal_age_in_2027": "all:\n    - field: legal_retirement_date\n      on_or_after: 2027-01-01\n"
    "    - field: legal_retirement_date\n      before: 2028-01-01",
    "retired_long_ago": "since: retirement_date\n  at_least: 2 years",
    "no_open_complaint": "has_open_complaint: false",
}


def test_every_kind_of_condition_compiles_and_selects_the_right_people(
    engine: Engine, tmp_path: Path
) -> None:
    for name, rule in GRAMMAR_SEGMENTS.items():
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ndescription: Essai\njourney: follow_career\nrule:\n  {rule}\n", encoding="utf-8"
        )
    custom = load_library(tmp_path)
    load(
        engine,
        [
            person("POITIERS_NO_MAIL", date(1986, 11, 27), email=None, fragility_flags="aah;france_travail"),
            person("POITIERS_MAIL", date(1977, 11, 26), fragility_flags="rsa"),
            person("ANGOULEME", date(1966, 3, 1), postal_code="16000", city="Angoulême", email=None),
            person(
                "COGNAC",
                date(1964, 2, 27),
                "retired",
                postal_code="16100",
                city="Cognac",
                retirement_date=date(2024, 11, 26),
            ),
            person(
                "LIMOGES",
                date(1970, 5, 5),
                postal_code="87000",
                city="Limoges",
                retirement_date=date(2024, 11, 27),
            ),
            person("NO_POSTCODE", date(1990, 1, 1), postal_code=None, city=None, email=None),
            person("CHATELLERAULT", date(1964, 6, 15), postal_code="86100", city="Châtellerault"),
        ],
        [_complaint("C1", "LIMOGES", date(2026, 1, 1), None)],
    )
    everyone = {
        "POITIERS_NO_MAIL",
        "POITIERS_MAIL",
        "ANGOULEME",
        "COGNAC",
        "LIMOGES",
        "NO_POSTCODE",
        "CHATELLERAULT",
    }
    expected = {
        "vienne_offline": {"POITIERS_NO_MAIL"},
        "charente_towns": {"ANGOULEME", "COGNAC"},
        "job_seekers": {"POITIERS_NO_MAIL"},
        "benefits": {"POITIERS_NO_MAIL", "POITIERS_MAIL"},
        "forties": {"POITIERS_MAIL"},  # 49 on the as-of day; 39 the day before their 40th birthday
        "turns_60_this_year": {"ANGOULEME"},  # born 1966: 60 in 2026, whether before or after the as-of day
        "legal_age_far_ahead": {"POITIERS_NO_MAIL", "POITIERS_MAIL", "ANGOULEME", "LIMOGES", "NO_POSTCODE"},
        "legal_age_in_2027": {"CHATELLERAULT"},  # 62 y 9 m: 2027-03-15
        "retired_long_ago": {"COGNAC"},
        "no_open_complaint": everyone - {"LIMOGES"},
    }
    for name, members_expected in expected.items():
        assert members(engine, custom, name) == members_expected, name
    # ANGOULEME (1966, 63 y 3 m) reaches the legal age on 2029-06-01: a year ahead on 2028-06-01 only.
    assert "ANGOULEME" in members(engine, custom, "legal_age_far_ahead", date(2028, 6, 1))
    assert members(engine, custom, "legal_age_far_ahead", date(2028, 6, 2)) == {
        "POITIERS_NO_MAIL",
        "POITIERS_MAIL",
        "LIMOGES",
        "NO_POSTCODE",
    }


def test_erasing_a_person_drops_their_stays_and_the_next_count_stays_right(
    engine: Engine, library: SegmentLibrary
) -> None:
    load(
        engine,
        [
            person("EFFACE", date(1980, 1, 1), fragility_flags="rsa"),
            person("RESTE", date(1980, 1, 1), fragility_flags="aah"),
        ],
    )
    with engine.begin() as connection:
        history.refresh(connection, library, "fragile", date(2026, 10, 1))
    with engine.begin() as connection:
        connection.execute(delete(Person).where(Person.person_id == "EFFACE"))
    with engine.begin() as connection:
        result = history.refresh(connection, library, "fragile", date(2026, 11, 1))
    assert (result.members, result.entered, result.left) == (1, 0, 0)
    assert _stays(engine, "fragile") == {("RESTE", date(2026, 10, 1), None)}
