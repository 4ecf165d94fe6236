"""Is an inbound SMS a request to stop? Only the French keywords, whole, in any case or accent.

French operators' practice (and the fund's messages) offer "STOP" — people also answer "ARRÊT",
"arret" or "STOP SMS". Only the whole message counts: "Je ne veux pas arrêter" or "stop, j'ai une
question" is a reply, read by a person, not an opt-out.
"""

from __future__ import annotations

import re
import string
import unicodedata

STOP_WORDS = frozenset({"stop", "arret", "stop sms"})
_EDGES = string.punctuation + "«»“”‘’…¡¿" + string.whitespace + "\u00a0"


def is_stop(text: str) -> bool:
    """Whether `text` is, once case, accents, surrounding spaces and punctuation are set aside, a STOP."""
    return _normalise(text) in STOP_WORDS


def _normalise(text: str) -> str:
    without_accents = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", without_accents.casefold().strip(_EDGES))
