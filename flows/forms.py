"""The forms operators fill in the Prefect UI: French labels and help, and choices read from the files.

Prefect builds a deployment's form from its flow's signature, titling each field with the parameter's
name and dropping any `Annotated[..., Field(title=...)]` (Prefect 3.8: `parameter_schema` sets
`title=param.name`). The flows keep their Python signatures (the CLI, the demo and the benchmarks call
them), and each deployment's form is relabelled here, when `outreach serve` registers it: a French
title and description for every field, and the campaigns and steps of the files as choices, so an
operator picks one instead of typing a name.
"""

from __future__ import annotations

from typing import Any

from prefect.deployments.runner import RunnerDeployment

from outreach.campaigns.definition import Campaign
from outreach.campaigns.library import CampaignLibrary

RUN_CAMPAIGN_FIELDS = {
    "campaign": ("Campagne", "La campagne à lancer (un fichier de campaigns/)."),
    "step": ("Étape", "L'étape à lancer ; vide : la première étape de la campagne."),
    "as_of": ("Date de référence", "Le jour dont on prend le segment ; vide : aujourd'hui (heure de Paris)."),
    "dry_run": (
        "Répétition (rien n'est envoyé)",
        "Cochée : tout est calculé et rendu, des aperçus sont écrits, aucun message ne part. Décochez pour "
        "envoyer vraiment.",
    ),
    "limit": (
        "Nombre maximal de messages",
        "Pour un essai : envoyer au plus ce nombre de messages. Le reste attend en file, et rien ne le "
        "reprend automatiquement : relancez l'étape pour l'envoyer.",
    ),
    "wave": (
        "Vague",
        "Le nom de la vague ; vide : la date de référence. Une nouvelle vague reprend les personnes "
        "qu'un refus a écartées.",
    ),
    "require_approval": (
        "Validation avant envoi",
        "Cochée : l'exécution s'arrête après les décisions et attend qu'un opérateur valide l'envoi.",
    ),
    "parallel": (
        "Tâches d'envoi en parallèle",
        "Combien de lots de 10 000 messages partent en même temps (1 à 32).",
    ),
    "on_task_workers": (
        "Envoyer sur les workers",
        "Cochée : les lots sont envoyés par les processus `outreach worker` au lieu de celui-ci.",
    ),
    "now": (
        "Horloge simulée (essais seulement)",
        "Laissez vide. Remplace l'heure réelle pour simuler un parcours sur plusieurs jours.",
    ),
}
"""run-campaign's fields: name -> (title, description)."""

PURGE_FIELDS = {
    "dry_run": (
        "Purge à blanc (rien n'est supprimé)",
        "Cochée : compte ce qui a dépassé sa durée de conservation, sans rien supprimer.",
    ),
}


def label(deployment: RunnerDeployment, fields: dict[str, tuple[str, str]]) -> RunnerDeployment:
    """Give the deployment's form fields their French titles and descriptions."""
    properties = deployment._parameter_openapi_schema.properties  # private: see the module docstring
    for name, (title, description) in fields.items():
        properties[name] = {**properties[name], "title": title, "description": description}
    return deployment


def _choose(schema: dict[str, Any], choices: list[str]) -> None:
    """Restrict a string field (optional or not) to `choices`."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch["enum"] = choices


def run_campaign_form(
    deployment: RunnerDeployment, library: CampaignLibrary, campaign: Campaign | None = None
) -> RunnerDeployment:
    """run-campaign's form: French labels, and the campaigns and steps of the files as choices (one
    campaign's own steps on its deployment)."""
    label(deployment, RUN_CAMPAIGN_FIELDS)
    properties = deployment._parameter_openapi_schema.properties
    campaigns = [campaign] if campaign else list(library.campaigns.values())
    _choose(properties["campaign"], [c.name for c in campaigns])
    _choose(properties["step"], sorted({step.name for c in campaigns for step in c.steps}))
    return deployment
