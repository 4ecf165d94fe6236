"""The closed list of columns an export can contain: nothing outside this list can ever leave.

Each column names the `people` columns it reads, so the export query selects only what the profile
asks for (a column the profile does not allow is never even read from the database), how its
value is derived, with pandas, one chunk at a time, and its kind, which decides how the value is
written so that it is read as data and never run as a formula (`outreach.exports.cells`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from outreach.exports.cells import Kind

AGE_BANDS = ((0, "moins de 35 ans"), (35, "35-44 ans"), (45, "45-54 ans"), (55, "55-59 ans"),
             (60, "60-64 ans"), (65, "65-74 ans"), (75, "75 ans et plus"))  # fmt: skip
"""(lower bound, label): the bands reports and exports share; wide enough not to single anyone out."""


@dataclass(frozen=True)
class ExportContext:
    """What derived values need besides the row: the as-of date and the profile's segments."""

    as_of: date
    segments: tuple[str, ...]
    journeys: dict[str, tuple[str, ...]]
    pseudonymise: Callable[[pd.Series], pd.Series]


Derive = Callable[[pd.DataFrame, ExportContext], pd.Series]


@dataclass(frozen=True)
class ExportColumn:
    """One exportable column: its code (in profiles), its French header (in files) and its sources.

    `kind` is "text" unless the values are dates or integers we produce ourselves (see `cells`).
    """

    code: str
    header: str
    sources: tuple[str, ...]
    derive: Derive
    description: str
    kind: Kind = "text"


def age_band(ages: pd.Series) -> pd.Series:
    """The band label of each age (ages as integers)."""
    bounds = [low for low, _ in AGE_BANDS]
    labels = [label for _, label in AGE_BANDS]
    return pd.cut(ages, bins=[*bounds, 200], labels=labels, right=False).astype(str)


def ages_on(births: pd.Series, day: date) -> pd.Series:
    """Age in whole years on `day` of each birth date (vectorised, leap days included)."""
    born = pd.to_datetime(births)
    before_birthday = (born.dt.month > day.month) | ((born.dt.month == day.month) & (born.dt.day > day.day))
    return day.year - born.dt.year - before_birthday.astype(int)


def _segments(frame: pd.DataFrame, context: ExportContext) -> pd.Series:
    return _names_where_member(frame, list(context.segments))


def _journeys(frame: pd.DataFrame, context: ExportContext) -> pd.Series:
    per_segment = [" | ".join(context.journeys[segment]) for segment in context.segments]
    joined = _names_where_member(frame, per_segment)
    return joined.map(lambda text: " | ".join(dict.fromkeys(text.split(" | "))))


def _names_where_member(frame: pd.DataFrame, names: list[str]) -> pd.Series:
    """For each row, `names[i]` for every segment i the person is in, joined with ' | '."""
    result = pd.Series("", index=frame.index, dtype=object)
    for index, name in enumerate(names):
        member = frame[f"in_segment_{index}"].astype(bool)
        result = result.where(~member, result.where(result == "", result + " | ") + name)
    return result


def _address(frame: pd.DataFrame, _context: ExportContext) -> pd.Series:
    lines = ("address_complement", "address_building", "address_street", "address_locality")
    result = pd.Series("", index=frame.index, dtype=object)
    for line in lines:
        part = frame[line].fillna("")
        result = result.where(part == "", result.where(result == "", result + ", ") + part)
    return result


def _column(name: str) -> Derive:
    return lambda frame, _context: frame[name]


COLUMNS: dict[str, ExportColumn] = {
    column.code: column
    for column in (
        ExportColumn("person_id", "identifiant", ("person_id",), _column("person_id"),
                     "the fund's identifier of the person"),
        ExportColumn("pseudonym", "pseudonyme", ("person_id",),
                     lambda frame, context: context.pseudonymise(frame["person_id"]),
                     "a keyed hash of the identifier, stable for one partner, different for each"),
        ExportColumn("civility", "civilite", ("civility",), _column("civility"), "M or Mme"),
        ExportColumn("first_name", "prenom", ("first_name",), _column("first_name"), "first name"),
        ExportColumn("last_name", "nom", ("last_name",), _column("last_name"), "last name"),
        ExportColumn("birth_date", "date_naissance", ("birth_date",),
                     lambda frame, _c: pd.to_datetime(frame["birth_date"]),
                     "birth date: dd/mm/yyyy in CSV, a date cell in XLSX", kind="date"),
        ExportColumn("birth_year", "annee_naissance", ("birth_date",),
                     lambda frame, _c: pd.to_datetime(frame["birth_date"]).dt.year, "year of birth only",
                     kind="integer"),
        ExportColumn("age_band", "tranche_age", ("birth_date",),
                     lambda frame, context: age_band(ages_on(frame["birth_date"], context.as_of)),
                     "age band on the as-of date"),
        ExportColumn("address", "adresse",
                     ("address_complement", "address_building", "address_street", "address_locality"),
                     _address, "postal address lines before the postcode, joined with commas"),
        ExportColumn("postal_code", "code_postal", ("postal_code",), _column("postal_code"), "postcode"),
        ExportColumn("city", "commune", ("city",), _column("city"), "town"),
        ExportColumn("phone", "telephone", ("mobile_phone",), _column("mobile_phone"),
                     "mobile phone, E.164 (+33612345678): text, never a number"),
        ExportColumn("email", "courriel", ("email",), _column("email"), "e-mail address"),
        ExportColumn("segment", "segments", (), _segments, "the profile's segments the person is in"),
        ExportColumn("journey", "parcours", (), _journeys, "the journeys of those segments"),
        ExportColumn("fragile", "accompagnement_renforce", ("fragility_flags", "digital_profile"),
                     lambda frame, _c: ((frame["fragility_flags"].fillna("") != "")
                                        | (frame["digital_profile"] == "non_technophile"))
                     .map({True: "oui", False: "non"}),
                     "oui when the person needs an adapted channel (never which benefit or flag)"),
    )
}  # fmt: skip
"""Every exportable column, by code. A profile may list only these."""
