"""A local implementation of the Lambda Runtime API, for AWS's own runtime client (`awslambdaric`).

What it serves is the documented interface ("Using the Lambda runtime API for custom runtimes", AWS Lambda
Developer Guide; the OpenAPI spec behind it, version 2018-06-01):

- `GET  /2018-06-01/runtime/invocation/next` answers the next event, with the headers
  `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` (epoch milliseconds),
  `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`; while there is none it is held open,
  as Lambda freezes the environment between invocations;
- `POST /2018-06-01/runtime/invocation/{id}/response` and `/error` answer 202;
- `POST /2018-06-01/runtime/init/error` answers 202.

It speaks HTTP/1.1 (the client keeps its connection open; an HTTP/1.0 reply can crash it). One server
serves one execution environment (one runtime client process), one invocation at a time, for as long as
the environment lives: a warm environment takes the next event where the last one left it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from ccs_offline.local_server import LocalServer

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    """One event for the runtime client, and what came back."""

    event: dict[str, Any]
    request_id: str
    deadline_ms: int
    function_arn: str
    trace_id: str = "Root=1-00000000-000000000000000000000000;Sampled=0"
    fetched_at: float | None = None  #: when the client asked for it (perf_counter): the end of its init
    result: bytes | None = None
    error: dict[str, Any] | None = None
    init_error: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        invocation = self.server.next_invocation()
        if invocation is None:
            return  # the environment is ending
        self._reply(
            200,
            json.dumps(invocation.event).encode(),
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            },
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        invocation = self.server.current
        base = f"{PREFIX}/invocation/{invocation.request_id if invocation else '-'}"
        if invocation is not None and self.path == f"{base}/response":
            invocation.result = body
        elif invocation is not None and self.path == f"{base}/error":
            invocation.error = _json_or_text(body)
        elif self.path == f"{PREFIX}/init/error":
            self.server.init_error = _json_or_text(body)
        else:
            self._reply(404, b'{"errorType":"InvalidRequestID"}')
            return
        self._reply(202, b'{"status":"OK"}')
        if invocation is not None:
            invocation.done.set()


def _json_or_text(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"errorMessage": body.decode(errors="replace")}
    return parsed if isinstance(parsed, dict) else {"errorMessage": str(parsed)}


class RuntimeApiServer(LocalServer):
    """The Runtime API of one execution environment on 127.0.0.1; `address` is what AWS_LAMBDA_RUNTIME_API
    holds. `submit` queues an event; the runtime client takes it with its next `next`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.current: Invocation | None = None
        self.init_error: dict[str, Any] | None = None
        self.closing = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def submit(self, invocation: Invocation) -> None:
        """The environment's next event."""
        self.pending.put(invocation)

    def next_invocation(self) -> Invocation | None:
        """Wait (frozen, as Lambda freezes an environment) for the next event; None when the environment ends."""
        while not self.closing.is_set():
            try:
                invocation = self.pending.get(timeout=0.05)
            except queue.Empty:
                continue
            invocation.fetched_at = time.perf_counter()
            self.current = invocation
            return invocation
        return None

    def __enter__(self) -> RuntimeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()
