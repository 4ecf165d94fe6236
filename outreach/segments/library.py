"""All the segment files of a project, checked together: names unique, references resolved, no cycle.

The library is what the rest of the code uses: a campaign asks it for a segment by name, and it only
exists when every file is valid (principle 6: validate everything before anything is sent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from outreach.config import PROJECT_ROOT
from outreach.segments.definition import AllOf, AnyOf, Condition, InSegment, Not, Segment
from outreach.segments.errors import SegmentErrors, SegmentProblem, UnknownSegment, display_path
from outreach.segments.parser import parse_segment_file

DEFAULT_DIRECTORY = PROJECT_ROOT / "segments"


def walk(condition: Condition) -> Iterator[Condition]:
    """`condition` and every condition inside it, in file order."""
    yield condition
    match condition:
        case AllOf(conditions=items) | AnyOf(conditions=items):
            for item in items:
                yield from walk(item)
        case Not(condition=inner):
            yield from walk(inner)


def references(condition: Condition) -> Iterator[InSegment]:
    """The `segment:` conditions inside `condition`, in file order."""
    return (item for item in walk(condition) if isinstance(item, InSegment))


@dataclass(frozen=True)
class SegmentLibrary:
    """Valid segments by name, in dependency order (a segment comes after those it references)."""

    directory: Path
    segments: dict[str, Segment]

    @property
    def names(self) -> list[str]:
        """Segment names in dependency order."""
        return list(self.segments)

    def get(self, name: str) -> Segment:
        """The segment called `name`, or an error listing the known ones."""
        try:
            return self.segments[name]
        except KeyError:
            raise UnknownSegment(
                f"no segment named {name!r} in {display_path(self.directory)}; "
                f"known: {', '.join(sorted(self.segments)) or 'none'}"
            ) from None

    def version(self, name: str) -> str:
        """A short hash of the segment's file and of the files it references (changes with its meaning)."""
        digest = hashlib.sha256(self.get(name).text_hash.encode())
        for reference in references(self.get(name).rule):
            digest.update(self.version(reference.segment).encode())
        return digest.hexdigest()[:16]


def _ordered(segments: dict[str, Segment], problems: list[SegmentProblem]) -> dict[str, Segment]:
    """Depth-first topological order; a cycle is reported at the reference that closes it."""
    done: dict[str, Segment] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        visiting.append(name)
        segment = segments[name]
        for reference in references(segment.rule):
            if reference.segment not in segments:
                problems.append(
                    SegmentProblem(
                        segment.path,
                        reference.line,
                        f"segment {reference.segment!r} does not exist; create "
                        f"segments/{reference.segment}.yaml or use one of: {', '.join(sorted(segments))}",
                    )
                )
            elif reference.segment in visiting:
                loop = " -> ".join([*visiting[visiting.index(reference.segment) :], reference.segment])
                problems.append(
                    SegmentProblem(
                        segment.path,
                        reference.line,
                        f"segments reference each other in a cycle ({loop}); remove one",
                    )
                )
            else:
                visit(reference.segment)
        visiting.pop()
        done[name] = segment

    for name in sorted(segments):
        visit(name)
    return done


def load_library(directory: Path | None = None) -> SegmentLibrary:
    """Parse and check every `*.yaml` file of `directory` (default: the project's `segments/`).

    Raises `SegmentErrors` with every problem of every file, each naming its file and line.
    """
    directory = directory or DEFAULT_DIRECTORY
    if not directory.is_dir():
        raise SegmentErrors([SegmentProblem(directory, 0, "no such folder; create it or set OUTREACH_HOME")])
    problems: list[SegmentProblem] = []
    segments: dict[str, Segment] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            segment = parse_segment_file(path)
        except SegmentErrors as errors:
            problems.extend(errors.problems)
            continue
        segments[segment.name] = segment
    ordered = _ordered(segments, problems)
    if problems:
        raise SegmentErrors(problems)
    return SegmentLibrary(directory, ordered)
