"""CloudFormation's pre-signed ResponseURL, played by a local HTTPS server with a throwaway CA.

crhelper always answers over HTTPS; the Lambda-like process trusts the CA through SSL_CERT_FILE. Every body
PUT to a URL is kept, in arrival order (a re-delivered event's copies answer the same URL), and answered
200, or the status a test asks for (S3 answers 403 to an expired or altered pre-signed URL).

URLs are pre-signed as CloudFormation's are (pre-signed S3 URLs, valid for about two hours: FACTS): SigV4
ones carry X-Amz-Date (when CloudFormation signed them, on the world's clock) and X-Amz-Expires; older SigV2
ones only Expires (epoch seconds). `unreachable_url()` names a host that takes the TCP connection and never
answers (a function in a VPC without a route to S3: crhelper issue #34).
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import trustme

from ccs_offline.clock import REAL_TIME, WorldClock
from ccs_offline.local_server import LocalServer

#: CloudFormation's ResponseURLs are valid for about two hours (FACTS).
URL_LIFETIME = 7200


class _ResponseHandler(BaseHTTPRequestHandler):
    server: _ResponseServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            refused = self.server.refusals.get(self.path, 0)
            if refused:
                self.server.refused.setdefault(self.path, []).append(body)
            else:
                self.server.bodies.setdefault(self.path, []).append((self.server.clock.now(), body))
            self.server.arrived.notify_all()
        self.send_response(refused or 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _ResponseServer(LocalServer):
    def __init__(self, clock: WorldClock) -> None:
        super().__init__(("127.0.0.1", 0), _ResponseHandler)
        self.clock = clock
        self.bodies: dict[str, list[tuple[float, bytes]]] = {}
        self.refusals: dict[str, int] = {}  #: path -> the HTTP status every PUT to it gets
        self.refused: dict[str, list[bytes]] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@dataclass
class ResponseEndpoint:
    """The HTTPS server that plays CloudFormation's pre-signed ResponseURL."""

    server: _ResponseServer
    ca_file: str
    blackhole: socket.socket

    def new_url(self, signed_at: float | None = None, sigv2: bool = False, lifetime: int = URL_LIFETIME) -> str:
        """A new pre-signed ResponseURL, signed now on the world's clock unless `signed_at` (epoch seconds)."""
        signed = self.server.clock.wall() if signed_at is None else signed_at
        base = f"https://127.0.0.1:{self.server.server_address[1]}/response/{uuid.uuid4().hex}"
        signature = secrets.token_hex(32)
        if sigv2:
            return f"{base}?AWSAccessKeyId=AKIAEXAMPLE&Expires={int(signed) + lifetime}&Signature={signature[:28]}"
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed))
        return (
            f"{base}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F{date[:8]}%2Fus-east-1%2Fs3"
            f"%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires={lifetime}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={signature}"
        )

    def unreachable_url(self) -> str:
        """A ResponseURL whose host accepts the TCP connection and never answers (no TLS handshake)."""
        return f"https://127.0.0.1:{self.blackhole.getsockname()[1]}/response/{uuid.uuid4().hex}"

    def refuse(self, url: str, status: int = 403) -> None:
        """Every PUT to `url` gets `status`, and is not kept as delivered."""
        with self.server.lock:
            self.server.refusals[_path(url)] = status

    def refused(self, url: str) -> list[bytes]:
        """The bodies PUT to `url` that were refused."""
        with self.server.lock:
            return list(self.server.refused.get(_path(url), []))

    def bodies(self, url: str) -> list[tuple[float, bytes]]:
        """(arrival on the world's clock, body) of every answer delivered to `url`."""
        with self.server.lock:
            return list(self.server.bodies.get(_path(url), []))


@contextmanager
def response_endpoint(clock: WorldClock = REAL_TIME) -> Iterator[ResponseEndpoint]:
    """An HTTPS ResponseURL server with a throwaway CA that the Lambda-like process trusts, on the world's
    `clock`; and a host that never answers."""
    ca = trustme.CA()
    server = _ResponseServer(clock)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="response-url", daemon=True)
    thread.start()
    blackhole = socket.create_server(("127.0.0.1", 0), backlog=64)  # listens, never accepts
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
        handle.write(ca.cert_pem.bytes())
    try:
        yield ResponseEndpoint(server, handle.name, blackhole)
    finally:
        blackhole.close()
        server.shutdown()
        server.server_close()
        os.unlink(handle.name)
