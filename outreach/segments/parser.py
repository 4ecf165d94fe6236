"""Reading one segment file: YAML nodes (with their line numbers) to `definition` dataclasses.

PyYAML's `compose` keeps each node's position, so every problem names its line. Problems inside a
list of conditions are collected rather than stopping at the first, so one `validate` run shows them
all. Nothing is evaluated: the grammar is a closed set of keys, checked here.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from outreach.segments.dates import Duration
from outreach.segments.definition import (
    ENGAGEMENT_EVENTS,
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
    Segment,
    TurnsAge,
)
from outreach.segments.errors import SegmentErrors, SegmentProblem
from outreach.segments.fields import DATE_FIELDS, FIELDS, OPERATORS, Kind
from outreach.vocabulary import JOURNEYS

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TOP_LEVEL = ("name", "description", "journey", "rule")
RELATIVE_OPTIONS = ("at_least", "at_most")


class _Problem(Exception):
    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1
        self.message = message


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def _did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


Entries = dict[str, tuple[Node, Node]]


class _FileParser:
    """Parses one file; `problems` collects what is wrong with it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[SegmentProblem] = []
        self.constructor = SafeConstructor()

    # -- YAML shapes -------------------------------------------------------------------------------

    def scalar(self, node: Node) -> object:
        if not isinstance(node, ScalarNode):
            raise _Problem(node, "expected a single value here, not a list or a mapping")
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):  # e.g. 2009-13-01 looks like a date but is not one
            return node.value

    def mapping(self, node: Node, what: str) -> Entries:
        if not isinstance(node, MappingNode):
            raise _Problem(node, f"{what} must be a mapping of `key: value` lines")
        entries: Entries = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            if not isinstance(key, str):
                raise _Problem(key_node, f"the key {key!r} must be a word such as `field` or `is`")
            if key in entries:
                raise _Problem(key_node, f"'{key}' appears twice in the same mapping; keep only one")
            entries[key] = (key_node, value_node)
        return entries

    def text(self, node: Node, what: str, example: str) -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or not value.strip():
            raise _Problem(node, f"{what} must be text, not {value!r}; write for example {example}")
        return value

    def boolean(self, node: Node, what: str) -> bool:
        value = self.scalar(node)
        if not isinstance(value, bool):
            raise _Problem(node, f"{what} must be true or false, not {value!r}")
        return value

    def whole_number(self, node: Node, what: str, example: str) -> int:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 130:
            raise _Problem(
                node, f"{what} must be a whole number of years, not {value!r}; write for example {example}"
            )
        return value

    def date(self, node: Node, what: str) -> date:
        value = self.scalar(node)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value)
        if not isinstance(value, date):
            raise _Problem(node, f"{what} must be a date written YYYY-MM-DD, not {value!r}; e.g. 2009-01-01")
        return value

    def duration(self, node: Node, what: str) -> Duration:
        value = self.scalar(node)
        parsed = Duration.parse(value) if isinstance(value, str) else None
        if parsed is None:
            raise _Problem(
                node,
                f"{what} must be a duration such as '30 days', '2 weeks', '6 months' or '1 year', "
                f"not {value!r}",
            )
        return parsed

    def choice(self, node: Node, what: str, choices: tuple[str, ...]) -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or value not in choices:
            hint = _did_you_mean(value, choices) if isinstance(value, str) else ""
            raise _Problem(node, f"{value!r} is not a valid {what}{hint}; use one of: {_one_of(choices)}")
        return value

    def text_list(self, node: Node, what: str, item: str, choices: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode) or not node.value:
            example = _one_of(choices[:2]) or "'86', '87'"
            raise _Problem(node, f"{what} must be a non-empty list, e.g. [{example}]")
        if choices:
            return tuple(self.choice(value, item, choices) for value in node.value)
        return tuple(self.text(value, item, "'86'") for value in node.value)

    # -- conditions --------------------------------------------------------------------------------

    def condition(self, node: Node) -> Condition:
        entries = self.mapping(node, "a condition")
        heads = [key for key in entries if key in CONDITIONS]
        if not heads:
            key, (key_node, _) = next(iter(entries.items())) if entries else ("", (node, node))
            raise _Problem(
                key_node,
                f"unknown condition '{key}'{_did_you_mean(key, tuple(CONDITIONS))}; "
                f"a condition starts with one of: {_one_of(tuple(CONDITIONS))}",
            )
        if len(heads) > 1:
            raise _Problem(
                entries[heads[1]][0],
                f"'{heads[0]}' and '{heads[1]}' are in the same list item; "
                "put each condition under its own '-' inside `all:` or `any:`",
            )
        return CONDITIONS[heads[0]](self, heads[0], entries, node)

    def options(self, head: str, entries: Entries, allowed: tuple[str, ...], what: str) -> None:
        for key, (key_node, _) in entries.items():
            if key != head and key not in allowed:
                raise _Problem(
                    key_node,
                    f"unknown operator '{key}' for {what}{_did_you_mean(key, allowed)}; "
                    f"use {_one_of(allowed) if allowed else 'nothing else on this item'}",
                )

    def condition_list(self, node: Node, head: str) -> tuple[Condition, ...]:
        if not isinstance(node, SequenceNode) or not node.value:
            raise _Problem(node, f"`{head}:` needs a list of conditions, each on a line starting with '-'")
        conditions: list[Condition] = []
        for item in node.value:
            try:
                conditions.append(self.condition(item))
            except _Problem as problem:
                self.problems.append(SegmentProblem(self.path, problem.line, problem.message))
        return tuple(conditions)


def _all(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), f"`{head}`")
    return AllOf(node.start_mark.line + 1, parser.condition_list(entries[head][1], head))


def _any(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), f"`{head}`")
    return AnyOf(node.start_mark.line + 1, parser.condition_list(entries[head][1], head))


def _not(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), "`not`")
    return Not(node.start_mark.line + 1, parser.condition(entries[head][1]))


def _field(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    name_node = entries[head][1]
    name = parser.scalar(name_node)
    if not isinstance(name, str) or name not in FIELDS:
        hint = _did_you_mean(name, tuple(FIELDS)) if isinstance(name, str) else ""
        raise _Problem(name_node, f"unknown field {name!r}{hint}; use one of: {_one_of(tuple(FIELDS))}")
    field = FIELDS[name]
    allowed = OPERATORS[field.kind]
    parser.options(head, entries, allowed, f"field '{name}' ({field.kind.value})")
    operators = [key for key in entries if key != head]
    if len(operators) != 1:
        raise _Problem(
            node,
            f"a field condition needs exactly one operator; "
            f"add one of: {_one_of(allowed)} under `field: {name}`",
        )
    operator = operators[0]
    value_node = entries[operator][1]
    what = f"value of {name}"
    value: str | bool | date | tuple[str, ...]
    if operator == "present":
        value = parser.boolean(value_node, f"`present` of {name}")
    elif field.kind is Kind.BOOLEAN:
        value = parser.boolean(value_node, f"`is` of {name}")
    elif field.kind is Kind.DATE:
        value = parser.date(value_node, f"`{operator}` of {name}")
    elif operator in ("in", "has_any"):
        value = parser.text_list(value_node, f"`{operator}` of {name}", what, field.choices)
    elif field.choices:
        value = parser.choice(value_node, what, field.choices)
    else:
        value = parser.text(value_node, f"`{operator}` of {name}", "'86' (in quotes for a code)")
    return FieldTest(node.start_mark.line + 1, name, operator, value)


def _age(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), "`age`")
    bounds = parser.mapping(entries[head][1], "`age`")
    parser.options("", bounds, ("at_least", "at_most"), "`age`")
    if not bounds:
        raise _Problem(entries[head][1], "`age` needs at_least and/or at_most, e.g. `age: {at_least: 55}`")
    at_least = parser.whole_number(bounds["at_least"][1], "at_least", "55") if "at_least" in bounds else None
    at_most = parser.whole_number(bounds["at_most"][1], "at_most", "61") if "at_most" in bounds else None
    if at_least is not None and at_most is not None and at_least > at_most:
        raise _Problem(
            entries[head][1], f"at_least ({at_least}) is above at_most ({at_most}); no one can match"
        )
    return Age(node.start_mark.line + 1, at_least, at_most)


def _turns_age(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, ("during",), "`turns_age`")
    age = parser.whole_number(entries[head][1], "turns_age", "35")
    if "during" not in entries:
        raise _Problem(node, "`turns_age` needs `during: month` or `during: year` (of the as-of date)")
    during = parser.choice(entries["during"][1], "`during`", ("month", "year"))
    return TurnsAge(node.start_mark.line + 1, age, during)


def _relative(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, RELATIVE_OPTIONS, f"`{head}`")
    field = parser.choice(entries[head][1], f"date field for `{head}`", DATE_FIELDS)
    at_least = parser.duration(entries["at_least"][1], "at_least") if "at_least" in entries else None
    at_most = parser.duration(entries["at_most"][1], "at_most") if "at_most" in entries else None
    return RelativeDate(node.start_mark.line + 1, head, field, at_least, at_most)


def _segment(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), "`segment`")
    name = parser.text(entries[head][1], "`segment`", "fragile")
    return InSegment(node.start_mark.line + 1, name)


def _open_complaint(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), f"`{head}`")
    return OpenComplaint(node.start_mark.line + 1, parser.boolean(entries[head][1], f"`{head}`"))


def _engagement(parser: _FileParser, head: str, entries: Entries, node: Node) -> Condition:
    parser.options(head, entries, (), "`engagement`")
    options = parser.mapping(entries[head][1], "`engagement`")
    parser.options("", options, ("campaign", "step", "event", "within", "sent_within"), "`engagement`")
    if "campaign" not in options or "event" not in options:
        raise _Problem(
            entries[head][1],
            "`engagement` needs `campaign` and `event`, e.g. {campaign: career_statement_35, event: opened}",
        )
    campaign = parser.text(options["campaign"][1], "campaign", "career_statement_35")
    step = parser.text(options["step"][1], "step", "first_contact") if "step" in options else None
    event = parser.choice(options["event"][1], "`event`", ENGAGEMENT_EVENTS)
    within = parser.duration(options["within"][1], "within") if "within" in options else None
    if within is not None and within.unit != "days":
        raise _Problem(options["within"][1], "`within` counts days or weeks after the send, e.g. '7 days'")
    if within is not None and event == "received":
        raise _Problem(
            options["within"][1], "`within` applies to a reaction (opened, clicked...), not to `received`"
        )
    sent_within = (
        parser.duration(options["sent_within"][1], "sent_within") if "sent_within" in options else None
    )
    return Engagement(node.start_mark.line + 1, campaign, step, event, within, sent_within)


ConditionParser = Callable[[_FileParser, str, Entries, Node], Condition]

CONDITIONS: dict[str, ConditionParser] = {
    "all": _all,
    "any": _any,
    "not": _not,
    "field": _field,
    "age": _age,
    "turns_age": _turns_age,
    "since": _relative,
    "until": _relative,
    "segment": _segment,
    "has_open_complaint": _open_complaint,
    "engagement": _engagement,
}
"""The keys that start a condition, and how each is read (see segments/README.md)."""


def _segment_file(parser: _FileParser, root: Node, text: str) -> Segment:
    entries = parser.mapping(root, "a segment file")
    parser.options("", entries, TOP_LEVEL, "a segment file (top level)")
    missing = [key for key in TOP_LEVEL if key not in entries]
    if missing:
        raise _Problem(root, f"missing {', '.join(missing)}; a segment file has: {_one_of(TOP_LEVEL)}")
    name_node = entries["name"][1]
    name = parser.text(name_node, "name", "career_statement_35")
    if not NAME.match(name):
        raise _Problem(name_node, f"name {name!r} must be lower-case letters, digits and '_', e.g. fragile")
    if name != parser.path.stem:
        raise _Problem(name_node, f"name {name!r} differs from the file name; rename the file to {name}.yaml")
    description = parser.text(entries["description"][1], "description", "'Assurés qui ont 35 ans ce mois-ci'")
    journey_node = entries["journey"][1]
    if isinstance(journey_node, SequenceNode):
        journeys = parser.text_list(journey_node, "journey", "journey", JOURNEYS)
    else:
        journeys = (parser.choice(journey_node, "journey", JOURNEYS),)
    rule = parser.condition(entries["rule"][1])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Segment(name, description.strip(), journeys, rule, parser.path, root.start_mark.line + 1, digest)


def parse_segment(text: str, path: Path) -> Segment:
    """Parse the text of segment file `path`; raises `SegmentErrors` listing every problem found."""
    parser = _FileParser(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SegmentErrors(
            [
                SegmentProblem(
                    path, line, f"malformed YAML: {exc.problem}; check the indentation and quotes here"
                )
            ]
        ) from exc
    if root is None:
        raise SegmentErrors(
            [SegmentProblem(path, 1, "the file is empty; write name, description, journey and rule")]
        )
    try:
        segment = _segment_file(parser, root, text)
    except _Problem as problem:
        parser.problems.append(SegmentProblem(path, problem.line, problem.message))
    if parser.problems:
        raise SegmentErrors(sorted(parser.problems, key=lambda p: p.line))
    return segment


def parse_segment_file(path: Path) -> Segment:
    """Parse segment file `path` (see `parse_segment`)."""
    return parse_segment(path.read_text(encoding="utf-8"), path)
