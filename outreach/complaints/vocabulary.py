"""The values a complaint's coded fields take, with the French a message prints for them."""

from __future__ import annotations

COMPLAINT_CHANNELS: dict[str, str] = {
    "phone": "par téléphone",
    "letter": "par courrier",
    "online": "par le formulaire en ligne",
    "agency": "dans votre agence retraite",
    "france_services": "dans un espace France Services",
}
"""How a complaint reached the fund (`complaints.received_by`) -> "reçue par téléphone"."""

COMPLAINT_OUTCOMES = ("upheld", "partly_upheld", "not_upheld", "withdrawn")
"""The answer given at closure (`complaints.outcome`): fondée, en partie fondée, non fondée, retirée."""

SUBJECT_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
"""`complaints.subject` is a category code such as `pension_not_paid` (it fits `String(40)`)."""
