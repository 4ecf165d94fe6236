"""Why a request to the tracking service is refused, with the HTTP status it deserves.

Rejected            (a 4xx: the caller's fault; nothing was stored)
├── BadSignature    403: the signature does not verify, or is missing
├── StaleRequest    403: the signed timestamp is too old or in the future (a replayed capture)
├── Malformed       400: not the JSON / form the provider documents
└── TooLarge        413: the body exceeds the service's limit
"""

from __future__ import annotations


class Rejected(Exception):
    """A request refused before anything was stored."""

    status = 400


class BadSignature(Rejected):
    status = 403


class StaleRequest(Rejected):
    status = 403


class Malformed(Rejected):
    status = 400


class TooLarge(Rejected):
    status = 413
