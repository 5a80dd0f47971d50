"""The base of every local server here: threaded, daemon threads, and quiet when a client goes away.

The Lambda-like process is ended with SIGTERM once it has answered (as Lambda ends an environment), so its
kept-alive connections to the local endpoints are reset rather than closed; that is expected, not an error.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class LocalServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer on loopback that ignores connections reset by ended clients."""

    daemon_threads = True

    def serve_forever(self, poll_interval: float = 0.02) -> None:
        """Serve until shutdown(), which then returns within `poll_interval` (socketserver's 0.5 s default
        would add up to half a second to every stand-in's end)."""
        super().serve_forever(poll_interval)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Report errors, except a client that went away."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
