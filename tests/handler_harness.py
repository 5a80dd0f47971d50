"""The real entry point (index.handler, through crhelper) in this process, against a local emulator.

crhelper answers on a local HTTPS ResponseURL; the handler's boto3 clients reach the emulator through
AWS_ENDPOINT_URL; nothing in the handler knows it is tested. The world (the emulator, and the handler's
clock, which the harness replaces for the block as the Lambda-like process's bootstrap would) runs
WORLD_SCALE times faster than real time.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from awslambdaric.lambda_context import LambdaContext

from ccs_offline.clock import WorldClock
from ccs_offline.cloudformation_api import StackResource, Stacks, cloudformation_api
from ccs_offline.emulator import ConnectionStore, Delays, Emulator, running
from ccs_offline.response_url import ResponseEndpoint, response_endpoint
from cross_cluster_search.ccs_handler import clients, index, timing

ACCOUNT = "111111111111"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/Fuzz/00000000-0000-0000-0000-000000000001"
OUTBOUND = "Custom::OutboundCrossClusterSearchConnection"
WORLD_SCALE = 10.0
ACCEPTER = "Custom::InboundCrossClusterSearchConnectionAccepter"


def valid_properties(alias: str = "logs") -> dict[str, Any]:
    return {
        "ServiceToken": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:provider",
        "SourceDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-source", "Region": "us-east-1"},
        "DestinationDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-destination", "Region": "us-east-1"},
        "ConnectionAlias": alias,
        "AcceptConnection": "true",
        "TimeoutSeconds": "30",
    }


@dataclass
class Harness:
    """Sends events to index.handler and returns crhelper's parsed response."""

    endpoint: ResponseEndpoint
    emulator: Emulator
    holders: list[StackResource]

    @property
    def store(self) -> ConnectionStore:
        return self.emulator.store

    def deleted_connection(self) -> str:
        """The id of a connection that existed and is DELETED now (the service lists it for days; an id it never
        knew is looked for again for a while, as one it may not list yet)."""
        client = self.emulator.client("es", ACCOUNT, "us-east-1")
        made = client.create_outbound_cross_cluster_search_connection(
            SourceDomainInfo={"OwnerId": ACCOUNT, "DomainName": "logs-source", "Region": "us-east-1"},
            DestinationDomainInfo={"OwnerId": ACCOUNT, "DomainName": "logs-destination", "Region": "us-east-1"},
            ConnectionAlias=f"gone{len(self.store.connections)}",
        )
        connection_id = str(made["CrossClusterSearchConnectionId"])
        client.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=connection_id)
        while self.store.status_of(connection_id) != "DELETED":
            time.sleep(0.01)
        return connection_id

    def event(self, request_type: str = "Create", properties: Any = None, **extra: Any) -> dict[str, Any]:
        event = {
            "RequestType": request_type,
            "ResponseURL": self.endpoint.new_url(),
            "StackId": STACK_ID,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": "Connection",
            "ResourceType": OUTBOUND,
            "ResourceProperties": valid_properties() if properties is None else properties,
        }
        event.update(extra)
        return event

    def send(self, event: Any, timeout_seconds: float = 120) -> dict[str, Any] | None:
        """Invoke the handler; None when it (rightly) had nowhere to answer."""
        deadline_ms = int((time.time() + timeout_seconds) * 1000)
        function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:provider"
        index.handler(event, LambdaContext(str(uuid.uuid4()), None, None, deadline_ms, function_arn))
        url = event.get("ResponseURL") if isinstance(event, dict) else None
        bodies = self.endpoint.bodies(url) if isinstance(url, str) and url.startswith("https://127.0.0.1") else []
        assert len(bodies) <= 1, "one response per request"
        if not bodies:
            return None
        body = bodies[0][1]
        assert len(body) <= 4096
        response: dict[str, Any] = json.loads(body)
        return response


@dataclass
class _HarnessStack:
    """The harness's stack: its other resources are whatever a test puts in `holders`."""

    holders: list[StackResource]
    stack_name: str = "Fuzz"
    stack_id: str = STACK_ID
    region: str = "us-east-1"
    stack_status: str = "UPDATE_IN_PROGRESS"

    def stack_resources(self) -> list[StackResource]:
        return list(self.holders)


@contextmanager
def harness() -> Iterator[Harness]:
    world = WorldClock(WORLD_SCALE)
    store = ConnectionStore(Delays(validating=0.05, provisioning=0.05, deleting=0.05), world.now, world.sleep)
    store.add_domain(ACCOUNT, "us-east-1", "logs-source")
    store.add_domain(ACCOUNT, "us-east-1", "logs-destination")
    holders: list[StackResource] = []  # other resources of the harness's stack, as ListStackResources reports
    with (
        running(store) as emulator,
        response_endpoint(world) as endpoint,
        cloudformation_api(Stacks([_HarnessStack(holders)])) as cloudformation,
    ):
        key, secret = store.credentials_for(ACCOUNT)
        saved = dict(os.environ)
        os.environ.update(
            emulator.endpoint_env(), AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, SSL_CERT_FILE=endpoint.ca_file
        )
        os.environ["AWS_ENDPOINT_URL_CLOUDFORMATION"] = cloudformation.url
        # A new harness is a cold start: the warm function's session holds the previous world's credentials.
        clients.own_session.cache_clear()
        try:
            with mock.patch.object(index, "system_clock", lambda: timing.Clock(world.now, world.sleep, world.wall)):
                yield Harness(endpoint, emulator, holders)
        finally:
            os.environ.clear()
            os.environ.update(saved)
