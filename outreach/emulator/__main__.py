"""`python -m outreach.emulator CONFIG_JSON`: serve on a free port and print that port first.

Used by `running_emulator(..., process=True)` so the emulator has its own interpreter (and GIL)
when a benchmark must not share one with the client.
"""

from __future__ import annotations

import json
import sys

from outreach.asgi import bind
from outreach.emulator.config import EmulatorConfig
from outreach.emulator.server import make_server


def main() -> None:
    """Bind, announce the port on stdout, serve until SIGTERM/SIGINT."""
    config = EmulatorConfig().updated(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
    sock = bind("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    make_server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
