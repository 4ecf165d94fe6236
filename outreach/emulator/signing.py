"""The two signatures the emulator puts on what it posts back, as the real providers do.

SendGrid's Signed Event Webhook: ECDSA P-256 / SHA-256 over `timestamp + body`, base64 DER in
`X-Twilio-Email-Event-Webhook-Signature`; the verifier's key is the base64 DER public key (what
SendGrid shows in its settings and `EventWebhook` expects). Twilio's `X-Twilio-Signature` is
computed with the SDK's own `RequestValidator`, so both sides agree by construction.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


class EventSigner:
    """Holds a fresh P-256 private key for one emulator run and signs event batches with it."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode("ascii")
        """The verification key, in the form SendGrid's settings page shows it."""

    def sign(self, timestamp: str, body: str) -> str:
        """The base64 signature of `timestamp + body` (body as the exact text posted)."""
        signature = self._key.sign((timestamp + body).encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The `X-Twilio-Signature` Twilio would send for a form POST of `params` to `url`."""
    return RequestValidator(auth_token).compute_signature(url, params)
