"""One runtime per worker process: configuration is read and checked once, not once per task.

Once, that is, per version of the configuration files: `outreach serve` runs for weeks, and a template
or campaign file fixed by the communication team must take effect at the next run (a step held on a
broken template is retried when its files change) without restarting the process. A cheap stamp of
the folders (each file's name, size and modification time) tells when to read them again.
"""

from __future__ import annotations

from functools import lru_cache

from outreach.config import PROJECT_ROOT
from outreach.runtime import Runtime, build_runtime

WATCHED = ("campaigns", "segments", "templates")
"""The configuration folders a runtime is built from."""

Stamp = tuple[tuple[str, int, int], ...]


def _stamp() -> Stamp:
    """Every configuration file's path, size and modification time (no file is read)."""
    entries = []
    for folder in WATCHED:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            if path.is_file():
                status = path.stat()
                entries.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(entries)


@lru_cache(maxsize=1)
def _build(stamp: Stamp) -> Runtime:
    return build_runtime()


class _ProcessRuntime:
    """Callable as `runtime()`; `runtime.cache_clear()` forgets the cached runtime (tests do)."""

    def __call__(self) -> Runtime:
        """The process's runtime (database, campaigns, channels, links), rebuilt when files change."""
        return _build(_stamp())

    def cache_clear(self) -> None:
        _build.cache_clear()


runtime = _ProcessRuntime()
