"""The contract between the construct and the handler, written once: resource types, property keys and their
encodings, attribute names, defaults and the time budget. The construct builds properties here; the handler
parses what CloudFormation delivers with the same names (properties.py). No dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping

# --- resource types, properties, attributes ---------------------------------------------------
OUTBOUND_TYPE = "Custom::OutboundCrossClusterSearchConnection"
ACCEPTER_TYPE = "Custom::InboundCrossClusterSearchConnectionAccepter"
RESOURCE_TYPES = (OUTBOUND_TYPE, ACCEPTER_TYPE)
#: The data plane's resources (the domains' REST API, data_resources.py): a role that lets the source side's
#: principals search the destination through a connection; one follower index; one auto-follow rule.
SEARCH_ACCESS_TYPE = "Custom::CrossClusterSearchAccess"
FOLLOWER_INDEX_TYPE = "Custom::CrossClusterFollowerIndex"
REPLICATION_RULE_TYPE = "Custom::CrossClusterReplicationRule"
DATA_PLANE_TYPES = (SEARCH_ACCESS_TYPE, FOLLOWER_INDEX_TYPE, REPLICATION_RULE_TYPE)
ALL_TYPES = RESOURCE_TYPES + DATA_PLANE_TYPES

SOURCE = "SourceDomainInfo"
DESTINATION = "DestinationDomainInfo"
OWNER_ID = "OwnerId"
DOMAIN_NAME = "DomainName"
REGION = "Region"
ALIAS = "ConnectionAlias"
ACCEPT = "AcceptConnection"
TIMEOUT = "TimeoutSeconds"
API = "Api"
MODE = "ConnectionMode"
SKIP_UNAVAILABLE = "SkipUnavailable"
ROLE_ARN = "AcceptRoleArn"
EXTERNAL_ID = "AcceptRoleExternalId"
CONNECTION_ID = "ConnectionId"
#: The id of an existing connection the resource takes over deliberately (both resource types).
ADOPT_CONNECTION_ID = "AdoptConnectionId"
#: "true": a replacement that keeps source and alias may delete the old connection first (outbound).
REPLACE_DELETING_FIRST = "ReplaceByDeletingFirst"
#: "true": the resource's UpdateReplacePolicy/DeletionPolicy is Retain, so no replacement deletes a connection.
RETAIN = "Retain"

OUTBOUND_KEYS = frozenset(
    {
        SOURCE,
        DESTINATION,
        ALIAS,
        ACCEPT,
        TIMEOUT,
        API,
        MODE,
        SKIP_UNAVAILABLE,
        ROLE_ARN,
        EXTERNAL_ID,
        ADOPT_CONNECTION_ID,
        REPLACE_DELETING_FIRST,
        RETAIN,
    }
)
ACCEPTER_KEYS = frozenset({SOURCE, DESTINATION, ALIAS, TIMEOUT, API, CONNECTION_ID, ADOPT_CONNECTION_ID})
# --- the data plane's properties ---------------------------------------------------------------
#: A domain as the data plane reaches it (data_plane_domain): its name and region, its HTTPS endpoint, and the
#: IAM role the function assumes to call it (mapped by the user's fine-grained access control to all_access
#: or security_manager, e.g. as the domain's master user).
ENDPOINT = "Endpoint"
ADMIN_ROLE_ARN = "AdminRoleArn"
#: Search access: the destination domain, where the role and its mapping live.
SEARCH_DOMAIN = "DestinationDomain"
#: The prefix of the security roles a data-plane resource owns (unique per resource, made at synth).
ROLE_NAME = "RoleName"
INDEX_PATTERNS = "IndexPatterns"
USERS = "Users"
BACKEND_ROLES = "BackendRoles"
#: Optional smoke search after a search access's change: {Endpoint, DomainName, Region, RoleArn} of the source
#: domain and the role that searches (assumed by the function), through ConnectionAlias on IndexPatterns[0].
SMOKE_SEARCH = "SmokeSearch"
SMOKE_ROLE_ARN = "RoleArn"
#: Replication: the leader (the connection's destination) and the follower (its source), both data-plane domains.
LEADER = "LeaderDomain"
FOLLOWER = "FollowerDomain"
LEADER_INDEX = "LeaderIndex"
FOLLOWER_INDEX = "FollowerIndex"
RULE_NAME = "RuleName"
INDEX_PATTERN = "IndexPattern"
#: "true": the Delete stops the replication (irreversible) of the follower index, or of the indices the rule's pattern
#: names that follow through the alias, and deletes the roles they ran as.
STOP_ON_DELETE = "StopReplicationOnDelete"

SEARCH_ACCESS_KEYS = frozenset(
    {SEARCH_DOMAIN, ROLE_NAME, INDEX_PATTERNS, USERS, BACKEND_ROLES, SMOKE_SEARCH, ALIAS, TIMEOUT}
)
FOLLOWER_INDEX_KEYS = frozenset(
    {LEADER, FOLLOWER, ROLE_NAME, ALIAS, LEADER_INDEX, FOLLOWER_INDEX, STOP_ON_DELETE, TIMEOUT}
)
REPLICATION_RULE_KEYS = frozenset(
    {LEADER, FOLLOWER, ROLE_NAME, ALIAS, RULE_NAME, INDEX_PATTERN, STOP_ON_DELETE, TIMEOUT}
)

#: CloudFormation's own keys: it puts them in ResourceProperties (and OldResourceProperties) beside ours, as
#: strings ("Custom resource request objects" in the CloudFormation User Guide; npm @types/aws-lambda,
#: trigger/cloudformation-custom-resource.d.ts). They are CloudFormation's business, never an error.
RESERVED_KEYS = frozenset({"ServiceToken", "ServiceTimeout"})

#: Fn::GetAtt names (crhelper's Data).
ATTR_CONNECTION_ID = "ConnectionId"
ATTR_STATUS = "ConnectionStatus"
ATTR_ALIAS = "ConnectionAlias"
ATTR_ENDPOINT = "Endpoint"
#: The data plane's: the security role a resource owns (search access), the follower index and its status.
ATTR_ROLE_NAME = "RoleName"
ATTR_FOLLOWER_INDEX = "FollowerIndex"
ATTR_REPLICATION_STATUS = "ReplicationStatus"

# --- values and their encodings (CloudFormation passes every scalar as a string) -----------------
ELASTICSEARCH = "ELASTICSEARCH"
OPENSEARCH = "OPENSEARCH"
APIS = (ELASTICSEARCH, OPENSEARCH)
CONNECTION_MODES = ("DIRECT", "VPC_ENDPOINT")
#: accept_connection None / True / False; "auto" accepts when both domains have the same owner.
ACCEPT_ENCODING: Mapping[bool | None, str] = {True: "true", False: "false", None: "auto"}
SKIP_ENCODING: Mapping[bool, str] = {True: "ENABLED", False: "DISABLED"}
FLAG_ENCODING: Mapping[bool, str] = {True: "true", False: "false"}
DEFAULT_API = ELASTICSEARCH
DEFAULT_ACCEPT = ACCEPT_ENCODING[None]

# --- the time budget -------------------------------------------------------------------------
#: A Create that met an existing connection keeps asking its stack whether the connection is its own for this
#: long after the connection stopped changing, beyond one poll interval of the request's own wait (connections.py
#: `ownership_grace_seconds`): a re-delivered copy of the request that made it answers within that interval, and
#: CloudFormation then shows its physical id.
OWNERSHIP_ANSWER_SECONDS = 5
#: Lambda's longest invocation.
LAMBDA_MAX_SECONDS = 900
#: How long a resource may wait for the service (TimeoutSeconds): bounds and default.
MIN_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 780
DEFAULT_TIMEOUT_SECONDS = 600
#: Kept back at the very end of an invocation for crhelper's response PUT, so crhelper's own timer (0.5 s
#: before the end, with an empty physical id) never has to answer.
RESPONSE_RESERVE_SECONDS = 5
#: Kept back from the resource's ServiceTimeout (counted from the invocation's start): the time the request
#: spent before the invocation began (CloudFormation invokes asynchronously) and the answer's way back.
SERVICE_TIMEOUT_MARGIN_SECONDS = 10
#: How long a failed Create or Update may spend deleting what it made ...
CLEANUP_SECONDS = 60
#: ... inside the time kept back for it from the wait.
CLEANUP_RESERVE_SECONDS = 70
#: The Lambda's timeout is the longest wait of the stack's resources plus this.
HANDLER_RESERVE_SECONDS = 90
#: CloudFormation waits (ServiceTimeout) for the handler's longest run plus this.
SERVICE_TIMEOUT_SLACK_SECONDS = 60
#: CloudFormation's own bounds for ServiceTimeout ("Custom resource request objects").
SERVICE_TIMEOUT_MAX_SECONDS = 3600

assert MIN_TIMEOUT_SECONDS <= DEFAULT_TIMEOUT_SECONDS <= MAX_TIMEOUT_SECONDS
assert CLEANUP_SECONDS < CLEANUP_RESERVE_SECONDS
assert CLEANUP_RESERVE_SECONDS + RESPONSE_RESERVE_SECONDS <= HANDLER_RESERVE_SECONDS
assert MAX_TIMEOUT_SECONDS + HANDLER_RESERVE_SECONDS <= LAMBDA_MAX_SECONDS


def lambda_timeout_seconds(longest_wait: int) -> int:
    """The provider function's timeout for the longest wait any resource of its stack asks for."""
    return min(LAMBDA_MAX_SECONDS, longest_wait + HANDLER_RESERVE_SECONDS)


def service_timeout_seconds(timeout_seconds: int) -> int:
    """How long CloudFormation waits for a resource's answer: the function's longest run, plus slack."""
    return timeout_seconds + HANDLER_RESERVE_SECONDS + SERVICE_TIMEOUT_SLACK_SECONDS


assert service_timeout_seconds(MAX_TIMEOUT_SECONDS) <= SERVICE_TIMEOUT_MAX_SECONDS
assert service_timeout_seconds(MAX_TIMEOUT_SECONDS) > lambda_timeout_seconds(MAX_TIMEOUT_SECONDS)


# --- building properties (the construct) --------------------------------------------------------
def domain_properties(owner_id: str, domain_name: str, region: str) -> dict[str, str]:
    """A domain as the API's DomainInformation structure: the one encoding of a domain, for the custom resource's
    properties (the construct's DomainInfo) and the API requests (the handler's DomainRef)."""
    return {OWNER_ID: owner_id, DOMAIN_NAME: domain_name, REGION: region}


def outbound_properties(
    *,
    source: Mapping[str, str],
    destination: Mapping[str, str],
    alias: str,
    accept: bool | None,
    timeout_seconds: int,
    api: str,
    connection_mode: str | None = None,
    skip_unavailable: bool | None = None,
    accept_role_arn: str | None = None,
    accept_role_external_id: str | None = None,
    adopt_connection_id: str | None = None,
    replace_by_deleting_first: bool = False,
    retain: bool = False,
) -> dict[str, object]:
    """An OutboundConnection's properties; optional ones are left out when not set."""
    properties: dict[str, object] = {
        SOURCE: dict(source),
        DESTINATION: dict(destination),
        ALIAS: alias,
        ACCEPT: ACCEPT_ENCODING[accept],
        TIMEOUT: str(timeout_seconds),
        API: api,
    }
    optional = {
        MODE: connection_mode,
        SKIP_UNAVAILABLE: None if skip_unavailable is None else SKIP_ENCODING[skip_unavailable],
        ROLE_ARN: accept_role_arn,
        EXTERNAL_ID: accept_role_external_id,
        ADOPT_CONNECTION_ID: adopt_connection_id,
        REPLACE_DELETING_FIRST: FLAG_ENCODING[True] if replace_by_deleting_first else None,
        RETAIN: FLAG_ENCODING[True] if retain else None,
    }
    properties.update({key: value for key, value in optional.items() if value is not None})
    return properties


def accepter_properties(
    *,
    source: Mapping[str, str],
    destination: Mapping[str, str],
    timeout_seconds: int,
    api: str,
    alias: str | None = None,
    connection_id: str | None = None,
    adopt_connection_id: str | None = None,
) -> dict[str, object]:
    """An InboundConnectionAccepter's properties; optional ones are left out when not set."""
    properties: dict[str, object] = {
        SOURCE: dict(source),
        DESTINATION: dict(destination),
        TIMEOUT: str(timeout_seconds),
        API: api,
    }
    optional = {
        ALIAS: alias,
        CONNECTION_ID: connection_id,
        ADOPT_CONNECTION_ID: adopt_connection_id,
    }
    properties.update({key: value for key, value in optional.items() if value is not None})
    return properties


def data_plane_domain(domain_name: str, region: str, endpoint: str, admin_role_arn: str) -> dict[str, str]:
    """A domain as the data plane's properties carry it."""
    return {DOMAIN_NAME: domain_name, REGION: region, ENDPOINT: endpoint, ADMIN_ROLE_ARN: admin_role_arn}


def search_access_properties(
    *,
    destination: Mapping[str, str],
    role_name: str,
    index_patterns: list[str],
    users: list[str],
    backend_roles: list[str],
    timeout_seconds: int,
    alias: str | None = None,
    smoke_search: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """A RemoteSearchAccess's properties; the smoke search (and the alias it searches through) only when set."""
    properties: dict[str, object] = {
        SEARCH_DOMAIN: dict(destination),
        ROLE_NAME: role_name,
        INDEX_PATTERNS: list(index_patterns),
        USERS: list(users),
        BACKEND_ROLES: list(backend_roles),
        TIMEOUT: str(timeout_seconds),
    }
    if smoke_search is not None:
        properties[SMOKE_SEARCH] = dict(smoke_search)
        properties[ALIAS] = alias
    return properties


def replication_properties(
    *,
    leader: Mapping[str, str],
    follower: Mapping[str, str],
    role_name: str,
    alias: str,
    timeout_seconds: int,
    leader_index: str | None = None,
    follower_index: str | None = None,
    stop_on_delete: bool = False,
    rule_name: str | None = None,
    index_pattern: str | None = None,
) -> dict[str, object]:
    """A FollowerIndex's (leader_index, follower_index) or a ReplicationRule's (rule_name, index_pattern)
    properties."""
    properties: dict[str, object] = {
        LEADER: dict(leader),
        FOLLOWER: dict(follower),
        ROLE_NAME: role_name,
        ALIAS: alias,
        TIMEOUT: str(timeout_seconds),
    }
    optional = {
        LEADER_INDEX: leader_index,
        FOLLOWER_INDEX: follower_index,
        STOP_ON_DELETE: FLAG_ENCODING[True] if stop_on_delete else None,
        RULE_NAME: rule_name,
        INDEX_PATTERN: index_pattern,
    }
    properties.update({key: value for key, value in optional.items() if value is not None})
    return properties
