"""OutboundConnection and InboundConnectionAccepter: cross-cluster search connections as resources."""

from __future__ import annotations

import enum

from aws_cdk import CustomResource, Duration, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_cluster_search._properties import (
    ELASTICSEARCH,
    OPENSEARCH,
    check_alias,
    check_connection_id,
    check_timeout_seconds,
)
from cross_cluster_search.domain_info import AnyDomain, DomainInfo, resolve_domain
from cross_cluster_search.provider import ConnectionProvider, service_timeout

OUTBOUND_RESOURCE_TYPE = "Custom::OutboundCrossClusterSearchConnection"
ACCEPTER_RESOURCE_TYPE = "Custom::InboundCrossClusterSearchConnectionAccepter"


class ConnectionApi(enum.Enum):
    """Which service API the handler calls; both manage the same connections."""

    ELASTICSEARCH = ELASTICSEARCH  #: es 2015-01-01 (`*CrossClusterSearchConnection*`)
    OPENSEARCH = OPENSEARCH  #: opensearch 2021-01-01 (`*Connection*`, with connection mode and properties)


class ConnectionMode(enum.Enum):
    """How the source reaches the destination (OpenSearch API only)."""

    DIRECT = "DIRECT"
    VPC_ENDPOINT = "VPC_ENDPOINT"


def _actions(*operations: str) -> list[str]:
    """Both names IAM authorizes each operation under: the OpenSearch one and the deprecated Elasticsearch one."""
    return [f"es:{operation.format(kind=kind)}" for operation in operations for kind in ("", "CrossClusterSearch")]


CREATE_ACTIONS = _actions("CreateOutbound{kind}Connection")
OUTBOUND_ACTIONS = _actions("DescribeOutbound{kind}Connections", "DeleteOutbound{kind}Connection")
ACCEPT_ACTIONS = _actions("AcceptInbound{kind}Connection")
INBOUND_ACTIONS = _actions(
    "DescribeInbound{kind}Connections", "AcceptInbound{kind}Connection", "DeleteInbound{kind}Connection"
)


def _seconds(timeout: Duration, field: str) -> int:
    seconds = timeout.to_seconds()
    return check_timeout_seconds(field, str(seconds))


def _same_owner(source: DomainInfo, destination: DomainInfo) -> bool | None:
    """True/False when both owners are known at synth time (or the same token); None otherwise."""
    if source.owner_id == destination.owner_id:
        return True
    if Token.is_unresolved(source.owner_id) or Token.is_unresolved(destination.owner_id):
        return None
    return False


class OutboundConnection(Construct):
    """A cross-cluster search connection from a source domain to a destination domain.

    Its physical id (`Ref`) is the connection id. With `accept_connection=None` the connection is
    accepted automatically when both domains belong to the same account (in any regions).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
        connection_alias: str,
        accept_connection: bool | None = None,
        timeout: Duration = Duration.minutes(10),
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        api: ConnectionApi = ConnectionApi.ELASTICSEARCH,
        connection_mode: ConnectionMode | None = None,
        skip_unavailable: bool | None = None,
        accept_role_arn: str | None = None,
        accept_role_external_id: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        source_info, source_construct = resolve_domain(source, "source")
        destination_info, destination_construct = resolve_domain(destination, "destination")
        source_info.validate("source")
        destination_info.validate("destination")
        if not Token.is_unresolved(connection_alias):
            check_alias("connection_alias", connection_alias, api.value)
        timeout_seconds = _seconds(timeout, "timeout")
        if api is ConnectionApi.ELASTICSEARCH and (connection_mode is not None or skip_unavailable is not None):
            raise ValueError("connection_mode and skip_unavailable need api=ConnectionApi.OPENSEARCH")
        if accept_role_external_id is not None and accept_role_arn is None:
            raise ValueError("accept_role_external_id needs accept_role_arn")
        if accept_connection is False and accept_role_arn is not None:
            raise ValueError("accept_role_arn is only used to accept: remove it or set accept_connection")

        accept = accept_connection if accept_connection is not None else _same_owner(source_info, destination_info)
        if accept_connection is None and accept_role_arn is not None:
            accept = True
        properties: dict[str, object] = {
            "SourceDomainInfo": source_info.as_properties(),
            "DestinationDomainInfo": destination_info.as_properties(),
            "ConnectionAlias": connection_alias,
            "AcceptConnection": {True: "true", False: "false", None: "auto"}[accept],
            "TimeoutSeconds": str(timeout_seconds),
            "Api": api.value,
        }
        if connection_mode is not None:
            properties["ConnectionMode"] = connection_mode.value
        if skip_unavailable is not None:
            properties["SkipUnavailable"] = "ENABLED" if skip_unavailable else "DISABLED"
        if accept_role_arn is not None:
            properties["AcceptRoleArn"] = accept_role_arn
        if accept_role_external_id is not None:
            properties["AcceptRoleExternalId"] = accept_role_external_id

        provider = ConnectionProvider.of(self)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=OUTBOUND_RESOURCE_TYPE,
            properties=properties,
            removal_policy=removal_policy,
            service_timeout=service_timeout(timeout_seconds),
        )
        statements = [
            iam.PolicyStatement(actions=CREATE_ACTIONS, resources=[source_info.arn(self)]),
            iam.PolicyStatement(actions=OUTBOUND_ACTIONS, resources=["*"]),
        ]
        if accept_role_arn is not None:
            statements.append(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[accept_role_arn]))
        elif accept is not False:
            statements.append(iam.PolicyStatement(actions=ACCEPT_ACTIONS, resources=["*"]))
        self.policy = provider.register(self, self.resource, timeout_seconds, statements)
        for domain in (source_construct, destination_construct):
            if domain is not None:
                self.resource.node.add_dependency(domain)

        self.source = source_info
        self.destination = destination_info

    @property
    def connection_id(self) -> str:
        """The connection id (the resource's physical id)."""
        return self.resource.ref

    @property
    def connection_status(self) -> str:
        """The connection's status when the last Create or Update finished (e.g. ACTIVE)."""
        return self.resource.get_att_string("ConnectionStatus")

    @property
    def endpoint(self) -> str:
        """The remote domain's endpoint for `VPC_ENDPOINT` connections once ACTIVE (`Fn::GetAtt Endpoint`);
        empty otherwise."""
        return self.resource.get_att_string("Endpoint")

    @property
    def connection_alias(self) -> str:
        """The connection's alias, as the resource reports it (`Fn::GetAtt ConnectionAlias`)."""
        return self.resource.get_att_string("ConnectionAlias")


class InboundConnectionAccepter(Construct):
    """Accepts, in the destination account, the connection a source account requested.

    Waits (up to `timeout`) for the request from `source` to arrive, accepts it and waits until it is
    approved. Deleting the resource deletes the inbound connection unless `removal_policy` retains it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
        connection_alias: str | None = None,
        timeout: Duration = Duration.minutes(10),
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        api: ConnectionApi = ConnectionApi.ELASTICSEARCH,
        connection_id: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        source_info, source_construct = resolve_domain(source, "source")
        destination_info, destination_construct = resolve_domain(destination, "destination")
        source_info.validate("source")
        destination_info.validate("destination")
        if connection_alias is not None and not Token.is_unresolved(connection_alias):
            check_alias("connection_alias", connection_alias, api.value)
        if connection_id is not None and not Token.is_unresolved(connection_id):
            check_connection_id("connection_id", connection_id)
        timeout_seconds = _seconds(timeout, "timeout")
        properties: dict[str, object] = {
            "SourceDomainInfo": source_info.as_properties(),
            "DestinationDomainInfo": destination_info.as_properties(),
            "TimeoutSeconds": str(timeout_seconds),
            "Api": api.value,
        }
        if connection_alias is not None:
            properties["ConnectionAlias"] = connection_alias
        if connection_id is not None:
            properties["ConnectionId"] = connection_id
        provider = ConnectionProvider.of(self)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=ACCEPTER_RESOURCE_TYPE,
            properties=properties,
            removal_policy=removal_policy,
            service_timeout=service_timeout(timeout_seconds),
        )
        statements = [iam.PolicyStatement(actions=INBOUND_ACTIONS, resources=["*"])]
        self.policy = provider.register(self, self.resource, timeout_seconds, statements)
        for domain in (source_construct, destination_construct):
            if domain is not None:
                self.resource.node.add_dependency(domain)
        self.source = source_info
        self.destination = destination_info

    @property
    def connection_id(self) -> str:
        """The accepted inbound connection's id (the resource's physical id)."""
        return self.resource.ref

    @property
    def connection_status(self) -> str:
        """The inbound connection's status when the last Create or Update finished (e.g. APPROVED)."""
        return self.resource.get_att_string("ConnectionStatus")
