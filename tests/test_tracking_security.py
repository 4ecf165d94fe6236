"""Our own links through HTTP, as scanners and mail providers use them: a HEAD changes nothing, and an
RFC 8058 one-click POST unsubscribes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from test_tracking_support import (
    SECRET,
    Seeded,
    SendGridKey,
    client_for,
    count,
    rows,
    seed,
    settings_for,
)

from outreach.models import (
    AuditEntry,
    DeliveryEvent,
    MessageEngagement,
    OptOut,
    SatisfactionAnswer,
    UnmatchedEvent,
)
from outreach.tracking.links import LinkBuilder
from outreach.tracking.tokens import TokenSigner

BASE = "https://suivi.carsat-centreouest.fr"
SITE = "https://www.lassuranceretraite.fr/portail-info/home/actif/preparer-retraite.html"
BROWSER = "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
PURGE_DAY = datetime(2029, 1, 15)
"""More than the 24 months messages are kept after the seeded wave (26 November 2026)."""


@pytest.fixture
def key() -> SendGridKey:
    return SendGridKey()


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def client(engine: Engine, key: SendGridKey, tmp_path: Path) -> TestClient:
    return client_for(engine, settings_for(tmp_path, key))


@pytest.fixture
def links() -> LinkBuilder:
    return LinkBuilder(BASE, TokenSigner(SECRET))


def path(url: str) -> str:
    return url.removeprefix(BASE)


def nothing_changed(engine: Engine) -> None:
    for table in (DeliveryEvent, UnmatchedEvent, MessageEngagement, OptOut, SatisfactionAnswer):
        assert count(engine, table.__table__) == 0, table.__tablename__


def unresolved(engine: Engine) -> list[tuple[str, str, int, dict[str, str]]]:
    entries = rows(
        engine,
        select(AuditEntry.actor, AuditEntry.target, AuditEntry.count, AuditEntry.details).where(
            AuditEntry.action == "unsubscribe_unresolved"
        ),
    )
    return [(e.actor, e.target, e.count, json.loads(e.details)) for e in entries]


# --- item 1: only a POST changes anything; a HEAD answers what a GET would, and counts nothing ----


def test_a_head_request_to_any_own_link_changes_nothing(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    email = links.for_message(seeded.email["P0001"])
    letter = links.for_message(seeded.letter["P0002"])
    expected = {
        path(email.unsubscribe): (200, "text/html"),
        path(email.pixel or ""): (200, "image/gif"),
        path(email.track(SITE)): (302, None),  # the redirect a GET would get, not a click
        path(letter.response): (200, "text/html"),
        path(links.satisfaction(seeded.email["P0003"])): (200, "text/html"),
    }
    for url, (status, media_type) in expected.items():
        response = client.head(url, headers={"User-Agent": BROWSER})
        assert response.status_code == status, url
        if media_type:
            assert response.headers["content-type"].startswith(media_type), url
    assert client.head(path(email.track(SITE))).headers["location"] == SITE
    nothing_changed(engine)
    # The same links fetched with GET still count: the HEAD was told apart, not the route broken.
    client.get(path(email.pixel or ""), headers={"User-Agent": BROWSER})
    assert count(engine, DeliveryEvent.__table__) == 1


def test_a_head_request_with_a_bad_token_is_a_plain_404(client: TestClient, engine: Engine) -> None:
    for url in ("/u/nope", "/o/nope.gif", "/c/nope", "/r/0000000000000000", "/s/nope"):
        assert client.head(url).status_code == 404, url
    nothing_changed(engine)


def test_rfc_8058_one_click_posts_unsubscribe_without_cookie_or_form_token(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    """Gmail posts form-encoded; RFC 8058 says the body SHOULD be multipart/form-data: both are a "no"."""
    gmail = client.post(
        path(links.for_message(seeded.email["P0001"]).unsubscribe),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 200 <= gmail.status_code < 300
    multipart = client.post(
        path(links.for_message(seeded.email["P0002"]).unsubscribe),
        files={"List-Unsubscribe": (None, "One-Click")},
    )
    assert multipart.request.headers["content-type"].startswith("multipart/form-data")
    assert 200 <= multipart.status_code < 300
    opt_outs = rows(engine, select(OptOut.person_id, OptOut.channel, OptOut.source))
    assert sorted(tuple(r) for r in opt_outs) == [
        ("P0001", "email", "unsubscribe"),
        ("P0002", "email", "unsubscribe"),
    ]
