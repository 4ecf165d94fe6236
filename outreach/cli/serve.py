"""`outreach serve` and `outreach worker`: the processes of a Prefect deployment of outreach."""

from __future__ import annotations


def serve_command() -> None:
    """Register every flow with its schedule and parameters, and run them (Ctrl-C to stop).

    Needs a Prefect server (PREFECT_API_URL); see the README's production section.
    """
    from flows.deployments import serve_all
    from flows.runtime import runtime

    serve_all(runtime().library)


def worker_command() -> None:
    """A task worker that takes send chunks of any campaign (start as many as you need)."""
    from prefect.task_worker import serve as serve_tasks

    from flows.campaigns import send_chunk

    serve_tasks(send_chunk)
