"""Make one partner list: the file, its manifest and the audit entry, or nothing at all.

The profile and the secret are checked before any reading; people stream from the database in
chunks through pandas into the file (memory does not grow with the list); the manifest records what
the file holds and how to check it; the audit entry is committed before the files take their final
names, so there is never a list without its entry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from outreach import audit
from outreach.clock import utcnow
from outreach.config import var_dir
from outreach.errors import ConfigurationError
from outreach.exports.columns import COLUMNS, ExportContext
from outreach.exports.encryption import encrypt_file, load_public_key
from outreach.exports.profile import PartnerProfile
from outreach.exports.pseudonyms import partner_key, pseudonymiser
from outreach.exports.query import partner_selection
from outreach.exports.writer import WRITERS, open_private, private_folder, sha256_of
from outreach.segments.history import last_refresh
from outreach.segments.library import SegmentLibrary

CHUNK_ROWS = 20_000
"""Rows per database fetch and per pandas frame: memory stays flat whatever the list's size."""


@dataclass(frozen=True)
class ExportResult:
    """What an export produced (no personal data: it goes to logs and artifacts)."""

    profile: str
    path: Path
    manifest_path: Path
    rows: int
    sha256: str
    audit_id: int


def default_folder(profile: str) -> Path:
    """`var/exports/<profile>/`, private to the account running the tool."""
    return private_folder(var_dir() / "exports" / profile)


def _no_pseudonyms(_identifiers: pd.Series) -> pd.Series:
    raise AssertionError("the profile checks forbid the pseudonym column without pseudonymise: true")


def _chunks(
    connection: Connection, profile: PartnerProfile, as_of: date, context: ExportContext
) -> Iterator[pd.DataFrame]:
    """The export's rows as frames of at most CHUNK_ROWS, with exactly the profile's columns, in order."""
    query = partner_selection(connection, profile, as_of)
    result = connection.execute(query, execution_options={"stream_results": True, "yield_per": CHUNK_ROWS})
    for partition in result.partitions():
        frame = pd.DataFrame.from_records(partition, columns=list(result.keys()))
        yield pd.DataFrame({code: COLUMNS[code].derive(frame, context) for code in profile.columns})


def _segment_versions(
    connection: Connection, profile: PartnerProfile, as_of: date, library: SegmentLibrary
) -> list[dict[str, Any]]:
    versions = []
    for name in profile.segments:
        refresh = last_refresh(connection, name, on_or_before=as_of)
        versions.append(
            {
                "name": name,
                "version": refresh.version if refresh else None,
                "refreshed_as_of": refresh.as_of.isoformat() if refresh else None,
                "current_definition_version": library.version(name),
            }
        )
    return versions


def export_partner_list(
    engine: Engine,
    profile: PartnerProfile,
    library: SegmentLibrary,
    as_of: date,
    folder: Path | None = None,
    actor: str | None = None,
    public_key: Path | None = None,
) -> ExportResult:
    """Write the partner's list as of `as_of` into `folder` (default `var/exports/<profile>/`).

    A profile with `encrypt_for` needs the partner's `public_key` (`LoadedProfile.public_key_path`):
    the list is then written only encrypted (`.enc`), never in clear.
    """
    if profile.encrypt_for and public_key is None:
        raise ConfigurationError(f"profile {profile.name} asks for encryption: pass its public key")
    recipient = load_public_key(public_key) if profile.encrypt_for and public_key else None
    key = partner_key(profile.name) if profile.pseudonymise else None
    context = ExportContext(
        as_of=as_of,
        segments=tuple(profile.segments),
        journeys={name: library.get(name).journeys for name in profile.segments},
        pseudonymise=pseudonymiser(key) if key else _no_pseudonyms,
    )
    folder = private_folder(folder) if folder else default_folder(profile.name)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    final = folder / f"{profile.name}_{as_of.isoformat()}_{stamp}.{profile.format}"
    if recipient is not None:
        final = final.with_name(final.name + ".enc")
    manifest_final = final.with_name(final.name + ".manifest.json")
    partial, manifest_partial = (p.with_name(f".{p.name}.partial") for p in (final, manifest_final))
    clear = partial.with_name(partial.name + ".clear")
    columns = [COLUMNS[code] for code in profile.columns]
    try:
        with engine.begin() as connection:
            written = clear if recipient is not None else partial
            rows = WRITERS[profile.format].write(
                written, columns, _chunks(connection, profile, as_of, context)
            )
            if recipient is not None:
                encrypt_file(clear, partial, recipient)
                clear.unlink()  # the list exists only encrypted
            checksum = sha256_of(partial)
            manifest = {
                "profile": profile.name,
                "partner": profile.partner,
                "legal_basis": profile.legal_basis.strip(),
                "as_of": as_of.isoformat(),
                "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
                "file": final.name,
                "format": profile.format,
                "rows": rows,
                "columns": [{"code": code, "header": COLUMNS[code].header} for code in profile.columns],
                "sha256": checksum,
                "bytes": partial.stat().st_size,
                "segments": _segment_versions(connection, profile, as_of, library),
                "territory": list(profile.territory),
                "filters": profile.filters.model_dump(),
                "pseudonymised": profile.pseudonymise,
                "encrypted": recipient is not None,
            }
            audit_id = audit.record(
                connection,
                "export",
                profile.name,
                rows,
                {key: manifest[key] for key in ("file", "sha256", "as_of", "format", "segments", "columns")},
                actor=actor,
            )
            manifest["audit_id"] = audit_id
            with open_private(manifest_partial) as handle:
                handle.write(json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
        # Committed first: a list may exist only with its audit entry (a failed rename leaves an entry
        # and no file, which over-reports; the reverse would hide a disclosure).
        os.replace(partial, final)
        os.replace(manifest_partial, manifest_final)
    finally:
        for leftover in (clear, partial, manifest_partial):
            leftover.unlink(missing_ok=True)
    return ExportResult(profile.name, final, manifest_final, rows, checksum, audit_id)
