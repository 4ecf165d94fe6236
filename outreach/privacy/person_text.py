"""A person's file as plain French text: what the team reads out or sends to the person who asked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

FIELD_LABELS = {
    "person_id": "Identifiant",
    "civility": "Civilité",
    "first_name": "Prénom",
    "last_name": "Nom",
    "birth_date": "Date de naissance",
    "status": "Situation",
    "worker_type": "Statut professionnel",
    "email": "Adresse e-mail",
    "mobile_phone": "Téléphone mobile",
    "address_complement": "Complément d'adresse",
    "address_building": "Bâtiment",
    "address_street": "Voie",
    "address_locality": "Lieu-dit",
    "postal_code": "Code postal",
    "city": "Commune",
    "country": "Pays",
    "retirement_date": "Date de départ en retraite",
    "spouse_death_date": "Date du décès du conjoint",
    "receives_survivor_pension": "Perçoit une pension de réversion",
    "digital_profile": "Profil numérique",
    "fragility_flags": "Situations de fragilité",
    "preferred_channel": "Canal préféré",
    "created_at": "Enregistré le",
    "updated_at": "Mis à jour le",
}
CHANNEL_LABELS = {
    "email": "e-mail",
    "sms": "SMS",
    "letter": "courrier",
    "partner_sharing": "partage avec les partenaires",
    "all": "tous les canaux",
}
VALUE_LABELS = {
    "status": {"active": "en activité", "retired": "retraité(e)", "deceased": "décédé(e)"},
    "worker_type": {"salaried": "salarié(e)", "self_employed": "travailleur indépendant"},
    "digital_profile": {
        "technophile": "à l'aise avec le numérique",
        "non_technophile": "peu à l'aise avec le numérique",
    },
    "fragility_flags": {
        "aah": "AAH",
        "rsa": "RSA",
        "invalidity_pension": "pension d'invalidité",
        "disability": "handicap",
        "france_travail": "inscrit(e) à France Travail",
        "financial_difficulty": "difficultés financières",
    },
    "preferred_channel": CHANNEL_LABELS,
}
"""Coded values of `people`, in words (fragility flags are a ';' list)."""
STATUS_LABELS = {
    "planned": "prévu",
    "queued": "en attente d'envoi",
    "sending": "en cours d'envoi",
    "sent": "envoyé",
    "failed": "échec",
    "ambiguous": "issue incertaine",
    "excluded": "non contacté",
    "deferred": "reporté",
    "holdout": "groupe témoin (non contacté)",
}


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _field(name: str, value: Any) -> str:
    labels = VALUE_LABELS.get(name)
    if labels is None or not value:
        return _value(value)
    return ", ".join(labels.get(code, code) for code in str(value).split(";"))


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, *(lines or ["  (rien)"])]


def _message_lines(message: dict[str, Any]) -> list[str]:
    rehearsal = " (répétition, rien n'a été envoyé)" if message["dry_run"] else ""
    channel = CHANNEL_LABELS.get(message["channel"] or "", "aucun canal")
    lines = [
        f"  - {message['campaign']}, vague {message['wave']}, étape {message['step']}{rehearsal} : "
        f"{STATUS_LABELS.get(message['status'], message['status'])}, {channel}, motif "
        f"{_value(message['reason'])}, envoyé le {_value(message['sent_at'])}"
    ]
    lines += [
        f"      événement {event['event']} le {_value(event['occurred_at'])}"
        + (" (automatique)" if event["machine"] else "")
        for event in message["events"]
    ]
    return lines


def render_text(held: dict[str, Any]) -> str:
    """The file `outreach.privacy.person.person_file` returns, section by section."""
    person = held["person"]
    lines = [f"Données détenues sur la personne {person['person_id']}"]
    lines += _section(
        "Identité et coordonnées",
        [f"  {label} : {_field(name, person[name])}" for name, label in FIELD_LABELS.items()],
    )
    lines += _section(
        "Oppositions",
        [
            f"  - {CHANNEL_LABELS.get(o['channel'], o['channel'])} (origine : {o['source']}, "
            f"le {_value(o['created_at'])})"
            for o in held["opt_outs"]
        ],
    )
    lines += _section(
        "Réclamations",
        [
            f"  - {c['complaint_id']} ({c['subject']}) ouverte le {_value(c['opened_on'])}, "
            + (f"close le {_value(c['closed_on'])}" if c["closed_on"] else "toujours ouverte")
            for c in held["complaints"]
        ],
    )
    lines += _section(
        "Segments (publics ciblés)",
        [
            f"  - {s['segment']} depuis le {_value(s['entered_on'])}"
            + (f", sorti le {_value(s['left_on'])}" if s["left_on"] else " (actuel)")
            for s in held["segments"]
        ],
    )
    lines += _section("Messages", [line for m in held["messages"] for line in _message_lines(m)])
    lines += _section(
        "Réponses aux enquêtes de satisfaction",
        [
            f"  - note {a['score']}/5 le {_value(a['answered_at'])}"
            + (f" : « {a['comment']} »" if a["comment"] else "")
            for a in held["satisfaction_answers"]
        ],
    )
    lines += _section(
        "Démarches enregistrées",
        [f"  - {o['outcome']} le {_value(o['occurred_on'])}" for o in held["outcomes"]],
    )
    lines += _section(
        "Fichiers remis à des partenaires (listes qui ont pu l'inclure)",
        [f"  - {e['profile']} au {_value(e['as_of'])}, fichier {e['file']}" for e in held["exports"]],
    )
    lines += _section(
        "Journal d'audit (actes portant sur cette personne)",
        [f"  - {_value(a['at'])} : {a['action']} par {a['actor']}" for a in held["audit"]],
    )
    return "\n".join(lines)
