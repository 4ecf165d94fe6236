"""Our own links through HTTP: pixel, click redirect, letter landing, unsubscribe, satisfaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from test_tracking_support import SECRET, Seeded, SendGridKey, client_for, count, rows, seed, settings_for

from outreach.models import DeliveryEvent, MessageEngagement, OptOut, PersonEngagement, SatisfactionAnswer
from outreach.tracking.links import LinkBuilder
from outreach.tracking.tokens import TokenSigner

SITE = "https://www.lassuranceretraite.fr/portail-info/home/actif/preparer-retraite.html"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel link scanner)"


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    return client_for(engine, settings_for(tmp_path, SendGridKey()))


@pytest.fixture
def links() -> LinkBuilder:
    return LinkBuilder("https://suivi.carsat-centreouest.fr", TokenSigner(SECRET))


def path(url: str) -> str:
    return url.removeprefix("https://suivi.carsat-centreouest.fr")


def facts(engine: Engine, message_id: int) -> MessageEngagement:
    return rows(
        engine, select(MessageEngagement.__table__).where(MessageEngagement.message_id == message_id)
    )[0]


def test_the_pixel_counts_people_and_flags_scanners(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    message = seeded.email["P0001"]
    pixel = path(links.for_message(message).pixel or "")
    human = client.get(pixel, headers={"User-Agent": BROWSER})
    assert human.status_code == 200 and human.headers["content-type"] == "image/gif"
    assert human.content.startswith(b"GIF89a") and "no-store" in human.headers["cache-control"]
    client.get(pixel, headers={"User-Agent": SCANNER})
    row = facts(engine, message)
    assert (row.human_opens, row.machine_opens) == (1, 1)
    reasons = {r.reason for r in rows(engine, select(DeliveryEvent.reason).where(DeliveryEvent.machine))}
    assert reasons == {"user agent barracuda"}


def test_a_tampered_or_unknown_token_is_404_and_stores_nothing(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    pixel = path(links.for_message(seeded.email["P0001"]).pixel or "")
    token = pixel.removeprefix("/o/").removesuffix(".gif")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    foreign = LinkBuilder("https://x", TokenSigner(b"another-secret-of-16-bytes")).for_message(
        seeded.email["P0001"]
    )
    for url in (f"/o/{tampered}.gif", path(foreign.unsubscribe), "/c/abc", "/r/0000000000000000", "/s/x"):
        response = client.get(url)
        assert response.status_code == 404
        assert 'lang="fr"' in response.text and "Ce lien n’est pas valide" in response.text
    assert client.post(path(foreign.unsubscribe), data={"scope": "all"}).status_code == 404
    assert count(engine, DeliveryEvent.__table__) == 0 and count(engine, OptOut.__table__) == 0


def test_a_click_redirects_only_to_the_bound_url_and_raises_affinity(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    message = seeded.email["P0002"]
    response = client.get(path(links.for_message(message).track(SITE)), headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["location"] == SITE
    assert facts(engine, message).clicks == 1
    affinity = rows(engine, select(PersonEngagement.digital_affinity, PersonEngagement.clicked_messages))
    assert [tuple(r) for r in affinity] == [(2, 1)]


def test_the_letter_landing_records_a_response_in_french(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    message = seeded.letter["P0003"]
    short = links.for_message(message).response_short
    response = client.get("/r/" + short.rsplit("/", 1)[1].upper())  # typed from paper, in capitals
    assert response.status_code == 200
    assert 'lang="fr"' in response.text and "votre réponse est bien enregistrée" in response.text
    client.get(path(links.for_message(message).response))  # the QR code, scanned again
    assert facts(engine, message).responded_at is not None
    assert count(engine, DeliveryEvent.__table__) == 1
    assert rows(engine, select(PersonEngagement.person_id, PersonEngagement.letter_responses)) == [
        ("P0003", 1)
    ]


def test_unsubscribe_shows_a_page_on_get_and_acts_on_one_click_post(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    url = path(links.for_message(seeded.email["P0001"]).unsubscribe)
    page = client.get(url)
    assert page.status_code == 200 and "Ne plus recevoir d’e-mails" in page.text
    assert count(engine, OptOut.__table__) == 0  # a link scanner's GET changes nothing
    # RFC 8058: the mail client posts List-Unsubscribe=One-Click to the List-Unsubscribe URL.
    done = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Vous ne recevrez plus d’e-mails" in done.text
    assert rows(engine, select(OptOut.person_id, OptOut.channel, OptOut.source)) == [
        ("P0001", "email", "unsubscribe")
    ]
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again: no error
    assert count(engine, OptOut.__table__) == 1


def test_unsubscribing_from_every_channel(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    response = client.post(path(links.for_message(seeded.sms["P0002"]).unsubscribe), data={"scope": "all"})
    assert "aucun message d’information" in response.text
    assert rows(engine, select(OptOut.person_id, OptOut.channel)) == [("P0002", "all")]


def test_the_satisfaction_survey_stores_one_answer_per_message(
    engine: Engine, client: TestClient, links: LinkBuilder, seeded: Seeded
) -> None:
    url = path(links.satisfaction(seeded.email["P0003"]))
    form = client.get(url)
    assert form.status_code == 200 and 'lang="fr"' in form.text and 'name="score"' in form.text
    refused = client.post(url, data={"score": "6", "comment": "Très bien reçue"})
    assert refused.status_code == 400 and "de 1 à 5" in refused.text and "Très bien reçue" in refused.text
    assert count(engine, SatisfactionAnswer.__table__) == 0
    assert client.post(url, data={"score": "3", "comment": "Un peu long"}).status_code == 200
    thanks = client.post(url, data={"score": "4", "comment": "Conseillère très à l’écoute, merci."})
    assert "Merci pour votre avis" in thanks.text
    answers = rows(engine, select(SatisfactionAnswer.__table__))
    assert len(answers) == 1
    answer = answers[0]
    assert (answer.person_id, answer.journey, answer.channel, answer.campaign, answer.score) == (
        "P0003",
        "follow_career",
        "email",
        "releve_carriere",
        4,
    )
    assert answer.comment == "Conseillère très à l’écoute, merci."
