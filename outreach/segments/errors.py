"""Errors in segment files: each names the file, the line and the fix, on one line."""

from __future__ import annotations

from pathlib import Path

from outreach.errors import ConfigurationError


def display_path(path: Path) -> str:
    """`path` relative to the current directory when it is below it (shorter, clickable in editors)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class SegmentProblem(ConfigurationError):
    """One problem in one segment file, at one line (1-based)."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{display_path(path)}:{line}: {message}")


class SegmentErrors(ConfigurationError):
    """Every problem found in the segment files; its message has one line per problem."""

    def __init__(self, problems: list[SegmentProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownSegment(ConfigurationError):
    """A command named a segment that has no file."""
