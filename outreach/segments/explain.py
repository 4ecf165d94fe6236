"""Why is someone in a segment, or not: the rule in words, its SQL, and each condition's verdict.

The verdicts for one person come from a single SELECT that evaluates every condition of the tree as
a column, so `explain` uses the same compiled SQL as `members` and cannot disagree with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Dialect, case, select

from outreach.errors import ConfigurationError
from outreach.segments.compiler import (
    PEOPLE,
    Context,
    DateWindow,
    age_window,
    condition_sql,
    context_for,
    living,
    relative_window,
    segment_query,
    turns_age_window,
)
from outreach.segments.definition import (
    Age,
    AllOf,
    AnyOf,
    Condition,
    Engagement,
    FieldTest,
    InSegment,
    Not,
    OpenComplaint,
    RelativeDate,
    TurnsAge,
)
from outreach.segments.fields import LEGAL_RETIREMENT_DATE
from outreach.segments.library import SegmentLibrary


def _window(window: DateWindow) -> str:
    low, high = window
    if low and high:
        return f"from {low} to {high}"
    if low:
        return f"on or after {low}"
    return f"on or before {high}" if high else "any date"


def _births(window: DateWindow) -> str:
    return f"born {_window(window)}"


def describe(condition: Condition, context: Context) -> str:
    """One line saying what `condition` keeps, with the dates it stands for at the as-of date."""
    match condition:
        case AllOf():
            return "all of:"
        case AnyOf():
            return "any of:"
        case Not():
            return "not:"
        case FieldTest(field=field, operator=operator, value=value):
            shown = ", ".join(value) if isinstance(value, tuple) else str(value).lower()
            return f"{field} {operator.replace('_', ' ')} {shown}"
        case Age(at_least=low, at_most=high):
            bounds = " and ".join(
                part
                for part in (low is not None and f"at least {low}", high is not None and f"at most {high}")
                if part
            )
            return f"age on {context.as_of} {bounds} ({_births(age_window(condition, context.as_of))})"
        case TurnsAge(age=age, during=during):
            period = context.as_of.strftime("%Y-%m" if during == "month" else "%Y")
            return f"turns {age} during {period} ({_births(turns_age_window(condition, context.as_of))})"
        case RelativeDate(direction=direction, field=field):
            window = relative_window(condition, context.as_of)
            limits = [
                f"{name.replace('_', ' ')} {getattr(condition, name).amount} {getattr(condition, name).unit}"
                for name in ("at_least", "at_most")
                if getattr(condition, name) is not None
            ]
            text = f"{direction} {field}{' (' + ', '.join(limits) + ')' if limits else ''}: {_window(window)}"
            if field == LEGAL_RETIREMENT_DATE:
                ranges = context.ages.birth_ranges(*window)
                text += f" ({' or '.join(_births(r) for r in ranges) or 'nobody'})"
            return text
        case InSegment(segment=name):
            return f"member of segment {name}"
        case OpenComplaint(expected=expected):
            return f"{'has' if expected else 'has no'} complaint open on {context.as_of}"
        case Engagement(campaign=campaign, step=step, event=event, within=within):
            where = f"{campaign}/{step}" if step else campaign
            delay = f" within {within.amount} days of the send" if within else ""
            return f"{event} a message of {where} by {context.as_of}{delay}"
    raise TypeError(f"cannot describe {condition!r}")  # pragma: no cover - every Condition type is matched


def _children(condition: Condition) -> tuple[Condition, ...]:
    match condition:
        case AllOf(conditions=items) | AnyOf(conditions=items):
            return items
        case Not(condition=inner):
            return (inner,)
    return ()


def walk(condition: Condition, depth: int = 0) -> Iterator[tuple[int, Condition]]:
    """The conditions of a rule, depth-first in file order, with their nesting depth."""
    yield depth, condition
    for child in _children(condition):
        yield from walk(child, depth + 1)


def rule_lines(library: SegmentLibrary, name: str, as_of: date) -> list[str]:
    """The rule of segment `name` in words, one condition per line, indented, with its file line."""
    context = context_for(library, as_of)
    lines = ["not deceased (always)"]
    lines += [
        f"{'  ' * depth}{describe(c, context)}  [line {c.line}]" for depth, c in walk(library.get(name).rule)
    ]
    return lines


def sql_text(library: SegmentLibrary, name: str, as_of: date, dialect: Dialect) -> str:
    """The segment's SELECT as the database receives it, with the as-of dates written in."""
    compiled = segment_query(library, name, as_of).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    # Drivers with "%s" placeholders get '%' doubled in literals; a reader (or psql) wants it single.
    return str(compiled).replace("%%", "%") if dialect.paramstyle in ("format", "pyformat") else str(compiled)


@dataclass(frozen=True)
class Verdict:
    """One condition's outcome for one person."""

    depth: int
    line: int
    text: str
    passed: bool
    blocking: bool


class UnknownPerson(ConfigurationError):
    """`explain --person` named an id that is not in the database."""


def explain_person(
    connection: Connection, library: SegmentLibrary, name: str, as_of: date, person_id: str
) -> list[Verdict]:
    """Every condition's verdict for `person_id`; `blocking` marks those that keep them out.

    A failed `all` blames its failed members; a failed `any`, `not` or single condition blames itself.
    """
    context = context_for(library, as_of)
    rule = library.get(name).rule
    tree = list(walk(rule))
    expressions = [living()] + [condition_sql(c, context) for _, c in tree]
    columns = [case((expression, 1), else_=0).label(f"c{i}") for i, expression in enumerate(expressions)]
    row = connection.execute(select(*columns).where(PEOPLE.c.person_id == person_id)).first()
    if row is None:
        raise UnknownPerson(
            f"no person with id {person_id!r} in the database; check the id (see `segments members`)"
        )
    alive, *results = (bool(value) for value in row)
    passed = {id(c): result for (_, c), result in zip(tree, results, strict=True)}
    blocking: set[int] = set()

    def blame(condition: Condition) -> None:
        if passed[id(condition)]:
            return
        if isinstance(condition, AllOf):
            for child in condition.conditions:
                blame(child)
        else:
            blocking.add(id(condition))

    blame(rule)
    verdicts = [Verdict(0, 0, "not deceased (always)", alive, not alive)]
    verdicts += [
        Verdict(depth, c.line, describe(c, context), passed[id(c)], id(c) in blocking) for depth, c in tree
    ]
    return verdicts
