"""The data plane over a connection: who may search through it (RemoteSearchAccess), and cross-cluster
replication through it (FollowerIndex, ReplicationRule).

A connection only joins two domains; what flows through it is the domains' own business, set through their REST
API (the security plugin's roles and mappings, the replication plugin). These constructs are custom resources on
the stack's connection provider (the same function as the connections): the function assumes an admin role per
domain (an IAM role the domain's fine-grained access control maps to ``all_access`` or ``security_manager``, e.g.
its master user) and calls the domain's endpoint, signed with SigV4.

Replication pulls: the follower domain (the connection's source) reads from the leader domain (its destination).
Sources: Amazon OpenSearch Service developer guide, "Cross-cluster search" (the remote search permissions) and
"Cross-cluster replication" (Elasticsearch 7.10 or OpenSearch 1.1 or later; fine-grained access control and
node-to-node encryption on both domains; the leader at the same or a higher version than the follower; at most
20 connected domains per domain, inbound and outbound combined); OpenSearch's index name rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Unpack, cast

import jsii
from aws_cdk import Annotations, CfnResource, Duration, Names, Resource, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct, IConstruct, IValidation

from cross_cluster_search import prerequisites
from cross_cluster_search.ccs_handler import contract, data_properties
from cross_cluster_search.ccs_handler.properties import InvalidInput
from cross_cluster_search.connection import (
    METRIC_NAMESPACE,
    ConnectionMode,
    InboundConnectionAccepter,
    MetricProps,
    OutboundConnection,
    _require_type,
    _timeout_seconds,
    _with_statistic,
)
from cross_cluster_search.domain_info import AnyDomain, DomainInfo, is_domain, resolve_domain
from cross_cluster_search.errors import InvalidProp
from cross_cluster_search.nag import acknowledge
from cross_cluster_search.provider import ConnectionProvider, allow
from cross_cluster_search.tokens import unresolved

SEARCH_ACCESS_RESOURCE_TYPE = contract.SEARCH_ACCESS_TYPE
FOLLOWER_INDEX_RESOURCE_TYPE = contract.FOLLOWER_INDEX_TYPE
REPLICATION_RULE_RESOURCE_TYPE = contract.REPLICATION_RULE_TYPE

#: What the security role of a RemoteSearchAccess allows on its index patterns (the security plugin's
#: cross_cluster_search_remote_full_access; search_shards when ccs_minimize_roundtrips is false).
REMOTE_SEARCH_ACTIONS = ("indices:admin/shards/search_shards", "indices:data/read/search")
#: The HTTP methods the function uses on a domain as its admin role (security API, replication API).
ADMIN_HTTP_ACTIONS = ["es:ESHttpGet", "es:ESHttpPut", "es:ESHttpPost", "es:ESHttpPatch", "es:ESHttpDelete"]
#: The smoke search is one GET of `<alias>:<pattern>/_search`.
SEARCH_HTTP_ACTIONS = ["es:ESHttpGet"]
#: Prefixes of the security roles each resource owns on the domains (the suffix comes from its unique id).
SEARCH_ROLE_PREFIX = "cdk_ccs_search_"
FOLLOWER_ROLE_PREFIX = "cdk_ccs_follow_"
AUTO_FOLLOW_ROLE_PREFIX = "cdk_ccs_autofollow_"
RULE_NAME_PREFIX = "cdk_ccs_"
#: Warning id (`Annotations.of(scope).acknowledge_warning(id)`): a role of another stack, left as it is.
WARN_ROLE_IN_ANOTHER_STACK = "cross-cluster-search:adminRoleInAnotherStack"
#: Longest role and rule name the constructs make.
MAX_NAME_LENGTH = 64
#: Cross-cluster replication's oldest versions (engine, major, minor).
MIN_REPLICATION_VERSIONS = {prerequisites.ELASTICSEARCH: (7, 10), prerequisites.OPENSEARCH: (1, 1)}

#: Replication metrics (AWS guide, "Monitoring OpenSearch cluster metrics with Amazon CloudWatch": cross-cluster
#: replication metrics), dimensions ClientId and DomainName.
METRIC_SYNCING_INDICES = "ReplicationNumSyncingIndices"
METRIC_FAILED_INDICES = "ReplicationNumFailedIndices"
METRIC_PAUSED_INDICES = "ReplicationNumPausedIndices"
METRIC_AUTO_FOLLOW_FAILED_START = "AutoFollowNumFailedStartReplication"
METRIC_AUTO_FOLLOW_LEADER_CALL_FAILURE = "AutoFollowLeaderCallFailure"
METRIC_LEADER_CHECKPOINT = "LeaderCheckPoint"
METRIC_FOLLOWER_CHECKPOINT = "FollowerCheckPoint"
#: The one replication metric the leader publishes.
_LEADER_METRICS = frozenset({METRIC_LEADER_CHECKPOINT})


# --- checks ---------------------------------------------------------------------------------------------------
def _check_index(field: str, value: str, *, pattern: bool) -> None:
    """OpenSearch's index name rules, for a concrete name (or pattern, where '*' is a wildcard): the handler's
    own rules (ccs_handler/data_properties.py), so synth refuses exactly what a deploy would."""
    _require_type(field, value, str, "a str such as 'logs-2024'")
    if unresolved(value):
        return
    try:
        data_properties.check_index(field, value, pattern=pattern)
    except InvalidInput as invalid:
        fix = "'*' is the wildcard" if pattern else "name one index (a ReplicationRule follows a pattern)"
        raise InvalidProp(f"{invalid}: {fix}") from None


def _strings(field: str, value: object, example: str) -> list[str]:
    """A list of str (a lone str is refused: it would be read as its characters)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{field} must be a list of str such as {example} (got {type(value).__name__})")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"{field} must be a list of str such as {example} (got an item {item!r})")
        if not item:
            raise InvalidProp(f"{field} must not hold empty strings (got {list(value)!r}); remove the empty entry")
    return list(value)


def _require_role(field: str, value: object) -> iam.IRole:
    if not hasattr(value, "role_arn") or not hasattr(value, "grant_principal"):
        raise TypeError(
            f"{field} must be an aws_iam.IRole such as iam.Role.from_role_arn(...) (got {type(value).__name__})"
        )
    return cast(iam.IRole, value)


def _unique_name(scope: Construct, prefix: str, *, lower: bool = False) -> str:
    """`prefix` and a stable suffix from the construct's unique id (letters and digits, its hash kept when cut),
    at most MAX_NAME_LENGTH characters."""
    room = MAX_NAME_LENGTH - len(prefix)
    uid = re.sub(r"[^A-Za-z0-9]", "", Names.unique_id(scope))
    suffix = uid if len(uid) <= room else uid[: room - 8] + uid[-8:]
    name = prefix + suffix
    return name.lower() if lower else name


# --- the connection and its domains -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _End:
    """One domain of the connection as the data plane reaches it."""

    role: str  #: 'source' or 'destination'
    info: DomainInfo
    construct: Construct | None  #: a domain construct of the app
    domain: AnyDomain | None  #: that construct, or an imported domain (for its endpoint)

    def described(self) -> str:
        return self.construct.node.path if self.construct is not None else self.info.domain_name


def _outbound(connection: object) -> OutboundConnection:
    if isinstance(connection, OutboundConnection) and hasattr(connection, "_cfn"):
        return connection
    if hasattr(connection, "connection_id") and hasattr(connection, "node"):
        path = cast(Construct, connection).node.path
        raise InvalidProp(
            f"connection must be an OutboundConnection of this app (got {path}, an imported connection): the data "
            "plane needs the connection's alias and its domains, which an imported connection does not carry; "
            "declare the connection with OutboundConnection(...) in this app"
        )
    raise TypeError(f"connection must be an OutboundConnection (got {type(connection).__name__})")


def _alias(connection: OutboundConnection) -> str:
    alias = connection._alias
    if alias is None or unresolved(alias):
        raise InvalidProp(
            f"connection: the alias of {connection.node.path} is not known at synthesis (a token): the data plane "
            "names the remote domain by the alias (<alias>:<index>); give connection_alias a literal string"
        )
    return alias


def _imported(scope: Construct, info: DomainInfo) -> AnyDomain | None:
    """An imported domain of the app that names `info` (the connection kept only its DomainInfo)."""
    for candidate in scope.node.root.node.find_all():
        if isinstance(candidate, (opensearch.Domain, elasticsearch.Domain)) or not is_domain(candidate):
            continue
        domain = cast(AnyDomain, candidate)
        if DomainInfo.from_domain(domain) == info:
            return domain
    return None


def _ends(scope: Construct, connection: OutboundConnection) -> tuple[_End, _End]:
    ends = []
    for role, info, construct in (
        ("source", connection.source, connection._source_construct),
        ("destination", connection._destination_info, connection._destination_construct),
    ):
        domain = cast(AnyDomain | None, construct)
        if domain is None:
            domain = _imported(scope, info)
        ends.append(_End(role, info, construct, domain))
    return ends[0], ends[1]


def _endpoint(field: str, given: str | None, end: _End, use: str) -> str:
    """The domain's endpoint: the prop, else the domain construct's (new or imported)."""
    _require_type(field, given, (str, type(None)), "a str such as 'search-logs-abc.eu-west-1.es.amazonaws.com'")
    if given is not None:
        if not unresolved(given) and (not given.strip() or any(c.isspace() for c in given)):
            raise InvalidProp(f"{field} must be a domain endpoint without spaces (got {given!r})")
        return given
    if end.domain is not None:
        return end.domain.domain_endpoint
    raise InvalidProp(
        f"{field} is required: the connection's {end.role} {end.info.domain_name} is a DomainInfo, which has no "
        f"endpoint, and the function calls it {use}; pass {field}= the domain's endpoint (e.g. "
        "'search-name-abc.eu-west-1.es.amazonaws.com', or a token), or connect a domain construct"
    )


def _check_is(field: str, value: DomainInfo | AnyDomain | None, end: _End, other: _End) -> _End:
    """The follower/leader prop: the connection's source/destination (the same construct or the same domain)."""
    if value is None:
        return end
    info, construct = resolve_domain(value, field)
    if (construct is not None and construct is end.construct) or info == end.info:
        # A domain construct or imported domain given here lends what the connection's DomainInfo lacks.
        domain = end.domain
        if domain is None and not isinstance(value, DomainInfo):
            domain = value
        return _End(end.role, end.info, end.construct or construct, domain)
    the_other_way = (construct is not None and construct is other.construct) or info == other.info
    way = (
        f"{field} is the connection's {other.role} ({other.described()}): the connection goes the other way"
        if the_other_way
        else f"{field} ({construct.node.path if construct is not None else info.domain_name}) is not the "
        f"connection's {end.role} ({end.described()})"
    )
    raise InvalidProp(
        f"{way}. Replication pulls: the connection must go from the follower (source) to the leader "
        "(destination); declare OutboundConnection(source=follower, destination=leader)"
    )


def _replication_key(engine: str, version: tuple[int, int]) -> tuple[int, int, int]:
    """Versions in release order across engines: Elasticsearch 7.10, then OpenSearch 1.x and later."""
    return (0 if engine == prerequisites.ELASTICSEARCH else 1, *version)


def _check_replication_domains(connection: OutboundConnection, follower: _End, leader: _End) -> None:
    """What replication needs of the two domains, from the domain constructs' settings, and of the connection."""
    mode = cast(CfnResource, connection.node.default_child)._cfn_properties.get(contract.MODE)
    if mode == ConnectionMode.VPC_ENDPOINT.value:
        raise InvalidProp(
            f"connection: {connection.node.path} has connection_mode VPC_ENDPOINT, which serves remote reindex; "
            "cross-cluster replication needs a DIRECT connection: use connection_mode=ConnectionMode.DIRECT (or "
            "leave it unset)"
        )
    keys = {}
    for name, end in (("follower", follower), ("leader", leader)):
        settings = prerequisites.read_settings(end.construct)
        if settings is None:
            continue
        described = f"the {name} (the connection's {end.role}) domain {end.described()}"
        if settings.engine is not None and settings.version is not None:
            oldest = MIN_REPLICATION_VERSIONS[settings.engine]
            if settings.version < oldest:
                raise InvalidProp(
                    f"connection: {described} runs {settings.engine_version}: cross-cluster replication needs "
                    "Elasticsearch 7.10 or later, or OpenSearch 1.1 or later; upgrade the domain"
                )
            keys[name] = (_replication_key(settings.engine, settings.version), settings.engine_version)
        for enabled, what, fix in (
            (settings.fine_grained_access_control, "fine-grained access control", "set fine_grained_access_control"),
            (settings.node_to_node_encryption, "node-to-node encryption", "set node_to_node_encryption=True"),
        ):
            if enabled is False:
                raise InvalidProp(
                    f"connection: {described} has {what} off: cross-cluster replication needs it on both domains; "
                    f"{fix} on the domain"
                )
    if "leader" in keys and "follower" in keys and keys["leader"][0] < keys["follower"][0]:
        raise InvalidProp(
            f"connection: the leader (destination) domain {leader.described()} runs {keys['leader'][1]}, older than "
            f"the follower (source) domain {follower.described()} ({keys['follower'][1]}): replication needs the "
            "leader at the same or a higher version than the follower, the opposite of cross-cluster search's rule "
            "(a connection used for both needs equal versions); upgrade the leader"
        )


@jsii.implements(IValidation)
class _ConnectedDomainsCheck:
    """At synthesis: each replicating domain is connected to at most 20 other domains (inbound and outbound
    combined), counted over the app's connections in the construct tree."""

    def __init__(self, connection: OutboundConnection) -> None:
        self._connection = connection

    def validate(self) -> list[str]:
        declared = self._connection._declared_connection()
        ends = {"follower": declared.source, "leader": declared.destination}
        neighbours: dict[str, set[tuple[str, ...]]] = {name: set() for name in ends}
        for construct in self._connection.node.root.node.find_all():
            if not isinstance(construct, (OutboundConnection, InboundConnectionAccepter)):
                continue
            if not hasattr(construct, "_kind"):  # pragma: no cover - one that raised while being built
                continue
            other = declared if construct is self._connection else construct._declared_connection()
            for name, end in ends.items():
                if other.source.key == end.key:
                    neighbours[name].add(other.destination.key)
                elif other.destination.key == end.key:
                    neighbours[name].add(other.source.key)
        return [
            f"connection: the {name} domain {ends[name].described} is connected to {len(found)} other domains in "
            f"this app: a domain replicates with at most {prerequisites.LIMIT_PER_DOMAIN} connected domains, "
            "inbound and outbound combined; remove connections or spread them over more domains"
            for name, found in neighbours.items()
            if len(found) > prerequisites.LIMIT_PER_DOMAIN
        ]


# --- the resources -----------------------------------------------------------------------------------------------
class _DataPlaneResource(Resource):
    """What the three constructs share: the custom resource on the stack's provider with its own IAM policy (only
    sts:AssumeRole on the roles it uses), the trust and HTTP grants on roles and domains of the app, the VPC rule,
    and the dependencies."""

    _cfn: CfnResource
    #: The roles' DefaultPolicies that got an HTTP grant (the resource depends on them).
    _grants: list[IConstruct]
    #: Roles of another stack: what they would have got (their fields, the role, the grants as (actions, domain)).
    _foreign: dict[str, tuple[list[str], iam.Role, list[tuple[list[str], Construct]]]]

    def _start(self, connection: object, timeout: Duration | None) -> tuple[OutboundConnection, str, int]:
        self._grants = []
        self._foreign = {}
        found = _outbound(connection)
        timeout = Duration.seconds(contract.DEFAULT_TIMEOUT_SECONDS) if timeout is None else timeout
        _require_type("timeout", timeout, Duration, "a Duration such as Duration.minutes(10)")
        return found, _alias(found), _timeout_seconds(timeout)

    def _own_role(self, role_field: str, role: iam.IRole) -> iam.Role | None:
        """`role` when this construct may add to it: an ``iam.Role`` of this construct's stack. An ``iam.Role`` of
        another stack is left as it is (a trust statement or grant would make that stack depend on this one,
        which depends on it for the role's ARN: a cycle); _create warns what it needs."""
        if not isinstance(role, iam.Role):
            return None
        if Stack.of(role) is not Stack.of(self):
            fields = self._foreign.setdefault(role.node.path, ([], role, []))[0]
            if role_field not in fields:
                fields.append(role_field)
            return None
        return role

    def _reach(self, field: str, end: _End, role_field: str, role: iam.IRole, actions: list[str]) -> None:
        """Let `role` call the domain over HTTPS (a domain construct of the app and a role of this stack), and the
        provider function reach a domain in a VPC."""
        domain = end.construct
        if not isinstance(domain, (opensearch.Domain, elasticsearch.Domain)):
            return
        own = self._own_role(role_field, role)
        if own is None and isinstance(role, iam.Role):
            self._foreign[role.node.path][2].append((actions, domain))
        if own is not None:
            own.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[f"{domain.domain_arn}/*"]))
            policy = own.node.try_find_child("DefaultPolicy")
            if policy is not None and policy not in self._grants:
                self._grants.append(policy)
            stack = Stack.of(own)
            arn = stack.resolve(domain.domain_arn) if Stack.of(domain) is stack else None
            if policy is not None and isinstance(arn, dict) and "Fn::GetAtt" in arn:
                acknowledge(
                    policy,
                    "AwsSolutions-IAM5",
                    f"Resource::<{arn['Fn::GetAtt'][0]}.Arn>/*",
                    "The domain's REST API paths (security plugin, replication plugin, _search) are the resources "
                    "of es:ESHttp* actions; the statement names this one domain",
                )
        if cast(opensearch.CfnDomain, domain.node.default_child).vpc_options is None:
            return
        provider = ConnectionProvider.of(self)
        if provider.options.vpc is None:
            raise InvalidProp(
                f"{field}: domain {domain.node.path} is in a VPC and the connection provider of stack "
                f"{Stack.of(self).node.path} is not, so its function cannot reach the domain's endpoint; call "
                "configure_provider(stack, vpc=...) before the stack's first connection"
            )
        domain.connections.allow_from(provider.function, ec2.Port.tcp(443), "Cross-cluster connection provider")

    def _create(
        self,
        resource_type: str,
        properties: dict[str, object],
        timeout_seconds: int,
        connection: OutboundConnection,
        roles: Sequence[tuple[str, iam.IRole]],
        domains: Sequence[_End],
    ) -> None:
        provider = ConnectionProvider.of(self)
        provider.use_data_plane()
        cfn = CfnResource(
            self,
            "Resource",
            type=resource_type,
            properties={
                "ServiceToken": provider.service_token,
                "ServiceTimeout": str(contract.service_timeout_seconds(timeout_seconds)),
                **properties,
            },
        )
        self._cfn = cfn
        arns: list[str] = []
        for role_field, role in roles:
            if role.role_arn not in arns:
                arns.append(role.role_arn)
            own = self._own_role(role_field, role)
            if own is not None and own.assume_role_policy is not None:
                own.assume_role_policy.add_statements(
                    iam.PolicyStatement(actions=["sts:AssumeRole"], principals=[provider.role])
                )
        for fields, role, grants in self._foreign.values():
            self._warn_foreign(fields, role, grants)
        #: This resource's own IAM policy on the provider's role: sts:AssumeRole on exactly the roles it uses.
        self.policy = provider.register(self, cfn, timeout_seconds, [allow(["sts:AssumeRole"], arns)])
        connection_resource = connection.node.default_child
        assert connection_resource is not None
        cfn.node.add_dependency(connection_resource)
        for end in domains:
            if end.construct is not None:
                cfn.node.add_dependency(end.construct)
        # The HTTP grants exist before the resource's Create and until after its Delete.
        for policy in self._grants:
            cfn.node.add_dependency(policy)

    def _warn_foreign(self, fields: list[str], role: iam.Role, grants: list[tuple[list[str], Construct]]) -> None:
        here, there = Stack.of(self).node.path, Stack.of(role).node.path
        needs = [
            f"a trust statement allowing sts:AssumeRole by the connection provider's role of stack {here} "
            f"(ConnectionProvider.of(stack).role.role_arn)"
        ]
        needs += [
            f"an identity policy statement allowing {', '.join(actions)} on '<domain arn>/*' of the domain "
            f"{domain.node.path}"
            for actions, domain in grants
        ]
        Annotations.of(self).add_warning_v2(
            WARN_ROLE_IN_ANOTHER_STACK,
            f"{' and '.join(fields)} {role.node.path} is in stack {there}, not in stack {here} of "
            f"{self.node.path}: adding to it from here would make the two stacks depend on each other (a cycle), "
            "so nothing was added to it. "
            f"Add to the role yourself: {'; and '.join(needs)}. Use literal ARNs there (a reference to stack "
            f"{here} from stack {there} closes the cycle again), or define the role in stack {here}.",
        )


class RemoteSearchAccess(_DataPlaneResource):
    """Lets the source side of a connection search the destination: a security role on the destination domain.

    On the connection's destination domain the function creates a security role owned by this resource (named
    ``role_name``) that allows ``indices:admin/shards/search_shards`` and ``indices:data/read/search`` on
    ``index_patterns``, and maps it to ``backend_roles`` and ``users`` (the source side's IAM role ARNs or
    backend roles, as the destination's fine-grained access control sees them). Deleting the resource deletes the
    role and its mapping. With ``smoke_search_role`` the function then searches
    ``<connection alias>:<index_patterns[0]>`` on the source as that role, and fails the deployment when the
    destination refuses.

    The function assumes ``admin_role`` (and ``smoke_search_role``): the resource's own policy allows
    ``sts:AssumeRole`` on exactly those roles. A role of this construct's stack (``iam.Role``) gets a trust
    statement for the provider's role; any other role's trust policy must allow the provider's role
    (``ConnectionProvider.of(stack).role.role_arn``). When the domain is a domain construct of this app and the
    role an ``iam.Role`` of this stack, ``admin_role`` gets ``es:ESHttpGet``, ``es:ESHttpPut``, ``es:ESHttpPost``,
    ``es:ESHttpPatch`` and ``es:ESHttpDelete`` on the destination domain's paths (``<domain arn>/*``), and
    ``smoke_search_role`` gets only ``es:ESHttpGet`` on the source domain's paths; the resource depends on those
    grants (created before it, deleted after it). An ``iam.Role`` of another stack gets nothing (that would make
    the stacks depend on each other): a warning (``cross-cluster-search:adminRoleInAnotherStack``) says what to
    add to it. A domain in a VPC needs the provider in a VPC (``configure_provider(stack, vpc=...)``) and lets
    its function in on port 443.

    :param scope: the construct's parent.
    :param id: the construct's id.
    :param connection: the ``OutboundConnection`` of this app to search through (its alias must be a literal).
    :param admin_role: the role the function assumes to call the destination domain: its fine-grained access
        control's master user, or a role mapped to ``all_access`` or ``security_manager``.
    :param index_patterns: the destination's indices the source may search (OpenSearch index names, '*' allowed).
    :param backend_roles: backend roles (e.g. the source side's IAM role ARNs) mapped to the role.
        :default: - none (then ``users`` must name someone)
    :param users: users (e.g. IAM user or role ARNs, internal users) mapped to the role.
        :default: - none (then ``backend_roles`` must name someone)
    :param smoke_search_role: a role (among ``backend_roles`` or ``users``) the function assumes to search the
        source through the connection after each change, proving that searches work; an ``iam.Role`` of this stack
        gets only trust for the provider's role and ``es:ESHttpGet`` on the source domain's paths.
        :default: - no smoke search
    :param destination_endpoint: the destination domain's endpoint. :default: - the destination domain
        construct's ``domain_endpoint``; required when the destination is a ``DomainInfo``
    :param source_endpoint: the source domain's endpoint, for the smoke search. :default: - the source domain
        construct's ``domain_endpoint``; required for a smoke search when the source is a ``DomainInfo``
    :param timeout: how long each Create, Update or Delete may take (10 s - 13 min). :default: - 10 minutes
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        connection: OutboundConnection,
        admin_role: iam.IRole,
        index_patterns: Sequence[str],
        backend_roles: Sequence[str] = (),
        users: Sequence[str] = (),
        smoke_search_role: iam.IRole | None = None,
        destination_endpoint: str | None = None,
        source_endpoint: str | None = None,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        found, alias, timeout_seconds = self._start(connection, timeout)
        admin = _require_role("admin_role", admin_role)
        patterns = _strings("index_patterns", index_patterns, "['logs-*']")
        if not patterns:
            raise InvalidProp("index_patterns must name at least one index or pattern (got []), e.g. ['logs-*']")
        for pattern in patterns:
            _check_index("index_patterns", pattern, pattern=True)
        backends = _strings("backend_roles", backend_roles, "['arn:aws:iam::111111111111:role/search']")
        names = _strings("users", users, "['arn:aws:iam::111111111111:role/search']")
        if not backends and not names:
            raise InvalidProp(
                "backend_roles and users are both empty: the role would be mapped to no one; pass the source side's "
                "IAM role ARNs (or backend roles) in backend_roles, or users in users"
            )
        source, destination = _ends(self, found)
        roles: list[tuple[str, iam.IRole]] = [("admin_role", admin)]
        smoke = None
        if smoke_search_role is not None:
            smoke_role = _require_role("smoke_search_role", smoke_search_role)
            arn = smoke_role.role_arn
            mapped = [*backends, *names]
            if arn not in mapped and not unresolved(arn) and not any(unresolved(m) for m in mapped):
                raise InvalidProp(
                    f"smoke_search_role must be among backend_roles or users (got {arn}, mapped: {mapped}): the smoke "
                    "search proves that a mapped principal can search; add its ARN to backend_roles"
                )
            endpoint = _endpoint("source_endpoint", source_endpoint, source, "for the smoke search")
            smoke = {
                contract.DOMAIN_NAME: source.info.domain_name,
                contract.REGION: source.info.region,
                contract.ENDPOINT: endpoint,
                contract.SMOKE_ROLE_ARN: arn,
            }
            roles.append(("smoke_search_role", smoke_role))
        elif source_endpoint is not None:
            raise InvalidProp(
                "source_endpoint is only used by the smoke search: set smoke_search_role, or remove source_endpoint"
            )
        self._role_name = _unique_name(self, SEARCH_ROLE_PREFIX)
        properties = contract.search_access_properties(
            destination=contract.data_plane_domain(
                destination.info.domain_name,
                destination.info.region,
                _endpoint("destination_endpoint", destination_endpoint, destination, "to create the role"),
                admin.role_arn,
            ),
            role_name=self._role_name,
            index_patterns=patterns,
            users=names,
            backend_roles=backends,
            timeout_seconds=timeout_seconds,
            alias=alias,
            smoke_search=smoke,
        )
        self._reach("connection", destination, "admin_role", admin, ADMIN_HTTP_ACTIONS)
        domains = [destination]
        if smoke is not None:
            self._reach("connection", source, "smoke_search_role", roles[1][1], SEARCH_HTTP_ACTIONS)
            domains.append(source)
        self.connection = found  #: the connection searched through
        self._create(SEARCH_ACCESS_RESOURCE_TYPE, properties, timeout_seconds, found, roles, domains)

    @property
    def role_name(self) -> str:
        """The security role this resource owns on the destination domain (`Fn::GetAtt RoleName`)."""
        return Token.as_string(self._cfn.get_att(contract.ATTR_ROLE_NAME))


def _replication_metric(metric_name: str, domain: DomainInfo, props: MetricProps) -> cloudwatch.Metric:
    """A replication metric of `domain` (dimensions DomainName and ClientId), in its account and region when
    they are known."""
    dimensions = {"DomainName": domain.domain_name, "ClientId": domain.owner_id}
    return cloudwatch.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={**dimensions, **props.get("dimensions_map", {})},
        account=props.get("account") or (None if unresolved(domain.owner_id) else domain.owner_id),
        region=props.get("region") or (None if unresolved(domain.region) else domain.region),
        color=props.get("color"),
        label=props.get("label"),
        period=props.get("period"),
        statistic=props.get("statistic"),
        unit=props.get("unit"),
    )


class _ReplicationResource(_DataPlaneResource):
    """FollowerIndex and ReplicationRule: the two domains, their checks, and the replication metrics."""

    _follower: _End
    _leader: _End

    def _replication(
        self,
        connection: object,
        timeout: Duration | None,
        follower: DomainInfo | AnyDomain | None,
        leader: DomainInfo | AnyDomain | None,
        leader_admin_role: iam.IRole,
        follower_admin_role: iam.IRole,
        leader_endpoint: str | None,
        follower_endpoint: str | None,
    ) -> tuple[str, int, dict[str, str], dict[str, str]]:
        found, alias, timeout_seconds = self._start(connection, timeout)
        leader_role = _require_role("leader_admin_role", leader_admin_role)
        follower_role = _require_role("follower_admin_role", follower_admin_role)
        source, destination = _ends(self, found)
        self._follower = _check_is("follower", follower, source, destination)
        self._leader = _check_is("leader", leader, destination, source)
        _check_replication_domains(found, self._follower, self._leader)
        self.node.add_validation(_ConnectedDomainsCheck(found))
        leader_domain = contract.data_plane_domain(
            self._leader.info.domain_name,
            self._leader.info.region,
            _endpoint("leader_endpoint", leader_endpoint, self._leader, "to let the follower replicate"),
            leader_role.role_arn,
        )
        follower_domain = contract.data_plane_domain(
            self._follower.info.domain_name,
            self._follower.info.region,
            _endpoint("follower_endpoint", follower_endpoint, self._follower, "to start replication"),
            follower_role.role_arn,
        )
        self._reach("leader", self._leader, "leader_admin_role", leader_role, ADMIN_HTTP_ACTIONS)
        self._reach("follower", self._follower, "follower_admin_role", follower_role, ADMIN_HTTP_ACTIONS)
        self._roles: list[tuple[str, iam.IRole]] = [
            ("leader_admin_role", leader_role),
            ("follower_admin_role", follower_role),
        ]
        self.connection = found  #: the connection replicated through (from the follower to the leader)
        return alias, timeout_seconds, leader_domain, follower_domain

    def _finish(self, resource_type: str, properties: dict[str, object], timeout_seconds: int) -> None:
        self._create(
            resource_type, properties, timeout_seconds, self.connection, self._roles, [self._leader, self._follower]
        )

    @property
    def follower(self) -> DomainInfo:
        """The follower domain (the connection's source)."""
        return self._follower.info

    @property
    def leader(self) -> DomainInfo:
        """The leader domain (the connection's destination)."""
        return self._leader.info

    def metric(self, metric_name: str, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """A replication metric in ``AWS/ES`` with the dimensions ``DomainName`` and ``ClientId`` (the account) of
        the follower domain (of the leader for ``LeaderCheckPoint``), in that domain's account and region.
        :default: - ``Average`` over 5 minutes
        """
        domain = self._leader.info if metric_name in _LEADER_METRICS else self._follower.info
        return _replication_metric(metric_name, domain, props)

    def metric_replication_num_syncing_indices(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``ReplicationNumSyncingIndices`` of the follower: indices replicating. :default: - ``Maximum``, 5 min"""
        return self.metric(METRIC_SYNCING_INDICES, **_with_statistic(props, "Maximum"))

    def metric_replication_num_failed_indices(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``ReplicationNumFailedIndices`` of the follower: indices whose replication failed (alarm above 0).
        :default: - ``Maximum`` over 5 minutes
        """
        return self.metric(METRIC_FAILED_INDICES, **_with_statistic(props, "Maximum"))

    def metric_replication_num_paused_indices(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``ReplicationNumPausedIndices`` of the follower: indices whose replication is paused.
        :default: - ``Maximum`` over 5 minutes
        """
        return self.metric(METRIC_PAUSED_INDICES, **_with_statistic(props, "Maximum"))

    def metric_auto_follow_num_failed_start_replication(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``AutoFollowNumFailedStartReplication`` of the follower: replications auto-follow rules failed to
        start. :default: - ``Sum`` over 5 minutes
        """
        return self.metric(METRIC_AUTO_FOLLOW_FAILED_START, **_with_statistic(props, "Sum"))

    def metric_auto_follow_leader_call_failure(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``AutoFollowLeaderCallFailure`` of the follower: failed calls of auto-follow rules to the leader.
        :default: - ``Sum`` over 5 minutes
        """
        return self.metric(
            METRIC_AUTO_FOLLOW_LEADER_CALL_FAILURE,
            **_with_statistic(props, "Sum"),
        )

    def metric_leader_check_point(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``LeaderCheckPoint`` of the leader domain (in the leader's account and region): the leader's
        checkpoints of the replicated indices; compare with ``metric_follower_check_point`` for the lag.
        :default: - ``Maximum`` over 5 minutes
        """
        return self.metric(METRIC_LEADER_CHECKPOINT, **_with_statistic(props, "Maximum"))

    def metric_follower_check_point(self, **props: Unpack[MetricProps]) -> cloudwatch.Metric:
        """``FollowerCheckPoint`` of the follower: the follower's checkpoints of the replicated indices.
        :default: - ``Maximum`` over 5 minutes
        """
        return self.metric(METRIC_FOLLOWER_CHECKPOINT, **_with_statistic(props, "Maximum"))


_REPLICATION_DOC = """
    Replication pulls: the connection's source is the follower and its destination the leader. Both domains
    need Elasticsearch 7.10+ or OpenSearch 1.1+, fine-grained access control and node-to-node encryption, the
    leader at the same or a higher version than the follower (the opposite of cross-cluster search's rule: a
    connection used for both needs equal versions), a ``DIRECT`` connection, and at most 20 connected domains
    each; what the domain constructs of the app say is checked at synthesis.

    The function assumes ``leader_admin_role`` and ``follower_admin_role`` (the domains' master users, or roles
    mapped to ``all_access`` or ``security_manager``): the resource's own policy allows ``sts:AssumeRole`` on
    exactly those roles. A role of this construct's stack (``iam.Role``) gets a trust statement for the
    provider's role; any other role's trust policy must allow the provider's role
    (``ConnectionProvider.of(stack).role.role_arn``). When a domain is a domain construct of this app and its
    admin role an ``iam.Role`` of this stack, the role gets ``es:ESHttpGet``, ``es:ESHttpPut``, ``es:ESHttpPost``,
    ``es:ESHttpPatch`` and ``es:ESHttpDelete`` on the domain's paths (``<domain arn>/*``), and the resource
    depends on that grant (created before it, deleted after it). An ``iam.Role`` of another stack gets nothing
    (that would make the stacks depend on each other): a warning (``cross-cluster-search:adminRoleInAnotherStack``)
    says what to add to it. A domain in a VPC needs the provider in a VPC (``configure_provider(stack, vpc=...)``)
    and lets its function in on port 443.
"""


class FollowerIndex(_ReplicationResource):
    """Replicates one leader index into a follower index through a connection (cross-cluster replication).

    The function maps the replication roles on both domains to roles this resource owns, starts replication of
    ``leader_index`` into ``follower_index`` on the follower and waits until it is ``SYNCING``. Deleting the
    resource leaves the follower index replicating unless ``stop_replication_on_delete``.
    {replication}
    :param scope: the construct's parent.
    :param id: the construct's id.
    :param connection: the ``OutboundConnection`` of this app from the follower (source) to the leader
        (destination); its alias must be a literal and its mode ``DIRECT``.
    :param leader_index: the index on the leader to replicate (an OpenSearch index name, no '*').
    :param leader_admin_role: the role the function assumes to call the leader domain.
    :param follower_admin_role: the role the function assumes to call the follower domain.
    :param follower_index: the index to create on the follower. :default: - ``leader_index``
    :param stop_replication_on_delete: stop the replication when the resource is deleted (irreversible: the
        follower index becomes a normal, writable index). :default: - ``False``: the index keeps replicating
    :param leader_endpoint: the leader domain's endpoint. :default: - the leader domain construct's
        ``domain_endpoint``; required when the leader is a ``DomainInfo``
    :param follower_endpoint: the follower domain's endpoint. :default: - the follower domain construct's
        ``domain_endpoint``; required when the follower is a ``DomainInfo``
    :param follower: the follower domain, to check that it is the connection's source (a domain construct or
        imported domain given here also lends its endpoint). :default: - the connection's source
    :param leader: the leader domain, to check that it is the connection's destination. :default: - the
        connection's destination
    :param timeout: how long each Create, Update or Delete may wait (10 s - 13 min). :default: - 10 minutes
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        connection: OutboundConnection,
        leader_index: str,
        leader_admin_role: iam.IRole,
        follower_admin_role: iam.IRole,
        follower_index: str | None = None,
        stop_replication_on_delete: bool = False,
        leader_endpoint: str | None = None,
        follower_endpoint: str | None = None,
        follower: DomainInfo | AnyDomain | None = None,
        leader: DomainInfo | AnyDomain | None = None,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        _check_index("leader_index", leader_index, pattern=False)
        follower_index = leader_index if follower_index is None else follower_index
        _check_index("follower_index", follower_index, pattern=False)
        _require_type("stop_replication_on_delete", stop_replication_on_delete, bool, "a bool (True or False)")
        alias, timeout_seconds, leader_domain, follower_domain = self._replication(
            connection,
            timeout,
            follower,
            leader,
            leader_admin_role,
            follower_admin_role,
            leader_endpoint,
            follower_endpoint,
        )
        properties = contract.replication_properties(
            leader=leader_domain,
            follower=follower_domain,
            role_name=_unique_name(self, FOLLOWER_ROLE_PREFIX),
            alias=alias,
            timeout_seconds=timeout_seconds,
            leader_index=leader_index,
            follower_index=follower_index,
            stop_on_delete=stop_replication_on_delete,
        )
        self._finish(FOLLOWER_INDEX_RESOURCE_TYPE, properties, timeout_seconds)

    @property
    def follower_index_name(self) -> str:
        """The follower index (`Fn::GetAtt FollowerIndex`)."""
        return Token.as_string(self._cfn.get_att(contract.ATTR_FOLLOWER_INDEX))

    @property
    def replication_status(self) -> str:
        """The replication's status when the last Create or Update ended, e.g. ``SYNCING``
        (`Fn::GetAtt ReplicationStatus`)."""
        return Token.as_string(self._cfn.get_att(contract.ATTR_REPLICATION_STATUS))


class ReplicationRule(_ReplicationResource):
    """An auto-follow rule: the follower replicates every leader index matching a pattern, present and future.

    The function maps the replication roles on both domains to roles this resource owns and creates the rule on
    the follower, then waits until every leader index the pattern matches now is ``SYNCING``. Deleting the resource
    deletes the rule; the replications it started go on unless ``stop_replication_on_delete``.
    {replication}
    :param scope: the construct's parent.
    :param id: the construct's id.
    :param connection: the ``OutboundConnection`` of this app from the follower (source) to the leader
        (destination); its alias must be a literal and its mode ``DIRECT``.
    :param index_pattern: the leader indices to follow (an OpenSearch index pattern, '*' allowed).
    :param leader_admin_role: the role the function assumes to call the leader domain.
    :param follower_admin_role: the role the function assumes to call the follower domain.
    :param rule_name: the rule's name (1-100 of a-z, 0-9, '_', '-', starting with a letter or digit); it must be
        unique per follower domain: the replication plugin's auto-follow POST replaces a rule of the same name
        on the follower (another ReplicationRule's, or one made by hand). :default: - ``cdk_ccs_`` and the
        construct's unique id, lowercase (unique in the app)
    :param stop_replication_on_delete: when the resource is deleted, also stop the replication of the leader
        indices the pattern matches that follow through this connection (irreversible: they stay, as normal
        indices), and delete the roles they ran as. :default: - ``False``: they go on replicating
    :param leader_endpoint: the leader domain's endpoint. :default: - the leader domain construct's
        ``domain_endpoint``; required when the leader is a ``DomainInfo``
    :param follower_endpoint: the follower domain's endpoint. :default: - the follower domain construct's
        ``domain_endpoint``; required when the follower is a ``DomainInfo``
    :param follower: the follower domain, to check that it is the connection's source. :default: - the
        connection's source
    :param leader: the leader domain, to check that it is the connection's destination. :default: - the
        connection's destination
    :param timeout: how long each Create, Update or Delete may wait (10 s - 13 min). :default: - 10 minutes
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        connection: OutboundConnection,
        index_pattern: str,
        leader_admin_role: iam.IRole,
        follower_admin_role: iam.IRole,
        rule_name: str | None = None,
        stop_replication_on_delete: bool = False,
        leader_endpoint: str | None = None,
        follower_endpoint: str | None = None,
        follower: DomainInfo | AnyDomain | None = None,
        leader: DomainInfo | AnyDomain | None = None,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, id)
        _check_index("index_pattern", index_pattern, pattern=True)
        _require_type("stop_replication_on_delete", stop_replication_on_delete, bool, "a bool (True or False)")
        _require_type("rule_name", rule_name, (str, type(None)), "a str or None")
        if rule_name is not None and not unresolved(rule_name):
            try:
                data_properties.check_rule_name("rule_name", rule_name)
            except InvalidInput as invalid:
                raise InvalidProp(f"{invalid}; e.g. 'logs-rule', or leave it unset for a name from the id") from None
        self._rule_name = rule_name if rule_name is not None else _unique_name(self, RULE_NAME_PREFIX, lower=True)
        alias, timeout_seconds, leader_domain, follower_domain = self._replication(
            connection,
            timeout,
            follower,
            leader,
            leader_admin_role,
            follower_admin_role,
            leader_endpoint,
            follower_endpoint,
        )
        properties = contract.replication_properties(
            leader=leader_domain,
            follower=follower_domain,
            role_name=_unique_name(self, AUTO_FOLLOW_ROLE_PREFIX),
            alias=alias,
            timeout_seconds=timeout_seconds,
            rule_name=self._rule_name,
            index_pattern=index_pattern,
            stop_on_delete=stop_replication_on_delete,
        )
        self._finish(REPLICATION_RULE_RESOURCE_TYPE, properties, timeout_seconds)

    @property
    def rule_name(self) -> str:
        """The auto-follow rule's name on the follower."""
        return self._rule_name


for _cls in (FollowerIndex, ReplicationRule):
    _cls.__doc__ = (_cls.__doc__ or "").replace("{replication}", _REPLICATION_DOC.rstrip())

__all__ = [
    "FOLLOWER_INDEX_RESOURCE_TYPE",
    "REPLICATION_RULE_RESOURCE_TYPE",
    "SEARCH_ACCESS_RESOURCE_TYPE",
    "FollowerIndex",
    "RemoteSearchAccess",
    "ReplicationRule",
]
