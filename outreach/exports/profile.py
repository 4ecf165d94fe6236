"""Partner profiles: one YAML file per partner in `partners/`, checked before anything is written.

A profile says which segments a partner may receive, which columns (from the closed list in
`outreach.exports.columns`), on which territory, in which format, and on which legal basis. Every
problem names the file and the line: an unknown column, a column the profile's own settings forbid,
a segment that does not exist, a postcode outside the fund's territory, a filter that reaches outside
the départements the profile declares.

The declared `territory` is a bound, not a filter among others: the export applies it whatever the
filters say (`outreach.exports.query`), and a representation does not override it. A guardianship
organisation that holds measures for people living in a neighbouring département declares that
département too; its `represented_by` filter then keeps it to its own protégés there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from outreach.config import PROJECT_ROOT
from outreach.errors import ConfigurationError
from outreach.exports.columns import COLUMNS
from outreach.exports.encryption import UnusableKey, load_public_key
from outreach.population.representation import ORGANISATION, ORGANISATION_RULE
from outreach.segments.library import SegmentLibrary
from outreach.vocabulary import TERRITORY
from outreach.yamlfiles import ConfigFileError, Location, display_path, load_model

DEFAULT_DIRECTORY = PROJECT_ROOT / "partners"
NAME = r"^[a-z][a-z0-9_]{0,62}$"
POSTCODE = re.compile(r"^\d{5}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filters(Strict):
    """Who among the segments' members the partner receives.

    A person passes when their postcode or their département is listed (no list: the whole declared
    territory), and, with `represented_by`, only when that organisation holds their protective measure.
    """

    departements: list[str] = Field(default_factory=list)
    postcodes: list[str] = Field(default_factory=list)
    represented_by: str | None = None
    """An organisation id (e.g. UDAF87): only the people whose `legal_representative` it is."""


class PartnerProfile(Strict):
    """A partner file."""

    name: str = Field(pattern=NAME)
    partner: str = Field(min_length=3, description="the partner's name as it appears in the manifest")
    description: str
    segments: list[str] = Field(min_length=1)
    columns: list[str] = Field(min_length=1)
    legal_basis: str = Field(min_length=20)
    territory: list[str] = Field(min_length=1)
    """The départements the partner works in: nobody living elsewhere is ever exported to them."""
    filters: Filters = Field(default_factory=Filters)
    format: Literal["csv", "xlsx"] = "csv"
    pseudonymise: bool = False
    encrypt_for: str | None = None
    """The partner's RSA public key (a PEM file beside the profile): the list is then encrypted for them."""


@dataclass(frozen=True)
class LoadedProfile:
    """A checked profile and the file it came from."""

    profile: PartnerProfile
    path: Path

    @property
    def public_key_path(self) -> Path | None:
        """Where the partner's public key is, when their lists are encrypted."""
        return self.path.parent / self.profile.encrypt_for if self.profile.encrypt_for else None


def _problems(
    profile: PartnerProfile, lines: dict[Location, int], path: Path, segments: SegmentLibrary
) -> list[str]:
    where = display_path(path)

    def at(*location: str | int) -> str:
        return f"{where}, line {lines.get(location, 1)}"

    problems = []
    if profile.name != path.stem:
        problems.append(f"{at('name')}: name must be the file name '{path.stem}'")
    for index, segment in enumerate(profile.segments):
        if segment not in segments.names:
            problems.append(
                f"{at('segments', index)}: unknown segment '{segment}' (see `outreach segments list`)"
            )
    seen: set[str] = set()
    for index, code in enumerate(profile.columns):
        if code not in COLUMNS:
            problems.append(
                f"{at('columns', index)}: column '{code}' does not exist; exportable columns: "
                f"{', '.join(COLUMNS)}"
            )
        elif code in seen:
            problems.append(f"{at('columns', index)}: column '{code}' is listed twice (remove one)")
        elif code == "person_id" and profile.pseudonymise:
            problems.append(
                f"{at('columns', index)}: column 'person_id' is not allowed when identifiers are "
                "pseudonymised (list 'pseudonym' instead, or set pseudonymise: false)"
            )
        elif code == "pseudonym" and not profile.pseudonymise:
            problems.append(
                f"{at('columns', index)}: column 'pseudonym' needs pseudonymise: true (or list 'person_id')"
            )
        seen.add(code)
    if profile.encrypt_for is not None:
        try:
            load_public_key(path.parent / profile.encrypt_for)
        except UnusableKey as exc:
            problems.append(f"{at('encrypt_for')}: {exc} (ask the partner for their public key)")
    problems.extend(_territory_problems(profile, at))
    return problems


def _territory_problems(profile: PartnerProfile, at: Callable[..., str]) -> list[str]:
    """The declared départements are the fund's; no filter names a place outside them."""
    problems = []
    declared = ", ".join(profile.territory)
    for index, code in enumerate(profile.territory):
        if code not in TERRITORY:
            problems.append(
                f"{at('territory', index)}: département '{code}' is not in the fund's territory "
                f"({', '.join(TERRITORY)})"
            )
    for index, code in enumerate(profile.filters.departements):
        if code not in TERRITORY:
            problems.append(
                f"{at('filters', 'departements', index)}: département '{code}' is not in the fund's "
                f"territory ({', '.join(TERRITORY)})"
            )
        elif code not in profile.territory:
            problems.append(
                f"{at('filters', 'departements', index)}: département '{code}' is outside the profile's "
                f"territory ({declared}): add it to territory if the partner works there, or remove it"
            )
    for index, code in enumerate(profile.filters.postcodes):
        if not POSTCODE.match(code) or code[:2] not in TERRITORY:
            problems.append(
                f"{at('filters', 'postcodes', index)}: '{code}' is not a postcode of the fund's territory "
                '(five digits, quoted, e.g. "87000")'
            )
        elif code[:2] not in profile.territory:
            problems.append(
                f"{at('filters', 'postcodes', index)}: postcode '{code}' is outside the profile's "
                f"territory ({declared}): add its département to territory, or remove it"
            )
    organisation = profile.filters.represented_by
    if organisation is not None and not ORGANISATION.match(organisation):
        problems.append(f"{at('filters', 'represented_by')}: represented_by: the {ORGANISATION_RULE}")
    return problems


def load_profile(name: str, segments: SegmentLibrary, directory: Path | None = None) -> LoadedProfile:
    """The checked profile `name` from `partners/NAME.yaml`; raises with every problem of the file."""
    directory = directory or DEFAULT_DIRECTORY
    path = directory / f"{name}.yaml"
    if not re.match(NAME, name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
        raise ConfigurationError(f"no partner profile '{name}' in {display_path(directory)} (known: {known})")
    return _load(path, segments)


def load_profiles(segments: SegmentLibrary, directory: Path | None = None) -> list[LoadedProfile]:
    """Every profile of `partners/`, checked; raises listing every problem of every file."""
    directory = directory or DEFAULT_DIRECTORY
    if not directory.is_dir():
        raise ConfigurationError(
            f"{display_path(directory)}: no such folder (create it, or set OUTREACH_HOME)"
        )
    loaded, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            loaded.append(_load(path, segments))
        except ConfigFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigFileError(directory, problems)
    return loaded


def _load(path: Path, segments: SegmentLibrary) -> LoadedProfile:
    profile, lines = load_model(path, PartnerProfile)
    problems = _problems(profile, lines, path, segments)
    if problems:
        raise ConfigFileError(path, problems)
    return LoadedProfile(profile, path)
