"""OutboundConnection and InboundConnectionAccepter: cross-cluster search connections as resources."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, Unpack, cast

from aws_cdk import CfnResource, Duration, IResource, RemovalPolicy, Resource, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct, IConstruct, Node

from cross_cluster_search import access_policy, prerequisites
from cross_cluster_search.ccs_handler import contract
from cross_cluster_search.ccs_handler.properties import (
    InvalidInput,
    check_alias,
    check_connection_id,
    check_external_id,
    check_role_arn,
    check_timeout_seconds,
    partition_of,
    show,
)
from cross_cluster_search.domain_info import AnyDomain, DomainInfo, default_child_of, resolve_domain, stack_of
from cross_cluster_search.errors import InvalidProp
from cross_cluster_search.provider import ConnectionProvider, allow
from cross_cluster_search.removal import ConnectionCfnResource, RemovalPolicyCheck, retain_flag
from cross_cluster_search.tokens import unresolved

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
#: What the destination's access policy must allow the source to do (AWS guide, "Cross-cluster search").
SEARCH_ACTION = access_policy.SEARCH_ACTION
#: Where the service publishes the cross-cluster metrics, and their dimensions (AWS guide, "Monitoring
#: OpenSearch cluster metrics with Amazon CloudWatch": cross-cluster search metrics).
METRIC_NAMESPACE = "AWS/ES"
METRIC_CONNECTED_NODES = "CrossClusterOutboundConnections"
METRIC_OUTBOUND_REQUESTS = "CrossClusterOutboundRequests"
METRIC_INBOUND_REQUESTS = "CrossClusterInboundRequests"


def _require_type(field: str, value: object, types: type | tuple[type, ...], expected: str) -> None:
    """A TypeError naming the prop and the type it takes (bool is no int here, nor an int a bool)."""
    allowed = types if isinstance(types, tuple) else (types,)
    if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
        raise TypeError(f"{field} must be {expected} (got {show(value)})")


#: Removal policies that synthesize UpdateReplacePolicy: Retain (no cleanup Delete after a replacement).
_RETAINING = (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


def _check_adopt_id(adopt_connection_id: str | None) -> None:
    if adopt_connection_id is not None and not unresolved(adopt_connection_id):
        check_connection_id("adopt_connection_id", adopt_connection_id)


def _same_owner(source: DomainInfo, destination: DomainInfo) -> bool | None:
    """True/False when both owners are known at synth time (or the same token); None otherwise."""
    if source.owner_id == destination.owner_id:
        return True
    if unresolved(source.owner_id) or unresolved(destination.owner_id):
        return None
    return False


def _check_alias(field: str, value: str, api: ConnectionApi) -> None:
    """The handler's alias rule, with the alias's length and, where it helps, the API that allows longer ones."""
    try:
        check_alias(field, value, api.value)
    except InvalidInput as error:
        longer = api is ConnectionApi.ELASTICSEARCH and 20 < len(value) <= 100
        hint = "; api=ConnectionApi.OPENSEARCH allows up to 100 characters" if longer else ""
        raise InvalidProp(f"{field} {error.rule} (got {show(value)}, {len(value)} characters){hint}") from None


def _timeout_seconds(timeout: Duration) -> int:
    """Whole seconds within the time budget's bounds; an error shows the timeout in the unit it was given."""
    low, high = contract.MIN_TIMEOUT_SECONDS, contract.MAX_TIMEOUT_SECONDS
    seconds = timeout.to_seconds(integral=False)
    if seconds != int(seconds) or not low <= seconds <= high:
        raise InvalidProp(
            f"timeout must be a whole number of seconds from {low} seconds to {high // 60} minutes "
            f"(got {timeout.to_human_string()}); for example Duration.minutes(10)"
        )
    return check_timeout_seconds("timeout", str(int(seconds)))


def _check_external_id(value: str) -> None:
    """The handler's rule for external ids, worded for the prop, never showing the secret."""
    try:
        check_external_id("accept_role_external_id", value)
    except InvalidInput as error:
        raise InvalidProp(
            f"accept_role_external_id {error.rule} (got a value of {len(value)} characters, hidden)"
        ) from None


def _check_same_partition(source: DomainInfo, destination: DomainInfo) -> None:
    """The handler's rule: both domains in one partition (checked when both regions are concrete)."""
    if unresolved(source.region) or unresolved(destination.region):
        return
    ours, theirs = partition_of(source.region), partition_of(destination.region)
    if ours != theirs:
        raise InvalidProp(
            f"destination.region must be in the source's partition ({ours}) (got {destination.region!r}, in "
            f"{theirs}): connections do not cross partitions; choose a destination in {ours}"
        )


def _check_nameable(here: Stack, domain: Construct, field: str) -> Stack:
    """A domain construct of another environment (account or region) than the connection's stack `here` can only
    be named by its physical name: without one, aws-cdk-lib would fail later with CannotUseCrossEnvironment,
    naming neither side. Returns the domain's stack."""
    there = stack_of(domain)
    if here is there:
        return there
    differs = [
        f"{what} {theirs} (this connection's stack {here.node.path}: {ours})"
        for what, ours, theirs in (("account", here.account, there.account), ("region", here.region, there.region))
        if not unresolved(ours) and not unresolved(theirs) and ours != theirs
    ]
    name = getattr(default_child_of(domain), "domain_name", None)
    if differs and (name is None or unresolved(name)):
        raise InvalidProp(
            f"{field}: domain {domain.node.path} is in another environment ({'; '.join(differs)}) and has no "
            "physical name, so this stack cannot name it; set domain_name='...' on the domain"
        )
    return there


class MetricProps(TypedDict, total=False):
    """Options of a connection metric (those of ``aws_cloudwatch.MetricOptions`` that apply)."""

    account: str  #: the account the metric lives in. :default: - the domain's account, when concrete
    color: str
    dimensions_map: Mapping[str, str]  #: extra dimensions, added to ClientId, DomainName and ConnectionId
    label: str
    period: Duration  #: :default: - 5 minutes
    region: str  #: the region the metric lives in. :default: - the domain's region, when concrete
    statistic: str  #: :default: - the named metric's (``Minimum`` or ``Sum``), ``Average`` for ``metric()``
    unit: cloudwatch.Unit


class IOutboundConnection(IResource, Protocol):
    """An outbound cross-cluster search connection: one this app creates (``OutboundConnection``) or one made
    elsewhere (``OutboundConnection.from_connection_attributes``)."""

    @property
    def connection_id(self) -> str:
        """The connection id."""
        ...

    @property
    def source(self) -> DomainInfo:
        """The domain that searches (owner of the outbound connection)."""
        ...

    @property
    def destination(self) -> DomainInfo | None:
        """The domain searched, when known."""
        ...

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A metric of this connection in ``AWS/ES``."""
        ...

    def metric_connected_nodes(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterOutboundConnections`` of the source domain for this connection."""
        ...

    def metric_outbound_requests(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterOutboundRequests`` of the source domain for this connection."""
        ...

    def metric_inbound_requests(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterInboundRequests`` of the destination domain for this connection."""
        ...


class IInboundConnectionAccepter(IResource, Protocol):
    """An accepted inbound connection: one this app accepts (``InboundConnectionAccepter``) or one accepted
    elsewhere (``InboundConnectionAccepter.from_connection_attributes``)."""

    @property
    def connection_id(self) -> str:
        """The connection id."""
        ...

    @property
    def source(self) -> DomainInfo:
        """The requesting domain."""
        ...

    @property
    def destination(self) -> DomainInfo:
        """This account's domain."""
        ...

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A metric of the destination domain for this connection in ``AWS/ES``."""
        ...

    def metric_inbound_requests(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterInboundRequests`` of the destination domain for this connection."""
        ...


def _domain_metric(metric_name: str, domain: DomainInfo, connection_id: str, props: MetricProps) -> cloudwatch.Metric:
    """A metric `domain` publishes for the connection, in the domain's account and region where they are known."""
    dimensions = {"ClientId": domain.owner_id, "DomainName": domain.domain_name, "ConnectionId": connection_id}
    concrete_account = None if unresolved(domain.owner_id) else domain.owner_id
    concrete_region = None if unresolved(domain.region) else domain.region
    return cloudwatch.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={**dimensions, **props.get("dimensions_map", {})},
        account=props.get("account") or concrete_account,
        region=props.get("region") or concrete_region,
        color=props.get("color"),
        label=props.get("label"),
        period=props.get("period"),
        statistic=props.get("statistic"),
        unit=props.get("unit"),
    )


def _with_statistic(props: MetricProps, statistic: str) -> MetricProps:
    return {"statistic": statistic, **props}


class _OutboundConnectionBase(Resource):
    """What every IOutboundConnection offers: its metrics, from its id and domains."""

    _source: DomainInfo
    _destination: DomainInfo | None

    @property
    def connection_id(self) -> str:  # pragma: no cover - each subclass has its own
        raise NotImplementedError

    @property
    def source(self) -> DomainInfo:
        """The domain that searches (owner of the outbound connection)."""
        return self._source

    @property
    def destination(self) -> DomainInfo | None:
        """The domain searched (None for an imported connection given no destination)."""
        return self._destination

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A metric of this connection in ``AWS/ES``, with the dimensions ``ClientId`` (the account),
        ``DomainName`` and ``ConnectionId`` of the domain that publishes it: the destination for
        ``CrossClusterInboundRequests``, the source for every other metric; in that domain's account and region.
        :default: - ``Average`` over 5 minutes
        """
        if metric_name == METRIC_INBOUND_REQUESTS:
            if self._destination is None:
                raise InvalidProp(
                    f"{metric_name} is the destination domain's metric and {self.node.path} has no destination: "
                    "pass destination= to OutboundConnection.from_connection_attributes"
                )
            return _domain_metric(metric_name, self._destination, self.connection_id, props)
        return _domain_metric(metric_name, self._source, self.connection_id, props)

    def metric_connected_nodes(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterOutboundConnections`` of the source domain for this connection: the destination's
        connected nodes; 0 means the connection is broken (alarm below 1).

        Namespace ``AWS/ES``, dimensions ``ClientId`` (the source's account), ``DomainName``, ``ConnectionId``;
        in the source's account and region. :default: - ``Minimum`` over 5 minutes
        """
        return self.metric(METRIC_CONNECTED_NODES, **_with_statistic(props, "Minimum"))

    def metric_outbound_requests(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterOutboundRequests`` of the source domain for this connection: search requests sent to
        the destination. In the source's account and region. :default: - ``Sum`` over 5 minutes
        """
        return self.metric(METRIC_OUTBOUND_REQUESTS, **_with_statistic(props, "Sum"))

    def metric_inbound_requests(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterInboundRequests`` of the destination domain for this connection: requests it received
        from the source. In the destination's account and region (an alarm must live there; a dashboard can show
        it anywhere). :default: - ``Sum`` over 5 minutes
        """
        return self.metric(METRIC_INBOUND_REQUESTS, **_with_statistic(props, "Sum"))


class _InboundConnectionAccepterBase(Resource):
    """What every IInboundConnectionAccepter offers: its metrics, from its id and domains."""

    _source: DomainInfo
    _destination: DomainInfo

    @property
    def connection_id(self) -> str:  # pragma: no cover - each subclass has its own
        raise NotImplementedError

    @property
    def source(self) -> DomainInfo:
        """The requesting domain."""
        return self._source

    @property
    def destination(self) -> DomainInfo:
        """This account's domain."""
        return self._destination

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A metric of the destination domain (this account's) for this connection in ``AWS/ES``, with the
        dimensions ``ClientId``, ``DomainName`` and ``ConnectionId``. :default: - ``Average`` over 5 minutes
        """
        return _domain_metric(metric_name, self._destination, self.connection_id, props)

    def metric_inbound_requests(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``CrossClusterInboundRequests`` of the destination domain (this account's) for this connection:
        requests it received from the source. :default: - ``Sum`` over 5 minutes
        """
        return self.metric(METRIC_INBOUND_REQUESTS, **_with_statistic(props, "Sum"))


def _environment(domain: DomainInfo) -> dict[str, str]:
    """An imported connection lives where its domain does (account and region, when concrete)."""
    return {
        key: value for key, value in (("account", domain.owner_id), ("region", domain.region)) if not unresolved(value)
    }


class _ImportedOutboundConnection(_OutboundConnectionBase):
    def __init__(
        self, scope: Construct, id: str, connection_id: str, source: DomainInfo, destination: DomainInfo | None
    ) -> None:
        super().__init__(scope, id, **_environment(source))
        self._connection_id = connection_id
        self._source = source
        self._destination = destination

    @property
    def connection_id(self) -> str:
        return self._connection_id


class _ImportedInboundConnectionAccepter(_InboundConnectionAccepterBase):
    def __init__(
        self, scope: Construct, id: str, connection_id: str, source: DomainInfo, destination: DomainInfo
    ) -> None:
        super().__init__(scope, id, **_environment(destination))
        self._connection_id = connection_id
        self._source = source
        self._destination = destination

    @property
    def connection_id(self) -> str:
        return self._connection_id


def _imported_domains(
    connection_id: str, source: DomainInfo | AnyDomain, destination: DomainInfo | AnyDomain | None
) -> tuple[DomainInfo, DomainInfo | None]:
    _require_type("connection_id", connection_id, str, "a str such as 'cc-0123456789'")
    if not unresolved(connection_id):
        check_connection_id("connection_id", connection_id)
    source_info, _ = resolve_domain(source, "source")
    source_info.validate("source")
    if destination is None:
        return source_info, None
    destination_info, _ = resolve_domain(destination, "destination")
    destination_info.validate("destination")
    return source_info, destination_info


class _ConnectionResource:
    """What both constructs share: the domains, the custom resource on the stack's provider, its own IAM
    policy, the dependencies on domain constructs, the checks at synthesis, and the attributes. A mixin of the
    two Resource classes (its methods use their ``node``)."""

    node: Node
    _source: DomainInfo
    _destination_info: DomainInfo

    def _setup(
        self,
        *,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
        timeout: Duration | None,
        removal_policy: RemovalPolicy,
        api: ConnectionApi,
        destination_access_policy: bool,
    ) -> None:
        self._source, self._source_construct = resolve_domain(source, "source")
        self._destination_info, self._destination_construct = resolve_domain(destination, "destination")
        self._source.validate("source")
        self._destination_info.validate("destination")
        _check_same_partition(self._source, self._destination_info)
        self._own_stack = here = Stack.of(cast(Construct, self))
        #: Domain constructs of other stacks: this resource depends on them (a dependency between the stacks).
        #: One of this stack is named by a `Ref` in the properties already, which orders them.
        self._other_stacks_domains: list[Construct] = []
        for field, domain in (("source", self._source_construct), ("destination", self._destination_construct)):
            if domain is not None and _check_nameable(here, domain, field) is not here:
                self._other_stacks_domains.append(domain)
        if timeout is not None:
            _require_type("timeout", timeout, Duration, "a Duration such as Duration.minutes(10)")
        _require_type("removal_policy", removal_policy, RemovalPolicy, "a RemovalPolicy such as RemovalPolicy.RETAIN")
        if removal_policy is RemovalPolicy.SNAPSHOT:
            raise InvalidProp(
                "removal_policy: CloudFormation refuses Snapshot on custom resources (got RemovalPolicy.SNAPSHOT); "
                "use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN"
            )
        _require_type("api", api, ConnectionApi, "a ConnectionApi such as ConnectionApi.OPENSEARCH")
        _require_type("destination_access_policy", destination_access_policy, bool, "a bool (True or False)")
        self._destination_access_policy = destination_access_policy
        self._timeout_seconds = contract.DEFAULT_TIMEOUT_SECONDS if timeout is None else _timeout_seconds(timeout)

    def _create_resource(
        self,
        resource_type: str,
        properties: dict[str, object],
        removal_policy: RemovalPolicy,
        statements: list[dict[str, Any]],
        *,
        replace_by_deleting_first: bool = False,
    ) -> None:
        scope = cast(Construct, self)
        provider = ConnectionProvider.of(scope, self._own_stack)
        cfn = ConnectionCfnResource(
            scope,
            "Resource",
            type=resource_type,
            properties={
                "ServiceToken": provider.service_token,
                "ServiceTimeout": str(contract.service_timeout_seconds(self._timeout_seconds)),
                **properties,
            },
        )
        cfn.apply_removal_policy(removal_policy)
        if resource_type == OUTBOUND_RESOURCE_TYPE:
            retain_flag(cfn)
        self._cfn = cfn
        #: This resource's own IAM policy on the provider's role (kept until the resource's Delete ran).
        self.policy = provider.register(scope, cfn, self._timeout_seconds, statements)
        for domain in self._other_stacks_domains:
            cfn.node.add_dependency(domain)
        self._kind = "outbound" if resource_type == OUTBOUND_RESOURCE_TYPE else "accepter"
        alias = properties.get(contract.ALIAS) if resource_type == OUTBOUND_RESOURCE_TYPE else None
        self._alias = alias if isinstance(alias, str) else None
        prerequisites.add_checks(
            scope,
            _declared,
            stack=self._own_stack,
            first=RemovalPolicyCheck(
                cfn, replace_by_deleting_first=replace_by_deleting_first, settle=self._settle_access_policy
            ),
        )
        self._allow_search()

    def _settle_access_policy(self) -> list[str]:
        """At validation: the destination's statement where aws-cdk-lib keeps the domain's policy by then."""
        domain = self._destination_construct
        if not self._destination_access_policy or not isinstance(domain, (opensearch.Domain, elasticsearch.Domain)):
            return []
        errors, library_policy = access_policy.settle(domain)
        if library_policy is not None and stack_of(domain) is self._own_stack:
            # Moved there at validation, after aws-cdk-lib turned construct dependencies into the resources' own:
            # on its resources themselves (its custom resource and that one's policy).
            for construct in library_policy.node.find_all():
                if isinstance(construct, CfnResource):
                    self._cfn.add_resource_dependency(construct)
        return errors

    def _declared_connection(self) -> prerequisites.DeclaredConnection:
        """This connection as the synth-time checks see it."""
        scope = cast(Construct, self)
        return prerequisites.DeclaredConnection(
            construct=scope,
            kind=self._kind,
            source=prerequisites.Side("source", self._source, self._source_construct, scope),
            destination=prerequisites.Side("destination", self._destination_info, self._destination_construct, scope),
            alias=self._alias,
        )

    def _allow_search(self) -> None:
        """Allow the source's account `es:ESCrossClusterGet` on the destination domain's ARN in the access policy
        of a destination domain construct of the app (access_policy.py). Imported domains and DomainInfos are the
        destination owner's to change (README)."""
        domain = self._destination_construct
        if not self._destination_access_policy or not isinstance(domain, (opensearch.Domain, elasticsearch.Domain)):
            return
        library_policy = access_policy.grant_search(domain, self._destination_info, self._source.owner_id)
        if library_policy is not None and stack_of(domain) is self._own_stack:  # another stack's: a stack dependency
            self._cfn.node.add_dependency(library_policy)

    @property
    def connection_id(self) -> str:
        """The connection id: the resource's physical id (`Ref`)."""
        return self._cfn.ref

    @property
    def connection_status(self) -> str:
        """The connection's status when the last Create or Update ended (`Fn::GetAtt ConnectionStatus`),
        e.g. ``ACTIVE``, ``PENDING_ACCEPTANCE`` or, for the accepter with the Elasticsearch API, ``APPROVED``."""
        return Token.as_string(self._cfn.get_att(contract.ATTR_STATUS))

    @property
    def connection_alias(self) -> str:
        """The connection's alias as the resource reports it (`Fn::GetAtt ConnectionAlias`)."""
        return Token.as_string(self._cfn.get_att(contract.ATTR_ALIAS))

    @property
    def resource(self) -> Construct:
        """Deprecated: the construct itself, whose ``node.default_child`` is the CloudFormation resource (it was
        the ``CustomResource`` child before the constructs became Resources)."""
        return cast(Construct, self)


def _declared(construct: IConstruct) -> prerequisites.DeclaredConnection | None:
    """A construct of the app as a connection, for the synth-time checks; None for any other construct."""
    if isinstance(construct, _ConnectionResource) and hasattr(construct, "_kind"):  # not one that raised
        return construct._declared_connection()
    return None


class OutboundConnection(_ConnectionResource, _OutboundConnectionBase):
    """A cross-cluster search connection from a source domain to a destination domain.

    Creates the connection, waits while the service validates it, accepts it when asked (in the
    destination's region, or through ``accept_role_arn`` in another account) and waits until it is
    ``ACTIVE``. Its physical id (``Ref``) is the connection id.

    :param scope: the construct's parent.
    :param id: the construct's id.
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
    :param adopt_connection_id: the id of an existing connection (made by hand, or kept by ``RETAIN`` from a
        stack that no longer declares it) that this resource takes over and from then on deletes with itself.
        Without it, an existing connection with this source and alias is taken over only when this stack proves
        it its own (a renamed construct, a repeated delivery). :default: - none
    :param replace_by_deleting_first: allow a replacement that keeps source and alias (a new destination,
        mode or ``skip_unavailable``) to delete the old connection before creating the new one. A stack
        rollback after it cannot restore the deleted connection: the resource then points at a ``DELETED``
        connection until it is deployed again. Never with ``RETAIN``. :default: - ``False``: such a
        replacement fails before deleting anything; change ``connection_alias`` as well instead
    :param destination_access_policy: when ``destination`` is a domain construct of the app, add to its access
        policy a statement allowing ``es:ESCrossClusterGet`` on the domain's ARN for the source's account, which
        searches need. ``False`` leaves the policy alone. :default: - ``True``
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
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
        adopt_connection_id: str | None = None,
        replace_by_deleting_first: bool = False,
        destination_access_policy: bool = True,
    ) -> None:
        _require_type("connection_alias", connection_alias, str, "a str such as 'archive'")
        _require_type("accept_connection", accept_connection, (bool, type(None)), "a bool or None (True, False, None)")
        _require_type(
            "connection_mode",
            connection_mode,
            (ConnectionMode, type(None)),
            "a ConnectionMode or None, such as ConnectionMode.DIRECT",
        )
        _require_type("skip_unavailable", skip_unavailable, (bool, type(None)), "a bool or None (True, False, None)")
        _require_type("accept_role_arn", accept_role_arn, (str, type(None)), "a str or None")
        _require_type("accept_role_external_id", accept_role_external_id, (str, type(None)), "a str or None")
        _require_type("adopt_connection_id", adopt_connection_id, (str, type(None)), "a str or None")
        _require_type("replace_by_deleting_first", replace_by_deleting_first, bool, "a bool (True or False)")
        super().__init__(scope, id)
        self._setup(
            source=source,
            destination=destination,
            timeout=timeout,
            removal_policy=removal_policy,
            api=api,
            destination_access_policy=destination_access_policy,
        )
        self._destination = self._destination_info
        _check_adopt_id(adopt_connection_id)
        if replace_by_deleting_first and removal_policy in _RETAINING:
            raise InvalidProp("replace_by_deleting_first cannot be used with a RETAIN removal_policy")
        if not unresolved(connection_alias):
            _check_alias("connection_alias", connection_alias, api)
        if api is ConnectionApi.ELASTICSEARCH:
            for prop, value in (("connection_mode", connection_mode), ("skip_unavailable", skip_unavailable)):
                if value is not None:
                    raise InvalidProp(
                        f"{prop} needs api=ConnectionApi.OPENSEARCH (got {prop}={value!r} with "
                        "ConnectionApi.ELASTICSEARCH): the Elasticsearch API has no such setting"
                    )
        if accept_role_external_id is not None and accept_role_arn is None:
            raise InvalidProp("accept_role_external_id needs accept_role_arn")
        if accept_connection is False and accept_role_arn is not None:
            raise InvalidProp("accept_role_arn is only used to accept: remove it or set accept_connection")
        if accept_role_arn is not None and not unresolved(accept_role_arn):
            check_role_arn("accept_role_arn", accept_role_arn)
        if accept_role_external_id is not None and not unresolved(accept_role_external_id):
            _check_external_id(accept_role_external_id)
        owner = self._destination_info.owner_id
        if (
            accept_connection is True
            and accept_role_arn is None
            and _same_owner(self._source, self._destination_info) is False
        ):
            raise InvalidProp(
                f"accept_connection=True: only the destination's owner (account {owner}) can accept a connection, "
                f"and this connection's source belongs to account {self._source.owner_id}; set accept_role_arn to a "
                f"role in account {owner} the provider may assume, or accept it in that account's stack with "
                "InboundConnectionAccepter (and accept_connection=False here)"
            )

        accept = accept_connection if accept_connection is not None else _same_owner(self._source, self._destination)
        if accept_connection is None and accept_role_arn is not None:
            accept = True
        properties = contract.outbound_properties(
            source=self._source.as_properties(),
            destination=self._destination.as_properties(),
            alias=connection_alias,
            accept=accept,
            timeout_seconds=self._timeout_seconds,
            api=api.value,
            connection_mode=None if connection_mode is None else connection_mode.value,
            skip_unavailable=skip_unavailable,
            accept_role_arn=accept_role_arn,
            accept_role_external_id=accept_role_external_id,
            adopt_connection_id=adopt_connection_id,
            replace_by_deleting_first=replace_by_deleting_first,
        )
        statements = [
            allow(CREATE_ACTIONS, self._source.arn(self._own_stack)),
            allow(OUTBOUND_ACTIONS, "*"),
        ]
        if accept_role_arn is not None:
            statements.append(allow(["sts:AssumeRole"], accept_role_arn))
        elif accept is not False:
            statements.append(allow(ACCEPT_ACTIONS, "*"))
        self._create_resource(
            OUTBOUND_RESOURCE_TYPE,
            properties,
            removal_policy,
            statements,
            replace_by_deleting_first=replace_by_deleting_first,
        )

    @property
    def endpoint(self) -> str:
        """The remote domain's endpoint for ``VPC_ENDPOINT`` connections once ``ACTIVE``
        (`Fn::GetAtt Endpoint`); empty otherwise."""
        return Token.as_string(self._cfn.get_att(contract.ATTR_ENDPOINT))

    @staticmethod
    def from_connection_attributes(
        scope: Construct,
        id: str,
        *,
        connection_id: str,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain | None = None,
    ) -> IOutboundConnection:
        """An outbound connection made elsewhere (another app, by hand, kept by ``RETAIN``), for its metrics and
        alarms. Nothing is created or changed.

        :param scope: the construct's parent.
        :param id: the construct's id.
        :param connection_id: the connection id (e.g. ``cc-0123456789``, or a token such as a stack output).
        :param source: the domain that owns the outbound connection.
        :param destination: the domain searched, for ``metric_inbound_requests``. :default: - unknown
        """
        source_info, destination_info = _imported_domains(connection_id, source, destination)
        return _ImportedOutboundConnection(scope, id, connection_id, source_info, destination_info)

    @staticmethod
    def from_connection_id(
        scope: Construct,
        id: str,
        connection_id: str,
        *,
        source: DomainInfo | AnyDomain,
    ) -> IOutboundConnection:
        """An outbound connection of ``source`` made elsewhere, by its id (see ``from_connection_attributes``)."""
        return OutboundConnection.from_connection_attributes(scope, id, connection_id=connection_id, source=source)


class InboundConnectionAccepter(_ConnectionResource, _InboundConnectionAccepterBase):
    """Accepts, in the destination account, the connection a source account requested.

    Waits (up to ``timeout``) for the request from ``source`` to arrive, accepts it and waits until it is
    accepted (``APPROVED`` with the Elasticsearch API, ``ACTIVE`` with the OpenSearch API). Deleting the
    resource deletes the inbound connection unless ``removal_policy`` retains it.

    :param scope: the construct's parent.
    :param id: the construct's id.
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
    :param adopt_connection_id: the id of an inbound connection already accepted (by hand, or kept by
        ``RETAIN`` from a stack that no longer declares it) that this resource takes over and from then on
        deletes with itself. Without it, an accepted connection is taken over only when this stack proves it its
        own. :default: - none
    :param destination_access_policy: when ``destination`` is a domain construct of the app, add to its access
        policy a statement allowing ``es:ESCrossClusterGet`` on the domain's ARN for the source's account, which
        searches need. ``False`` leaves the policy alone. :default: - ``True``
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
        connection_alias: str | None = None,
        timeout: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        api: ConnectionApi = ConnectionApi.ELASTICSEARCH,
        connection_id: str | None = None,
        adopt_connection_id: str | None = None,
        destination_access_policy: bool = True,
    ) -> None:
        _require_type("connection_alias", connection_alias, (str, type(None)), "a str or None")
        _require_type("connection_id", connection_id, (str, type(None)), "a str or None")
        _require_type("adopt_connection_id", adopt_connection_id, (str, type(None)), "a str or None")
        super().__init__(scope, id)
        self._setup(
            source=source,
            destination=destination,
            timeout=timeout,
            removal_policy=removal_policy,
            api=api,
            destination_access_policy=destination_access_policy,
        )
        self._destination = self._destination_info
        _check_adopt_id(adopt_connection_id)
        stack = Stack.of(self)
        owner = self._destination_info.owner_id
        if not unresolved(stack.account) and not unresolved(owner) and owner != stack.account:
            raise InvalidProp(
                f"destination.owner_id: an InboundConnectionAccepter accepts with its own stack's account, and "
                f"stack {stack.node.path} deploys to account {stack.account} while the destination domain "
                f"{self._destination_info.domain_name} belongs to account {owner}; put the accepter in a stack of "
                f"account {owner} (env=Environment(account='{owner}', ...))"
            )
        if connection_alias is not None and not unresolved(connection_alias):
            _check_alias("connection_alias", connection_alias, api)
        if connection_id is not None and not unresolved(connection_id):
            check_connection_id("connection_id", connection_id)
        properties = contract.accepter_properties(
            source=self._source.as_properties(),
            destination=self._destination.as_properties(),
            timeout_seconds=self._timeout_seconds,
            api=api.value,
            alias=connection_alias,
            connection_id=connection_id,
            adopt_connection_id=adopt_connection_id,
        )
        statements = [allow(INBOUND_ACTIONS, "*")]
        self._create_resource(ACCEPTER_RESOURCE_TYPE, properties, removal_policy, statements)

    @staticmethod
    def from_connection_attributes(
        scope: Construct,
        id: str,
        *,
        connection_id: str,
        source: DomainInfo | AnyDomain,
        destination: DomainInfo | AnyDomain,
    ) -> IInboundConnectionAccepter:
        """An inbound connection accepted elsewhere, for its metrics and alarms. Nothing is created or changed.

        :param scope: the construct's parent.
        :param id: the construct's id.
        :param connection_id: the connection id (e.g. ``cc-0123456789``, or a token).
        :param source: the requesting domain.
        :param destination: this account's domain, which publishes the inbound metrics.
        """
        source_info, destination_info = _imported_domains(connection_id, source, destination)
        assert destination_info is not None
        return _ImportedInboundConnectionAccepter(scope, id, connection_id, source_info, destination_info)
