"""Shared fixtures: migrated databases on SQLite (always) and PostgreSQL (when configured).

PostgreSQL tests need `OUTREACH_TEST_POSTGRES_URL` (CI sets it); without it they are skipped with a
visible reason, so `make test` passes on a machine with no PostgreSQL. Each PostgreSQL test gets a
fresh database, created and dropped around it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from outreach import migrate
from outreach.campaigns.library import CampaignLibrary, load_campaigns
from outreach.campaigns.runner import CampaignRunner
from outreach.db import make_engine, throwaway_postgres_database
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.running import EmulatorHandle, running_emulator
from tests.emulated import emulated_channels

# Prefect's test server: its own home (a shared one gets "database is locked" under load), no telemetry.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="outreach-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

POSTGRES_URL = os.environ.get("OUTREACH_TEST_POSTGRES_URL")
POSTGRES_SKIP = "OUTREACH_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped (CI sets it)"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of an empty SQLite file (not migrated)."""
    return f"sqlite:///{tmp_path / 'outreach.sqlite3'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of an empty, throwaway PostgreSQL database (not migrated)."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    with throwaway_postgres_database(POSTGRES_URL, "outreach_test") as url:
        yield url


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite database."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database."""
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """Prefect's temporary test server, started once for the whole session (~15 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def flow_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated embedded database that the flows' runtime reads from the environment, as in production.

    The cached engine and runtime are reset around the test, so each test's flows see its own database
    (and the provider settings the test adds with `monkeypatch` before running a flow).
    """
    from flows.runtime import runtime
    from outreach.db import default_engine

    url = f"sqlite:///{tmp_path / 'flows.sqlite3'}"
    monkeypatch.setenv("OUTREACH_DATABASE_URL", url)
    monkeypatch.setenv("OUTREACH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("OUTREACH_TRACKING_SECRET", raising=False)
    default_engine.cache_clear()
    runtime.cache_clear()
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    default_engine.cache_clear()
    runtime.cache_clear()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    """The provider emulator, for a module's campaign runs (no events: tests post their own)."""
    with running_emulator(EmulatorConfig(seed=5, events=False)) as handle:
        yield handle


@pytest.fixture
def library() -> CampaignLibrary:
    """The shipped campaigns, segments and templates."""
    return load_campaigns()


@pytest.fixture
def runner(
    engine: Engine, library: CampaignLibrary, emulator: EmulatorHandle, tmp_path: Path
) -> CampaignRunner:
    """A campaign runner on the test's database, sending through the emulator with the real SDKs."""
    emulator.reset()
    channels = emulated_channels(emulator, library.renderer, tmp_path)
    return CampaignRunner(engine, library, channels, previews_dir=tmp_path / "previews")
