"""CloudFormation's pre-signed ResponseURL, played by a local HTTPS server with a throwaway CA.

crhelper always answers over HTTPS; the Lambda-like process trusts the CA through SSL_CERT_FILE. Every body
PUT to a URL is kept, in arrival order (a re-delivered event's copies answer the same URL).
"""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import trustme

from ccs_offline.local_server import LocalServer


class _ResponseHandler(BaseHTTPRequestHandler):
    server: _ResponseServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.bodies.setdefault(self.path, []).append((self.server.clock(), body))
            self.server.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _ResponseServer(LocalServer):
    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(("127.0.0.1", 0), _ResponseHandler)
        self.clock = clock
        self.bodies: dict[str, list[tuple[float, bytes]]] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)


@dataclass
class ResponseEndpoint:
    """The HTTPS server that plays CloudFormation's pre-signed ResponseURL."""

    server: _ResponseServer
    ca_file: str

    def new_url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/response/{uuid.uuid4().hex}"

    def bodies(self, url: str) -> list[tuple[float, bytes]]:
        path = "/" + url.split("/", 3)[3]
        with self.server.lock:
            return list(self.server.bodies.get(path, []))


@contextmanager
def response_endpoint(clock: Callable[[], float] = time.perf_counter) -> Iterator[ResponseEndpoint]:
    """An HTTPS ResponseURL server with a throwaway CA that the Lambda-like process trusts; each body is
    stamped with `clock` (the world's) when it arrives."""
    ca = trustme.CA()
    server = _ResponseServer(clock)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="response-url", daemon=True)
    thread.start()
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
        handle.write(ca.cert_pem.bytes())
    try:
        yield ResponseEndpoint(server, handle.name)
    finally:
        server.shutdown()
        server.server_close()
        os.unlink(handle.name)
