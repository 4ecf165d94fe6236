"""Is an inbound SMS a request to stop? An opt-out keyword at the start, however it is typed.

Operators and SMS platforms read the *first* word: "STOP SVP", "stop merci" or "Désabonner" are
opt-outs, as the whole-message "STOP" is. The keywords are Twilio's (STOP, STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT, REVOKE, OPTOUT) and the French ones people use (ARRÊT / ARRÊTER / ARRÊTEZ,
DÉSABONNER and DÉSABONNEMENT, DÉSINSCRIRE and DÉSINSCRIPTION). A greeting before it ("Bonjour,
STOP") does not hide it.

Before words are compared, the text is normalised the way phones and copy-paste garble it: NFKC
(full-width letters, ligatures, decomposed accents), invisible format characters dropped (zero-width
spaces and joiners, byte-order mark, soft hyphen), accents and case set aside, punctuation and emoji
read as spaces.

A "no" first wins (principle 7, fail closed): "Stop, j'ai une question" opts out, and the reply says
so. Only a keyword that starts the message counts — "Je ne veux pas arrêter mon dossier" is a reply —
and "arrêt de travail" / "arrêt maladie" (a sick leave, the commonest "arrêt" in a pension fund's
inbox) is not a request.
"""

from __future__ import annotations

import re
import unicodedata

KEYWORDS = frozenset(
    {
        # Twilio's default opt-out keywords ("opt-out" and "opt out" are read as "optout")
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
        # French: arrêt and the verb's forms people write ("arrête", "arrêter", "arrêtez")
        "arret",
        "arrete",
        "arreter",
        "arretez",
    }
)
FRENCH_STEMS = ("desabonn", "desinscri")
"""Désabonner, désabonnez-moi, désabonnement; désinscrire, désinscrivez-moi, désinscription."""
GREETINGS = frozenset({"bonjour", "bonsoir", "salut", "hello", "merci", "madame", "monsieur"})
NOT_REQUESTS = (("de", "travail"), ("du", "travail"), ("maladie",))
"""What after "arrêt" makes it a sick leave, not a request to stop."""
_WORD = re.compile(r"[a-z0-9]+")


def is_stop(text: str) -> bool:
    """Whether `text` starts (after any greeting) with an opt-out keyword; see the module docstring."""
    words = _words(text)
    while words and words[0] in GREETINGS:
        words = words[1:]
    if not words:
        return False
    first, rest = words[0], tuple(words[1:3])
    if first in KEYWORDS:
        return not (first.startswith("arret") and any(rest[: len(n)] == n for n in NOT_REQUESTS))
    return first.startswith(FRENCH_STEMS) or "".join(words[:2]) == "optout"


def _words(text: str) -> list[str]:
    """The words of `text`, lower case, without accents, invisible characters or punctuation."""
    visible = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    bare = "".join(c for c in unicodedata.normalize("NFKD", visible) if not unicodedata.combining(c))
    return _WORD.findall(bare.casefold())
