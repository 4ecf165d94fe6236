"""One runtime per worker process: configuration is read and checked once, not once per task."""

from __future__ import annotations

from functools import cache

from outreach.runtime import Runtime, build_runtime


@cache
def runtime() -> Runtime:
    """The process's runtime (database, campaigns, channels, links), built on first use."""
    return build_runtime()
