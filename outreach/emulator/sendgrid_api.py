"""SendGrid v3 mail/send as the emulator understands it: validation, substitution, expansion.

Pure functions over the decoded JSON payload, so the HTTP layer stays thin. Error messages and
`field` paths follow SendGrid's own 400 answers. Legacy `substitutions` are applied in a single
pass (a substituted value is never scanned again), to subject and every content part, which is what
lets a sender reconstruct each recipient's exact body from shared content plus per-person pieces.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from outreach.emulator.store import DeliveredEmail

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS_PER_PERSONALIZATION = 1000
MAX_SUBSTITUTION_BYTES = 10_000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_CATEGORIES = 10
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    )
)
"""Headers SendGrid does not let a request set (its v3 mail/send reference)."""
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}$")

Error = dict[str, Any]


def error(message: str, field: str | None) -> Error:
    """One entry of SendGrid's `{"errors": [...]}` answer."""
    return {"message": message, "field": field, "help": None}


def valid_address(address: object) -> bool:
    """A plausible e-mail address, as SendGrid's syntax check sees it."""
    return isinstance(address, str) and len(address) <= 254 and _ADDRESS.match(address) is not None


def validate(payload: Any) -> list[Error]:
    """Every problem SendGrid would report for this mail/send body (empty when it is acceptable)."""
    if not isinstance(payload, dict):
        return [error("Bad Request", None)]
    errors = _validate_from(payload.get("from"))
    errors += _validate_content(payload)
    errors += _validate_categories(payload.get("categories"))
    errors += _validate_headers(payload.get("headers"), "headers")
    personalizations = payload.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        errors.append(
            error(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
            )
        )
        return errors
    if len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(
            error("You may not have more than 1000 personalizations per API request.", "personalizations")
        )
        return errors
    needs_subject = not payload.get("subject") and not payload.get("template_id")
    for index, personalization in enumerate(personalizations):
        errors += _validate_personalization(index, personalization, needs_subject)
    return errors


def _validate_from(sender: Any) -> list[Error]:
    if not isinstance(sender, dict) or "email" not in sender:
        return [
            error(
                "The from object must be provided for every email send. It is an object that requires "
                "the email parameter, but may also contain a name parameter.",
                "from",
            )
        ]
    if not valid_address(sender["email"]):
        return [error("The from email does not contain a valid address.", "from.email")]
    return []


def _validate_content(payload: dict[str, Any]) -> list[Error]:
    content = payload.get("content")
    if not content:
        if str(payload.get("template_id", "")).startswith("d-"):
            return []
        return [
            error(
                "Unless a valid template_id is provided, the content parameter is required. There must "
                "be at least one defined content block.",
                "content",
            )
        ]
    if not isinstance(content, list):
        return [error("Invalid type. Expected: array, given: object.", "content")]
    errors = []
    types = [part.get("type") if isinstance(part, dict) else None for part in content]
    if "text/plain" in types and types[0] != "text/plain":
        errors.append(
            error(
                "If present, text/plain content must be first, followed by text/html, followed by any "
                "other content.",
                "content.0.type",
            )
        )
    for index, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("value"), str) or not part["value"]:
            errors.append(
                error(
                    "The content value must be a string at least one character in length.",
                    f"content.{index}.value",
                )
            )
    return errors


def _validate_categories(categories: Any) -> list[Error]:
    if categories is None:
        return []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        return [error("The categories parameter must be an array of strings.", "categories")]
    if len(categories) > MAX_CATEGORIES:
        return [error("You cannot have more than 10 categories associated with each message.", "categories")]
    if any(len(c) > 255 for c in categories):
        return [error("A category cannot have more than 255 characters.", "categories")]
    return []


def _validate_personalization(index: int, personalization: Any, needs_subject: bool) -> list[Error]:
    at = f"personalizations.{index}"
    if not isinstance(personalization, dict):
        return [error("Invalid type. Expected: object.", at)]
    recipients = personalization.get("to")
    if not isinstance(recipients, list) or not recipients:
        return [
            error(
                "The to array is required for all personalization objects, and must have at least one "
                "email object with a valid email address.",
                f"{at}.to",
            )
        ]
    errors = []
    everyone = recipients + list(personalization.get("cc") or []) + list(personalization.get("bcc") or [])
    if len(everyone) > MAX_RECIPIENTS_PER_PERSONALIZATION:
        errors.append(error("The total number of recipients must be 1000 or less.", at))
    for position, recipient in enumerate(recipients):
        if not isinstance(recipient, dict) or not valid_address(recipient.get("email")):
            errors.append(error("Does not contain a valid address.", f"{at}.to.{position}.email"))
    if needs_subject and not personalization.get("subject"):
        errors.append(
            error(
                "The subject is required. You can get around this requirement if you use a template "
                "with a subject defined or if every personalization has a subject defined.",
                "subject",
            )
        )
    errors += _validate_string_map(
        personalization.get("substitutions"), f"{at}.substitutions", "substitutions"
    )
    errors += _validate_string_map(personalization.get("custom_args"), f"{at}.custom_args", "custom_args")
    errors += _validate_headers(personalization.get("headers"), f"{at}.headers")
    return errors


def _validate_headers(headers: Any, field: str) -> list[Error]:
    if headers is None:
        return []
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        return [error("The headers object must contain only string keys and string values.", field)]
    reserved = sorted(name for name in headers if name.lower() in RESERVED_HEADERS)
    if reserved:
        return [error(f"The header {reserved[0]} is reserved and may not be set.", field)]
    return []


def _validate_string_map(values: Any, field: str, what: str) -> list[Error]:
    if values is None:
        return []
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        return [error(f"The {what} object must contain only string keys and string values.", field)]
    size = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    if size > MAX_SUBSTITUTION_BYTES:
        return [error(f"The {what} object may not exceed 10000 bytes per personalization object.", field)]
    return []


@lru_cache(maxsize=64)
def _pattern(tags: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(tag) for tag in sorted(tags, key=len, reverse=True)))


def substitute(value: str, substitutions: dict[str, str]) -> str:
    """`value` with every tag replaced by its value, in one pass (longest tag first)."""
    if not substitutions:
        return value
    if len(substitutions) == 1:
        ((tag, replacement),) = substitutions.items()
        return value.replace(tag, replacement)
    return _pattern(tuple(substitutions)).sub(lambda match: substitutions[match.group(0)], value)


def expand(
    payload: dict[str, Any], x_message_id: str, now: float, keep_content: bool
) -> list[DeliveredEmail]:
    """One `DeliveredEmail` per `to` recipient of a validated payload, with substitutions applied."""
    parts = {part["type"]: part["value"] for part in payload.get("content") or ()}
    base_subject = payload.get("subject") or ""
    base_args = payload.get("custom_args") or {}
    base_headers = payload.get("headers") or {}
    categories = list(payload.get("categories") or ())
    sender = payload["from"]["email"]
    template_id = payload.get("template_id")
    delivered = []
    for index, personalization in enumerate(payload["personalizations"]):
        substitutions = personalization.get("substitutions") or {}
        subject = substitute(personalization.get("subject") or base_subject, substitutions)
        html = text = None
        if keep_content:
            html = substitute(parts["text/html"], substitutions) if "text/html" in parts else None
            text = substitute(parts["text/plain"], substitutions) if "text/plain" in parts else None
        custom_args = base_args | (personalization.get("custom_args") or {})
        headers = base_headers | (personalization.get("headers") or {})
        for position, recipient in enumerate(personalization["to"]):
            delivered.append(
                DeliveredEmail(
                    recipient=recipient["email"],
                    subject=subject,
                    html=html,
                    text=text,
                    custom_args=custom_args,
                    categories=categories,
                    sg_message_id=f"{x_message_id}.filterdrecv-emulator-{index}-{position}.0",
                    x_message_id=x_message_id,
                    from_email=sender,
                    created=now,
                    template_id=template_id,
                    headers=headers,
                )
            )
    return delivered


_QUERY_TERM = re.compile(
    r"""\s*unique_args\['(?P<name>[^']+)'\]\s*(?:=\s*"(?P<value>[^"]*)"|IN\s*\((?P<values>[^)]*)\))\s*""",
    re.IGNORECASE,
)


def parse_activity_query(query: str) -> list[tuple[str, str]] | None:
    """The (arg, value) pairs of an Email Activity query, or None when it uses unsupported syntax.

    Supported subset: `unique_args['k']="v"`, `unique_args['k'] IN ("v1","v2")`, joined by OR.
    """
    pairs: list[tuple[str, str]] = []
    for term in re.split(r"\s+OR\s+", query.strip(), flags=re.IGNORECASE):
        match = _QUERY_TERM.fullmatch(term)
        if match is None:
            return None
        if match["value"] is not None:
            pairs.append((match["name"], match["value"]))
        else:
            pairs += [(match["name"], v) for v in re.findall(r'"([^"]*)"', match["values"])]
    return pairs


def activity_entry(email: DeliveredEmail, status: str) -> dict[str, Any]:
    """One message as the Email Activity API lists it."""
    return {
        "from_email": email.from_email,
        "msg_id": email.sg_message_id,
        "subject": email.subject,
        "to_email": email.recipient,
        "status": status,
        "opens_count": 0,
        "clicks_count": 0,
        "last_event_time": _iso(email.created),
        "unique_args": email.custom_args,
    }


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
