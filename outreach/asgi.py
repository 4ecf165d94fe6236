"""Serving our ASGI apps (the provider emulator, the tracking service) with uvicorn, quietly.

Binding first lets a caller ask for port 0 and learn the real port before the server starts; serving
in a thread lets a test or the demo run a real HTTP server for the length of a `with` block.
No access log: at thousands of requests a second it would cost more than the requests.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

START_TIMEOUT = 15.0
GRACEFUL_SHUTDOWN_SECONDS = 1
"""Held (timed-out) requests are abandoned rather than waited for at shutdown."""


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on `host:port` (port 0 picks a free one).

    The protocol must be named: asyncio only sets TCP_NODELAY on sockets whose `proto` is
    IPPROTO_TCP, and without it every keep-alive response waits ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def quiet_server(app: Any) -> uvicorn.Server:
    """A uvicorn server for `app`: warnings only, no access log, quick to stop."""
    settings = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
    return uvicorn.Server(settings)


@contextlib.contextmanager
def serving_in_thread(app: Any, name: str, sock: socket.socket | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 (a free port, or `sock`) in a thread; yields its base URL."""
    sock = sock or bind()
    server = quiet_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
