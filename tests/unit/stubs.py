"""botocore Stubber helpers: responses shaped like each API's, checked against the real models."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from cross_cluster_search.ccs_handler.dialects import ConnectionOperations
from cross_cluster_search.ccs_handler.properties import DomainRef, OutboundSpec
from cross_cluster_search.ccs_handler.timing import Clock, Deadline

SOURCE = DomainRef("111111111111", "logs-source", "us-east-1")
DESTINATION = DomainRef("111111111111", "logs-destination", "eu-west-1")
CONNECTION_ID = "cc-0123456789abcdef"


def spec(**overrides: Any) -> OutboundSpec:
    values: dict[str, Any] = {
        "source": SOURCE,
        "destination": DESTINATION,
        "alias": "logs",
        "accept": True,
        "timeout_seconds": 600,
    }
    values.update(overrides)
    return OutboundSpec(**values)


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def deadline(self, seconds: float = 600) -> Deadline:
        return Deadline(seconds, Clock(self.clock, self.sleep))


def es_connection(
    status: str,
    connection_id: str = CONNECTION_ID,
    alias: str = "logs",
    message: str = "",
    source: DomainRef = SOURCE,
    destination: DomainRef = DESTINATION,
) -> dict[str, Any]:
    """An OutboundCrossClusterSearchConnection as the ES API returns it."""
    return {
        "SourceDomainInfo": source.as_api(),
        "DestinationDomainInfo": destination.as_api(),
        "CrossClusterSearchConnectionId": connection_id,
        "ConnectionAlias": alias,
        "ConnectionStatus": {"StatusCode": status, "Message": message},
    }


def es_inbound(
    status: str, connection_id: str = CONNECTION_ID, source: DomainRef = SOURCE, destination: DomainRef = DESTINATION
) -> dict[str, Any]:
    """An InboundCrossClusterSearchConnection as the ES API returns it."""
    item = es_connection(status, connection_id, source=source, destination=destination)
    del item["ConnectionAlias"]
    return item


class EsStub:
    """An ES client in one region with a Stubber on it, plus shortcuts for expected calls."""

    def __init__(self, region: str) -> None:
        self.client = boto3.client("es", region_name=region)
        self.stubber = Stubber(self.client)
        self.api = ConnectionOperations.on_client(self.client)

    def __enter__(self) -> EsStub:
        self.stubber.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stubber.deactivate()

    def describe_by_id(self, *items: dict[str, Any], connection_id: str = CONNECTION_ID) -> None:
        self.stubber.add_response(
            "describe_outbound_cross_cluster_search_connections",
            {"CrossClusterSearchConnections": list(items)},
            {"Filters": [{"Name": "cross-cluster-search-connection-id", "Values": [connection_id]}], "MaxResults": 100},
        )

    def describe_pair(self, *items: dict[str, Any], next_token: str | None = None, token_in: str | None = None) -> None:
        expected: dict[str, Any] = {
            "Filters": [
                {"Name": "source-domain-info.domain-name", "Values": [SOURCE.domain_name]},
                {"Name": "destination-domain-info.domain-name", "Values": [DESTINATION.domain_name]},
                {"Name": "destination-domain-info.owner-id", "Values": [DESTINATION.owner_id]},
                {"Name": "destination-domain-info.region", "Values": [DESTINATION.region]},
            ],
            "MaxResults": 100,
        }
        if token_in:
            expected["NextToken"] = token_in
        response: dict[str, Any] = {"CrossClusterSearchConnections": list(items)}
        if next_token:
            response["NextToken"] = next_token
        self.stubber.add_response("describe_outbound_cross_cluster_search_connections", response, expected)

    def before_create(self, *items: dict[str, Any]) -> None:
        """The look at what exists before the first create attempt (to know a connection as this request's)."""
        self.describe_pair(*items)

    def create(self, status: str = "VALIDATING", alias: str = "logs", first: bool = True) -> None:
        if first:
            self.before_create()
        item = es_connection(status, alias=alias)
        response = {k: v for k, v in item.items()}
        self.stubber.add_response(
            "create_outbound_cross_cluster_search_connection",
            response,
            {
                "SourceDomainInfo": SOURCE.as_api(),
                "DestinationDomainInfo": DESTINATION.as_api(),
                "ConnectionAlias": alias,
            },
        )

    def delete(self, connection_id: str = CONNECTION_ID) -> None:
        self.stubber.add_response(
            "delete_outbound_cross_cluster_search_connection",
            {"CrossClusterSearchConnection": es_connection("DELETING", connection_id)},
            {"CrossClusterSearchConnectionId": connection_id},
        )

    def accept(self, connection_id: str = CONNECTION_ID) -> None:
        self.stubber.add_response(
            "accept_inbound_cross_cluster_search_connection",
            {"CrossClusterSearchConnection": es_inbound("PROVISIONING", connection_id)},
            {"CrossClusterSearchConnectionId": connection_id},
        )


class StubApis:
    """Apis for the lifecycle functions: the source and destination stubs."""

    def __init__(self, source: EsStub, destination: EsStub) -> None:
        self._source = source
        self._destination = destination

    def source(self) -> ConnectionOperations:
        return self._source.api

    def destination(self) -> ConnectionOperations:
        return self._destination.api

    def destination_as(self, api: str) -> ConnectionOperations:
        assert api in ("ELASTICSEARCH", "OPENSEARCH")
        return self._destination.api
