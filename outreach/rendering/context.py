"""The template context: what a template may read about a person, the fund and the message.

A template sees plain dicts and strings, prepared once per person, so rendering costs only Jinja's own
work. Names are English, values are ready-to-print French (`person.civility_label` is "Madame").

    person.id, civility ("M"/"Mme"/None), civility_label ("Madame"/"Monsieur"/""),
        civility_short ("Mme"/"M."/""), first_name, last_name, full_name,
        addressee ("Madame Lefèvre", "Marie Lefèvre" or "Madame, Monsieur"), short_addressee
        ("Mme Lefèvre", ...), salutation ("Madame", "Monsieur" or "Madame, Monsieur") for a letter's
        "Madame," and its closing formula, greeting / vocative / sms_greeting / sms_vocative
        (see `salutations`: the one place the rules for addressing a person are decided),
        age, birth_date, status, worker_type, is_self_employed, retirement_date,
        first_payment_date (the 9th of the month after retirement), spouse_death_date,
        fragility_flags (list), is_fragile, digital_profile, email, mobile_phone, postal_code, city
    address_lines   the AFNOR recipient block (computed, and checked, only when a letter reads it)
    today, today_fr the date of the message and its French spelling ("26 novembre 2026")
    reference       the message reference printed on letters and used in placeholder links
    links, track    see `outreach.rendering.links` (`track` signs click links for this message only)
    extra           campaign-specific values (see EXTRA_FIELDS); reading one not given is an error
    fund            the fund's contact points (an environment global, see `outreach.rendering.fund`)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from outreach.rendering.address import AddressLines
from outreach.rendering.french import french_date
from outreach.rendering.links import Links, TrackLink

CIVILITIES = {"Mme": ("Madame", "Mme"), "M": ("Monsieur", "M.")}

PERSON_FIELDS = (
    "id",
    "civility",
    "civility_label",
    "civility_short",
    "first_name",
    "last_name",
    "full_name",
    "addressee",
    "short_addressee",
    "salutation",
    "greeting",
    "vocative",
    "sms_greeting",
    "sms_vocative",
    "age",
    "birth_date",
    "status",
    "worker_type",
    "is_self_employed",
    "retirement_date",
    "first_payment_date",
    "spouse_death_date",
    "fragility_flags",
    "is_fragile",
    "digital_profile",
    "email",
    "mobile_phone",
    "postal_code",
    "city",
)
"""Every key of `person` (the lint checks templates against this list)."""

EXTRA_FIELDS = {
    "complaint_reference": "the complaint's number, as given to the person (complaint journey)",
    "complaint_opened_on": "the date the complaint was received (complaint journey)",
    "complaint_received_by": "how it reached us, ready to print: 'par téléphone' (complaint journey)",
    "complaint_closed_on": "the date the complaint was closed, or None while open (complaint journey)",
}
"""Campaign-specific values a template may read as `extra.NAME`; the campaign step must supply them."""

CONTEXT_FIELDS = ("person", "address_lines", "today", "today_fr", "reference", "links", "track", "extra")
"""Top-level names of a context (plus `fund`, a global)."""

PAYMENT_DAY = 9
"""The general scheme pays each month's pension around the 9th of the following month."""


def _as_date(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _age(birth_date: date | None, as_of: date) -> int | None:
    if birth_date is None:
        return None
    return as_of.year - birth_date.year - ((as_of.month, as_of.day) < (birth_date.month, birth_date.day))


def _first_payment(retirement_date: date | None) -> date | None:
    """A pension starting in month M is first paid on the 9th of month M+1."""
    if retirement_date is None:
        return None
    year, month = divmod(retirement_date.year * 12 + retirement_date.month, 12)
    return date(year, month + 1, PAYMENT_DAY)


SMS_NAME_LIMIT = 24
"""The longest name an SMS greets with ("M. Châteauneuf-Rivière" fits): longer ones, compound names
with particles, would cost the message a second part, so the SMS says "Bonjour Madame," instead."""


def salutations(civility: str | None, first_name: str, last_name: str) -> dict[str, str]:
    """How every message addresses the person: the rules, decided once for every template.

    - Civility known: "Madame Lefèvre" (e-mail), "Mme Lefèvre" (SMS), "Madame," (letter).
    - No civility but a first name: the full name, "Marie Lefèvre"; a letter says "Madame, Monsieur,".
    - Neither: no name at all ("Bonjour,", "Bienvenue à la retraite !"), never "Madame, Monsieur"
      glued inside a sentence; only a letter's formal "Madame, Monsieur," keeps it.
    - An SMS greets by civility alone ("Bonjour Madame,") when the name is longer than
      `SMS_NAME_LIMIT`, so that the standard SMS stay in one part for everyone.

    `greeting` opens a message ("Bonjour Madame Lefèvre,"); `vocative` is put after a phrase that
    addresses the person (", Madame Lefèvre" in "Bienvenue à la retraite, Madame Lefèvre !"), with
    its comma, or is empty; `sms_greeting` and `sms_vocative` are their SMS forms.
    """
    label, short = CIVILITIES.get(civility or "", ("", ""))
    full_name = f"{first_name} {last_name}".strip()
    if label and last_name:
        addressee, short_addressee, salutation = f"{label} {last_name}", f"{short} {last_name}", label
    elif first_name:
        addressee = short_addressee = full_name
        salutation = label or "Madame, Monsieur"
    else:
        addressee = short_addressee = label
        salutation = label or "Madame, Monsieur"
    sms_name = short_addressee if len(short_addressee) <= SMS_NAME_LIMIT else label
    return {
        "addressee": addressee or "Madame, Monsieur",
        "short_addressee": short_addressee or "Madame, Monsieur",
        "salutation": salutation,
        "greeting": f"Bonjour {addressee}," if addressee else "Bonjour,",
        "vocative": f", {addressee}" if addressee else "",
        "sms_greeting": f"Bonjour {sms_name}," if sms_name else "Bonjour,",
        "sms_vocative": f", {sms_name}" if sms_name else "",
    }


def person_view(person: Mapping[str, Any], as_of: date) -> dict[str, Any]:
    """The `person` part of the context, from a mapping whose keys are `people` columns."""
    civility = person.get("civility") or None
    label, short = CIVILITIES.get(civility or "", ("", ""))
    first_name = (person.get("first_name") or "").strip()
    last_name = (person.get("last_name") or "").strip()
    full_name = f"{first_name} {last_name}".strip()
    names = salutations(civility, first_name, last_name)
    birth_date = _as_date(person.get("birth_date"))
    retirement_date = _as_date(person.get("retirement_date"))
    flags_text = person.get("fragility_flags") or ""
    flags = [flag for flag in flags_text.split(";") if flag]
    digital_profile = person.get("digital_profile") or None
    worker_type = person.get("worker_type") or None
    return {
        "id": person.get("person_id"),
        "civility": civility,
        "civility_label": label,
        "civility_short": short,
        "first_name": first_name,
        "last_name": last_name,
        "full_name": full_name,
        **names,
        "age": _age(birth_date, as_of),
        "birth_date": birth_date,
        "status": person.get("status"),
        "worker_type": worker_type,
        "is_self_employed": worker_type == "self_employed",
        "retirement_date": retirement_date,
        "first_payment_date": _first_payment(retirement_date),
        "spouse_death_date": _as_date(person.get("spouse_death_date")),
        "fragility_flags": flags,
        "is_fragile": bool(flags) or digital_profile == "non_technophile",
        "digital_profile": digital_profile,
        "email": person.get("email") or None,
        "mobile_phone": person.get("mobile_phone") or None,
        "postal_code": person.get("postal_code") or None,
        "city": person.get("city") or None,
    }


def person_context(
    person: Mapping[str, Any],
    *,
    as_of: date,
    links: Links | None = None,
    extra: Mapping[str, Any] | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Everything a template may read for one message to `person` (see the module docstring).

    `reference` defaults to "CO-<person_id>"; `links` to `Links.placeholders(reference)` (previews and
    tests); the delivery capability passes real ones.
    """
    reference = reference or f"CO-{person.get('person_id')}"
    links = links or Links.placeholders(reference)
    return {
        "person": person_view(person, as_of),
        "address_lines": AddressLines(person),
        "today": as_of,
        "today_fr": french_date(as_of),
        "reference": reference,
        "links": {
            "unsubscribe": links.unsubscribe,
            "response": links.response,
            "response_short": links.response_short,
            "pixel": links.pixel,
        },
        "track": TrackLink(links.track),
        "extra": dict(extra or {}),
    }
