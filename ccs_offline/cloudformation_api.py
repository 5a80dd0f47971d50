"""The CloudFormation API calls the handler makes, answered from the local CloudFormations' deployed state.

`ListStackResources` (before a Delete: does another resource of the same stack hold the connection?) and
`DescribeStackResources` with `PhysicalResourceId` (before adopting: does another stack hold it? Its
documentation: "the associated resources of the stack that the resource belongs to are returned", deleted
stacks included for 90 days, and StackName and PhysicalResourceId together are a ValidationError; a physical
id no stack holds answers ValidationError "Stack for ID does not exist", as reported by users of the API: not
in the reference, and the handler treats an empty answer the same way).

Wire format from botocore's `cloudformation` 2010-05-15 model: the `query` protocol (form-encoded POST to `/`,
`Action` and `Version` fields) and an XML reply in the model's namespace, wrapped in the operation's
`resultWrapper` (`ListStackResourcesResult`, `DescribeStackResourcesResult`), list members as `<member>`, with
each summary's required members (LogicalResourceId, ResourceType, LastUpdatedTimestamp or Timestamp,
ResourceStatus). An unknown stack is the documented `ValidationError` ("Stack with id X does not exist",
HTTP 400). Pages hold at most 100 summaries (the API reference's page size for this call), so the handler's
paging is exercised.

The API is regional: a request signed for region R (SigV4 credential scope) sees only the stacks of R, as
every CloudFormation endpoint serves its own region's stacks (AWS General Reference, "AWS CloudFormation
endpoints"). DescribeStackResources returns only the first 100 resources of the holding stack (botocore's
model: "Only the first 100 resources will be returned"). DescribeStacks answers a stack's StackStatus.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ccs_offline.local_server import LocalServer

NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
PAGE_SIZE = 100


@dataclass(frozen=True)
class StackResource:
    """One resource as ListStackResources reports it."""

    logical_id: str
    physical_id: str | None
    resource_type: str
    status: str


class StackView(Protocol):
    """One stack as the API shows it."""

    @property
    def stack_name(self) -> str: ...

    @property
    def stack_id(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def stack_status(self) -> str: ...

    def stack_resources(self) -> list[StackResource]:
        """Its resources with their current statuses."""
        ...


@dataclass
class Stacks:
    """Every stack of the local account, in any region."""

    members: list[StackView] = field(default_factory=list)
    #: Fault injection: action -> error code it answers with (HTTP 403, which botocore does not retry), e.g.
    #: {"ListStackResources": "AccessDenied"} for a CloudFormation that cannot be asked.
    refuse: dict[str, str] = field(default_factory=dict)
    #: The next N requests answer `Throttling` (HTTP 400, "Rate exceeded"): CloudFormation's API throttles
    #: per account (AWS CloudFormation API Reference, "Common Errors": Throttling, 400), and botocore's
    #: standard retry mode retries it.
    throttle_next: int = 0

    def named(self, name: str, region: str) -> StackView | None:
        """The stack of `region` with this name or id."""
        return next((s for s in self.members if s.region == region and name in (s.stack_name, s.stack_id)), None)

    def holding(self, physical_id: str, region: str) -> StackView | None:
        """The first stack of `region` one of whose resources has this physical id."""
        return next(
            (
                s
                for s in self.members
                if s.region == region and any(r.physical_id == physical_id for r in s.stack_resources())
            ),
            None,
        )


def signed_region(authorization: str) -> str:
    """The region of a SigV4 Authorization header's credential scope (Credential=KEY/date/REGION/service/...)."""
    match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", authorization)
    return match.group(1) if match else ""


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
        region = signed_region(self.headers.get("Authorization", ""))
        self.server.calls.append(action)
        if self.server.stacks.throttle_next > 0:
            self.server.stacks.throttle_next -= 1
            self._error(400, "Throttling", "Rate exceeded")
            return
        if action in self.server.stacks.refuse:
            self._error(403, self.server.stacks.refuse[action], f"{action} refused (fault injection)")
            return
        if action == "DescribeStackResources":
            self._describe_stack_resources(form, region)
            return
        if action not in ("ListStackResources", "DescribeStacks"):
            self._error(400, "InvalidAction", f"Action {action} is not supported here")
            return
        stack = form.get("StackName", [""])[0]
        view = self.server.stacks.named(stack, region)
        if view is None:
            self._error(400, "ValidationError", f"Stack with id {stack} does not exist")
            return
        if action == "DescribeStacks":
            self._describe_stacks(view)
            return
        resources = view.stack_resources()
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

    def _describe_stacks(self, view: StackView) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self._reply(
            200,
            f'<DescribeStacksResponse xmlns="{NAMESPACE}"><DescribeStacksResult><Stacks><member>'
            f"<StackId>{escape(view.stack_id)}</StackId><StackName>{escape(view.stack_name)}</StackName>"
            f"<CreationTime>{now}</CreationTime><StackStatus>{escape(view.stack_status)}</StackStatus>"
            "</member></Stacks></DescribeStacksResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</DescribeStacksResponse>",
        )

    def _describe_stack_resources(self, form: dict[str, list[str]], region: str) -> None:
        name, physical_id = form.get("StackName", [""])[0], form.get("PhysicalResourceId", [""])[0]
        if bool(name) == bool(physical_id):
            self._error(400, "ValidationError", "Specify either StackName or PhysicalResourceId, not both")
            return
        stacks = self.server.stacks
        view = stacks.named(name, region) if name else stacks.holding(physical_id, region)
        if view is None:
            self._error(400, "ValidationError", f"Stack for {physical_id or name} does not exist")
            return
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        members = "".join(
            "<member>"
            f"<StackName>{escape(view.stack_name)}</StackName><StackId>{escape(view.stack_id)}</StackId>"
            f"<LogicalResourceId>{escape(r.logical_id)}</LogicalResourceId>"
            + (f"<PhysicalResourceId>{escape(r.physical_id)}</PhysicalResourceId>" if r.physical_id else "")
            + f"<ResourceType>{escape(r.resource_type)}</ResourceType><Timestamp>{now}</Timestamp>"
            f"<ResourceStatus>{escape(r.status)}</ResourceStatus></member>"
            for r in view.stack_resources()[:100]  # "Only the first 100 resources will be returned"
        )
        self._reply(
            200,
            f'<DescribeStackResourcesResponse xmlns="{NAMESPACE}"><DescribeStackResourcesResult>'
            f"<StackResources>{members}</StackResources></DescribeStackResourcesResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</DescribeStackResourcesResponse>",
        )

    def _error(self, status: int, code: str, message: str) -> None:
        self._reply(
            status,
            f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        )


class _Server(LocalServer):
    def __init__(self, stacks: Stacks) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stacks = stacks
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
def cloudformation_api(stacks: Stacks) -> Iterator[CloudFormationApi]:
    """Serve the stacks' resources until the block ends."""
    server = _Server(stacks)
    thread = threading.Thread(target=server.serve_forever, name="cloudformation-api", daemon=True)
    thread.start()
    try:
        yield CloudFormationApi(server)
    finally:
        server.shutdown()
        server.server_close()
