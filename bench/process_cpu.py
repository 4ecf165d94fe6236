"""CPU time of the other processes a step keeps busy: the emulator, and PostgreSQL's backends.

On a shared 2-core machine a step's wall time says as much about the neighbours as about the step;
the CPU seconds of every process it uses say what it costs. Linux only (`/proc`), like the benches.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids() -> Iterable[int]:
    return (int(name) for name in os.listdir("/proc") if name.isdigit())


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of `pids` so far (a process that has exited counts for nothing)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS


def children(parent: int, marker: str) -> list[int]:
    """The child processes of `parent` whose command line contains `marker` (the emulator's)."""
    return [
        pid
        for pid in _pids()
        if (fields := _stat(pid)) is not None and int(fields[1]) == parent and marker in _cmdline(pid)
    ]


def database_backends(database: str) -> list[int]:
    """PostgreSQL's server processes connected to `database` (their title names it)."""
    return [
        pid for pid in _pids() if _cmdline(pid).startswith("postgres: ") and f" {database} " in _cmdline(pid)
    ]
