"""Bounded retries with exponential backoff and full jitter, honouring the provider's Retry-After.

Only faults that `errors.classify` calls `retry` are retried; `failed` and `ambiguous` end at once
(resending an ambiguous request could send twice). When the provider asks for a longer wait than
`max_delay`, we stop and report `retry`, leaving the message queued rather than blocking a worker.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from outreach.channels.errors import Fault, ProviderFault, classify

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a channel tries before handing a transient fault back to the pipeline."""

    attempts: int = 4
    """Calls in total, the first included."""
    base_delay: float = 0.25
    max_delay: float = 10.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait after failed call number `attempt` (0-based); None means give up now."""
        if attempt + 1 >= self.attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_delay:
                return None
            return retry_after + rng.uniform(0, self.base_delay)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """`call()`'s result, retrying transient faults; raises `ProviderFault` when it finally fails.

    Exceptions that are not provider faults (bugs) propagate unchanged.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            fault: Fault | None = classify(exc)
            if fault is None:
                raise
            wait = policy.delay(attempt, fault.retry_after, rng) if fault.outcome == "retry" else None
            if wait is None:
                raise ProviderFault(fault) from exc
        sleep(wait)
        attempt += 1
