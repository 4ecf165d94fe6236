"""What a step run leaves waiting, said in French for the operator's artifacts.

`StepReport.waiting_lines()` says it in English for logs; the artifacts an operator reads in the UI
say it in French, by channel, with the moment a closed send window opens again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from outreach.campaigns.runner import StepReport
from outreach.campaigns.schedule import french_datetime

CHANNEL_NOUNS = {"email": ("e-mail", "e-mails"), "sms": ("SMS", "SMS"), "letter": ("courrier", "courriers")}


def _noun(channel: str, count: int) -> str:
    singular, plural = CHANNEL_NOUNS.get(channel, ("message", "messages"))
    return f"{count} {singular if count == 1 else plural}"


def queued_by_channel(report: StepReport) -> Counter[str]:
    """Queued messages of the step, by channel."""
    queued: Counter[str] = Counter()
    for (status, channel, _), count in report.counts.items():
        if status == "queued":
            queued[channel or "-"] += count
    return queued


def window_openings(report: StepReport) -> dict[str, datetime]:
    """Channels with queued messages whose send window is closed, with the time it opens."""
    opens = report.sending.waiting if report.sending else {}
    return {channel: opens[channel] for channel in queued_by_channel(report) if channel in opens}


def waiting_sentences(report: StepReport, limit: int | None, resumed: bool) -> list[str]:
    """One French sentence per thing still waiting, e.g. '57 e-mails attendront lundi 7 décembre à 07h00
    (fenêtre d'envoi fermée)'; `resumed` says whether a resume run is scheduled at the opening. Counts
    only, never a person."""
    sentences = []
    openings = window_openings(report)
    for channel, count in sorted(queued_by_channel(report).items()):
        verb = "attendra" if count == 1 else "attendront"
        if channel in openings:
            then = (
                "une reprise est planifiée à l'ouverture"
                if resumed
                else "aucune reprise n'a pu être planifiée : relancez l'étape à cette heure-là"
            )
            sentences.append(
                f"{_noun(channel, count)} {verb} {french_datetime(openings[channel])} "
                f"(fenêtre d'envoi fermée) : {then}"
            )
        elif limit is not None:
            sentences.append(
                f"{_noun(channel, count)} restent en file : l'envoi était limité à {limit} ; "
                "relancez l'étape pour envoyer la suite (rien ne les enverra d'ici là)"
            )
        else:
            sentences.append(
                f"{_noun(channel, count)} restent en file après des erreurs répétées du fournisseur : "
                "relancez l'étape quand il répond de nouveau"
            )
    statuses = report.waiting()
    if statuses["planned"]:
        sentences.append(f"{statuses['planned']} messages sans décision : la prochaine exécution décidera")
    if statuses["sending"]:
        sentences.append(f"{statuses['sending']} messages en cours d'envoi par un autre processus")
    if statuses["ambiguous"]:
        sentences.append(
            f"{statuses['ambiguous']} messages incertains (le fournisseur n'a pas encore confirmé) : "
            "le répartiteur redemandera, rien n'est renvoyé à l'aveugle"
        )
    return sentences
