"""The CloudFormation API calls the handler makes, answered from the local CloudFormation's deployed state.

Only `ListStackResources` (the handler asks it before a Delete whether another resource of the same stack
holds the connection). Wire format from botocore's `cloudformation` 2010-05-15 model: the `query` protocol
(form-encoded POST to `/`, `Action` and `Version` fields) and an XML reply in the model's namespace, wrapped
in `ListStackResourcesResult` (the operation's `resultWrapper`), list members as `<member>`; required members
of `StackResourceSummary`: LogicalResourceId, ResourceType, LastUpdatedTimestamp, ResourceStatus. An unknown
stack is the documented `ValidationError` ("Stack with id X does not exist", HTTP 400). Pages hold at most
100 summaries (the API reference's page size for this call), so the handler's paging is exercised.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
PAGE_SIZE = 100


@dataclass(frozen=True)
class StackResource:
    """One resource as ListStackResources reports it."""

    logical_id: str
    physical_id: str | None
    resource_type: str
    status: str


#: (stack name or id) -> the stack's resources, or None when no such stack exists
Lookup = Callable[[str], list[StackResource] | None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        action = form.get("Action", [""])[0]
        self.server.calls.append(action)
        if action != "ListStackResources":
            self._error(400, "InvalidAction", f"Action {action} is not supported here")
            return
        stack = form.get("StackName", [""])[0]
        resources = self.server.lookup(stack)
        if resources is None:
            self._error(400, "ValidationError", f"Stack with id {stack} does not exist")
            return
        start = int(form.get("NextToken", ["0"])[0] or 0)
        page = resources[start : start + PAGE_SIZE]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        members = "".join(
            "<member>"
            f"<LogicalResourceId>{escape(r.logical_id)}</LogicalResourceId>"
            + (f"<PhysicalResourceId>{escape(r.physical_id)}</PhysicalResourceId>" if r.physical_id else "")
            + f"<ResourceType>{escape(r.resource_type)}</ResourceType>"
            f"<LastUpdatedTimestamp>{now}</LastUpdatedTimestamp>"
            f"<ResourceStatus>{escape(r.status)}</ResourceStatus>"
            "</member>"
            for r in page
        )
        token = f"<NextToken>{start + PAGE_SIZE}</NextToken>" if start + PAGE_SIZE < len(resources) else ""
        self._reply(
            200,
            f'<ListStackResourcesResponse xmlns="{NAMESPACE}"><ListStackResourcesResult>'
            f"<StackResourceSummaries>{members}</StackResourceSummaries>{token}</ListStackResourcesResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</ListStackResourcesResponse>",
        )

    def _error(self, status: int, code: str, message: str) -> None:
        self._reply(
            status,
            f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, lookup: Lookup) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lookup = lookup
        self.calls: list[str] = []


@dataclass
class CloudFormationApi:
    """A running local CloudFormation API endpoint."""

    server: _Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def calls(self) -> list[str]:
        return self.server.calls


@contextmanager
def cloudformation_api(lookup: Lookup) -> Iterator[CloudFormationApi]:
    """Serve ListStackResources from `lookup` until the block ends."""
    server = _Server(lookup)
    thread = threading.Thread(target=server.serve_forever, name="cloudformation-api", daemon=True)
    thread.start()
    try:
        yield CloudFormationApi(server)
    finally:
        server.shutdown()
        server.server_close()
