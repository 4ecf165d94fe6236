"""The public tracking service answers only its public paths; everything else is 404 or 405."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.routing import Route
from starlette.testclient import TestClient

from outreach.tracking.app import create_app
from outreach.tracking.settings import TrackingSettings
from tests.people import load, person

PUBLIC = {
    ("/webhooks/sendgrid", frozenset({"POST"})),
    ("/webhooks/twilio/status", frozenset({"POST"})),
    ("/webhooks/twilio/inbound", frozenset({"POST"})),
    ("/o/{token}.gif", frozenset({"GET", "HEAD"})),
    ("/c/{token}", frozenset({"GET", "HEAD"})),
    ("/r/{token}", frozenset({"GET", "HEAD"})),
    ("/u/{token}", frozenset({"GET", "HEAD", "POST"})),
    ("/s/{token}", frozenset({"GET", "HEAD", "POST"})),
    ("/health", frozenset({"GET", "HEAD"})),
}
"""Webhooks, open pixel, click redirect, letter landing, unsubscribe, survey, health: nothing else."""

PROBES = [
    "/",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/admin",
    "/admin/login",
    "/people",
    "/people/P00001",
    "/persons?limit=100",
    "/messages",
    "/messages/1",
    "/events",
    "/exports",
    "/metrics",
    "/api",
    "/api/people",
    "/api/v1/people/P00001",
    "/api/messages?status=sent",
    "/api/flows",
    "/graphql",
    "/.env",
    "/static/../outreach.sqlite3",
    "/o/",
    "/o/P00001",
    "/c/",
    "/u/",
    "/webhooks",
    "/webhooks/sendgrid/replay",
    "/health/people",
]


@pytest.fixture
def client(sqlite_engine: Engine, tmp_path: Path) -> TestClient:
    load(sqlite_engine, [person(i, date(1961, 3, 2)) for i in range(3)])
    settings = TrackingSettings(
        secret=b"s" * 32, base_url="https://suivi.carsat-centreouest.fr", spool_dir=tmp_path
    )
    return TestClient(create_app(sqlite_engine, settings), raise_server_exceptions=False)


def test_only_the_public_routes_exist(client: TestClient) -> None:
    routes = {
        (route.path, frozenset(route.methods or ()))
        for route in client.app.routes
        if isinstance(route, Route)
    }
    assert routes == PUBLIC
    assert len(client.app.routes) == len(PUBLIC)  # no mounted sub-application, no static folder


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_other_path_is_refused_and_shows_nobody(client: TestClient, method: str) -> None:
    for path in PROBES:
        response = client.request(method, path)
        assert response.status_code in (404, 405), f"{method} {path}: {response.status_code}"
        for index in range(3):
            assert f"P0000{index}" not in response.text and f"assure.0000{index}" not in response.text


def test_health_says_nothing_about_people(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "database", "spooled_batches"}
