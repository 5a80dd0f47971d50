"""The two connection APIs (es 2015-01-01 and opensearch 2021-01-01) as one: their operation names, keys,
filters and status shapes, over a boto3 client of either service. Nothing here decides anything: the
lifecycle is in connections.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, Union

from botocore.exceptions import ClientError

from .contract import ELASTICSEARCH, OPENSEARCH
from .properties import DomainRef, OutboundSpec

if TYPE_CHECKING:
    from mypy_boto3_es.client import ElasticsearchServiceClient
    from mypy_boto3_opensearch.client import OpenSearchServiceClient

#: A boto3 client of either service.
Client = Union["ElasticsearchServiceClient", "OpenSearchServiceClient"]
#: Makes one service call: (verb, boto3 method name, request) -> the answer.
Caller = Callable[[str, str, dict[str, Any]], dict[str, Any]]

VALIDATING = "VALIDATING"
VALIDATION_FAILED = "VALIDATION_FAILED"
PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
APPROVED = "APPROVED"
PROVISIONING = "PROVISIONING"
ACTIVE = "ACTIVE"
REJECTING = "REJECTING"
REJECTED = "REJECTED"
DELETING = "DELETING"
DELETED = "DELETED"

GONE = frozenset({DELETING, DELETED})
FAILED_STATES = frozenset({VALIDATION_FAILED, REJECTING, REJECTED})
#: States in which a connection with the same source, destination and alias is ours to adopt.
LIVE = frozenset({VALIDATING, PENDING_ACCEPTANCE, APPROVED, PROVISIONING, ACTIVE})
#: States that still move on their own after an accept.
ACCEPTING = frozenset({PENDING_ACCEPTANCE, APPROVED, PROVISIONING})
#: Every state but DELETED: what a delete waits out.
NOT_DELETED = LIVE | FAILED_STATES | {DELETING}
#: States that mean the destination owner already said yes.
ACCEPTED = frozenset({APPROVED, PROVISIONING, ACTIVE})
#: Every status either API's model lists (botocore's es and opensearch models); the service has added codes
#: before, so an answer may hold another one.
KNOWN_STATES = NOT_DELETED | {DELETED}

_NOT_FOUND = "ResourceNotFoundException"
_MAX_MESSAGE = 160


@dataclass(frozen=True)
class Connection:
    """One connection as either API describes it."""

    connection_id: str
    source: DomainRef
    destination: DomainRef
    status: str
    message: str = ""
    alias: str | None = None
    endpoint: str = ""  #: the remote domain's endpoint (OpenSearch API, VPC_ENDPOINT mode)
    mode: str | None = None  #: ConnectionMode (OpenSearch API; the es API shows none)
    skip_unavailable: str | None = None  #: ConnectionProperties.CrossClusterSearch.SkipUnavailable (OpenSearch API)

    def describe(self) -> str:
        """A one-line account of the connection for errors and logs."""
        detail = f": {self.message[:_MAX_MESSAGE]}" if self.message else ""
        return f"connection {self.connection_id} is {self.status}{detail}"


@dataclass(frozen=True)
class _Dialect:
    """Where the two APIs differ: operation names (boto3 method names), keys and filter names."""

    operations: Mapping[str, str]  #: "verb direction" -> the client method
    id_key: str
    source_key: str
    destination_key: str
    nested_domain: bool
    list_key: str
    item_key: str
    id_filter: str
    source_filter: str
    destination_filter: str


_DIALECTS = {
    ELASTICSEARCH: _Dialect(
        operations={
            "create outbound": "create_outbound_cross_cluster_search_connection",
            "describe outbound": "describe_outbound_cross_cluster_search_connections",
            "delete outbound": "delete_outbound_cross_cluster_search_connection",
            "describe inbound": "describe_inbound_cross_cluster_search_connections",
            "accept inbound": "accept_inbound_cross_cluster_search_connection",
            "delete inbound": "delete_inbound_cross_cluster_search_connection",
        },
        id_key="CrossClusterSearchConnectionId",
        source_key="SourceDomainInfo",
        destination_key="DestinationDomainInfo",
        nested_domain=False,
        list_key="CrossClusterSearchConnections",
        item_key="CrossClusterSearchConnection",
        id_filter="cross-cluster-search-connection-id",
        source_filter="source-domain-info",
        destination_filter="destination-domain-info",
    ),
    OPENSEARCH: _Dialect(
        operations={
            "create outbound": "create_outbound_connection",
            "describe outbound": "describe_outbound_connections",
            "delete outbound": "delete_outbound_connection",
            "describe inbound": "describe_inbound_connections",
            "accept inbound": "accept_inbound_connection",
            "delete inbound": "delete_inbound_connection",
        },
        id_key="ConnectionId",
        source_key="LocalDomainInfo",
        destination_key="RemoteDomainInfo",
        nested_domain=True,
        list_key="Connections",
        item_key="Connection",
        id_filter="connection-id",
        source_filter="local-domain-info",
        destination_filter="remote-domain-info",
    ),
}


class ConnectionOperations:
    """The connection operations of one API, on one account and region: each call goes through `call`
    (verb, boto3 method name, request) -> answer, which picks the client (clients.py: retries that fit the
    time left, IAM's propagation waited out)."""

    def __init__(self, call: Caller, api: str = ELASTICSEARCH) -> None:
        self._send = call
        self._dialect = _DIALECTS[api]
        self.api = api

    @classmethod
    def on_client(cls, client: Client, api: str = ELASTICSEARCH, create_client: Client | None = None) -> Self:
        """Every call on `client`, the create call on `create_client` when given."""

        def call(verb: str, method: str, request: dict[str, Any]) -> dict[str, Any]:
            chosen = create_client if verb == "create" and create_client is not None else client
            response: dict[str, Any] = getattr(chosen, method)(**request)
            return response

        return cls(call, api)

    def _call(self, verb: str, direction: str, request: dict[str, Any]) -> dict[str, Any]:
        return self._send(verb, self._dialect.operations[f"{verb} {direction}"], request)

    def _domain(self, info: DomainRef) -> dict[str, Any]:
        return {"AWSDomainInformation": info.as_api()} if self._dialect.nested_domain else info.as_api()

    def _parse(self, item: dict[str, Any]) -> Connection:
        def domain(key: str) -> DomainRef:
            raw = item.get(key, {})
            raw = raw.get("AWSDomainInformation", {}) if self._dialect.nested_domain else raw
            return DomainRef(raw.get("OwnerId", ""), raw.get("DomainName", ""), raw.get("Region", ""))

        status = item.get("ConnectionStatus", {})
        properties = item.get("ConnectionProperties") or {}
        return Connection(
            connection_id=item[self._dialect.id_key],
            source=domain(self._dialect.source_key),
            destination=domain(self._dialect.destination_key),
            status=status.get("StatusCode", ""),
            message=status.get("Message", ""),
            alias=item.get("ConnectionAlias"),
            endpoint=str(properties.get("Endpoint", "")),
            mode=item.get("ConnectionMode"),
            skip_unavailable=(properties.get("CrossClusterSearch") or {}).get("SkipUnavailable"),
        )

    def _describe(self, direction: str, filters: list[dict[str, Any]]) -> list[Connection]:
        found: list[Connection] = []
        request: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
        while True:
            page = self._call("describe", direction, request)
            found.extend(self._parse(item) for item in page.get(self._dialect.list_key, []))
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def _by_id(self, direction: str, connection_id: str) -> Connection | None:
        matches = self._describe(direction, [{"Name": self._dialect.id_filter, "Values": [connection_id]}])
        return matches[0] if matches else None

    def _pair_filters(self, direction: str, source: DomainRef, destination: DomainRef) -> list[dict[str, Any]]:
        """Filters each API accepts: the caller's own domain by name, the peer in full."""
        own, peer, peer_filter = (
            (source, destination, self._dialect.destination_filter)
            if direction == "outbound"
            else (destination, source, self._dialect.source_filter)
        )
        own_filter = self._dialect.source_filter if direction == "outbound" else self._dialect.destination_filter
        return [
            {"Name": f"{own_filter}.domain-name", "Values": [own.domain_name]},
            {"Name": f"{peer_filter}.domain-name", "Values": [peer.domain_name]},
            {"Name": f"{peer_filter}.owner-id", "Values": [peer.owner_id]},
            {"Name": f"{peer_filter}.region", "Values": [peer.region]},
        ]

    def create_outbound(self, spec: OutboundSpec) -> Connection:
        """Request a new outbound connection."""
        request: dict[str, Any] = {
            self._dialect.source_key: self._domain(spec.source),
            self._dialect.destination_key: self._domain(spec.destination),
            "ConnectionAlias": spec.alias,
        }
        if spec.connection_mode:
            request["ConnectionMode"] = spec.connection_mode
        if spec.skip_unavailable:
            request["ConnectionProperties"] = {"CrossClusterSearch": {"SkipUnavailable": spec.skip_unavailable}}
        return self._parse(self._call("create", "outbound", request))

    def get_outbound(self, connection_id: str) -> Connection | None:
        """The outbound connection with this id, or None."""
        return self._by_id("outbound", connection_id)

    def find_outbound(self, source: DomainRef, destination: DomainRef) -> list[Connection]:
        """Outbound connections from source to destination, in any state."""
        found = self._describe("outbound", self._pair_filters("outbound", source, destination))
        return [c for c in found if c.source.domain_name == source.domain_name and c.destination == destination]

    def delete_outbound(self, connection_id: str) -> Connection | None:
        """Delete an outbound connection; None when the service does not know it."""
        return self._delete("outbound", connection_id)

    def get_inbound(self, connection_id: str) -> Connection | None:
        """The inbound connection with this id, or None."""
        return self._by_id("inbound", connection_id)

    def find_inbound(self, source: DomainRef, destination: DomainRef) -> list[Connection]:
        """Inbound connections from source to destination, in any state."""
        found = self._describe("inbound", self._pair_filters("inbound", source, destination))
        return [c for c in found if c.source == source and c.destination.domain_name == destination.domain_name]

    def accept_inbound(self, connection_id: str) -> Connection:
        """Accept an inbound connection (destination owner, destination region)."""
        accepted = self._call("accept", "inbound", {self._dialect.id_key: connection_id})
        return self._parse(accepted[self._dialect.item_key])

    def delete_inbound(self, connection_id: str) -> Connection | None:
        """Delete an inbound connection; None when the service does not know it."""
        return self._delete("inbound", connection_id)

    def _delete(self, direction: str, connection_id: str) -> Connection | None:
        try:
            deleted = self._call("delete", direction, {self._dialect.id_key: connection_id})
        except ClientError as error:
            if error_code(error) == _NOT_FOUND:
                return None
            raise
        return self._parse(deleted[self._dialect.item_key])


def error_code(error: ClientError) -> str:
    """The service's error code."""
    return str(error.response.get("Error", {}).get("Code", ""))


def describe_error(error: ClientError) -> str:
    """'Code: message' of a service error, shortened for a CloudFormation reason."""
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {str(details.get('Message', ''))[:_MAX_MESSAGE]}"
