"""Run the emulator app with uvicorn, on a host and port or on a socket already bound."""

from __future__ import annotations

import uvicorn

from outreach.asgi import bind, quiet_server
from outreach.emulator.app import create_app
from outreach.emulator.config import EmulatorConfig


def make_server(config: EmulatorConfig | None = None) -> uvicorn.Server:
    """A uvicorn server for a fresh emulator app, quiet and quick to stop."""
    return quiet_server(create_app(config))


def serve(host: str = "127.0.0.1", port: int = 8025, config: EmulatorConfig | None = None) -> None:
    """Serve the emulator until interrupted."""
    sock = bind(host, port)
    make_server(config).run(sockets=[sock])
