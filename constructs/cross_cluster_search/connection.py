"""OutboundConnection and InboundConnectionAccepter: cross-cluster search connections as resources."""

from __future__ import annotations

import enum

from aws_cdk import CustomResource, Duration, RemovalPolicy, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_cluster_search._handler import contract
from cross_cluster_search._handler.properties import check_alias, check_connection_id, check_timeout_seconds
from cross_cluster_search.domain_info import AnyDomain, DomainInfo, resolve_domain
from cross_cluster_search.provider import ConnectionProvider

OUTBOUND_RESOURCE_TYPE = contract.OUTBOUND_TYPE
ACCEPTER_RESOURCE_TYPE = contract.ACCEPTER_TYPE


class ConnectionApi(enum.Enum):
    """Which service API the handler calls; both manage the same connections."""

    ELASTICSEARCH = contract.ELASTICSEARCH  #: es 2015-01-01 (`*CrossClusterSearchConnection*`)
    OPENSEARCH = contract.OPENSEARCH  #: opensearch 2021-01-01 (`*Connection*`, with connection mode and properties)


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


def _same_owner(source: DomainInfo, destination: DomainInfo) -> bool | None:
    """True/False when both owners are known at synth time (or the same token); None otherwise."""
    if source.owner_id == destination.owner_id:
        return True
    if Token.is_unresolved(source.owner_id) or Token.is_unresolved(destination.owner_id):
        return None
    return False


class _ConnectionResource(Construct):
    """What both constructs share: the domains, the custom resource on the stack's provider, its own IAM
    policy, the dependencies on domain constructs, and the attributes."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
        timeout: Duration | None,
    ) -> None:
        super().__init__(scope, id_)
        self.source, self._source_construct = resolve_domain(source, "source")
        self.destination, self._destination_construct = resolve_domain(destination, "destination")
        self.source.validate("source")
        self.destination.validate("destination")
        timeout = Duration.seconds(contract.DEFAULT_TIMEOUT_SECONDS) if timeout is None else timeout
        self._timeout_seconds = check_timeout_seconds("timeout", str(timeout.to_seconds()))

    def _create_resource(
        self,
        resource_type: str,
        properties: dict[str, object],
        removal_policy: RemovalPolicy,
        statements: list[iam.PolicyStatement],
    ) -> None:
        provider = ConnectionProvider.of(self)
        #: The CloudFormation custom resource.
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=resource_type,
            properties=properties,
            removal_policy=removal_policy,
            service_timeout=Duration.seconds(contract.service_timeout_seconds(self._timeout_seconds)),
        )
        #: This resource's own IAM policy on the provider's role (kept until the resource's Delete ran).
        self.policy = provider.register(self, self.resource, self._timeout_seconds, statements)
        for domain in (self._source_construct, self._destination_construct):
            if domain is not None:
                self.resource.node.add_dependency(domain)

    @property
    def connection_id(self) -> str:
        """The connection id: the resource's physical id (`Ref`)."""
        return self.resource.ref

    @property
    def connection_status(self) -> str:
        """The connection's status when the last Create or Update ended (`Fn::GetAtt ConnectionStatus`),
        e.g. ``ACTIVE``, ``PENDING_ACCEPTANCE`` or, for the accepter with the Elasticsearch API, ``APPROVED``."""
        return self.resource.get_att_string(contract.ATTR_STATUS)

    @property
    def connection_alias(self) -> str:
        """The connection's alias as the resource reports it (`Fn::GetAtt ConnectionAlias`)."""
        return self.resource.get_att_string(contract.ATTR_ALIAS)


class OutboundConnection(_ConnectionResource):
    """A cross-cluster search connection from a source domain to a destination domain.

    Creates the connection, waits while the service validates it, accepts it when asked (in the
    destination's region, or through ``accept_role_arn`` in another account) and waits until it is
    ``ACTIVE``. Its physical id (``Ref``) is the connection id.

    :param scope: the construct's parent.
    :param id_: the construct's id.
    :param source: the domain that searches (owner of the outbound connection): a ``DomainInfo`` or a domain
        construct (new or imported) of either service.
    :param destination: the domain searched: a ``DomainInfo`` or a domain construct.
    :param connection_alias: the connection's name, unique per source domain: 2-20 characters
        (``[a-zA-Z][a-zA-Z0-9_-]+``; up to 100 with the OpenSearch API).
    :param accept_connection: ``True`` accepts the connection (same account, or another one with
        ``accept_role_arn``); ``False`` leaves it ``PENDING_ACCEPTANCE``. :default: - ``None``: accept when both
        domains belong to the same account (in any regions), or when ``accept_role_arn`` is set.
    :param timeout: how long each Create, Update or Delete may wait for the service (10 s - 13 min).
        :default: - 10 minutes
    :param removal_policy: ``RETAIN`` keeps the connection when the resource leaves the stack.
        :default: - ``RemovalPolicy.DESTROY``
    :param api: the service API the handler calls; both manage the same connections and switching keeps the
        id. :default: - ``ConnectionApi.ELASTICSEARCH``
    :param connection_mode: ``DIRECT`` or ``VPC_ENDPOINT`` (OpenSearch API only). :default: - the service's
        default (``DIRECT``)
    :param skip_unavailable: cross-cluster search's ``skip_unavailable`` (OpenSearch API only).
        :default: - the service's default
    :param accept_role_arn: a role in the destination account the handler assumes to accept.
        :default: - no role: accept with the provider's own credentials
    :param accept_role_external_id: the external id for that role. :default: - none
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
        timeout: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        api: ConnectionApi = ConnectionApi.ELASTICSEARCH,
        connection_mode: ConnectionMode | None = None,
        skip_unavailable: bool | None = None,
        accept_role_arn: str | None = None,
        accept_role_external_id: str | None = None,
    ) -> None:
        super().__init__(scope, id_, source=source, destination=destination, timeout=timeout)
        if not Token.is_unresolved(connection_alias):
            check_alias("connection_alias", connection_alias, api.value)
        if api is ConnectionApi.ELASTICSEARCH and (connection_mode is not None or skip_unavailable is not None):
            raise ValueError("connection_mode and skip_unavailable need api=ConnectionApi.OPENSEARCH")
        if accept_role_external_id is not None and accept_role_arn is None:
            raise ValueError("accept_role_external_id needs accept_role_arn")
        if accept_connection is False and accept_role_arn is not None:
            raise ValueError("accept_role_arn is only used to accept: remove it or set accept_connection")

        accept = accept_connection if accept_connection is not None else _same_owner(self.source, self.destination)
        if accept_connection is None and accept_role_arn is not None:
            accept = True
        properties = contract.outbound_properties(
            source=self.source.as_properties(),
            destination=self.destination.as_properties(),
            alias=connection_alias,
            accept=accept,
            timeout_seconds=self._timeout_seconds,
            api=api.value,
            connection_mode=None if connection_mode is None else connection_mode.value,
            skip_unavailable=skip_unavailable,
            accept_role_arn=accept_role_arn,
            accept_role_external_id=accept_role_external_id,
        )
        statements = [
            iam.PolicyStatement(actions=CREATE_ACTIONS, resources=[self.source.arn(self)]),
            iam.PolicyStatement(actions=OUTBOUND_ACTIONS, resources=["*"]),
        ]
        if accept_role_arn is not None:
            statements.append(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[accept_role_arn]))
        elif accept is not False:
            statements.append(iam.PolicyStatement(actions=ACCEPT_ACTIONS, resources=["*"]))
        self._create_resource(OUTBOUND_RESOURCE_TYPE, properties, removal_policy, statements)

    @property
    def endpoint(self) -> str:
        """The remote domain's endpoint for ``VPC_ENDPOINT`` connections once ``ACTIVE``
        (`Fn::GetAtt Endpoint`); empty otherwise."""
        return self.resource.get_att_string(contract.ATTR_ENDPOINT)


class InboundConnectionAccepter(_ConnectionResource):
    """Accepts, in the destination account, the connection a source account requested.

    Waits (up to ``timeout``) for the request from ``source`` to arrive, accepts it and waits until it is
    accepted (``APPROVED`` with the Elasticsearch API, ``ACTIVE`` with the OpenSearch API). Deleting the
    resource deletes the inbound connection unless ``removal_policy`` retains it.

    :param scope: the construct's parent.
    :param id_: the construct's id.
    :param source: the requesting domain (another account's): a ``DomainInfo`` or a domain construct.
    :param destination: this account's domain: a ``DomainInfo`` or a domain construct.
    :param connection_alias: the alias the source gave the connection, only reported back (the inbound API
        shows no alias). :default: - none
    :param timeout: how long to wait for the request and its acceptance (10 s - 13 min).
        :default: - 10 minutes
    :param removal_policy: ``RETAIN`` keeps the inbound connection when the resource leaves the stack.
        :default: - ``RemovalPolicy.DESTROY``
    :param api: the service API the handler calls. :default: - ``ConnectionApi.ELASTICSEARCH``
    :param connection_id: the request to accept (e.g. the source stack's output through a parameter).
        :default: - the one request from ``source``; with several, the resource fails listing their ids
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
        connection_alias: str | None = None,
        timeout: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        api: ConnectionApi = ConnectionApi.ELASTICSEARCH,
        connection_id: str | None = None,
    ) -> None:
        super().__init__(scope, id_, source=source, destination=destination, timeout=timeout)
        if connection_alias is not None and not Token.is_unresolved(connection_alias):
            check_alias("connection_alias", connection_alias, api.value)
        if connection_id is not None and not Token.is_unresolved(connection_id):
            check_connection_id("connection_id", connection_id)
        properties = contract.accepter_properties(
            source=self.source.as_properties(),
            destination=self.destination.as_properties(),
            timeout_seconds=self._timeout_seconds,
            api=api.value,
            alias=connection_alias,
            connection_id=connection_id,
        )
        statements = [iam.PolicyStatement(actions=INBOUND_ACTIONS, resources=["*"])]
        self._create_resource(ACCEPTER_RESOURCE_TYPE, properties, removal_policy, statements)
