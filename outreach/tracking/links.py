"""The per-message links rendering needs (`outreach.rendering.links.Links`), pointing at this service.

The delivery pipeline builds one `LinkBuilder` per run and calls `for_message(message_id)` for each
message it renders; the e-mail channel puts `unsubscribe` in the List-Unsubscribe header too, and the
SMS channel uses `status_callback(claimed.key)` as Twilio's StatusCallback. (No import of the
pipeline here: it is the pipeline that imports this module.)
"""

from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from outreach.rendering.links import Links
from outreach.tracking.tokens import Purpose, TokenSigner
from outreach.tracking.twilio import MESSAGE_KEY_PARAM


class LinkBuilder:
    """Signed URLs for one deployment of the tracking service (`base_url`, e.g. https://suivi.example.fr)."""

    def __init__(self, base_url: str, signer: TokenSigner) -> None:
        self._base = base_url.rstrip("/")
        self._short_base = self._base.split("://", 1)[-1]
        self._signer = signer

    def for_message(self, message_id: int, pixel: bool = True) -> Links:
        """The links of one message; `pixel=False` for messages that must not track opens."""
        code = self._signer.sign_response(message_id)
        return Links(
            unsubscribe=self.unsubscribe(message_id),
            response=f"{self._base}/r/{code}",
            response_short=f"{self._short_base}/r/{code}",
            pixel=f"{self._base}/o/{self._signer.sign(Purpose.OPEN, message_id)}.gif" if pixel else None,
            track=partial(self.click, message_id),
        )

    def unsubscribe(self, message_id: int) -> str:
        """The one-click unsubscribe URL (page and RFC 8058 List-Unsubscribe-Post target)."""
        return f"{self._base}/u/{self._signer.sign(Purpose.UNSUBSCRIBE, message_id)}"

    def click(self, message_id: int, url: str) -> str:
        """`url` wrapped in a click redirect; non-web links (mailto:, tel:) are left as they are."""
        if urlsplit(url).scheme not in ("http", "https"):
            return url
        return f"{self._base}/c/{self._signer.sign(Purpose.CLICK, message_id, url)}"

    def satisfaction(self, message_id: int) -> str:
        """The satisfaction survey of a post-contact message."""
        return f"{self._base}/s/{self._signer.sign(Purpose.SURVEY, message_id)}"

    def status_callback(self, key: str) -> str:
        """Twilio's StatusCallback for an SMS: our message key (`m<id>`) rides along as a query parameter."""
        return f"{self._base}/webhooks/twilio/status?{MESSAGE_KEY_PARAM}={key}"
