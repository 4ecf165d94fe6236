"""SMS opt-outs as people really write them: the matcher's table, and a sample through the signed
Twilio webhook down to the person's opt-out, the TwiML reply and the funnel."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from test_tracking_support import (
    Seeded,
    SendGridKey,
    client_for,
    count,
    post_twilio,
    rows,
    seed,
    settings_for,
)

from outreach.models import Message, MessageEngagement, OptOut, Suppression
from outreach.reports.funnel import ENGAGEMENT, MESSAGES, measures
from outreach.tracking.stop import is_stop

OPT_OUTS = [
    # the keyword, in any case, with the spaces and punctuation people add
    "STOP",
    "stop",
    " Stop. ",
    "Stop!!!",
    "STOP STOP STOP",
    "«STOP»",
    # the keyword first, then politeness or more words
    "STOP SVP",
    "Stop svp",
    "stop merci",
    "STOP SMS",
    "Stop sms merci",
    "stop sms s’il vous plaît",
    "Stop, j'ai une question",  # a "no" first: honoured (the reply says how to ask the question)
    "STOP\nEnvoyé de mon iPhone",
    "STOP 🙏",
    "🛑 STOP",
    # the French words, with or without accents
    "Arrêt",
    "ARRET",
    "arrêt svp",
    "Arrêt !",
    "Arrêter",
    "arrete",
    "Arrêtez les SMS",
    "Arrêtez de m’envoyer des messages",
    "Désabonner",
    "DESABONNER",
    "désabonner",
    "Désabonnez-moi",
    "Désabonnement",
    "désinscription",
    "Désinscrire",
    "Désinscrivez-moi s'il vous plaît",
    # a greeting first
    "Bonjour, STOP",
    "Bonjour stop svp",
    "Merci, désabonnez-moi",
    # Twilio's (English) keywords
    "UNSUBSCRIBE",
    "Unsubscribe please",
    "STOPALL",
    "stop all",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "opt-out",
    "REVOKE",
    # what phones and copy-paste put in: full-width letters, invisible characters, decomposed accents
    "ＳＴＯＰ",
    "S\u200bTOP",
    "\ufeffSTOP",
    "STOP\u200d",
    "St\u00adop",
    "Arre\u0302t",
    "Arrêt\u00a0!",
]

REPLIES = [
    "",
    "Je ne veux pas arrêter mon dossier",
    "je ne veux pas arrêter",
    "Merci beaucoup",
    "OK merci",
    "Oui",
    "Non",
    "Bonjour, ma pension n’est toujours pas versée",
    "Pouvez-vous me rappeler ?",
    "Arrêt de travail depuis mars, que dois-je faire ?",
    "arrêt maladie en 2019 : est-ce compté ?",
    "Je suis à l’arrêt depuis deux mois",
    "Endettement : puis-je avoir une aide ?",
    "Quitter la France, quelles démarches ?",
    "Annulation de mon rendez-vous",
    "Il faut que j’arrête de travailler en 2027 ?",
    "Aide",
]


def test_the_table_has_enough_real_world_variants() -> None:
    assert len(OPT_OUTS) >= 30 and len(set(OPT_OUTS)) == len(OPT_OUTS)


@pytest.mark.parametrize("text", OPT_OUTS)
def test_an_opt_out_is_recognised(text: str) -> None:
    assert is_stop(text)


@pytest.mark.parametrize("text", REPLIES)
def test_a_reply_is_not_an_opt_out(text: str) -> None:
    assert not is_stop(text)


# --- through the signed webhook ---------------------------------------------------------------


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    return client_for(engine, settings_for(tmp_path, SendGridKey()))


def inbound(body: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SM" + "7" * 32,
        "SmsSid": "SM" + "7" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+33612345678",
        "To": "+33757000000",
        "Body": body,
        "NumMedia": "0",
        "FromCountry": "FR",
        **extra,
    }


def funnel(engine: Engine, message_id: int) -> dict[str, int]:
    """The report's own measures, for the one message the inbound SMS is about."""
    query = (
        select(*measures())
        .select_from(MESSAGES.outerjoin(ENGAGEMENT, ENGAGEMENT.c.message_id == MESSAGES.c.id))
        .where(MESSAGES.c.id == message_id)
    )
    return dict(rows(engine, query)[0]._mapping)


SAMPLE = [
    "STOP SVP",
    "Désabonner",
    "désinscription",
    "UNSUBSCRIBE",
    "Arrêter",
    "stop merci",
    "ＳＴＯＰ",
    "S\u200bTOP",
]


@pytest.mark.parametrize("text", SAMPLE)
def test_an_opt_out_through_the_webhook_opts_out_acknowledges_and_is_no_response(
    engine: Engine, client: TestClient, seeded: Seeded, text: str
) -> None:
    response = post_twilio(client, "/webhooks/twilio/inbound", inbound(text))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert "Vous ne recevrez plus de SMS de la CARSAT Centre-Ouest." in response.text
    assert "ne lit pas les réponses" not in response.text
    opt_outs = rows(engine, select(OptOut.person_id, OptOut.channel, OptOut.source))
    assert opt_outs == [("P0001", "sms", "sms_stop")]
    assert rows(engine, select(Suppression.value, Suppression.reason)) == [("+33612345678", "sms_stop")]
    counted = funnel(engine, seeded.sms["P0001"])
    assert (counted["responded"], counted["opted_out"]) == (0, 1)


@pytest.mark.parametrize("text", ["Je ne veux pas arrêter mon dossier", "Arrêt de travail depuis mars ?"])
def test_a_reply_through_the_webhook_is_a_response_and_opts_nobody_out(
    engine: Engine, client: TestClient, seeded: Seeded, text: str
) -> None:
    response = post_twilio(client, "/webhooks/twilio/inbound", inbound(text))
    assert "ne lit pas les réponses" in response.text and "3960" in response.text
    assert count(engine, OptOut.__table__) == 0 and count(engine, Suppression.__table__) == 0
    counted = funnel(engine, seeded.sms["P0001"])
    assert (counted["responded"], counted["opted_out"]) == (1, 0)


def test_twilio_advanced_opt_out_is_trusted_whatever_the_words(
    engine: Engine, client: TestClient, seeded: Seeded
) -> None:
    """A Messaging Service with Advanced Opt-Out names what it matched (its own keywords) in OptOutType."""
    response = post_twilio(client, "/webhooks/twilio/inbound", inbound("Ne plus recevoir", OptOutType="STOP"))
    assert "Vous ne recevrez plus de SMS" in response.text
    assert rows(engine, select(OptOut.person_id, OptOut.channel)) == [("P0001", "sms")]
    assert rows(engine, select(MessageEngagement.replied_at).join(Message)) == [(None,)]
