"""`retry.with_retries` for coroutines: the same policy, waiting with `asyncio.sleep`.

A sleeping retry must not block the event loop that carries every other message's request, so the
loop cannot reuse the synchronous version; the decisions (what is retried, how long to wait, when
to give up) are `RetryPolicy`'s and the classifier's, exactly as there.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from outreach.channels.errors import Fault, ProviderFault
from outreach.channels.retry import RetryPolicy

T = TypeVar("T")


async def with_retries_async(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    classify: Callable[[BaseException], Fault | None],
    rng: random.Random,
) -> T:
    """`await call()`'s result, retrying transient faults; raises `ProviderFault` when it finally fails.

    `classify` gives each exception its meaning (`errors.classify` or a transport's own); an
    exception it does not know (a bug) propagates unchanged.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            fault = classify(exc)
            if fault is None:
                raise
            wait = policy.delay(attempt, fault.retry_after, rng) if fault.outcome == "retry" else None
            if wait is None:
                raise ProviderFault(fault) from exc
        await asyncio.sleep(wait)
        attempt += 1
