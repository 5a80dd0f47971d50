"""The answer's way back to CloudFormation: a PUT of the response to the pre-signed S3 ResponseURL.

crhelper 2.0.12's own sender opens the connection with no timeout, retries for ever and counts any HTTP
status (403 too) as delivered; a function in a VPC with no route to S3 (crhelper issue #34) then never
answers while the connection it made stays. So the handler first makes sure an answer can be delivered at all
(a short TLS connect to the URL's host: `unreachable`), changing nothing when it cannot; and sends the answer
with bounded timeouts, within the time left, taking only a 2xx from S3 as delivered (`deliver`).
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Callable
from http.client import HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .timing import Clock

logger = logging.getLogger(__name__)

#: How long each check before any change may take to reach the URL's host (TCP and TLS), how many checks, and
#: the pause between them: one lost packet must not stall the stack for its whole ServiceTimeout (Lambda does
#: not retry: MaximumRetryAttempts is 0).
REACH_SECONDS = 3.0
REACH_ATTEMPTS = 3
REACH_PAUSE_SECONDS = 2.0
#: Connect and read timeout of one PUT attempt (S3 answers a PUT of a few KB in well under a second).
SEND_TIMEOUT_SECONDS = 10.0
#: Attempts at most, each needing its timeout before the invocation ends, with a pause between them.
SEND_ATTEMPTS = 4
SEND_PAUSE_SECONDS = 1.0


def _context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 443


def unreachable(url: str, clock: Clock, timeout: float = REACH_SECONDS) -> str | None:
    """Why no answer could be delivered to `url` (no TCP connection or no TLS handshake with its host within
    `timeout`, REACH_ATTEMPTS times), or None when its host answers."""
    host, port = _host_port(url)
    problem = ""
    for attempt in range(REACH_ATTEMPTS):
        if attempt:
            clock.sleep(REACH_PAUSE_SECONDS * attempt)
        try:
            with (
                socket.create_connection((host, port), timeout=timeout) as raw,
                _context().wrap_socket(raw, server_hostname=host),
            ):
                return None
        except (OSError, ssl.SSLError) as error:
            problem = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return f"{problem} ({REACH_ATTEMPTS} attempts)"


def deliver(
    url: str,
    response: dict[str, Any],
    clock: Clock,
    time_left: Callable[[], float],
    timeout: float = SEND_TIMEOUT_SECONDS,
) -> bool:
    """PUT the response to the ResponseURL: at most SEND_ATTEMPTS attempts, each bounded by `timeout` and
    made only while it fits `time_left()`; delivered only on a 2xx. Whether it was delivered."""
    body = json.dumps(response)
    host, port = _host_port(url)
    parts = urlsplit(url)
    path = urlunsplit(("", "", parts.path, parts.query, ""))
    headers = {"content-type": "", "content-length": str(len(body))}
    for attempt in range(1, SEND_ATTEMPTS + 1):
        seconds = min(timeout, time_left())
        if seconds <= 0.1:
            break
        connection = HTTPSConnection(host, port, timeout=seconds, context=_context())
        try:
            connection.request("PUT", path, body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            if 200 <= answer.status < 300:
                logger.info("Answer delivered to CloudFormation (HTTP %s)", answer.status)
                return True
            logger.error(
                "The ResponseURL refused the answer: HTTP %s %s (attempt %d)", answer.status, answer.reason, attempt
            )
        except (OSError, ssl.SSLError, HTTPException) as error:
            logger.error("Could not deliver the answer (attempt %d): %s", attempt, error)
        finally:
            connection.close()
        if attempt < SEND_ATTEMPTS and time_left() > SEND_PAUSE_SECONDS + 0.5:
            clock.sleep(SEND_PAUSE_SECONDS)
    logger.error("The answer was not delivered to CloudFormation; it will wait out the resource's ServiceTimeout")
    return False
