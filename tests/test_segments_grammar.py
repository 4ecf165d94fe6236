"""Segment files without a database: calendar bounds, the legal-age table, parsing and validation."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from outreach.errors import ConfigurationError
from outreach.segments.dates import Duration, age_on, anniversary, latest_birth_for_age, shift_months
from outreach.segments.definition import Age, AllOf, AnyOf, FieldTest, InSegment, RelativeDate, TurnsAge
from outreach.segments.errors import SegmentErrors
from outreach.segments.library import load_library
from outreach.segments.parser import parse_segment
from outreach.segments.retirement_ages import TABLE_PATH, legal_age_table, parse_table

REPO_SEGMENTS = Path(__file__).resolve().parent.parent / "segments"
LIBRARY = (
    "career_statement_35",
    "pre_retirees",
    "apply_for_retirement",
    "new_retirees",
    "survivors_55plus",
    "fragile",
    "complainants",
)


def _days(start: date, end: date, step: int = 1) -> list[date]:
    return [start + timedelta(days=i) for i in range(0, (end - start).days + 1, step)]


# -- calendar -------------------------------------------------------------------------------------


def test_shift_months_clamps_to_the_end_of_the_month() -> None:
    assert shift_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert shift_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert shift_months(date(2024, 2, 29), -12) == date(2023, 2, 28)
    assert shift_months(date(2026, 1, 15), -13) == date(2024, 12, 15)


@pytest.mark.parametrize("years", [0, 35, 51, 55, 62])
def test_age_bound_agrees_with_the_birthday_rule_every_day_including_february_29(years: int) -> None:
    births = _days(date(1960, 1, 1), date(1996, 12, 31), 1)
    for as_of in (
        date(2027, 2, 28),
        date(2027, 3, 1),
        date(2028, 2, 28),
        date(2028, 2, 29),
        date(2026, 11, 26),
    ):
        bound = latest_birth_for_age(as_of, years * 12)
        for birth in births:
            assert (birth <= bound) == (age_on(birth, as_of) >= years), (birth, as_of)


def test_someone_born_on_february_29_has_their_birthday_on_march_1_in_common_years() -> None:
    born = date(1992, 2, 29)
    assert age_on(born, date(2027, 2, 28)) == 34
    assert age_on(born, date(2027, 3, 1)) == 35
    assert anniversary(born, 35 * 12) == date(2027, 3, 1)
    assert anniversary(born, 36 * 12) == date(2028, 2, 29)


@pytest.mark.parametrize("months", [1, 3, 747, 753, 759])
def test_anniversary_and_latest_birth_are_two_views_of_one_rule(months: int) -> None:
    births = _days(date(1960, 1, 25), date(1960, 3, 5)) + _days(date(1961, 8, 25), date(1961, 12, 31))
    for birth in births:
        reached = anniversary(birth, months)
        for day in (reached - timedelta(days=1), reached):
            assert (birth <= latest_birth_for_age(day, months)) == (day >= reached), (birth, day)


def test_durations_parse_calendar_units() -> None:
    assert Duration.parse("6 months") == Duration(6, "months")
    assert Duration.parse("1 year") == Duration(12, "months")
    assert Duration.parse("2 weeks") == Duration(14, "days")
    assert Duration.parse("six months") is None
    assert Duration(6, "months").before(date(2026, 8, 31)) == date(2026, 2, 28)


# -- the legal retirement age table ---------------------------------------------------------------


def test_the_table_names_its_source_and_date() -> None:
    table = legal_age_table()
    assert "preparetraite.fr" in table.source and "LFSS 2026" in table.source
    assert table.applies_to_claims_from == date(2026, 9, 1)
    header = TABLE_PATH.read_text(encoding="utf-8")
    assert "suspension réforme retraites" in header


@pytest.mark.parametrize(
    ("birth", "legal_date"),
    [
        (date(1960, 12, 31), date(2022, 12, 31)),  # 62
        (date(1961, 8, 31), date(2023, 8, 31)),  # 62
        (date(1961, 9, 1), date(2023, 12, 1)),  # 62 y 3 m
        (date(1962, 5, 31), date(2024, 11, 30) + timedelta(days=1)),  # 62 y 6 m, no 30 Nov... 31st -> 1 Dec
        (date(1964, 2, 27), date(2026, 11, 27)),  # 62 y 9 m
        (date(1965, 3, 31), date(2027, 12, 31)),  # 62 y 9 m
        (date(1965, 4, 1), date(2028, 4, 1)),  # 63
        (date(1968, 12, 31), date(2032, 9, 30) + timedelta(days=1)),  # 63 y 9 m: 31 Sep -> 1 Oct
        (date(1969, 1, 1), date(2033, 1, 1)),  # 64
        (date(1972, 2, 29), date(2036, 2, 29)),  # 64, a leap year again
    ],
)
def test_legal_retirement_date_by_cohort(birth: date, legal_date: date) -> None:
    assert legal_age_table().legal_retirement_date(birth) == legal_date


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (date(2026, 11, 27), date(2027, 5, 26)),
        (date(2027, 9, 16), date(2028, 3, 15)),
        (None, date(2023, 12, 1)),
        (date(2023, 9, 1), None),
        (date(2031, 1, 1), date(2031, 12, 31)),
    ],
)
def test_birth_ranges_select_exactly_the_people_whose_legal_date_is_in_the_window(
    low: date | None, high: date | None
) -> None:
    table = legal_age_table()
    ranges = table.birth_ranges(low, high)
    assert len(ranges) == 1  # ages never decrease with the birth date: one range, one index scan
    for birth in _days(date(1958, 1, 1), date(1972, 12, 31)):
        legal = table.legal_retirement_date(birth)
        expected = (low is None or legal >= low) and (high is None or legal <= high)
        inside = any((a is None or birth >= a) and (b is None or birth <= b) for a, b in ranges)
        assert inside == expected, birth


def test_a_table_with_a_gap_is_refused() -> None:
    text = TABLE_PATH.read_text(encoding="utf-8").replace("born_from: 1962-01-01", "born_from: 1962-01-02")
    with pytest.raises(ConfigurationError, match="must start the day after 1961-12-31"):
        parse_table(text)


# -- parsing --------------------------------------------------------------------------------------


def test_the_repository_library_is_valid_and_has_the_named_segments() -> None:
    library = load_library(REPO_SEGMENTS)
    assert set(LIBRARY) <= set(library.names)
    assert {
        "career_statement_40",
        "career_statement_45",
        "career_statement_50",
        "overall_estimate_55",
    } <= set(library.names)
    # dependency order: a segment comes after the segments it references
    order = library.names
    assert order.index("apply_for_retirement_accompanied") > order.index("fragile")


def test_survivors_rule_is_parsed_into_the_expected_tree() -> None:
    rule = load_library(REPO_SEGMENTS).get("survivors_55plus").rule
    assert isinstance(rule, AllOf)
    kinds = [type(c) for c in rule.conditions]
    assert kinds == [FieldTest, RelativeDate, FieldTest, AnyOf]
    assert rule.conditions[3].conditions[0] == Age(line=15, at_least=55, at_most=None)
    assert isinstance(load_library(REPO_SEGMENTS).get("career_statement_35").rule.conditions[1], TurnsAge)


VALID = """\
name: demo
description: Démo
journey: follow_career
rule:
  all:
    - field: status
      is: active
{extra}"""


def _problems(text: str, tmp_path: Path, name: str = "demo") -> list[str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SegmentErrors) as caught:
        load_library(tmp_path)
    return [str(p) for p in caught.value.problems]


def _one(text: str, tmp_path: Path) -> str:
    problems = _problems(text, tmp_path)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_valid_file_parses(tmp_path: Path) -> None:
    segment = parse_segment(VALID.format(extra=""), tmp_path / "demo.yaml")
    assert segment.rule == AllOf(5, (FieldTest(6, "status", "is", "active"),))


def test_unknown_field_names_file_line_and_a_suggestion(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - field: statut\n      is: active\n"), tmp_path)
    assert message.startswith(f"{tmp_path / 'demo.yaml'}:8: unknown field 'statut'")
    assert "did you mean 'status'" in message


def test_unknown_value_of_a_closed_list(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - field: status\n      is: retraité\n"), tmp_path)
    assert ":9: 'retraité' is not a valid value of status" in message
    assert "active, retired, deceased" in message


def test_wrong_type_for_an_age(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - age:\n        at_least: cinquante\n"), tmp_path)
    assert ":9: at_least must be a whole number of years, not 'cinquante'" in message


def test_wrong_type_for_a_date(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - field: spouse_death_date\n      before: 2009-13-01\n"), tmp_path)
    assert ":9: `before` of spouse_death_date must be a date written YYYY-MM-DD" in message


def test_wrong_duration(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - since: retirement_date\n      at_most: six mois\n"), tmp_path)
    assert ":9: at_most must be a duration such as '30 days'" in message


def test_unknown_operator_lists_the_operators_of_that_field(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - field: birth_date\n      older_than: 1960-01-01\n"), tmp_path)
    assert ":9: unknown operator 'older_than' for field 'birth_date' (date)" in message
    assert "before, on_or_before, after, on_or_after, present" in message


def test_unknown_condition(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - opened_email: true\n"), tmp_path)
    assert ":8: unknown condition 'opened_email'" in message


def test_two_conditions_in_one_item(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - age: {at_least: 55}\n      segment: fragile\n"), tmp_path)
    assert ":9: 'age' and 'segment' are in the same list item" in message


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    extra = "    - field: statut\n      is: active\n    - age: {at_least: x}\n"
    problems = _problems(VALID.format(extra=extra), tmp_path)
    assert [p.split(":")[1] for p in problems] == ["8", "10"]


def test_missing_segment_reference(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - segment: fragiles\n"), tmp_path)
    assert message.startswith(f"{tmp_path / 'demo.yaml'}:8: segment 'fragiles' does not exist")
    assert "create segments/fragiles.yaml" in message


def test_cycle_between_segments(tmp_path: Path) -> None:
    (tmp_path / "aidants.yaml").write_text(
        "name: aidants\ndescription: A\njourney: complaint\nrule:\n  segment: benevoles\n", encoding="utf-8"
    )
    problems = _problems(
        "name: benevoles\ndescription: B\njourney: complaint\nrule:\n  any:\n    - segment: aidants\n",
        tmp_path,
        "benevoles",
    )
    assert problems == [
        f"{tmp_path / 'benevoles.yaml'}:6: segments reference each other in a cycle "
        "(aidants -> benevoles -> aidants); remove one"
    ]


def test_a_segment_referencing_itself_is_a_cycle(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="    - segment: demo\n"), tmp_path)
    assert ":8: segments reference each other in a cycle (demo -> demo)" in message


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    text = VALID.format(extra="").replace("      is: active", "   is: active")  # "is" no longer under "field"
    message = _one(text, tmp_path)
    assert message.startswith(f"{tmp_path / 'demo.yaml'}:7: malformed YAML")


def test_name_must_match_the_file(tmp_path: Path) -> None:
    message = _one(VALID.format(extra="").replace("name: demo", "name: autre"), tmp_path)
    assert ":1: name 'autre' differs from the file name; rename the file to autre.yaml" in message


def test_missing_keys_and_unknown_journey(tmp_path: Path) -> None:
    message = _one("name: demo\ndescription: Démo\njourney: retraite\n", tmp_path)
    assert ":1: missing rule" in message
    message = _one(VALID.format(extra="").replace("follow_career", "retraite"), tmp_path)
    assert ":3: 'retraite' is not a valid journey" in message


def test_references_parse_as_segment_conditions(tmp_path: Path) -> None:
    (tmp_path / "fragile.yaml").write_text(
        "name: fragile\ndescription: F\njourney: complaint\n"
        "rule:\n  field: fragility_flags\n  present: true\n",
        encoding="utf-8",
    )
    (tmp_path / "demo.yaml").write_text(VALID.format(extra="    - segment: fragile\n"), encoding="utf-8")
    rule = load_library(tmp_path).get("demo").rule
    assert rule.conditions[1] == InSegment(8, "fragile")
