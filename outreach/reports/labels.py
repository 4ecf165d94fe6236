"""French wording of the codes a report shows (the team reads French; the code speaks English)."""

from __future__ import annotations

MEASURES = {
    "targeted": "Ciblés",
    "excluded": "Exclus",
    "deferred": "Reportés",
    "holdout": "Groupe témoin",
    "pending": "En attente",
    "sent": "Envoyés",
    "failed": "Échecs",
    "delivered": "Délivrés",
    "opened": "Ouverts (humains)",
    "clicked": "Cliqués",
    "responded": "Réponses",
    "bounced": "Rejetés (bounces)",
    "opted_out": "Désinscrits",
}
CHANNELS = {"email": "E-mail", "sms": "SMS", "letter": "Courrier", "—": "Sans canal"}
BREAKDOWNS = {
    "journey": "Parcours",
    "variant": "Version du message (fragile / standard)",
    "arm": "Variante A/B",
    "age_band": "Tranche d'âge",
    "segment": "Segment (appartenance à la date de la vague)",
}
REASONS = {
    "deceased": "décédé",
    "opted_out": "opposition à tout contact",
    "unreachable": "injoignable",
    "no_email": "pas d'adresse e-mail",
    "no_mobile": "pas de mobile",
    "no_address": "pas d'adresse postale",
    "journey_gap": "contacté récemment dans un autre parcours",
    "pressure_cap": "plafond de sollicitations atteint",
    "not_approved": "envoi refusé par l'opérateur",
}
OUTCOMES = {
    "online_claim_started": "Demande de retraite en ligne commencée",
    "claim_filed": "Demande de retraite déposée",
    "appointment_booked": "Rendez-vous pris",
    "survivor_pension_claimed": "Pension de réversion demandée",
    "career_regularised": "Carrière régularisée",
    "workshop_attended": "Atelier ou webinaire suivi",
    "online_account_created": "Espace personnel créé",
    "clicked": "Clic",
}
GROUPS = {"contacted": "contactés", "holdout": "groupe témoin"}


def label(table: dict[str, str], code: str | None) -> str:
    """The French label of `code`, or the code itself when it has none (never hide a new value)."""
    if code is None:
        return "—"
    return table.get(code, code)
