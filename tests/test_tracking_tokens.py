"""Tokens, STOP recognition and the per-message links (no database needed)."""

from __future__ import annotations

import base64

import pytest

from outreach.rendering.gsm import measure
from outreach.tracking.app import OTHER_REPLY, STOP_REPLY
from outreach.tracking.links import LinkBuilder
from outreach.tracking.stop import is_stop
from outreach.tracking.tokens import InvalidToken, Purpose, TokenSigner

SIGNER = TokenSigner(b"a-long-enough-secret-for-the-tests")
TARGET = "https://www.lassuranceretraite.fr/portail-info/home/actif/mon-releve-de-carriere.html"


@pytest.mark.parametrize("purpose", [Purpose.OPEN, Purpose.UNSUBSCRIBE, Purpose.SURVEY, Purpose.RESPONSE])
def test_a_token_round_trips_for_its_purpose_only(purpose: Purpose) -> None:
    token = SIGNER.sign(purpose, 123456)
    claims = SIGNER.verify(token, purpose)
    assert (claims.purpose, claims.message_id, claims.url) == (purpose, 123456, None)
    for other in set(Purpose) - {purpose, Purpose.CLICK}:
        with pytest.raises(InvalidToken):
            SIGNER.verify(token, other)


def test_a_click_token_is_bound_to_its_url() -> None:
    token = SIGNER.sign(Purpose.CLICK, 42, TARGET)
    assert SIGNER.verify(token, Purpose.CLICK).url == TARGET
    data = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    redirected = bytes(data).replace(b"lassuranceretraite.fr", b"lassurance-retraite.co")
    forged = base64.urlsafe_b64encode(redirected).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        SIGNER.verify(forged, Purpose.CLICK)


def test_tampered_truncated_and_foreign_tokens_are_rejected() -> None:
    token = SIGNER.sign(Purpose.OPEN, 7)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    other_message = SIGNER.sign(Purpose.OPEN, 8)
    spliced = other_message[:22] + token[22:]  # another message's MAC on this payload
    foreign = TokenSigner(b"someone-else-s-secret-000000").sign(Purpose.OPEN, 7)
    for bad in (flipped, token[:20], spliced, foreign, "", "%%%", "a" * 200):
        with pytest.raises(InvalidToken):
            SIGNER.verify(bad, Purpose.OPEN)


def test_the_letter_code_is_short_case_insensitive_and_signed() -> None:
    code = SIGNER.sign_response(98765)
    assert len(code) == 16 and code.islower()
    assert SIGNER.verify(code.upper(), Purpose.RESPONSE).message_id == 98765
    neighbour = SIGNER.sign_response(98766)
    with pytest.raises(InvalidToken):
        SIGNER.verify(neighbour[:8] + code[8:], Purpose.RESPONSE)


def test_tokens_carry_no_personal_data_and_refuse_non_web_targets() -> None:
    token = SIGNER.sign(Purpose.UNSUBSCRIBE, 1)
    assert len(base64.urlsafe_b64decode(token + "==")) == 16 + 1 + 8  # MAC, purpose, message id: nothing else
    with pytest.raises(ValueError):
        SIGNER.sign(Purpose.CLICK, 1, "javascript:alert(1)")
    with pytest.raises(ValueError):
        SIGNER.sign(Purpose.OPEN, 1, TARGET)
    with pytest.raises(ValueError):
        TokenSigner(b"short")


def test_links_for_a_message_point_at_the_service_with_signed_tokens() -> None:
    links = LinkBuilder("https://suivi.carsat-centreouest.fr/", SIGNER).for_message(31)
    assert links.pixel is not None and links.pixel.endswith(".gif")
    token = links.pixel.removeprefix("https://suivi.carsat-centreouest.fr/o/").removesuffix(".gif")
    assert SIGNER.verify(token, Purpose.OPEN).message_id == 31
    assert SIGNER.verify(links.unsubscribe.rsplit("/", 1)[1], Purpose.UNSUBSCRIBE).message_id == 31
    assert links.response_short.startswith("suivi.carsat-centreouest.fr/r/")
    assert links.response.endswith(links.response_short.rsplit("/", 1)[1])
    clicked = links.track(TARGET)
    assert SIGNER.verify(clicked.rsplit("/", 1)[1], Purpose.CLICK).url == TARGET
    assert links.track("mailto:contact@carsat-centreouest.fr") == "mailto:contact@carsat-centreouest.fr"
    builder = LinkBuilder("https://suivi.carsat-centreouest.fr", SIGNER)
    assert builder.for_message(31, pixel=False).pixel is None
    assert (
        builder.status_callback("m31") == "https://suivi.carsat-centreouest.fr/webhooks/twilio/status?m=m31"
    )


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop",
        " STOP ",
        "STOP.",
        "stop !",
        "ARRET",
        "ARRÊT",
        "arrêt",
        "Arret",
        "STOP SMS",
        "stop  sms",
        "«STOP»",
        "\u00a0Stop\n",
    ],
)
def test_stop_variants_are_recognised(text: str) -> None:
    assert is_stop(text)


@pytest.mark.parametrize(
    "text",
    [
        "Je ne veux pas arrêter",
        "STOPPER",
        "Non merci",
        "",
        "top",
        "pas stop",
    ],
)
def test_other_texts_are_not_stop(text: str) -> None:
    assert not is_stop(text)


def test_the_sms_replies_fit_one_gsm_part() -> None:
    for reply in (STOP_REPLY, OTHER_REPLY):
        assert measure(reply).segments == 1
