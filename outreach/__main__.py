"""`python -m outreach` runs the CLI (the same as the `outreach` command)."""

from outreach.cli.main import run

run()
