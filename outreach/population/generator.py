"""Synthetic population of the fund's territory: realistic, reproducible, and fast enough for a million.

Nothing here describes a real person: names are drawn from pools, e-mails use the reserved example
domains (RFC 2606), mobiles are random numbers in valid French mobile ranges, and addresses combine real
communes with common street names.

Speed: Faker per row would take tens of minutes for a million people, so every column is built
vectorised with numpy from pools drawn once (`territory`). Randomness comes from one
`numpy.random.Generator` per block of `BLOCK_SIZE` people, seeded by (seed, block number): the output
depends on (size, seed, as_of) only, never on the chunk size a caller asks for.

The generator also knows which contact details it spoiled on purpose, so `load_database` stores what
the importer would store (invalid details left out, mobiles in E.164, e-mails normalised) without
validating a million rows again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from sqlalchemy import Connection, Engine

from outreach import audit
from outreach.clock import today_paris
from outreach.db import is_postgres
from outreach.population import store
from outreach.population.columns import CSV_COLUMNS, PERSON_FIELDS
from outreach.population.territory import (
    CARE_HOMES,
    LIEUX_DITS,
    RESIDENCES,
    STREETS,
    NamePool,
    communes,
    names,
)
from outreach.population.validate import ADDRESS_FIELDS
from outreach.privacy.erasure import load_guard
from outreach.vocabulary import TERRITORY

BLOCK_SIZE = 10_000
MIN_AGE, MAX_AGE = 18, 100
ID_PREFIX = "CO"
COMPLAINT_COLUMNS = ("complaint_id", "person_id", "opened_on", "closed_on", "subject", "received_by")
COMPLAINT_SUBJECTS = ("pension_not_paid", "documents_requested_again", "amount_dispute", "no_answer")
COMPLAINT_RECEIVED_BY = ("phone", "letter", "online", "agency")

# Population by single year of age, as anchor points (age, relative weight) interpolated linearly: the
# shape of INSEE's pyramid for 2024-2025 (baby-boom bulge at 70-78, thinning after 85), tilted a little
# older because the territory (Creuse, Charente-Maritime, Corrèze) is older than France as a whole.
AGE_PYRAMID = (
    (18, 0.80), (24, 0.76), (30, 0.78), (40, 0.84), (50, 0.90), (58, 0.92), (64, 0.90), (70, 0.88),
    (77, 0.86), (80, 0.62), (85, 0.48), (90, 0.26), (95, 0.08), (100, 0.015),
)  # fmt: skip

# Legal retirement age (months) by birth date: the 2010 reform's ramp for 1951-1954, then the table of
# DOMAIN.md (LFSS 2026 suspension, claims from 1 September 2026). Only used to make retirement dates
# plausible; the segments use outreach/data/legal_retirement_ages.yaml.
LEGAL_AGE_MONTHS = (
    ("1951-07-01", 60 * 12),
    ("1952-01-01", 60 * 12 + 4),
    ("1953-01-01", 60 * 12 + 9),
    ("1954-01-01", 61 * 12 + 2),
    ("1955-01-01", 61 * 12 + 7),
    ("1961-09-01", 62 * 12),
    ("1962-01-01", 62 * 12 + 3),
    ("1963-01-01", 62 * 12 + 6),
    ("1965-04-01", 62 * 12 + 9),
    ("1966-01-01", 63 * 12),
    ("1967-01-01", 63 * 12 + 3),
    ("1968-01-01", 63 * 12 + 6),
    ("1969-01-01", 63 * 12 + 9),
)
LEGAL_AGE_FROM_1969 = 64 * 12

EMAIL_DOMAINS = (
    ("orange.example.net", 0.26),
    ("gmail.example.com", 0.30),
    ("laposte.example.net", 0.08),
    ("free.example.org", 0.08),
    ("sfr.example.net", 0.07),
    ("hotmail.example.com", 0.09),
    ("yahoo.example.com", 0.05),
    ("outlook.example.com", 0.04),
    ("wanadoo.example.net", 0.03),
)
# Area codes of the territory's landlines (05 45 Charente, 05 46 Charente-Maritime, 05 49 Deux-Sèvres
# and Vienne, 05 55 Corrèze, Creuse, Haute-Vienne): the usual "mobile" column mistake.
LANDLINE_AREA = {"16": "45", "17": "46", "19": "55", "23": "55", "79": "49", "86": "49", "87": "55"}

# Age bands used by the rates below: [18-40), [40-60), [60-70), [70-80), [80-101).
AGE_BANDS = np.array([40, 60, 70, 80])
NON_TECHNOPHILE = np.array([0.10, 0.20, 0.30, 0.40, 0.52])
TECHNOPHILE = np.array([0.35, 0.25, 0.15, 0.08, 0.04])
EMAIL_MISSING = np.array([0.10, 0.15, 0.30, 0.45, 0.65])
MOBILE_MISSING = np.array([0.08, 0.10, 0.20, 0.35, 0.55])
# Widowhood by age band [18-50), [50-60), [60-65), [65-75), [75-85), [85-101), for a woman and a man.
WIDOW_BANDS = np.array([50, 60, 65, 75, 85])
WIDOW_FEMALE = np.array([0.005, 0.045, 0.08, 0.15, 0.32, 0.50])
WIDOW_MALE = np.array([0.002, 0.015, 0.03, 0.05, 0.12, 0.25])
DECEASED_BANDS = np.array([60, 75, 85])
DECEASED = np.array([0.003, 0.015, 0.04, 0.10])

# Spoiled contact details, as a share of everyone: drawn among those who have one (about 70% have an
# e-mail, 80% a mobile), hence the division where they are drawn.
INVALID_EMAIL_RATE = 0.015
INVALID_MOBILE_RATE = 0.015
HAVE_EMAIL, HAVE_MOBILE = 0.7, 0.8
INCOMPLETE_ADDRESS_RATE = 0.01
SURVIVOR_PENSION_TAKE_UP = 0.8
SURVIVOR_WAIT_DAYS = 183
SURVIVOR_AGE, SURVIVOR_AGE_BEFORE_2009 = 55, 51


@dataclass(frozen=True)
class LoadSummary:
    """What `load_database` stored; `warnings` counts contact details left out as the importer would."""

    people: int
    opt_outs: int
    complaints: int
    warnings: int


@dataclass(frozen=True)
class _Block:
    """One block of people: the extract columns plus what the importer would make of the contacts."""

    frame: pd.DataFrame
    email: np.ndarray  # normalised e-mail, None when missing or invalid
    mobile: np.ndarray  # E.164, None when missing or invalid
    address_ok: np.ndarray  # False: the address is incomplete and is left out

    @property
    def warnings(self) -> int:
        """Contact details the importer would leave out with a warning: written but unusable."""
        bad_email = (self.frame["email"].to_numpy() != "") & pd.isna(self.email)
        bad_mobile = (self.frame["mobile_phone"].to_numpy() != "") & pd.isna(self.mobile)
        return int(bad_email.sum() + bad_mobile.sum() + (~self.address_ok).sum())

    def head(self, rows: int) -> _Block:
        return _Block(
            self.frame.iloc[:rows].copy(), self.email[:rows], self.mobile[:rows], self.address_ok[:rows]
        )


def _pick(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), size)]


def _choose(conditions: list[np.ndarray], choices: list[Any], default: Any) -> np.ndarray:
    """`numpy.select` that keeps Python strings (object dtype), so later concatenations stay cheap."""
    return np.select(
        conditions, [np.asarray(c, dtype=object) for c in choices], np.asarray(default, dtype=object)
    )


def _join(parts: list[np.ndarray | str]) -> np.ndarray:
    """Element-wise concatenation of object arrays and constants (numpy calls str.__add__ in C)."""
    result = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        result = result + part
    return result


TWO_DIGITS = np.array([f"{i:02d}" for i in range(100)], dtype=object)
DIGITS = np.array([str(i) for i in range(10)], dtype=object)


def _valid_mobile_prefixes() -> np.ndarray:
    """Three-digit national prefixes (6xx, 7xx) that phonenumbers accepts as French mobiles.

    Asked of phonenumbers itself rather than hard-coded, so a metadata update (ranges do get
    re-allocated) cannot make the generator produce numbers the importer refuses.
    """
    valid = []
    for prefix in range(600, 800):
        number = phonenumbers.parse(f"0{prefix}123456", "FR")
        if (
            phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        ):
            valid.append(prefix)
    return np.array(valid)


MOBILE_PREFIXES = _valid_mobile_prefixes()
_prefix_weights = np.where(MOBILE_PREFIXES < 700, 3.0, 1.0)  # 06 still the majority, 07 the newer share
MOBILE_PREFIX_WEIGHTS = _prefix_weights / _prefix_weights.sum()


def _legal_age_months(birth: np.ndarray) -> np.ndarray:
    thresholds = np.array([np.datetime64(day) for day, _ in LEGAL_AGE_MONTHS])
    ages = np.array([months for _, months in LEGAL_AGE_MONTHS] + [LEGAL_AGE_FROM_1969])
    return ages[np.searchsorted(thresholds, birth, side="right")]


def _age_weights() -> np.ndarray:
    ages = np.arange(MIN_AGE, MAX_AGE + 1)
    anchors, weights = zip(*AGE_PYRAMID, strict=True)
    weight = np.interp(ages, anchors, weights)
    return weight / weight.sum()


AGE_PROBABILITY = _age_weights()


def _birth_dates(rng: np.random.Generator, ages: np.ndarray, as_of: date) -> np.ndarray:
    """Birth dates such that each person is exactly `ages` years old on `as_of`.

    The birthday of year `as_of.year - age` falls on or before `as_of`; going back 0-364 more days stays
    after the birthday of the year before, so the age holds even across leap years.
    """
    month = np.datetime64(f"{as_of:%Y-%m}") - ages * 12
    month_days = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int)
    anniversary = month.astype("datetime64[D]") + (np.minimum(as_of.day, month_days) - 1)
    return anniversary - rng.integers(0, 365, len(ages))


def _band(values: np.ndarray, bounds: np.ndarray, rates: np.ndarray) -> np.ndarray:
    return rates[np.searchsorted(bounds, values, side="right")]


def _fold(pool: NamePool, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return pool.names[index], pool.folded[index]


def _first_names(
    rng: np.random.Generator, female: np.ndarray, birth_year: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First names (display, folded): mostly from the birth generation's list, else Faker's pool.

    Compound first names (Jean-Luc, Marie-Hélène) are added, more often before 1970.
    """
    pools = names()
    n = len(female)
    display = np.empty(n, dtype=object)
    folded = np.empty(n, dtype=object)
    generation = np.searchsorted(pools.generation_bounds, birth_year, side="right")
    from_generation = rng.random(n) < 0.6
    compound = rng.random(n) < np.where(birth_year < 1970, 0.06, 0.015)
    for is_female, faker_pool, by_generation, head in (
        (True, pools.female, pools.female_by_generation, "Marie"),
        (False, pools.male, pools.male_by_generation, "Jean"),
    ):
        sex = female == is_female
        mask = sex & ~from_generation
        display[mask], folded[mask] = _fold(faker_pool, rng.integers(0, len(faker_pool.names), mask.sum()))
        for g, pool in enumerate(by_generation):
            mask = sex & from_generation & (generation == g)
            display[mask], folded[mask] = _fold(pool, rng.integers(0, len(pool.names), mask.sum()))
        mask = sex & compound
        second, second_folded = _fold(faker_pool, rng.integers(0, len(faker_pool.names), mask.sum()))
        simple = ~pd.Series(second, dtype=object).str.contains("-", regex=False).to_numpy(dtype=bool)
        simple &= second != head
        target = np.flatnonzero(mask)[simple]
        display[target] = _join([f"{head}-", second[simple]])
        folded[target] = _join([f"{head.lower()}-", second_folded[simple]])
    return display, folded


def _last_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Last names (display, folded), with some compound names (Martin-Durand) and particles (de, du)."""
    pool = names().last
    display, folded = _fold(pool, rng.integers(0, len(pool.names), n))
    kind = rng.random(n)
    second, second_folded = _fold(pool, rng.integers(0, len(pool.names), n))
    compound = kind < 0.03
    display = np.where(compound, _join([display, "-", second]), display)
    folded = np.where(compound, _join([folded, "-", second_folded]), folded)
    for low, high, particle in ((0.03, 0.04, "de "), (0.04, 0.045, "du "), (0.045, 0.05, "de La ")):
        mask = (kind >= low) & (kind < high)
        display = np.where(mask, _join([particle, display]), display)
        folded = np.where(mask, _join([particle.replace(" ", "").lower(), folded]), folded)
    return display, folded


def _emails(
    rng: np.random.Generator, first: np.ndarray, last: np.ndarray, birth_year: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(e-mail as written in the extract, e-mail as the importer normalises it) for everyone.

    A few are written in capitals, as old systems did: email-validator lower-cases the domain only.
    """
    n = len(first)
    initial = pd.Series(first, dtype=object).str[0].to_numpy(dtype=object)
    year = TWO_DIGITS[birth_year % 100]
    number = np.array([str(i) for i in range(1000)], dtype=object)[rng.integers(1, 1000, n)]
    formats = [
        (0.40, _join([first, ".", last])),
        (0.10, _join([first, last])),
        (0.10, _join([initial, last])),
        (0.15, _join([first, ".", last, year])),
        (0.10, _join([last, ".", first])),
        (0.05, _join([first, "_", last])),
        (0.10, _join([first, ".", last, number])),
    ]
    shares = np.cumsum([share for share, _ in formats])
    which = np.searchsorted(shares, rng.random(n) * shares[-1], side="right")
    local = np.choose(which, [values for _, values in formats])
    domains, weights = zip(*EMAIL_DOMAINS, strict=True)
    domain = np.array(domains, dtype=object)[rng.choice(len(domains), n, p=np.array(weights) / sum(weights))]
    email = _join([local, "@", domain])
    shouting = rng.random(n) < 0.02
    written = email.copy()
    written[shouting] = pd.Series(email[shouting], dtype=object).str.upper().to_numpy(dtype=object)
    normalised = email.copy()
    upper_local = pd.Series(local[shouting], dtype=object).str.upper().to_numpy(dtype=object)
    normalised[shouting] = _join([upper_local, "@", domain[shouting]])
    return written, normalised


def _spoil_emails(rng: np.random.Generator, email: np.ndarray) -> np.ndarray:
    """Typical typos that make an address unusable: no '@', no TLD, a space, a double dot."""
    series = pd.Series(email, dtype=object)
    local = series.str.split("@", n=1).str[0]
    domain = series.str.split("@", n=1).str[1]
    spaced = local.where(~local.str.contains(".", regex=False), local.str.replace(".", " ", n=1))
    spaced = spaced.where(spaced.str.contains(" ", regex=False), local + " ")
    kind = rng.integers(0, 4, len(email))
    return _choose(
        [kind == 0, kind == 1, kind == 2],
        [
            (local + domain).to_numpy(dtype=object),  # jean.dupontorange.example.net
            (local + "@example").to_numpy(dtype=object),  # no TLD (and still a reserved name)
            (spaced + "@" + domain).to_numpy(dtype=object),  # jean dupont@... or jdupont @...
        ],
        (local + "@" + domain.str.replace(".", "..", n=1)).to_numpy(dtype=object),
    )


def _mobiles(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(mobile as written in the extract, its E.164 form), in the formats real extracts mix."""
    prefix = rng.choice(MOBILE_PREFIXES, n, p=MOBILE_PREFIX_WEIGHTS)
    lead = DIGITS[prefix // 100]
    groups = [TWO_DIGITS[prefix % 100], *(TWO_DIGITS[rng.integers(0, 100, n)] for _ in range(3))]
    e164 = _join(["+33", lead, *groups])
    spaced = _join([" ", groups[0], " ", groups[1], " ", groups[2], " ", groups[3]])
    formats = [
        (0.45, _join(["0", lead, spaced])),  # 06 12 34 56 78
        (0.28, _join(["0", lead, *groups])),  # 0612345678
        (0.12, _join(["+33 ", lead, spaced])),  # +33 6 12 34 56 78
        (0.05, e164),  # +33612345678
        (0.05, _join(["0033 ", lead, spaced])),  # 0033 6 12 34 56 78
        (0.05, _join(["0", lead, ".", groups[0], ".", groups[1], ".", groups[2], ".", groups[3]])),
    ]
    shares = np.cumsum([share for share, _ in formats])
    which = np.searchsorted(shares, rng.random(n) * shares[-1], side="right")
    return np.choose(which, [values for _, values in formats]), e164


def _spoil_mobiles(rng: np.random.Generator, mobile: np.ndarray, department: np.ndarray) -> np.ndarray:
    """Unusable "mobiles": a landline of the département, too few digits, a letter typed for a digit."""
    n = len(mobile)
    pairs = [TWO_DIGITS[rng.integers(0, 100, n)] for _ in range(3)]
    area = np.array([LANDLINE_AREA[d] for d in department], dtype=object)
    landline = _join(["05 ", area, " ", pairs[0], " ", pairs[1], " ", pairs[2]])
    series = pd.Series(mobile, dtype=object)
    short = series.str[:-2].str.rstrip(" .").to_numpy(dtype=object)
    letter = (series.str[:-1] + "O").to_numpy(dtype=object)
    kind = rng.integers(0, 3, n)
    return _choose([kind == 0, kind == 1], [landline, short], letter)


def _addresses(
    rng: np.random.Generator, ages: np.ndarray, last_names: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Address columns (strings, '' for empty) and whether each address is complete.

    Rural communes get lieux-dits (sometimes with no street at all, as in the real bourgs of Creuse or
    Charente); towns get residences and buildings; the very old sometimes live in a care home.
    """
    n = len(ages)
    territory = communes()
    commune = rng.choice(len(territory.city), n, p=territory.probability)
    rural = territory.rural[commune]
    number = np.array([str(i) for i in range(1, 200)], dtype=object)[
        np.minimum(rng.geometric(0.04, n), 199) - 1
    ]
    suffix = _choose([rng.random(n) < 0.02, rng.random(n) < 0.01], [" bis", " ter"], "")
    street = _join([number, suffix, " ", _pick(rng, np.array(STREETS, dtype=object), n)])
    has_locality = rural & (rng.random(n) < 0.4)
    locality = np.where(has_locality, _pick(rng, np.array(LIEUX_DITS, dtype=object), n), "")
    street = np.where(has_locality & (rng.random(n) < 0.5), "", street)

    residence = _pick(rng, np.array(RESIDENCES, dtype=object), n)
    wing = _pick(rng, np.array([", Bâtiment A", ", Bâtiment B", ", Bâtiment C", ""], dtype=object), n)
    building_share = np.where(territory.population[commune] >= 10_000, 0.15, 0.03)
    building = np.where(rng.random(n) < building_share, _join([residence, wing]), "")
    care_home = (ages >= 85) & (rng.random(n) < 0.08)
    building = np.where(care_home, _pick(rng, np.array(CARE_HOMES, dtype=object), n), building)

    flat = _join(
        ["Appartement ", np.array([str(i) for i in range(1, 60)], dtype=object)[rng.integers(0, 59, n)]]
    )
    care_of = _join([np.where(rng.random(n) < 0.6, "Chez Mme ", "Chez M. "), _pick(rng, last_names, n)])
    kind = rng.random(n)
    complement = _choose(
        [(building != "") & (kind < 0.5), kind < 0.03, kind < 0.05], [flat, flat, care_of], ""
    )
    written = rng.random(n)
    country = _choose([written < 0.80, written < 0.95], ["France", ""], "FRANCE")
    columns = {
        "address_complement": complement,
        "address_building": building,
        "address_street": street,
        "address_locality": locality,
        "postal_code": territory.postal_code[commune],
        "city": territory.city[commune],
        "country": country,
    }
    # Incomplete addresses, in the ways extracts get them wrong.
    incomplete = rng.random(n) < INCOMPLETE_ADDRESS_RATE
    gap = rng.integers(0, 4, n)
    columns["postal_code"] = np.where(incomplete & (gap <= 1), "", columns["postal_code"])
    columns["city"] = np.where(incomplete & (gap == 2), "", columns["city"])
    no_street = incomplete & (gap == 3)
    columns["address_street"] = np.where(no_street, "", columns["address_street"])
    columns["address_locality"] = np.where(no_street, "", columns["address_locality"])
    return columns, ~incomplete


def _flag_list(flags: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """';'-joined names of the true flags, in the given (sorted) order; '' when none."""
    joined = _join(["", *(np.where(values, f"{name};", "") for name, values in flags)])
    return pd.Series(joined, dtype=object).str[:-1].to_numpy(dtype=object)


def _dates_text(values: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(values, unit="D").astype(object)
    return np.where(np.isnat(values), "", text)


def _block(seed: int, number: int, as_of: date) -> _Block:
    """Generate block `number` (people BLOCK_SIZE * number + 1 ...) of a population."""
    rng = np.random.default_rng([seed, number])
    n = BLOCK_SIZE
    today = np.datetime64(as_of, "D")
    ages = rng.choice(np.arange(MIN_AGE, MAX_AGE + 1), n, p=AGE_PROBABILITY)
    birth = _birth_dates(rng, ages, as_of)
    birth_year = birth.astype("datetime64[Y]").astype(int) + 1970
    female = rng.random(n) < 0.49 + 0.31 * np.clip((ages - 60) / 40, 0, 1)
    first, first_folded = _first_names(rng, female, birth_year)
    last, last_folded = _last_names(rng, n)

    # Retirement: the age each person retires (or will) at, relative to their cohort's legal age.
    legal = _legal_age_months(birth)
    plan = rng.random(n)
    retire_months = np.select(
        [plan < 0.12, plan < 0.62, plan < 0.88, plan < 0.96],
        [
            np.minimum(rng.integers(58 * 12, 61 * 12, n), legal),  # carrière longue
            legal + rng.integers(0, 4, n),
            rng.integers(legal, 67 * 12),
            67 * 12 + rng.integers(0, 4, n),  # full rate whatever the quarters
        ],
        default=rng.integers(67 * 12, 72 * 12, n),
    )
    retirement = (birth.astype("datetime64[M]") + retire_months + 1).astype("datetime64[D]")
    retired = retirement <= today
    deceased = rng.random(n) < _band(ages, DECEASED_BANDS, DECEASED)
    status = _choose([deceased, retired], ["deceased", "retired"], "active")
    active = status == "active"
    claim_filed = active & (retirement - today <= np.timedelta64(183, "D")) & (rng.random(n) < 0.6)
    retirement_date = np.where(retired | claim_filed, retirement, np.datetime64("NaT"))

    # Widowhood: more women, rising with age; some losses date back before 2009.
    widow_rate = np.where(
        female, _band(ages, WIDOW_BANDS, WIDOW_FEMALE), _band(ages, WIDOW_BANDS, WIDOW_MALE)
    )
    widowed = rng.random(n) < widow_rate
    max_years = np.maximum(ages - 20, 1)  # married young at the earliest
    years = rng.exponential(np.clip((ages - 35) / 4, 1, 14), n)
    years = np.where(years > max_years, rng.random(n) * max_years, years)
    days_since_loss = (years * 365.25).astype(int) + 1
    spouse_death = np.where(widowed, today - days_since_loss, np.datetime64("NaT"))
    survivor_age = np.where(
        spouse_death < np.datetime64("2009-01-01"), SURVIVOR_AGE_BEFORE_2009, SURVIVOR_AGE
    )
    survivor = (
        widowed
        & (ages >= survivor_age)
        & (days_since_loss > SURVIVOR_WAIT_DAYS)
        & (rng.random(n) < SURVIVOR_PENSION_TAKE_UP)
    )

    worker = rng.random(n)
    worker_type = _choose(
        [worker < 0.005, worker < np.where(ages < 30, 0.095, 0.125)], ["", "self_employed"], "salaried"
    )

    # Fragility: benefits of working age among actives; disability and money trouble at any age.
    draw = rng.random((7, n))
    rsa = active & (ages < 65) & (draw[0] < 0.045)
    flags = [
        ("aah", draw[1] < np.where(active & (ages < 62), 0.025, 0.008)),
        ("disability", draw[2] < _band(ages, np.array([50, 75]), np.array([0.03, 0.06, 0.12]))),
        ("financial_difficulty", (draw[3] < 0.05) | (rsa & (draw[4] < 0.5))),
        ("france_travail", active & ((draw[4] < np.where(ages < 25, 0.12, 0.065)) | (rsa & (draw[5] < 0.5)))),
        ("invalidity_pension", active & (draw[5] < np.where(ages >= 40, 0.045, 0.012))),
        ("rsa", rsa),
    ]

    non_technophile = draw[6] < _band(ages, AGE_BANDS, NON_TECHNOPHILE)
    technophile = ~non_technophile & (rng.random(n) < _band(ages, AGE_BANDS, TECHNOPHILE))
    digital = _choose([non_technophile, technophile], ["non_technophile", "technophile"], "")

    # Contacts: missing more often with age and digital discomfort; a few spoiled on purpose.
    written_email, email = _emails(rng, first_folded, last_folded, birth_year)
    missing = rng.random(n) < _band(ages, AGE_BANDS, EMAIL_MISSING) + 0.25 * non_technophile
    bad_email = ~missing & (rng.random(n) < INVALID_EMAIL_RATE / HAVE_EMAIL)
    written_email[bad_email] = _spoil_emails(rng, written_email[bad_email])
    written_email[missing] = ""
    email[missing | bad_email] = None

    written_mobile, mobile = _mobiles(rng, n)
    missing = rng.random(n) < _band(ages, AGE_BANDS, MOBILE_MISSING)
    address, address_ok = _addresses(rng, ages, last)
    bad_mobile = ~missing & (rng.random(n) < INVALID_MOBILE_RATE / HAVE_MOBILE)
    department = pd.Series(address["postal_code"][bad_mobile], dtype=object).str[:2].to_numpy(dtype=object)
    department = np.where(department == "", "86", department)  # a landline needs an area: any will do
    written_mobile[bad_mobile] = _spoil_mobiles(rng, written_mobile[bad_mobile], department)
    written_mobile[missing] = ""
    mobile[missing | bad_mobile] = None

    channel = rng.random(n)
    letter_first = np.where(non_technophile, 0.6, 0.25)
    preferred = _choose(
        [channel >= 0.2, channel < 0.2 * letter_first, channel < 0.2 * (letter_first + 0.3)],
        ["", "letter", "sms"],
        "email",
    )
    # Opt-outs: e-mail 40%, SMS 45%, letter 15%; some people add e-mail (or SMS) as a second "no".
    opt_out = rng.random(n) < 0.03
    first_no = rng.random(n)
    two = rng.random(n) < 0.12
    opt_outs = _flag_list(
        [
            ("email", opt_out & ((first_no < 0.40) | two)),
            ("letter", opt_out & (first_no >= 0.85)),
            ("sms", opt_out & (((first_no >= 0.40) & (first_no < 0.85)) | (two & (first_no < 0.40)))),
        ]
    )

    representative = _representatives(rng, ages, flags, address["postal_code"])

    start = number * BLOCK_SIZE + 1
    frame = pd.DataFrame(
        {
            "person_id": [f"{ID_PREFIX}{i:08d}" for i in range(start, start + n)],
            "civility": np.where(female, "Mme", "M"),
            "first_name": first,
            "last_name": last,
            "birth_date": _dates_text(birth),
            "status": status,
            "worker_type": worker_type,
            "email": written_email,
            "mobile_phone": written_mobile,
            **address,
            "retirement_date": _dates_text(retirement_date),
            "spouse_death_date": _dates_text(spouse_death),
            "receives_survivor_pension": np.where(survivor, "true", "false"),
            "digital_profile": digital,
            "fragility_flags": _flag_list(flags),
            "preferred_channel": preferred,
            "opt_out_channels": opt_outs,
            "legal_representative": representative,
        },
        columns=list(CSV_COLUMNS),
    ).astype(object)
    return _Block(frame, email, mobile, address_ok)


def _representatives(
    rng: np.random.Generator, ages: np.ndarray, flags: list[tuple[str, np.ndarray]], postcodes: np.ndarray
) -> np.ndarray:
    """'ORGANISATION:measure' for the few adults under a protective measure held by an organisation.

    About 1.5% of adults are protected in France, far more among the very old and the disabled; here
    only measures held by an association are drawn (family measures name no organisation): mostly the
    UDAF of the person's département, sometimes another mandataire association (ATMP), and some
    measures held in a neighbouring département (people who moved into a care home there).
    """
    n = len(ages)
    disabled = dict(flags)["disability"] | dict(flags)["aah"]
    rate = _band(ages, np.array([60, 80]), np.array([0.006, 0.01, 0.05])) + 0.08 * disabled
    department = pd.Series(postcodes, dtype=object).fillna("").str[:2].to_numpy(dtype=object)
    protected = (rng.random(n) < rate) & np.isin(department, list(TERRITORY))
    elsewhere = rng.random(n) < 0.06
    holder_department = np.where(
        elsewhere, _pick(rng, np.array(list(TERRITORY), dtype=object), n), department
    )
    organisation = _join([np.where(rng.random(n) < 0.8, "UDAF", "ATMP"), holder_department])
    measure = rng.choice(
        np.array(["curatelle_renforcee", "tutelle", "curatelle", "sauvegarde_de_justice"], dtype=object),
        n,
        p=[0.42, 0.38, 0.12, 0.08],
    )
    return np.where(protected, _join([organisation, ":", measure]), "")


def _blocks(size: int, seed: int, as_of: date) -> Iterator[_Block]:
    """The population's blocks in order; the last one is cut to `size`."""
    if size < 0 or seed < 0:
        raise ValueError("size and seed must be zero or positive")
    for number in range(-(-size // BLOCK_SIZE)):
        block = _block(seed, number, as_of)
        yield block.head(min(BLOCK_SIZE, size - number * BLOCK_SIZE))


def generate_people(
    size: int, seed: int, as_of: date | None = None, chunk_size: int = 50_000
) -> Iterator[pd.DataFrame]:
    """Yield the population in chunks of `chunk_size` rows, columns exactly `CSV_COLUMNS`, all strings.

    Values are in the extract's format ('' for empty, YYYY-MM-DD dates, 'true'/'false', ';'-lists).
    The same (size, seed, as_of) always gives the same people, whatever `chunk_size`; ages are relative
    to `as_of` (default: today in Paris).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    as_of = as_of or today_paris()
    pending: list[pd.DataFrame] = []
    pending_rows = 0
    for block in _blocks(size, seed, as_of):
        pending.append(block.frame)
        pending_rows += len(block.frame)
        while pending_rows >= chunk_size:
            frame = pd.concat(pending, ignore_index=True)
            yield frame.iloc[:chunk_size].reset_index(drop=True)
            pending = [frame.iloc[chunk_size:]]
            pending_rows -= chunk_size
    if pending_rows:
        yield pd.concat(pending, ignore_index=True)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """A strong 64-bit mixer (uint64 arithmetic wraps, as the algorithm wants)."""
    z = values ^ (values >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _person_uniforms(person_ids: pd.Series, seed: int, count: int) -> np.ndarray:
    """`count` uniform draws in [0, 1) per person, from a hash of (seed, person_id).

    Hashing rather than a sequential generator makes a person's complaints independent of which chunk
    they arrive in, so any chunking of the same people gives the same complaints.
    """
    state = pd.util.hash_pandas_object(person_ids, index=False).to_numpy(dtype=np.uint64)
    state = _splitmix64(state ^ _splitmix64(np.full(len(state), seed, dtype=np.uint64)))
    draws = np.empty((count, len(state)))
    for k in range(count):
        state = _splitmix64(state + np.uint64(0x9E3779B97F4A7C15))
        draws[k] = (state >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return draws


def generate_complaints(people: pd.DataFrame, seed: int, as_of: date | None = None) -> pd.DataFrame:
    """Complaints (réclamations) for about 1.5% of `people` (a frame from `generate_people`).

    More likely just after retirement (first payment late) or a spouse's death; 15% of complainants
    complain twice about the same subject (a repeated complaint); about a third are still open, mostly
    the recent ones. Columns are `COMPLAINT_COLUMNS`, all strings ('' when still open). Deterministic
    per (seed, person_id, as_of), whatever the chunking.
    """
    as_of = as_of or today_paris()
    today = np.datetime64(as_of, "D")
    u = _person_uniforms(people["person_id"], seed, 8)
    retired_on = pd.to_datetime(people["retirement_date"], format="%Y-%m-%d").to_numpy("datetime64[D]")
    widowed_on = pd.to_datetime(people["spouse_death_date"], format="%Y-%m-%d").to_numpy("datetime64[D]")
    status = people["status"].to_numpy()
    recent = np.timedelta64(365, "D")
    rate = np.select(
        [(status == "retired") & (today - retired_on <= recent), today - widowed_on <= recent],
        [0.05, 0.03],
        0.012,
    )
    chosen = np.flatnonzero(u[0] < rate)
    u = u[:, chosen]
    person_ids = people["person_id"].to_numpy()[chosen]
    status = status[chosen]

    age_days = np.minimum((-np.log1p(-u[2]) * 200).astype(int), 3 * 365)
    opened = today - age_days
    still_open = u[3] < np.where(age_days <= 60, 0.75, 0.2)
    closed = np.minimum(opened + 2 + (-np.log1p(-u[4]) * 25).astype(int), today)
    closed = np.where(still_open, np.datetime64("NaT"), closed)
    weights = {
        "retired": (0.35, 0.20, 0.25, 0.20),
        "active": (0.05, 0.35, 0.15, 0.45),
        "deceased": (0.10, 0.40, 0.25, 0.25),
    }
    cumulative = np.array([np.cumsum(weights[s]) for s in status]).reshape(-1, len(COMPLAINT_SUBJECTS))
    subject = np.array(COMPLAINT_SUBJECTS, dtype=object)[
        (u[5][:, None] >= cumulative).sum(axis=1).clip(max=3)
    ]
    received_by = np.array(COMPLAINT_RECEIVED_BY, dtype=object)[
        np.searchsorted(np.array([0.40, 0.55, 0.85]), u[6], side="right")
    ]

    repeated = u[1] < 0.15
    earlier_opened = opened[repeated] - 30 - (u[7][repeated] * 400).astype(int)
    earlier_closed = np.minimum(earlier_opened + 2 + (u[4][repeated] * 40).astype(int), today)
    frame = pd.DataFrame(
        {
            "complaint_id": np.concatenate(
                [_join(["REC-", person_ids, "-1"]), _join(["REC-", person_ids[repeated], "-2"])]
            ),
            "person_id": np.concatenate([person_ids, person_ids[repeated]]),
            "opened_on": _dates_text(np.concatenate([opened, earlier_opened])),
            "closed_on": _dates_text(np.concatenate([closed, earlier_closed])),
            "subject": np.concatenate([subject, subject[repeated]]),
            "received_by": np.concatenate([received_by, received_by[repeated]]),
        },
        columns=list(COMPLAINT_COLUMNS),
    )
    return frame.astype(object)


def write_csv(path: Path, size: int, seed: int, as_of: date | None = None) -> int:
    """Write the population as the fund's extract (UTF-8, header row, ',' separator); return its rows.

    The complaints of the same people go next to it, in `<stem>.complaints.csv` (columns
    `COMPLAINT_COLUMNS`, same conventions), since the extract format has no place for them.
    """
    as_of = as_of or today_paris()
    complaints_path = path.with_name(f"{path.stem}.complaints.csv")
    rows = 0
    with (
        path.open("w", encoding="utf-8", newline="") as people_file,
        complaints_path.open("w", encoding="utf-8", newline="") as complaints_file,
    ):
        csv.writer(people_file).writerow(CSV_COLUMNS)
        csv.writer(complaints_file).writerow(COMPLAINT_COLUMNS)
        for chunk in generate_people(size, seed, as_of):
            chunk.to_csv(people_file, header=False, index=False, lineterminator="\n")
            generate_complaints(chunk, seed, as_of).to_csv(
                complaints_file, header=False, index=False, lineterminator="\n"
            )
            rows += len(chunk)
    return rows


def _none_if_empty(values: np.ndarray) -> np.ndarray:
    return np.where(values == "", None, values)


def _as_dates(values: pd.Series) -> list[Any]:
    """YYYY-MM-DD strings to `datetime.date` ('' to None), as the importer stores them."""
    parsed = pd.to_datetime(values, format="%Y-%m-%d").to_numpy("datetime64[D]")
    return parsed.astype(object).tolist()


def _person_columns(block: _Block) -> pd.DataFrame:
    """The `people` rows the importer would store for this block (see `outreach.population.validate`).

    NULLs are None; dates stay YYYY-MM-DD text (each write path converts them as its driver wants).
    """
    frame = block.frame
    columns: dict[str, Any] = {name: frame[name].to_numpy() for name in PERSON_FIELDS}
    for name in (
        "civility",
        "first_name",
        "worker_type",
        "digital_profile",
        "preferred_channel",
        "legal_representative",
    ):
        columns[name] = _none_if_empty(columns[name])
    for name in ("birth_date", "retirement_date", "spouse_death_date"):
        columns[name] = _none_if_empty(columns[name])
    columns["email"] = block.email
    columns["mobile_phone"] = block.mobile
    for name in ADDRESS_FIELDS:
        columns[name] = np.where(block.address_ok, _none_if_empty(columns[name]), None)
    columns["country"] = np.where(block.address_ok, "FRANCE", None)
    return pd.DataFrame(columns, columns=list(PERSON_FIELDS))


def _person_rows(people: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for `store.upsert_people` (executemany): Python dates and booleans."""
    columns = {name: people[name].tolist() for name in PERSON_FIELDS}
    for name in ("birth_date", "retirement_date", "spouse_death_date"):
        columns[name] = _as_dates(people[name])
    columns["receives_survivor_pension"] = (people["receives_survivor_pension"] == "true").tolist()
    values = [columns[name] for name in PERSON_FIELDS]
    return [dict(zip(PERSON_FIELDS, row, strict=True)) for row in zip(*values, strict=True)]


def _copy_people(connection: Connection, people: pd.DataFrame) -> None:
    """PostgreSQL: COPY the rows into a scratch table, then one upsert into `people`.

    Same outcome as `store.upsert_people` (insert, or update in place by person_id with a fresh
    `updated_at`), about ten times faster than its executemany for a million rows (see
    bench/results/population.txt).
    """
    fields = ", ".join(PERSON_FIELDS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in PERSON_FIELDS if name != "person_id")
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS generated_people "
        "(LIKE people INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    text = people.to_csv(header=False, index=False, na_rep="\\N", lineterminator="\n")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY generated_people ({fields}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
        copy.write(text)
    connection.exec_driver_sql(
        f"INSERT INTO people ({fields}) SELECT {fields} FROM generated_people "
        f"ON CONFLICT (person_id) DO UPDATE SET {updates}, updated_at = CURRENT_TIMESTAMP"
    )
    connection.exec_driver_sql("TRUNCATE generated_people")


def _opt_out_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    chosen = frame[frame["opt_out_channels"] != ""]
    return [
        {"person_id": person_id, "channel": channel, "source": "import"}
        for person_id, channels in zip(chosen["person_id"], chosen["opt_out_channels"], strict=True)
        for channel in channels.split(";")
    ]


def _complaint_rows(complaints: pd.DataFrame) -> list[dict[str, Any]]:
    rows = complaints.to_dict("records")
    opened = _as_dates(complaints["opened_on"])
    closed = _as_dates(complaints["closed_on"])
    for row, opened_on, closed_on in zip(rows, opened, closed, strict=True):
        row["opened_on"], row["closed_on"] = opened_on, closed_on
    return rows


def load_database(engine: Engine, size: int, seed: int, as_of: date | None = None) -> LoadSummary:
    """Load the population straight into the database, as importing `write_csv`'s files would.

    Same rows as the import of the CSV with the same arguments (invalid details left out, mobiles in
    E.164, e-mails normalised, incomplete addresses dropped whole), without validating each row again:
    the generator knows what it spoiled. One transaction: a failed load leaves the database as it was.
    """
    as_of = as_of or today_paris()
    people = opt_outs = complaints = warnings = 0
    with engine.begin() as connection:
        erased = load_guard(connection)  # synthetic ids can match someone erased from this database
        for block in _blocks(size, seed, as_of):
            person_columns = _person_columns(block)
            opt_out_rows = _opt_out_rows(block.frame)
            complaint_rows = _complaint_rows(generate_complaints(block.frame, seed, as_of))
            if erased.digests:
                person_columns = person_columns[~person_columns["person_id"].map(erased.is_erased)]
                opt_out_rows = [r for r in opt_out_rows if not erased.is_erased(r["person_id"])]
                complaint_rows = [r for r in complaint_rows if not erased.is_erased(r["person_id"])]
            if is_postgres(engine):
                _copy_people(connection, person_columns)
            else:
                store.upsert_people(connection, _person_rows(person_columns))
            store.add_opt_outs(connection, opt_out_rows)
            store.upsert_complaints(connection, complaint_rows)
            people += len(person_columns)
            opt_outs += len(opt_out_rows)
            complaints += len(complaint_rows)
            warnings += block.warnings
        store.refresh_statistics(connection)
        summary = LoadSummary(people=people, opt_outs=opt_outs, complaints=complaints, warnings=warnings)
        # Synthetic, but it writes the same tables as an import: the trail must show who loaded what.
        audit.record(
            connection,
            "import",
            f"synthetic population (seed {seed})",
            people,
            {**asdict(summary), "size": size, "seed": seed, "as_of": as_of.isoformat()},
        )
    return summary
