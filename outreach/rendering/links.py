"""The contract between rendering and tracking: which links a message carries, and who fills them.

Rendering never invents tracking URLs. The caller (the delivery capability, through the tracking one)
passes a `Links` per message:

- `unsubscribe`: the one-click opt-out URL printed in every e-mail footer (required by law and by
  mailbox providers);
- `pixel`: the open-tracking image URL, or None for no pixel (the layout then omits the <img>);
- `response` / `response_short`: where a letter's reader answers (QR code and the address to type);
- `track(url)`: wraps each outbound link of a template (`{{ track(fund.national_site) }}`) so that a
  click can be recorded; it must return an absolute URL. Templates get it behind `TrackLink`, which
  takes the URL and nothing else: what the caller passes may be able to sign for any message.

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


class TrackLink:
    """The `track` a template calls: this message's click signer, with nothing else to reach.

    The tracking service passes `functools.partial(LinkBuilder.click, message_id)`. Handed to a
    template as is, its `func` attribute is the builder's signer for any message id
    (`track.func(other_id, url)`), and the sandbox allows it: it refuses only `_` names. This object
    takes the URL as its only, positional, argument, and shows a template nothing but the sandbox's
    own refusal mark.
    """

    __slots__ = ("_sign",)

    def __init__(self, sign: Callable[[str], str]) -> None:
        self._sign = sign

    def __call__(self, url: str, /) -> str:
        return self._sign(url)

    @property
    def unsafe_callable(self) -> bool:
        """The sandbox's marks of the signer (`jinja2.sandbox.unsafe`): one it refuses stays refused."""
        sign = self._sign
        return bool(getattr(sign, "unsafe_callable", False) or getattr(sign, "alters_data", False))


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
