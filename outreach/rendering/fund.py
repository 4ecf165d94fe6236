"""The fund's contact points, in one place: every layout (e-mail, SMS, letter) reads them from here.

They are facts about CARSAT Centre-Ouest that change rarely but do change (a phone number, an address),
so templates never spell them out: they use `fund.phone`, `fund.national_site`, ... Written with the
typographic apostrophe (’) of the e-mails and letters; SMS transliterate it to ' (GSM-7).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Fund:
    """Who sends, and how people can reach the fund (available to templates as `fund`)."""

    name: str = "CARSAT Centre-Ouest"
    brand: str = "l’Assurance retraite"
    national_site: str = "https://www.lassuranceretraite.fr"
    national_site_label: str = "lassuranceretraite.fr"
    regional_site: str = "https://www.carsat-centreouest.fr"
    regional_site_label: str = "carsat-centreouest.fr"
    france_services_site: str = "https://www.france-services.gouv.fr"
    france_services_label: str = "france-services.gouv.fr"
    phone: str = "3960"
    phone_note: str = "service gratuit + prix de l’appel"
    phone_hours: str = "du lundi au vendredi, de 8 h à 17 h"
    phone_abroad: str = "+33 9 71 10 39 60"
    address_street: str = "37 avenue du Président René Coty"
    address_city: str = "87048 Limoges Cedex"
    letter_city: str = "Limoges"
    privacy_contact: str = "délégué à la protection des données"
    """Who a person writes to about their personal data (at the fund's postal address)."""
    sms_sender: str = "CARSAT CO"
    sms_signature: str = "CARSAT Centre-Ouest"
    sms_stop: str = "STOP au 36111"


FUND = Fund()

FUND_VALUES = MappingProxyType(asdict(FUND))
"""What templates see as `fund`: a read-only mapping, the cheapest thing for the sandbox to read."""
