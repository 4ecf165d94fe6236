"""An asyncio event loop in its own thread, so synchronous callers can run coroutines on it.

A channel's `send` is synchronous (the pipeline calls it from plain code, sometimes from a thread
that already runs an event loop, where `asyncio.run` would refuse). Giving the channel a loop of its
own works from anywhere, and keeps its HTTP connections open from one batch to the next.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A running event loop in a daemon thread; `run` blocks the caller until a coroutine is done."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """The coroutine's result (or exception), computed on the loop's thread."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("LoopThread.run would wait for itself: await the coroutine instead")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        """Stop the loop and its thread; the loop must have nothing left to do."""
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
