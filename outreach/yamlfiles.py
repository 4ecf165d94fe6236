"""Configuration files the communication team writes (campaigns, partner profiles): YAML in, typed out.

A file is parsed with PyYAML's composer so every value keeps its line, then validated by a Pydantic
model; each problem is reported as `file, line N: what is wrong (how to fix)`, all problems of a file
at once, so one `validate` run shows everything to correct.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from outreach.errors import ConfigurationError

Model = TypeVar("Model", bound=BaseModel)
Location = tuple[str | int, ...]


class ConfigFileError(ConfigurationError):
    """One or more problems in one configuration file; the message lists them all, one per line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


def display_path(path: Path) -> str:
    """`path` relative to the current folder when it is inside it, as people type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _plain(node: Node, location: Location, lines: dict[Location, int]) -> Any:
    lines[location] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = key_node.value
            result[key] = _plain(value_node, (*location, key), lines)
            lines[(*location, key)] = key_node.start_mark.line + 1  # a problem points at its key
        return result
    if isinstance(node, SequenceNode):
        return [_plain(item, (*location, index), lines) for index, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    return yaml.SafeLoader("").construct_object(node)  # ints, floats, booleans, dates


def read_with_lines(path: Path) -> tuple[Any, dict[Location, int]]:
    """The file's content as plain Python values, and the line of every key and list item."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(path, [f"{display_path(path)}: not UTF-8 text (save it as UTF-8)"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(
            path, [f"{display_path(path)}{where}: not valid YAML ({problem}; check indentation and quotes)"]
        ) from None
    if node is None:
        raise ConfigFileError(path, [f"{display_path(path)}: the file is empty"])
    lines: dict[Location, int] = {}
    return _plain(node, (), lines), lines


def _line_for(location: Location, lines: dict[Location, int]) -> int:
    while location and location not in lines:
        location = location[:-1]
    return lines.get(location, 1)


def load_model(path: Path, model: type[Model]) -> tuple[Model, dict[Location, int]]:
    """Read `path` and validate it as `model`; every problem names the file and its line.

    Returns the model and the line of every key, for the caller's own cross-checks.
    """
    data, lines = read_with_lines(path)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = tuple(error["loc"])
            field = ".".join(str(part) for part in location) or "the file"
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = "unknown setting (remove it, or check its spelling)"
            elif error["type"] == "missing":
                message = "required setting is missing (add it)"
            problems.append(f"{display_path(path)}, line {_line_for(location, lines)}: {field}: {message}")
        raise ConfigFileError(path, problems) from None
