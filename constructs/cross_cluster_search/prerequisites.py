"""What AWS would refuse, checked when the app synthesizes (`cdk synth`), not after the domains were built.

Source: the Amazon OpenSearch Service developer guide, "Cross-cluster search" (its limitations and
prerequisites): fine-grained access control and node-to-node encryption on both domains; Elasticsearch 6.7 or
later, or OpenSearch; across regions Elasticsearch 7.10 or later, or OpenSearch; an Elasticsearch domain cannot
connect to an OpenSearch domain; aliases are unique per source domain; at most 20 outbound and 20 inbound
connections per domain; no M3 or burstable (T2, T3) instances. Where the sources disagree (version order, the
instance types) the rule is a warning, acknowledgeable by its id.

Each connection adds a `node.add_validation`: at synthesis, after the whole app was built, it reads the domains'
settings and finds the app's other connections in the construct tree; nothing is kept between syntheses.
Settings come from the domain constructs of the app (`node.default_child`, the `CfnDomain`); imported domains and
`DomainInfo`s have none, and token values are skipped.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import jsii
from aws_cdk import Annotations, Stack
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct, IConstruct, IValidation

from cross_cluster_search.domain_info import DomainInfo, default_child_of, stack_of
from cross_cluster_search.tokens import unresolved

#: Warning ids, for `Annotations.of(scope).acknowledge_warning(id)`.
WARN_SOURCE_OLDER = "cross-cluster-search:sourceOlderThanDestination"
WARN_INSTANCE_TYPE = "cross-cluster-search:unsupportedInstanceType"
#: Connections per domain, each way.
LIMIT_PER_DOMAIN = 20
MIN_VERSION = (6, 7)
MIN_CROSS_REGION_VERSION = (7, 10)
_ENGINE_VERSION = re.compile(r"(OpenSearch|Elasticsearch)_(\d+)\.(\d+)")
_UNSUPPORTED_INSTANCE = re.compile(r"(m3|t2|t3)\.", re.IGNORECASE)
ELASTICSEARCH = "Elasticsearch"
OPENSEARCH = "OpenSearch"


@dataclass(frozen=True)
class DomainSettings:
    """What a domain construct's CfnDomain says; None where it is a token or not set."""

    engine_version: str | None  #: e.g. 'OpenSearch_2.19', 'Elasticsearch_7.10'
    fine_grained_access_control: bool | None
    node_to_node_encryption: bool | None
    instance_types: tuple[str, ...]
    domain_name: str | None = None  #: the physical name, when concrete

    @property
    def engine(self) -> str | None:
        match = _ENGINE_VERSION.fullmatch(self.engine_version or "")
        return None if match is None else match[1]

    @property
    def version(self) -> tuple[int, int] | None:
        match = _ENGINE_VERSION.fullmatch(self.engine_version or "")
        return None if match is None else (int(match[2]), int(match[3]))


def _concrete(value: object) -> str | None:
    return value if isinstance(value, str) and not unresolved(value) else None


def _enabled(options: object) -> bool | None:
    """A resolved `{enabled: ...}` option: absent means off (CloudFormation's default); a token, unknown."""
    if options is None:
        return False
    if not isinstance(options, dict) or any(key == "Ref" or key.startswith("Fn::") for key in options):
        return None
    enabled = options.get("enabled", False)
    return enabled if isinstance(enabled, bool) else None


def read_settings(domain: IConstruct | None) -> DomainSettings | None:
    """The settings of a domain construct of the app (its CfnDomain's properties, resolved in one call to
    aws-cdk-lib); None for anything else."""
    if domain is None:
        return None
    cfn = default_child_of(domain)
    if isinstance(cfn, opensearch.CfnDomain):
        version_key, cluster_key, prefix = "engineVersion", "clusterConfig", ""
    elif isinstance(cfn, elasticsearch.CfnDomain):
        version_key, cluster_key, prefix = "elasticsearchVersion", "elasticsearchClusterConfig", f"{ELASTICSEARCH}_"
    else:
        return None
    resolved = stack_of(domain).resolve(cfn._cfn_properties)
    properties: dict[str, object] = resolved if isinstance(resolved, dict) else {}
    version = _concrete(properties.get(version_key))
    cluster = properties.get(cluster_key)
    types: tuple[str, ...] = ()
    if isinstance(cluster, dict):
        types = tuple(
            value
            for key in ("instanceType", "dedicatedMasterType")
            if (value := _concrete(cluster.get(key))) is not None
        )
    return DomainSettings(
        engine_version=None if version is None else prefix + version,
        fine_grained_access_control=_enabled(properties.get("advancedSecurityOptions")),
        node_to_node_encryption=_enabled(properties.get("nodeToNodeEncryptionOptions")),
        instance_types=types,
        domain_name=_concrete(properties.get("domainName")),
    )


@dataclass(eq=False)
class Side:
    """One end of a connection, as the checks see it."""

    role: str  #: 'source' or 'destination'
    info: DomainInfo
    construct: IConstruct | None
    scope: Construct  #: the connection construct (for resolving tokens in its stack)

    @cached_property
    def settings(self) -> DomainSettings | None:
        """The domain construct's settings as they are now (read once per check)."""
        return read_settings(self.construct)

    @cached_property
    def key(self) -> tuple[str, ...]:
        """Which domain this is: its account, region and name when all are concrete; otherwise the construct's
        path, or the tokens as its stack resolves them."""
        name = self.info.domain_name
        if self.settings is not None:
            name = self.settings.domain_name or name
        values = (self.info.owner_id, self.info.region, name)
        if not any(unresolved(value) for value in values):
            return ("domain", *values)
        if self.construct is not None:
            return ("construct", self.construct.node.path)
        stack = Stack.of(self.scope)
        return ("tokens", stack.node.path, json.dumps(stack.resolve(list(values)), sort_keys=True))

    @cached_property
    def described(self) -> str:
        if self.construct is not None:
            return self.construct.node.path
        shown = [value if not unresolved(value) else "<token>" for value in self._values]
        return f"{shown[2]} (account {shown[0]}, {shown[1]})"

    @property
    def _values(self) -> tuple[str, str, str]:
        return self.info.owner_id, self.info.region, self.info.domain_name


@dataclass(eq=False)
class DeclaredConnection:
    """A connection as the app declares it, read from its construct when the checks run: the construct, its two
    ends and (outbound only) its alias."""

    construct: Construct
    kind: str  #: 'outbound' or 'accepter'
    source: Side
    destination: Side
    alias: str | None


def _pair_rules(connection: DeclaredConnection) -> tuple[list[str], list[tuple[str, str]]]:
    """Errors and (id, message) warnings for one connection's two domains."""
    errors: list[str] = []
    warnings: list[tuple[str, str]] = []
    source, destination = connection.source, connection.destination
    if source.key == destination.key:
        errors.append(
            f"source and destination are the same domain ({source.described}): a connection joins two different "
            "domains; pass the domain to search as destination"
        )
        return errors, warnings
    settings = {side.role: side.settings for side in (source, destination)}
    regions = (source.info.region, destination.info.region)
    cross_region = not any(unresolved(r) for r in regions) and regions[0] != regions[1]
    for side in (source, destination):
        found = settings[side.role]
        if found is None:
            continue
        if found.fine_grained_access_control is False:
            errors.append(
                f"{side.role} domain {side.described} has fine-grained access control off: cross-cluster search "
                "needs it on both domains; set fine_grained_access_control on the domain "
                "(advanced_security_options.enabled)"
            )
        if found.node_to_node_encryption is False:
            errors.append(
                f"{side.role} domain {side.described} has node-to-node encryption off: cross-cluster search needs "
                "it on both domains; set node_to_node_encryption=True on the domain"
            )
        version = found.version
        if found.engine == ELASTICSEARCH and version is not None:
            if version < MIN_VERSION:
                errors.append(
                    f"{side.role} domain {side.described} runs {found.engine_version}: cross-cluster search needs "
                    "Elasticsearch 6.7 or later, or OpenSearch; upgrade the domain"
                )
            elif cross_region and version < MIN_CROSS_REGION_VERSION:
                errors.append(
                    f"{side.role} domain {side.described} runs {found.engine_version} and the domains are in "
                    f"different regions ({regions[0]}, {regions[1]}): across regions cross-cluster search needs "
                    "Elasticsearch 7.10 or later, or OpenSearch; upgrade the domain or keep both in one region"
                )
        for instance_type in found.instance_types:
            if _UNSUPPORTED_INSTANCE.match(instance_type):
                warnings.append(
                    (
                        WARN_INSTANCE_TYPE,
                        f"{side.role} domain {side.described} uses instance type {instance_type}: AWS's guide "
                        "says cross-cluster search does not support M3 or burstable (T2, T3) instance types "
                        "(though such domains have been seen to connect); choose another instance type",
                    )
                )
    ours, theirs = settings["source"], settings["destination"]
    if ours is not None and theirs is not None and ours.engine and theirs.engine:
        if ours.engine == ELASTICSEARCH and theirs.engine == OPENSEARCH:
            errors.append(
                f"source domain {source.described} runs {ours.engine_version} and destination domain "
                f"{destination.described} runs {theirs.engine_version}: an Elasticsearch domain cannot connect to "
                "an OpenSearch domain; upgrade the source to OpenSearch or connect to an Elasticsearch domain"
            )
        elif ours.engine == theirs.engine and ours.version and theirs.version and ours.version < theirs.version:
            warnings.append(
                (
                    WARN_SOURCE_OLDER,
                    f"source domain {source.described} runs {ours.engine_version}, older than destination domain "
                    f"{destination.described} ({theirs.engine_version}): AWS's guide asks for a source of the "
                    "same or a higher version (older guides: the same major, or the last minor of the previous "
                    "major); upgrade the source",
                )
            )
    return errors, warnings


def _over_limit(
    groups: dict[tuple[str, ...], list[DeclaredConnection]], side: str, way: str
) -> Iterable[tuple[str, str]]:
    for members in groups.values():
        if len(members) <= LIMIT_PER_DOMAIN:
            continue
        domain = getattr(members[0], side).described
        for extra in members[LIMIT_PER_DOMAIN:]:
            yield (
                extra.construct.node.path,
                f"{side} domain {domain} has {len(members)} {way} connections in this app (the first by "
                f"{members[0].construct.node.path}); a domain has at most {LIMIT_PER_DOMAIN} {way} connections: "
                "remove connections or spread them over more domains",
            )


def _app_rules(connections: list[DeclaredConnection]) -> dict[str, list[str]]:
    """Alias uniqueness per source domain and the 20/20 limits, over every connection of the app, by the path of
    the connection construct they concern."""
    findings: dict[str, list[str]] = {}
    outbound = [c for c in connections if c.kind == "outbound"]
    first_by_alias: dict[tuple[object, ...], DeclaredConnection] = {}
    for connection in outbound:
        if connection.alias is None or unresolved(connection.alias):
            continue
        alias_key = (connection.source.key, connection.alias)
        first = first_by_alias.setdefault(alias_key, connection)
        if first is not connection:
            findings.setdefault(connection.construct.node.path, []).append(
                f"connection_alias {connection.alias!r} from source domain {connection.source.described} is "
                f"already used by {first.construct.node.path}: aliases are unique per source domain; choose "
                "another alias"
            )
    by_source: dict[tuple[str, ...], list[DeclaredConnection]] = {}
    by_destination: dict[tuple[str, ...], list[DeclaredConnection]] = {}
    pairs = {(c.source.key, c.destination.key) for c in outbound}
    for connection in connections:
        pair = (connection.source.key, connection.destination.key)
        if connection.kind == "outbound":
            by_source.setdefault(pair[0], []).append(connection)
        if connection.kind == "outbound" or pair not in pairs:  # an accepter of an outbound of this app is one
            by_destination.setdefault(pair[1], []).append(connection)
    limits = (*_over_limit(by_source, "source", "outbound"), *_over_limit(by_destination, "destination", "inbound"))
    for connection_key, message in limits:
        findings.setdefault(connection_key, []).append(message)
    return findings


#: Reads a construct as a connection of the app; None for any other construct.
Declared = Callable[[IConstruct], "DeclaredConnection | None"]


@jsii.implements(IValidation)
class _Prerequisites:
    """Runs at synthesis: errors fail `cdk synth` (with the construct's path); warnings are annotations. The
    connection and the app's other connections are read from the construct tree then, not kept."""

    def __init__(self, construct: Construct, declared: Declared, first: IValidation | None) -> None:
        self._construct = construct
        self._declared = declared
        self._first = first

    def validate(self) -> list[str]:
        first = list(self._first.validate()) if self._first is not None else []
        connection = self._declared(self._construct)
        if connection is None:  # pragma: no cover - only connection constructs add this validation
            return first
        errors, warnings = _pair_rules(connection)
        for warning_id, message in warnings:
            Annotations.of(connection.construct).add_warning_v2(warning_id, message)
        others = app_connections(connection.construct, self._declared, known=connection)
        if len(others) < 2:  # alias clashes and the 20/20 limits take two connections at least
            return first + errors
        return first + errors + _app_rules(others).get(connection.construct.node.path, [])


def app_connections(
    scope: IConstruct, declared: Declared, *, known: DeclaredConnection | None = None
) -> list[DeclaredConnection]:
    """Every connection of the scope's app, in the construct tree's order; `known`, already read, stands for its
    own construct (its domains are not read twice). When ``add_checks`` saw no other connection in the app than
    `scope`, that is the answer without walking the tree (a connection removed since can only make it fewer)."""
    root = _construct_roots.get(scope)
    seen = _registered.get(root) if root is not None else None
    constructs = [scope] if seen == [scope] else scope.node.root.node.find_all()
    found = (
        known if known is not None and construct is known.construct else declared(construct) for construct in constructs
    )
    return [connection for connection in found if connection is not None]


#: Each stack's root (the app), and the connection constructs ``add_checks`` saw, by root: an app with one
#: connection needs no walk of the whole construct tree at its validation.
_stack_roots: weakref.WeakKeyDictionary[Stack, IConstruct] = weakref.WeakKeyDictionary()
_construct_roots: weakref.WeakKeyDictionary[IConstruct, IConstruct] = weakref.WeakKeyDictionary()
_registered: weakref.WeakKeyDictionary[IConstruct, list[IConstruct]] = weakref.WeakKeyDictionary()


def add_checks(
    construct: Construct, declared: Declared, *, first: IValidation | None = None, stack: Stack | None = None
) -> None:
    """Check the connection `construct` (of `stack`, when the caller knows it) when the app synthesizes, on its
    own and with the app's other connections; `declared` reads any construct of the app as a connection (None
    for other constructs). `first` (the connection's own checks, e.g. its removal policy) runs in the same
    validation, its errors first: one validation, so one call from aws-cdk-lib back into Python per connection
    at synthesis."""
    stack = stack or stack_of(construct)
    root = _stack_roots.get(stack)
    if root is None:
        root = _stack_roots[stack] = stack.node.root
    _construct_roots[construct] = root
    _registered.setdefault(root, []).append(construct)
    construct.node.add_validation(_Prerequisites(construct, declared, first))


__all__ = [
    "WARN_INSTANCE_TYPE",
    "WARN_SOURCE_OLDER",
    "DeclaredConnection",
    "DomainSettings",
    "Side",
    "add_checks",
    "app_connections",
    "read_settings",
]
