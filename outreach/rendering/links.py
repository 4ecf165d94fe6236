"""The contract between rendering and tracking: which links a message carries, and who fills them.

Rendering never invents tracking URLs. The caller (the delivery capability, through the tracking one)
passes a `Links` per message:

- `unsubscribe`: the one-click opt-out URL printed in every e-mail footer (required by law and by
  mailbox providers);
- `pixel`: the open-tracking image URL, or None for no pixel (the layout then omits the <img>);
- `response` / `response_short`: where a letter's reader answers (QR code and the address to type);
- `track(url)`: wraps each outbound link of a template (`{{ track(fund.national_site) }}`) so that a
  click can be recorded; it must return an absolute URL.

`Links.placeholders(reference)` gives well-formed stand-ins under the reserved `.invalid` domain, so a
preview or a test never points at a real tracking service, and an unfilled link is obvious.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

PLACEHOLDER_HOST = "https://suivi.carsat-centreouest.invalid"


def untracked(url: str) -> str:
    """The default `track`: the link is left as written (no click tracking)."""
    return url


@dataclass(frozen=True, slots=True)
class Links:
    """Per-message links; see the module docstring for the contract."""

    unsubscribe: str
    response: str
    response_short: str
    pixel: str | None = None
    track: Callable[[str], str] = field(default=untracked)

    @classmethod
    def placeholders(cls, reference: str) -> Links:
        """Stand-in links for previews and tests (never reachable: `.invalid` is reserved)."""
        return cls(
            unsubscribe=f"{PLACEHOLDER_HOST}/desinscription/{reference}",
            response=f"{PLACEHOLDER_HOST}/r/{reference}",
            response_short=f"suivi.carsat-centreouest.invalid/r/{reference}",
        )
