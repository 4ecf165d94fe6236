"""Pseudonyms: a keyed hash of the identifier, stable for one partner and different between partners.

HMAC-SHA256 with a key derived from the secret (`OUTREACH_EXPORT_PSEUDONYM_SECRET`) and the partner's
name: the same person gets the same pseudonym in every export to that partner (so the partner can
follow someone across lists), two partners cannot link their lists, and without the secret nobody can
go back to the identifier nor test a guessed one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

import pandas as pd

from outreach.errors import ConfigurationError

SECRET_VARIABLE = "OUTREACH_EXPORT_PSEUDONYM_SECRET"
MINIMUM_SECRET_LENGTH = 16
LENGTH = 32
"""Hex characters kept (128 bits): no collision in any population the fund will ever have."""


def partner_key(partner: str, secret: str | None = None) -> bytes:
    """The partner's own key, derived from the secret; fails before any writing when it is missing."""
    secret = secret if secret is not None else os.environ.get(SECRET_VARIABLE, "")
    if len(secret) < MINIMUM_SECRET_LENGTH:
        raise ConfigurationError(
            f"{SECRET_VARIABLE} must hold a secret of at least {MINIMUM_SECRET_LENGTH} characters to "
            "pseudonymise identifiers (keep it out of the repository; changing it changes every pseudonym)"
        )
    return hmac.new(secret.encode(), f"partner:{partner}".encode(), hashlib.sha256).digest()


def pseudonymiser(key: bytes) -> Callable[[pd.Series], pd.Series]:
    """A function turning a Series of identifiers into their pseudonyms under `key`."""

    def pseudonymise(identifiers: pd.Series) -> pd.Series:
        return identifiers.map(
            lambda identifier: hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:LENGTH]
        )

    return pseudonymise
