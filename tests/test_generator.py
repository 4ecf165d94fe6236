"""The synthetic population: reproducible, realistic within plausible bounds, and loaded as import would."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, func, select

from outreach.models import Complaint, OptOut, Person
from outreach.population import generator
from outreach.population.columns import CSV_COLUMNS, PERSON_FIELDS
from outreach.population.importer import import_population
from outreach.population.territory import GENERATIONS, communes, names
from outreach.population.validate import normalise_email, normalise_mobile
from outreach.vocabulary import FRAGILITY_FLAGS, TERRITORY

AS_OF = date(2026, 11, 24)
SIZE = 20_000
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def _ages(frame: pd.DataFrame, as_of: date = AS_OF) -> np.ndarray:
    """Exact ages in whole years on `as_of`."""
    birth = pd.to_datetime(frame["birth_date"])
    before_birthday = (birth.dt.month > as_of.month) | (
        (birth.dt.month == as_of.month) & (birth.dt.day > as_of.day)
    )
    return (as_of.year - birth.dt.year - before_birthday).to_numpy()


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    frame = pd.concat(generator.generate_people(SIZE, seed=11, as_of=AS_OF), ignore_index=True)
    frame["age"] = _ages(frame)
    return frame


def _share(mask: pd.Series | np.ndarray) -> float:
    return float(np.mean(mask))


# --- shape and determinism -------------------------------------------------------------------------


def test_chunks_have_the_extract_columns_as_strings() -> None:
    chunks = list(generator.generate_people(2_500, seed=1, as_of=AS_OF, chunk_size=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    for chunk in chunks:
        assert tuple(chunk.columns) == CSV_COLUMNS
        assert chunk.map(lambda v: isinstance(v, str)).all().all()
    ids = pd.concat(chunks)["person_id"]
    assert ids.is_unique


def test_same_seed_same_people_whatever_the_chunk_size() -> None:
    first = pd.concat(generator.generate_people(12_345, seed=3, as_of=AS_OF), ignore_index=True)
    again = pd.concat(
        generator.generate_people(12_345, seed=3, as_of=AS_OF, chunk_size=777), ignore_index=True
    )
    pd.testing.assert_frame_equal(first, again)


def test_different_seed_or_date_different_people() -> None:
    base = next(generator.generate_people(1_000, seed=3, as_of=AS_OF))
    other_seed = next(generator.generate_people(1_000, seed=4, as_of=AS_OF))
    other_day = next(generator.generate_people(1_000, seed=3, as_of=date(2027, 6, 1)))
    assert (base["last_name"] != other_seed["last_name"]).mean() > 0.9
    assert (base["birth_date"] != other_seed["birth_date"]).mean() > 0.9
    assert (base["birth_date"] != other_day["birth_date"]).mean() > 0.9


def test_as_of_defaults_to_today_in_paris(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator, "today_paris", lambda: date(2030, 1, 15))
    frame = next(generator.generate_people(500, seed=2))
    assert _ages(frame, date(2030, 1, 15)).min() >= 18
    assert frame.equals(next(generator.generate_people(500, seed=2, as_of=date(2030, 1, 15))))


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        next(generator.generate_people(10, seed=-1, as_of=AS_OF))


# --- realism ---------------------------------------------------------------------------------------


def test_age_pyramid(people: pd.DataFrame) -> None:
    age = people["age"]
    assert age.min() == 18 and age.max() <= 100
    assert 45 <= age.mean() <= 55
    assert 0.04 <= _share(age >= 85) <= 0.12  # fewer at the top
    assert _share(age >= 95) < 0.02
    assert _share((age >= 70) & (age < 80)) > _share((age >= 80) & (age < 90)) * 1.5


def test_status_is_consistent_with_age(people: pd.DataFrame) -> None:
    age, status = people["age"], people["status"]
    assert set(status) == {"active", "retired", "deceased"}
    assert not ((status == "retired") & (age < 55)).any()
    assert not ((status == "active") & (age >= 72)).any()
    assert 0.02 <= _share(status[(age >= 58) & (age <= 61)] == "retired") <= 0.25  # carrière longue
    assert _share(status[(age >= 64) & (age <= 67)] == "retired") > 0.6
    assert 0.0 < _share(status[age >= 68] == "active") < 0.03  # a few still at work
    assert _share(status[age < 50] == "active") > 0.99
    deceased = status == "deceased"
    assert 0.005 <= _share(deceased) <= 0.04
    assert _share(deceased[age >= 85]) > 3 * _share(deceased[age < 60])


def test_retirement_dates_are_past_and_fit_the_birth_date(people: pd.DataFrame) -> None:
    retired = people[people["status"] == "retired"]
    assert (retired["retirement_date"] != "").all()
    assert (retired["retirement_date"] <= AS_OF.isoformat()).all()
    at = (pd.to_datetime(retired["retirement_date"]) - pd.to_datetime(retired["birth_date"])).dt.days / 365.25
    assert at.min() >= 58 and at.max() <= 73
    assert pd.to_datetime(retired["retirement_date"]).dt.day.eq(1).all()  # pensions start on the 1st
    planned = people[(people["status"] == "active") & (people["retirement_date"] != "")]
    assert len(planned) > 0  # claims filed for the coming months
    assert (planned["retirement_date"] > AS_OF.isoformat()).all()


def test_widowhood_rises_with_age_and_survivors_segment_has_members(people: pd.DataFrame) -> None:
    age = people["age"]
    widowed = people["spouse_death_date"] != ""
    assert 0.01 <= _share(widowed[(age >= 50) & (age < 60)]) <= 0.08
    assert 0.06 <= _share(widowed[(age >= 65) & (age < 75)]) <= 0.15
    assert _share(widowed[age >= 85]) >= 0.30
    deaths = people.loc[widowed, "spouse_death_date"]
    assert (deaths <= AS_OF.isoformat()).all()
    assert (deaths < "2009-01-01").sum() > 50  # the 51-year rule applies to some
    survivor = people["receives_survivor_pension"] == "true"
    assert set(people["receives_survivor_pension"]) == {"true", "false"}
    assert not (survivor & ~widowed).any()
    assert not (survivor & (age < 51)).any()
    loss_days = (pd.Timestamp(AS_OF) - pd.to_datetime(people["spouse_death_date"])).dt.days
    eligible = widowed & (age >= 55) & (loss_days > 183)
    assert 0.6 <= _share(survivor[eligible]) <= 0.95  # most, but not all: the segment has members
    assert (widowed & (age >= 55) & (loss_days <= 183)).sum() > 10  # recent losses: bereavement journey


def test_worker_types(people: pd.DataFrame) -> None:
    assert 0.09 <= _share(people["worker_type"] == "self_employed") <= 0.14
    assert set(people["worker_type"]) <= {"salaried", "self_employed", ""}


def test_fragility_flags(people: pd.DataFrame) -> None:
    flags = people["fragility_flags"]
    lists = flags.str.split(";").map(lambda items: [i for i in items if i])
    assert set(lists.explode().dropna()) == set(FRAGILITY_FLAGS)
    assert (lists.map(lambda items: items == sorted(items))).all()
    rates = {flag: _share(lists.map(lambda items, f=flag: f in items)) for flag in FRAGILITY_FLAGS}
    bounds = {
        "aah": (0.005, 0.04),
        "rsa": (0.01, 0.05),
        "invalidity_pension": (0.005, 0.04),
        "disability": (0.03, 0.10),
        "france_travail": (0.03, 0.10),
        "financial_difficulty": (0.03, 0.10),
    }
    for flag, (low, high) in bounds.items():
        assert low <= rates[flag] <= high, (flag, rates[flag])
    active = people["status"] == "active"
    assert not (flags.str.contains("france_travail") & ~active).any()
    assert not (flags.str.contains("rsa") & ~active).any()
    assert 0.10 <= _share(flags != "") <= 0.35


def test_digital_profile_by_age(people: pd.DataFrame) -> None:
    age, profile = people["age"], people["digital_profile"]
    assert 0.06 <= _share(profile[age < 40] == "non_technophile") <= 0.14
    assert 0.40 <= _share(profile[age >= 80] == "non_technophile") <= 0.60
    assert 0.10 <= _share(profile == "technophile") <= 0.30
    assert _share(profile == "") > 0.3


def test_missing_and_invalid_contacts(people: pd.DataFrame) -> None:
    age = people["age"]
    no_email = people["email"] == ""
    assert _share(no_email[age >= 80]) > 2 * _share(no_email[age < 40])
    assert 0.05 <= _share(no_email[age < 40]) <= 0.2
    bad_email = ~no_email & people["email"].map(lambda e: normalise_email(e) is None)
    assert 0.01 <= _share(bad_email) <= 0.02

    no_mobile = people["mobile_phone"] == ""
    assert 0.05 <= _share(no_mobile) <= 0.4
    bad_mobile = ~no_mobile & people["mobile_phone"].map(lambda m: normalise_mobile(m) is None)
    assert 0.01 <= _share(bad_mobile) <= 0.02
    spoiled = people.loc[bad_mobile, "mobile_phone"]
    assert spoiled.str.startswith("05 ").any()  # a landline
    assert spoiled.str.contains("[A-Z]").any()  # a letter typed for a digit
    assert (spoiled.str.count(r"\d") < 10).any()  # too few digits

    incomplete = (
        (people["postal_code"] == "")
        | (people["city"] == "")
        | ((people["address_street"] == "") & (people["address_locality"] == ""))
    )
    assert 0.005 <= _share(incomplete) <= 0.016


def test_mobile_formats_vary(people: pd.DataFrame) -> None:
    mobiles = people["mobile_phone"]
    for pattern in (
        r"^0[67] \d\d \d\d \d\d \d\d$",
        r"^0[67]\d{8}$",
        r"^\+33 [67] ",
        r"^0033 [67] ",
        r"^\+33[67]\d{8}$",
    ):
        assert mobiles.str.contains(pattern).any(), pattern


def test_every_intended_mobile_is_a_valid_french_mobile() -> None:
    for block in generator._blocks(5_000, 9, AS_OF):
        for written, e164 in zip(block.frame["mobile_phone"], block.mobile, strict=True):
            if e164 is None:
                assert written == "" or normalise_mobile(written) is None
                continue
            number = phonenumbers.parse(written, "FR")
            assert phonenumbers.is_valid_number(number), written
            assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE, written
            assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164


def test_emails_only_use_reserved_example_domains() -> None:
    for block in generator._blocks(5_000, 9, AS_OF):
        for written, normalised in zip(block.frame["email"], block.email, strict=True):
            if normalised is None:
                if written:
                    with pytest.raises(EmailNotValidError):
                        validate_email(written, check_deliverability=False)
                continue
            result = validate_email(written, check_deliverability=False)
            assert result.normalized == normalised
            assert result.domain.endswith(tuple(f".{d}" for d in RESERVED_DOMAINS)), written
    written = pd.concat(b.frame["email"] for b in generator._blocks(5_000, 9, AS_OF))
    domains = written[written.str.contains("@")].str.split("@").str[-1].str.lower()
    assert domains.map(lambda d: d == "example" or d.rstrip(".").endswith(RESERVED_DOMAINS)).all()


def test_addresses_are_in_the_territory(people: pd.DataFrame) -> None:
    codes = people.loc[people["postal_code"] != "", "postal_code"]
    assert set(codes.str[:2]) == set(TERRITORY)
    known = set(zip(communes().postal_code, communes().city, strict=True))
    complete = people[(people["postal_code"] != "") & (people["city"] != "")]
    assert set(zip(complete["postal_code"], complete["city"], strict=True)) <= known
    assert (people["address_locality"] != "").mean() > 0.02  # lieux-dits
    assert people["address_building"].str.contains("Résidence").any()
    assert people["address_complement"].str.startswith("Chez ").any()
    for column in ("address_complement", "address_building", "address_street", "address_locality"):
        assert people[column].str.len().max() <= 38  # AFNOR line length
    shares = people["postal_code"].str[:2].value_counts(normalize=True)
    assert shares["17"] > shares["23"] * 3  # Charente-Maritime is far more populous than Creuse


def test_civility_matches_first_name(people: pd.DataFrame) -> None:
    pools = names()
    female = set(pools.female.names) | {n for _, women, _ in GENERATIONS for n in women}
    male = set(pools.male.names) | {n for _, _, men in GENERATIONS for n in men}
    for civility, expected, head in (("Mme", female, "Marie-"), ("M", male, "Jean-")):
        first = people.loc[people["civility"] == civility, "first_name"]
        compound = first.str.startswith(head) & first.str[len(head) :].isin(expected)
        assert (first.isin(expected) | compound).all(), civility
    assert _share(people.loc[people["age"] >= 85, "civility"] == "Mme") > 0.6


def test_names_have_compounds_and_particles(people: pd.DataFrame) -> None:
    assert people["last_name"].str.contains("-").any()
    assert people["last_name"].str.startswith(("de ", "du ")).any()
    assert people["first_name"].str.contains("-").any()


def test_preferences_and_opt_outs(people: pd.DataFrame) -> None:
    assert 0.1 <= _share(people["preferred_channel"] != "") <= 0.3
    opted = people["opt_out_channels"]
    assert 0.02 <= _share(opted != "") <= 0.05
    assert set(opted.str.split(";").explode()) <= {"", "email", "sms", "letter"}
    assert opted.str.contains(";").any()


# --- complaints ------------------------------------------------------------------------------------


def test_complaints(people: pd.DataFrame) -> None:
    complaints = generator.generate_complaints(people[list(CSV_COLUMNS)], seed=11, as_of=AS_OF)
    assert tuple(complaints.columns) == generator.COMPLAINT_COLUMNS
    assert complaints["complaint_id"].is_unique
    assert complaints["person_id"].isin(people["person_id"]).all()
    assert 0.008 <= complaints["person_id"].nunique() / len(people) <= 0.025
    still_open = complaints["closed_on"] == ""
    assert 0.2 <= _share(still_open) <= 0.45
    closed = complaints[~still_open]
    assert (closed["closed_on"] >= closed["opened_on"]).all()
    assert (complaints[["opened_on", "closed_on"]] <= AS_OF.isoformat()).all().all()
    assert set(complaints["subject"]) == set(generator.COMPLAINT_SUBJECTS)
    assert set(complaints["received_by"]) == set(generator.COMPLAINT_RECEIVED_BY)
    assert complaints["person_id"].duplicated().any()  # repeated complaints


def test_complaints_do_not_depend_on_chunking() -> None:
    whole = generator.generate_complaints(
        pd.concat(generator.generate_people(9_000, 5, AS_OF), ignore_index=True), 5, AS_OF
    )
    pieces = pd.concat(
        (
            generator.generate_complaints(c, 5, AS_OF)
            for c in generator.generate_people(9_000, 5, AS_OF, 1_234)
        ),
        ignore_index=True,
    )
    key = ["complaint_id"]
    pd.testing.assert_frame_equal(
        whole.sort_values(key).reset_index(drop=True), pieces.sort_values(key).reset_index(drop=True)
    )
    other = generator.generate_complaints(pd.concat(generator.generate_people(9_000, 5, AS_OF)), 6, AS_OF)
    assert set(other["person_id"]) != set(whole["person_id"])


# --- files and database ----------------------------------------------------------------------------


def test_write_csv_writes_the_extract_and_its_complaints(tmp_path: Path) -> None:
    path = tmp_path / "extract.csv"
    assert generator.write_csv(path, 3_000, seed=8, as_of=AS_OF) == 3_000
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert tuple(written.columns) == CSV_COLUMNS
    expected = pd.concat(generator.generate_people(3_000, 8, AS_OF), ignore_index=True)
    pd.testing.assert_frame_equal(written, expected.astype(str))
    complaints = pd.read_csv(tmp_path / "extract.complaints.csv", dtype=str, keep_default_na=False)
    assert tuple(complaints.columns) == generator.COMPLAINT_COLUMNS
    assert len(complaints) == len(generator.generate_complaints(expected, 8, AS_OF)) > 0


def _snapshot(engine: Engine) -> tuple[list[tuple], list[tuple], int]:
    with engine.connect() as connection:
        people = connection.execute(
            select(*(Person.__table__.c[name] for name in PERSON_FIELDS)).order_by(Person.person_id)
        ).all()
        opt_outs = connection.execute(
            select(OptOut.person_id, OptOut.channel, OptOut.source).order_by(OptOut.person_id, OptOut.channel)
        ).all()
        complaints = connection.execute(select(func.count()).select_from(Complaint)).scalar_one()
    return people, opt_outs, complaints


def test_load_database_stores_what_the_import_would(engine: Engine, tmp_path: Path) -> None:
    size, seed = 3_000, 21
    summary = generator.load_database(engine, size, seed, AS_OF)
    frame = pd.concat(generator.generate_people(size, seed, AS_OF), ignore_index=True)
    expected_opt_outs = frame["opt_out_channels"].str.split(";").explode().ne("").sum()
    assert summary.people == size
    assert summary.opt_outs == expected_opt_outs > 0
    assert summary.complaints == len(generator.generate_complaints(frame, seed, AS_OF)) > 0
    loaded = _snapshot(engine)
    assert len(loaded[0]) == size and len(loaded[1]) == expected_opt_outs
    assert loaded[2] == summary.complaints
    assert all(row.mobile_phone is None or row.mobile_phone.startswith("+33") for row in loaded[0])
    assert any(row.email and row.email != row.email.lower() for row in loaded[0])  # local part kept

    # Importing the CSV of the same population over it changes nothing and warns about the same details.
    path = tmp_path / "extract.csv"
    generator.write_csv(path, size, seed, AS_OF)
    imported = import_population(engine, path, tmp_path / "report.csv", today=AS_OF)
    assert (imported.imported, imported.rejected, imported.updated) == (size, 0, size)
    assert imported.warnings == summary.warnings > 0
    assert _snapshot(engine) == loaded


def test_load_database_is_an_upsert(engine: Engine) -> None:
    first = generator.load_database(engine, 1_500, 2, AS_OF)
    again = generator.load_database(engine, 1_500, 2, AS_OF)
    assert first == again
    assert len(_snapshot(engine)[0]) == 1_500
