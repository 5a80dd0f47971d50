"""Rules for the data plane's inputs (index names and patterns, security role names, mapping entries, domain
endpoints), and parsing of the data-plane resources' properties. Like properties.py it depends on nothing but
the contract and properties.py, so the construct library applies the same rules at synth.

Index rules: OpenSearch's index naming (MetadataCreateIndexService.validateIndexOrAliasName, and the
OpenSearch docs "Index APIs > Create index": lowercase; not starting with `_`, `-` or `+`; not `.` or `..`;
none of `\\ / * ? " < > | space , # :`, the colon being
cross-cluster search's `alias:index`; at most 255 bytes). A pattern may hold `*`; a name may not.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .contract import (
    ADMIN_ROLE_ARN,
    ALIAS,
    BACKEND_ROLES,
    DOMAIN_NAME,
    ENDPOINT,
    FOLLOWER,
    FOLLOWER_INDEX,
    FOLLOWER_INDEX_KEYS,
    INDEX_PATTERN,
    INDEX_PATTERNS,
    LEADER,
    LEADER_INDEX,
    OPENSEARCH,
    REGION,
    REPLICATION_RULE_KEYS,
    ROLE_NAME,
    RULE_NAME,
    SEARCH_ACCESS_KEYS,
    SEARCH_DOMAIN,
    SMOKE_ROLE_ARN,
    SMOKE_SEARCH,
    STOP_ON_DELETE,
    USERS,
)
from .properties import (
    InvalidInput,
    _check_keys,
    _flag,
    _require,
    _require_match,
    _timeout,
    check_alias,
    check_domain_name,
    check_region,
    check_role_arn,
)

_INDEX_FORBIDDEN = set('\\/*?"<>| ,#:')
_INDEX_MAX_BYTES = 255
#: Security role names this library makes: recognisably its own, in characters every API path takes.
_ROLE_NAME = re.compile(r"cdk_ccs_[A-Za-z0-9_\-]{1,100}")
_RULE_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,99}")
_ENTRY_MAX = 512


def check_index(field: str, value: object, *, pattern: bool) -> str:
    """An OpenSearch index name, or with `pattern` an index pattern (which may hold `*`)."""
    _require(isinstance(value, str) and value != "", field, "must be a non-empty string", value)
    text = str(value)
    forbidden = sorted({c for c in text if c in _INDEX_FORBIDDEN} - ({"*"} if pattern else set()))
    what = "an index pattern" if pattern else "an index name"
    _require(text == text.lower(), field, f"must be {what} in lowercase (OpenSearch index naming)", value)
    _require(
        not forbidden,
        field,
        f"must be {what} without {' '.join(repr(c) for c in forbidden)}"
        + (
            ""
            if pattern
            else " (use index_pattern / a ReplicationRule for several indices)"
            if "*" in forbidden
            else ""
        ),
        value,
    )
    _require(not text.startswith(("_", "-", "+")), field, f"must be {what} not starting with '_', '-' or '+'", value)
    _require(text not in (".", ".."), field, f"must be {what}, not '.' or '..'", value)
    _require(len(text.encode()) <= _INDEX_MAX_BYTES, field, f"must be {what} of at most 255 bytes", value)
    return text


def check_role_name(field: str, value: object) -> str:
    """A security role this library owns: `cdk_ccs_` and up to 100 of [A-Za-z0-9_-]."""
    return _require_match(field, value, _ROLE_NAME, "must be 'cdk_ccs_' and 1-100 of A-Z, a-z, 0-9, '_', '-'")


def check_rule_name(field: str, value: object) -> str:
    """An auto-follow rule name: 1-100 of a-z, 0-9, '_', '-', starting with a letter or digit."""
    return _require_match(
        field, value, _RULE_NAME, "must be 1-100 of a-z, 0-9, '_', '-', starting with a letter or digit"
    )


def check_entry(field: str, value: object) -> str:
    """A role mapping entry (a user name or IAM ARN, a backend role): non-empty, no surrounding blanks."""
    _require(
        isinstance(value, str) and value.strip() == value and 0 < len(value) <= _ENTRY_MAX,
        field,
        f"must be a user name, IAM ARN or backend role of 1-{_ENTRY_MAX} characters without surrounding blanks",
        value,
    )
    return str(value)


def check_endpoint(field: str, value: object) -> str:
    """A domain's HTTPS endpoint: a host name (the DomainEndpoint attribute), host:port, or an https URL."""
    text = value if isinstance(value, str) else ""
    split = urlsplit(text if "://" in text else f"https://{text}")
    try:
        split.port  # noqa: B018 - a bad port raises
        valid_port = True
    except ValueError:
        valid_port = False
    _require(
        bool(text) and split.scheme == "https" and bool(split.hostname) and valid_port and split.path in ("", "/"),
        field,
        "must be the domain's HTTPS endpoint (its DomainEndpoint, e.g. search-logs-abc123.eu-west-1.es.amazonaws.com)",
        value,
    )
    return text


def _list(field: str, value: object) -> list[object]:
    _require(isinstance(value, list), field, "must be a list", value)
    assert isinstance(value, list)
    return value


@dataclass(frozen=True)
class DataDomain:
    """A domain the function calls over HTTPS, as the role it assumes for it."""

    name: str
    region: str
    endpoint: str
    admin_role_arn: str


@dataclass(frozen=True)
class SmokeSearch:
    """A search through the connection, on the source domain, as a role of the source side."""

    domain: DataDomain  #: admin_role_arn is the searching role
    alias: str
    pattern: str


@dataclass(frozen=True)
class SearchAccessSpec:
    destination: DataDomain
    role: str
    index_patterns: tuple[str, ...]
    users: tuple[str, ...]
    backend_roles: tuple[str, ...]
    timeout_seconds: int
    smoke_search: SmokeSearch | None = None

    @property
    def physical_id(self) -> str:
        """The role on the destination domain in its region (another domain or role is a replacement)."""
        return f"{self.destination.region}/{self.destination.name}/{self.role}"


@dataclass(frozen=True)
class ReplicationSpec:
    """A follower index (leader_index, follower_index) or an auto-follow rule (rule_name, pattern)."""

    leader: DataDomain
    follower: DataDomain
    role: str
    alias: str
    timeout_seconds: int
    leader_index: str | None = None
    follower_index: str | None = None
    stop_on_delete: bool = False
    rule_name: str | None = None
    pattern: str | None = None

    @property
    def physical_id(self) -> str:
        """What the resource is, as its physical id: the follower index, or the rule on its alias, on the
        follower domain in its region (a change of any of them is a replacement)."""
        where = f"{self.follower.region}/{self.follower.name}"
        if self.rule_name is not None:
            return f"{where}/{self.alias}/{self.rule_name}"
        return f"{where}/{self.follower_index}"

    @property
    def _digest(self) -> str:
        """Tells apart the roles of each version of the resource that replicates something else: a replacement's
        new resource and CloudFormation's cleanup of the old one never share a role, and a rule's new pattern
        gets roles of its own (the replications the old pattern started keep running as the old ones)."""
        identity = f"{self.physical_id}|{self.leader.region}/{self.leader.name}|{self.pattern or self.leader_index}"
        return hashlib.sha256(identity.encode()).hexdigest()[:8]

    @property
    def leader_role(self) -> str:
        """The role this resource owns on the leader, which replication reads the leader index as."""
        return f"{self.role}_{self._digest}_leader"

    @property
    def follower_role(self) -> str:
        """The role this resource owns on the follower, which replication writes the follower index as."""
        return f"{self.role}_{self._digest}_follower"


def parse_data_domain(field: str, value: object, role_key: str = ADMIN_ROLE_ARN) -> DataDomain:
    """{DomainName, Region, Endpoint, AdminRoleArn} (the role key is RoleArn for a smoke search)."""
    keys = (DOMAIN_NAME, REGION, ENDPOINT, role_key)
    _require(isinstance(value, Mapping), field, f"must be an object with {', '.join(keys)}", value)
    assert isinstance(value, Mapping)
    for key in value:
        _require(key in keys, f"{field}.{key}", "is not a supported key", key)
    return DataDomain(
        name=check_domain_name(f"{field}.{DOMAIN_NAME}", value.get(DOMAIN_NAME)),
        region=check_region(f"{field}.{REGION}", value.get(REGION)),
        endpoint=check_endpoint(f"{field}.{ENDPOINT}", value.get(ENDPOINT)),
        admin_role_arn=check_role_arn(f"{field}.{role_key}", value.get(role_key)),
    )


def parse_search_access(properties: object) -> SearchAccessSpec:
    """Validate a RemoteSearchAccess's properties; raise InvalidInput naming the field."""
    props = _check_keys(properties, SEARCH_ACCESS_KEYS, {SEARCH_DOMAIN, ROLE_NAME, INDEX_PATTERNS})
    patterns = tuple(
        check_index(f"{INDEX_PATTERNS}[{i}]", value, pattern=True)
        for i, value in enumerate(_list(INDEX_PATTERNS, props[INDEX_PATTERNS]))
    )
    _require(bool(patterns), INDEX_PATTERNS, "must name at least one index pattern", [])
    users = tuple(check_entry(f"{USERS}[{i}]", v) for i, v in enumerate(_list(USERS, props.get(USERS, []))))
    backend = tuple(
        check_entry(f"{BACKEND_ROLES}[{i}]", v)
        for i, v in enumerate(_list(BACKEND_ROLES, props.get(BACKEND_ROLES, [])))
    )
    _require(bool(users or backend), BACKEND_ROLES, f"or {USERS} must name whom to map", [])
    smoke = None
    if props.get(SMOKE_SEARCH) not in (None, ""):
        smoke = SmokeSearch(
            parse_data_domain(SMOKE_SEARCH, props[SMOKE_SEARCH], SMOKE_ROLE_ARN),
            check_alias(ALIAS, props.get(ALIAS), OPENSEARCH),
            patterns[0],
        )
    return SearchAccessSpec(
        destination=parse_data_domain(SEARCH_DOMAIN, props[SEARCH_DOMAIN]),
        role=check_role_name(ROLE_NAME, props[ROLE_NAME]),
        index_patterns=patterns,
        users=users,
        backend_roles=backend,
        timeout_seconds=_timeout(props),
        smoke_search=smoke,
    )


def parse_replication(properties: object, *, rule: bool) -> ReplicationSpec:
    """Validate a FollowerIndex's (rule=False) or a ReplicationRule's (rule=True) properties."""
    keys = REPLICATION_RULE_KEYS if rule else FOLLOWER_INDEX_KEYS
    required = {LEADER, FOLLOWER, ROLE_NAME, ALIAS} | ({RULE_NAME, INDEX_PATTERN} if rule else {LEADER_INDEX})
    props = _check_keys(properties, keys, required)
    leader = parse_data_domain(LEADER, props[LEADER])
    follower = parse_data_domain(FOLLOWER, props[FOLLOWER])
    _require(
        (leader.name, leader.region) != (follower.name, follower.region),
        FOLLOWER,
        f"must differ from {LEADER}",
        follower.name,
    )
    common: dict[str, Any] = {
        "leader": leader,
        "follower": follower,
        "role": check_role_name(ROLE_NAME, props[ROLE_NAME]),
        "alias": check_alias(ALIAS, props[ALIAS], OPENSEARCH),
        "timeout_seconds": _timeout(props),
    }
    if rule:
        return ReplicationSpec(
            **common,
            rule_name=check_rule_name(RULE_NAME, props[RULE_NAME]),
            pattern=check_index(INDEX_PATTERN, props[INDEX_PATTERN], pattern=True),
            stop_on_delete=_flag(props, STOP_ON_DELETE),
        )
    leader_index = check_index(LEADER_INDEX, props[LEADER_INDEX], pattern=False)
    follower_index = props.get(FOLLOWER_INDEX) or leader_index
    return ReplicationSpec(
        **common,
        leader_index=leader_index,
        follower_index=check_index(FOLLOWER_INDEX, follower_index, pattern=False),
        stop_on_delete=_flag(props, STOP_ON_DELETE),
    )


__all__ = [
    "DataDomain",
    "InvalidInput",
    "ReplicationSpec",
    "SearchAccessSpec",
    "SmokeSearch",
    "check_endpoint",
    "check_entry",
    "check_index",
    "check_role_name",
    "check_rule_name",
    "parse_data_domain",
    "parse_replication",
    "parse_search_access",
]
