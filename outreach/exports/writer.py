"""Private files written chunk by chunk: CSV for spreadsheet users, or XLSX.

Files are created with mode 0600 from the start (never readable by others, not even for a moment)
under a temporary name, and only take their final name once complete, so a partner never receives a
half-written list. CSV uses ';' and a UTF-8 byte-order mark: what French spreadsheet software expects
to open accents correctly with a double click — which is also why every value goes through
`outreach.exports.cells` first, so that nothing in a list can open as a formula.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import pandas as pd
from openpyxl import Workbook

from outreach.exports.cells import csv_values, xlsx_cell
from outreach.exports.columns import ExportColumn

PRIVATE = 0o600
PRIVATE_FOLDER = 0o700
XLSX_MAX_ROWS = 1_048_575
"""A worksheet holds 1,048,576 rows, one of which is the header."""


def private_folder(path: Path) -> Path:
    """Create `path` (mode 0700) if needed."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    return path


def open_private(path: Path) -> BinaryIO:
    """A new file open for writing, mode 0600 whatever the umask; fails if it already exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    os.fchmod(descriptor, PRIVATE)
    return os.fdopen(descriptor, "wb")


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class TooManyRows(ValueError):
    """More rows than a spreadsheet can hold."""


class ChunkWriter(Protocol):
    def write(self, path: Path, columns: Sequence[ExportColumn], chunks: Iterable[pd.DataFrame]) -> int:
        """Write the header of `columns`, then each chunk (one frame column per export column, in order)."""
        ...


class CsvWriter:
    """';'-separated, UTF-8 with a byte-order mark, one chunk at a time."""

    def write(self, path: Path, columns: Sequence[ExportColumn], chunks: Iterable[pd.DataFrame]) -> int:
        rows = 0
        header = [column.header for column in columns]
        with open_private(path) as handle:
            handle.write(";".join(header).encode("utf-8-sig") + b"\r\n")
            for chunk in chunks:
                cells = pd.DataFrame(
                    {
                        column.code: csv_values(chunk.iloc[:, index], column.kind)
                        for index, column in enumerate(columns)
                    }
                )
                handle.write(
                    cells.to_csv(sep=";", index=False, header=False, lineterminator="\r\n").encode("utf-8")
                )
                rows += len(chunk)
        return rows


class XlsxWriter:
    """One worksheet in openpyxl's write-only mode (rows go to the file, not to memory)."""

    def write(self, path: Path, columns: Sequence[ExportColumn], chunks: Iterable[pd.DataFrame]) -> int:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("liste")
        sheet.append([xlsx_cell(sheet, column.header, "text") for column in columns])
        kinds = [column.kind for column in columns]
        rows = 0
        for chunk in chunks:
            rows += len(chunk)
            if rows > XLSX_MAX_ROWS:
                raise TooManyRows(
                    f"{rows} rows do not fit in a spreadsheet ({XLSX_MAX_ROWS} at most): use format: csv"
                )
            for row in chunk.itertuples(index=False):
                sheet.append([xlsx_cell(sheet, value, kind) for value, kind in zip(row, kinds, strict=True)])
        with open_private(path) as handle:
            workbook.save(handle)
        return rows


WRITERS: dict[str, ChunkWriter] = {"csv": CsvWriter(), "xlsx": XlsxWriter()}
