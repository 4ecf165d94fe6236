"""Our own links through HTTP, as scanners and mail providers use them: a HEAD changes nothing, an
RFC 8058 one-click POST unsubscribes, and a "no" for a message no longer held is recorded and answered
truthfully."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from test_tracking_support import (
    PEOPLE,
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
    Message,
    MessageEngagement,
    OptOut,
    SatisfactionAnswer,
    UnmatchedEvent,
)
from outreach.privacy.erasure import SECRET_VARIABLE, erase
from outreach.privacy.purge import purge
from outreach.privacy.retention import RetentionPolicy
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


# --- item 6: a "no" for a message no longer held is recorded, and the page tells the truth -------


def test_an_unsubscribe_for_a_purged_message_is_recorded_and_the_page_says_so(
    engine: Engine,
    client: TestClient,
    links: LinkBuilder,
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_VAR_DIR", str(tmp_path / "var"))
    url = path(links.for_message(seeded.email["P0001"]).unsubscribe)
    purge(engine, RetentionPolicy(), now=PURGE_DAY)
    assert count(engine, Message.__table__) == 0

    response = client.post(url, content=b"List-Unsubscribe=One-Click")
    assert response.status_code == 202  # accepted, not done
    page = response.text
    assert "C’est noté" not in page and "Vous ne recevrez plus" not in page
    assert "pas pu appliquer" in page and "3960" in page and 'lang="fr"' in page
    again = client.post(url, content=b"List-Unsubscribe=One-Click")  # the mail client retries
    assert again.status_code == 202

    [(actor, target, number, details)] = unresolved(engine)  # once, however often it is posted
    assert (actor, target, number) == ("tracking-service", f"m{seeded.email['P0001']}", 1)
    assert details["scope"] == "channel"
    recorded = json.dumps(details, ensure_ascii=False)
    for person_id, _, first, last, born, email, mobile, *_ in PEOPLE:
        for field in (person_id, first, last, born, email, mobile):
            assert field not in recorded, "personal data in the audit log"


def test_an_unsubscribe_after_the_person_was_erased_is_recorded_and_the_page_says_so(
    engine: Engine,
    client: TestClient,
    links: LinkBuilder,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, "erasure-secret-for-tests-only-0123456789")
    url = path(links.for_message(seeded.sms["P0002"]).unsubscribe)
    erase(engine, "P0002")

    response = client.post(url, data={"scope": "all"})
    assert response.status_code == 202
    assert "pas pu appliquer" in response.text and "effacement de vos données" in response.text
    [(_, target, _, details)] = unresolved(engine)
    assert target == f"m{seeded.sms['P0002']}" and details["scope"] == "all"
    assert count(engine, OptOut.__table__) == 0  # nobody else was opted out in their place


def test_an_unsubscribe_for_a_message_still_held_is_applied_and_not_sent_to_the_operator(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    url = path(links.for_message(seeded.email["P0003"]).unsubscribe)
    response = client.post(url, data={"scope": "channel"})
    assert response.status_code == 200 and "C’est noté" in response.text
    assert rows(engine, select(OptOut.person_id, OptOut.channel)) == [("P0003", "email")]
    assert unresolved(engine) == []
