"""`outreach demo`: the whole loop on the embedded defaults (what `make demo` runs)."""

from __future__ import annotations

from datetime import datetime

import typer


def demo_command(
    size: int = typer.Option(20_000, min=100, help="How many synthetic people."),
    seed: int = typer.Option(2026, help="Same seed, same people."),
    as_of: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Reference date (default: today)."
    ),
) -> None:
    """Population, segments, a campaign through Prefect, the emulator and the tracking service."""
    from outreach.demo import run_demo

    run_demo(size, seed, as_of.date() if as_of else None, typer.echo)
