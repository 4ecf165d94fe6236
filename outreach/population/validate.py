"""Validation of one row of the fund's extract: what is kept, what is left out, what is refused.

The rule of the extract contract: a row without a usable identity (`person_id`, `last_name`,
`birth_date`, `status`) is rejected; anything else that is unusable (a bad e-mail, a phone that is
not a French mobile, an incomplete address, an unknown flag) is left out with a warning and the
person is kept, because losing a person costs more than losing one of their contact details.
Opt-outs fail closed: an opt-out we cannot read becomes an opt-out of every channel.

A finding names the field and the reason, never the value: a value in the wrong column is often
someone's e-mail address, phone number or name, and findings end up in the import report and, counted
by reason, in the audit log, which can never be edited. For the same reason a finding carries the
row's person_id only when it has the shape of an identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from outreach.population.columns import PERSON_FIELDS
from outreach.population.representation import UnusableRepresentative, parse_representative
from outreach.vocabulary import (
    CHANNELS,
    DIGITAL_PROFILES,
    FRAGILITY_FLAGS,
    STATUSES,
    WORKER_TYPES,
)

PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
PERSON_ID_RULE = "person_id must be 1-32 letters, digits, '.', '_' or '-'"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 .\-()]+$")
FRENCH_POSTCODE = re.compile(r"^\d{5}$")
FRANCE_NAMES = {"", "france", "fr", "fra", "france métropolitaine"}
CIVILITIES = {"m": "M", "m.": "M", "monsieur": "M", "mme": "Mme", "madame": "Mme", "mme.": "Mme"}
BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "oui": True, "non": False, "": False}
MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
ADDRESS_FIELDS = (
    "address_complement",
    "address_building",
    "address_street",
    "address_locality",
    "postal_code",
    "city",
    "country",
)
NAME_MAX = 100
OPT_OUT_CHANNELS = (*CHANNELS, "partner_sharing")
"""What an extract may opt a person out of: the three channels, and sharing with partners."""


@dataclass(frozen=True)
class Finding:
    """One problem found in a row: where (line, field), what, and whether the row was refused."""

    line: int
    person_id: str
    field: str
    reason: str
    rejected: bool


@dataclass
class RowResult:
    """The outcome of validating one row: the person to store (None if rejected) and the findings."""

    person: dict[str, Any] | None
    opt_outs: tuple[str, ...] = ()
    findings: list[Finding] = field(default_factory=list)


class _Row:
    """Collects findings while one row is read, so each check stays a one-liner."""

    def __init__(self, raw: dict[str, str], line: int) -> None:
        self.raw = raw
        self.line = line
        self.person_id = reportable_person_id(raw.get("person_id", ""))
        self.findings: list[Finding] = []

    def reject(self, field_name: str, reason: str) -> None:
        self.findings.append(Finding(self.line, self.person_id, field_name, reason, rejected=True))

    def warn(self, field_name: str, reason: str) -> None:
        self.findings.append(Finding(self.line, self.person_id, field_name, reason, rejected=False))

    @property
    def rejected(self) -> bool:
        return any(f.rejected for f in self.findings)


def reportable_person_id(value: str) -> str:
    """`value` if it has the shape of an identifier, else "": what a finding may say of whose row it is.

    Shared by every import report (population, outcomes): a person_id column that holds an e-mail
    address, a phone number or a name must not be copied into a report or an audit entry. The fund's
    identifiers hold digits, a surname ("Dupuis-Lambert") holds none; a phone number ("0033698765432")
    has an identifier's characters, so it is recognised as what it is.
    """
    if not PERSON_ID.match(value) or not any(c.isdigit() for c in value) or _is_phone_number(value):
        return ""
    return value


def _is_phone_number(value: str) -> bool:
    """Whether `value` reads as a valid phone number, French or international (any type)."""
    if not PHONE_CHARACTERS.match(value):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, "FR"))
    except phonenumbers.NumberParseException:
        return False


def parse_date(value: str) -> date | None:
    """A strict YYYY-MM-DD date, or None (Python's fromisoformat alone also takes YYYYMMDD)."""
    if not ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def normalise_mobile(value: str) -> str | None:
    """The E.164 form of a French mobile number (06/07, +33, 0033), or None if it is not one."""
    if not PHONE_CHARACTERS.match(value):
        return None  # phonenumbers would read letters as keypad digits
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        return None
    if (
        phonenumbers.region_code_for_number(number) != "FR"
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in MOBILE_TYPES
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str | None:
    """The normalised address (domain lower-cased) if its syntax is valid; no DNS lookup."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _split(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(";") if item.strip()]


def validate_row(raw: dict[str, str], line: int, today: date) -> RowResult:
    """Validate one row (values already stripped) read from `line` of the file."""
    row = _Row(raw, line)
    person: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)

    _identity(row, person, today)
    if row.rejected:
        return RowResult(None, findings=row.findings)
    _civility_and_profile(row, person)
    _dates(row, person, today)
    _contacts(row, person)
    _representative(row, person)
    opt_outs = _opt_outs(row)
    return RowResult(person, opt_outs, row.findings)


def _identity(row: _Row, person: dict[str, Any], today: date) -> None:
    raw = row.raw
    if not raw["person_id"]:
        row.reject("person_id", "missing person_id")
    elif not PERSON_ID.match(raw["person_id"]):
        row.reject("person_id", PERSON_ID_RULE)
    person["person_id"] = raw["person_id"]

    last_name = " ".join(raw["last_name"].split())
    if not last_name:
        row.reject("last_name", "missing last_name")
    elif len(last_name) > NAME_MAX:
        row.reject("last_name", f"last_name longer than {NAME_MAX} characters")
    person["last_name"] = last_name

    birth_date = parse_date(raw["birth_date"])
    if not raw["birth_date"]:
        row.reject("birth_date", "missing birth_date")
    elif birth_date is None:
        row.reject("birth_date", "birth_date is not a valid YYYY-MM-DD date")
    elif birth_date > today:
        row.reject("birth_date", "birth_date is in the future")
    elif birth_date.year < 1900:
        row.reject("birth_date", "birth_date is before 1900")
    person["birth_date"] = birth_date

    status = raw["status"].lower()
    if not status:
        row.reject("status", "missing status")
    elif status not in STATUSES:
        row.reject("status", f"status must be one of {', '.join(STATUSES)}")
    person["status"] = status


def _civility_and_profile(row: _Row, person: dict[str, Any]) -> None:
    raw = row.raw
    first_name = " ".join(raw["first_name"].split())
    if len(first_name) > NAME_MAX:
        row.warn("first_name", f"first_name longer than {NAME_MAX} characters, left out")
        first_name = ""
    person["first_name"] = first_name or None

    civility = raw["civility"]
    person["civility"] = CIVILITIES.get(civility.lower()) if civility else None
    if civility and person["civility"] is None:
        row.warn("civility", "civility must be M or Mme, left out")

    for name, allowed in (
        ("worker_type", WORKER_TYPES),
        ("digital_profile", DIGITAL_PROFILES),
        ("preferred_channel", CHANNELS),
    ):
        value = raw[name].lower()
        if value and value not in allowed:
            row.warn(name, f"{name} must be one of {', '.join(allowed)}, left out")
            value = ""
        person[name] = value or None

    given = _split(raw["fragility_flags"])
    flags = {flag for flag in given if flag in FRAGILITY_FLAGS}
    if len(flags) < len(set(given)):
        row.warn("fragility_flags", f"unknown fragility flag (known: {', '.join(FRAGILITY_FLAGS)}), left out")
    person["fragility_flags"] = ";".join(sorted(flags))

    survivor = BOOLEANS.get(raw["receives_survivor_pension"].lower())
    if survivor is None:
        row.warn(
            "receives_survivor_pension", "receives_survivor_pension must be true or false, read as false"
        )
        survivor = False
    person["receives_survivor_pension"] = survivor


def _dates(row: _Row, person: dict[str, Any], today: date) -> None:
    for name in ("retirement_date", "spouse_death_date"):
        value = row.raw[name]
        parsed = parse_date(value) if value else None
        if value and parsed is None:
            row.warn(name, f"{name} is not a valid YYYY-MM-DD date, left out")
        elif name == "spouse_death_date" and parsed and parsed > today:
            row.warn(name, "spouse_death_date is in the future, left out")
            parsed = None
        person[name] = parsed


def _contacts(row: _Row, person: dict[str, Any]) -> None:
    raw = row.raw
    if raw["email"]:
        person["email"] = normalise_email(raw["email"])
        if person["email"] is None:
            row.warn("email", "e-mail address is not valid, left out")
    if raw["mobile_phone"]:
        person["mobile_phone"] = normalise_mobile(raw["mobile_phone"])
        if person["mobile_phone"] is None:
            row.warn("mobile_phone", "not a valid French mobile number, left out")

    if not any(raw[name] for name in ADDRESS_FIELDS):
        return
    country = raw["country"]
    in_france = country.lower() in FRANCE_NAMES
    problem = None
    if not (raw["address_street"] or raw["address_locality"]):
        problem = "no street or locality"
    elif not raw["postal_code"]:
        problem = "no postal code"
    elif in_france and not FRENCH_POSTCODE.match(raw["postal_code"]):
        problem = "postal code is not 5 digits"
    elif not raw["city"]:
        problem = "no city"
    elif any(len(raw[name]) > NAME_MAX for name in ADDRESS_FIELDS):
        problem = f"an address line is longer than {NAME_MAX} characters"
    if problem:
        row.warn("address", f"incomplete address ({problem}), left out")
        return
    for name in ADDRESS_FIELDS:
        person[name] = raw[name] or None
    person["country"] = "FRANCE" if in_france else country.upper()


def _representative(row: _Row, person: dict[str, Any]) -> None:
    """The guardianship measure, if any; an unreadable one is left out, so no organisation receives them.

    Left out rather than guessed: the measure is what makes sharing with an organisation lawful, and an
    export only ever reaches people whose measure names it.
    """
    value = row.raw.get("legal_representative", "")
    if not value:
        return
    try:
        person["legal_representative"] = parse_representative(value)
    except UnusableRepresentative as exc:
        row.warn("legal_representative", f"{exc}, left out")


def _opt_outs(row: _Row) -> tuple[str, ...]:
    given = _split(row.raw["opt_out_channels"])
    channels = {channel for channel in given if channel in OPT_OUT_CHANNELS}
    if len(channels) < len(set(given)):
        row.warn(
            "opt_out_channels",
            f"unknown opt-out channel (known: {', '.join(OPT_OUT_CHANNELS)}): opted out of every channel",
        )
        channels.add("all")
    return tuple(sorted(channels))
