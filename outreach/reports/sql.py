"""The few SQL expressions SQLite and PostgreSQL spell differently, as compiled SQLAlchemy elements.

Dates are stored as ISO text on SQLite and as dates/timestamps on PostgreSQL; these keep report
queries one statement each on both back ends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[int]):
    """seconds_between(start, end): whole seconds from `start` to `end` (timestamps)."""

    type = Integer()
    inherit_cache = True


class add_days(FunctionElement[Any]):
    """add_days(day, n): the date `n` days after `day` (n an integer literal)."""

    inherit_cache = True


class day_of(FunctionElement[str]):
    """day_of(timestamp): its calendar day as 'YYYY-MM-DD' text."""

    type = String()
    inherit_cache = True


def _arguments(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(argument, **kw) for argument in element.clauses]


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    # strftime('%s') is exact whole seconds; julianday arithmetic turns 45 s into 44.999...
    return f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return f"CAST(floor(EXTRACT(EPOCH FROM ({end} - {start}))) AS INTEGER)"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = _arguments(element, compiler, **kw)
    return f"date({day}, '+' || {days} || ' days')"


@compiles(add_days, "postgresql")
def _add_days_postgresql(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = _arguments(element, compiler, **kw)
    return f"CAST({day} + CAST({days} AS INTEGER) AS DATE)"


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = _arguments(element, compiler, **kw)
    return f"substr({moment}, 1, 10)"


@compiles(day_of, "postgresql")
def _day_postgresql(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = _arguments(element, compiler, **kw)
    return f"to_char({moment}, 'YYYY-MM-DD')"
