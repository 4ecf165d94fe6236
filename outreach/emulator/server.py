"""Run the emulator app with uvicorn: on a host and port, or on a socket already bound.

Binding first lets a caller ask for port 0 and learn the real port before the server starts.
No access log: at thousands of requests a second it would cost more than the requests.
"""

from __future__ import annotations

import socket

import uvicorn

from outreach.emulator.app import create_app
from outreach.emulator.config import EmulatorConfig

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


def make_server(config: EmulatorConfig | None = None) -> uvicorn.Server:
    """A uvicorn server for a fresh emulator app, quiet and quick to stop."""
    settings = uvicorn.Config(
        create_app(config),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
    return uvicorn.Server(settings)


def serve(host: str = "127.0.0.1", port: int = 8025, config: EmulatorConfig | None = None) -> None:
    """Serve the emulator until interrupted."""
    sock = bind(host, port)
    make_server(config).run(sockets=[sock])
