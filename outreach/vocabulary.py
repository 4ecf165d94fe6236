"""The closed vocabularies of the fund's data, shared by import, generation, segments and policy."""

from __future__ import annotations

STATUSES = ("active", "retired", "deceased")
WORKER_TYPES = ("salaried", "self_employed")
DIGITAL_PROFILES = ("technophile", "non_technophile")
CIVILITIES = ("M", "Mme")
FRAGILITY_FLAGS = ("aah", "rsa", "invalidity_pension", "disability", "france_travail", "financial_difficulty")
CHANNELS = ("email", "sms", "letter")
OPT_OUT_SOURCES = ("import", "sms_stop", "unsubscribe", "objection")

JOURNEYS = (
    "follow_career",
    "prepare_retirement",
    "apply_for_retirement",
    "follow_retirement",
    "complaint",
    "bereavement",
)

# The fund's territory (CARSAT Centre-Ouest): département code -> name.
TERRITORY = {
    "16": "Charente",
    "17": "Charente-Maritime",
    "19": "Corrèze",
    "23": "Creuse",
    "79": "Deux-Sèvres",
    "86": "Vienne",
    "87": "Haute-Vienne",
}
