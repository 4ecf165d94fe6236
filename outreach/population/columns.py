"""The columns of the fund's population extract, in file order (the import contract)."""

from __future__ import annotations

CSV_COLUMNS: tuple[str, ...] = (
    "person_id",
    "civility",
    "first_name",
    "last_name",
    "birth_date",
    "status",
    "worker_type",
    "email",
    "mobile_phone",
    "address_complement",
    "address_building",
    "address_street",
    "address_locality",
    "postal_code",
    "city",
    "country",
    "retirement_date",
    "spouse_death_date",
    "receives_survivor_pension",
    "digital_profile",
    "fragility_flags",
    "preferred_channel",
    "opt_out_channels",
    "legal_representative",
)

OPTIONAL_COLUMNS: tuple[str, ...] = ("legal_representative",)
"""Columns an extract may leave out of its header (extracts made before they existed): read as empty."""

REQUIRED_VALUES: tuple[str, ...] = ("person_id", "last_name", "birth_date", "status")
"""A row missing one of these (or with an invalid value) is rejected; other problems only warn."""

PERSON_FIELDS: tuple[str, ...] = tuple(c for c in CSV_COLUMNS if c != "opt_out_channels")
"""The columns stored on the `people` row (opt-outs go to their own table)."""
