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
#: CloudFormation's own keys: it puts them in ResourceProperties (and OldResourceProperties) beside ours, as
#: strings ("Custom resource request objects" in the CloudFormation User Guide; npm @types/aws-lambda,
#: trigger/cloudformation-custom-resource.d.ts). They are CloudFormation's business, never an error.
RESERVED_KEYS = frozenset({"ServiceToken", "ServiceTimeout"})

#: Fn::GetAtt names (crhelper's Data).
ATTR_CONNECTION_ID = "ConnectionId"
ATTR_STATUS = "ConnectionStatus"
ATTR_ALIAS = "ConnectionAlias"
ATTR_ENDPOINT = "Endpoint"

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
