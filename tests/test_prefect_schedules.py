"""Schedules really produce runs on a real Prefect server (the pins on fastapi and SQLAlchemy matter).

Prefect's test harness runs no scheduler, so this starts `prefect server start` as a subprocess, as an
operator would, registers the dispatcher's deployment, and waits for the scheduler to create its runs.
With SQLAlchemy 2.1 the scheduler fails every minute and no run would ever appear.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.deployments import deployments
from outreach.campaigns.library import load_campaigns

STARTUP_SECONDS = 180


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home: Path = tmp_path_factory.mktemp("prefect-server")
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert server.poll() is None, "prefect server start exited"
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the Prefect server did not start"
        time.sleep(0.5)
    yield api
    server.send_signal(signal.SIGINT)  # SIGINT stops it cleanly (SIGTERM can hang)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()


def test_the_scheduler_creates_the_dispatchers_runs(prefect_api: str) -> None:
    dispatcher = next(d for d in deployments(load_campaigns()) if d.name == "toutes-les-5-minutes")
    # settings, not the environment: Prefect reads its environment once, when first imported
    with temporary_settings({PREFECT_API_URL: prefect_api}), get_client(sync_client=True) as client:
        deployment_id = dispatcher.apply()
        deadline = time.monotonic() + 90
        while True:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
            if runs or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert runs, "the scheduler created no run"
    assert {run.state_name for run in runs} == {"Scheduled"}
    starts = sorted(run.expected_start_time for run in runs)
    assert (starts[1] - starts[0]).total_seconds() == 300  # every five minutes
