"""A local emulator of the cross-cluster connection control plane (ES 2015-01-01 and OpenSearch 2021-01-01).

It speaks botocore's rest-json wire protocol on 127.0.0.1, so real boto3 clients reach it through
`AWS_ENDPOINT_URL_ELASTICSEARCH_SERVICE` / `AWS_ENDPOINT_URL_OPENSEARCH`. Routes, input validation,
error codes and output shapes come from botocore's own service models. Identity is what AWS sees:
the region from the SigV4 credential scope, the account from the access key. It also answers STS
AssumeRole, for cross-account acceptance through a role.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from ccs_offline.local_server import LocalServer

ES = "es"
OPENSEARCH = "opensearch"
LIMIT_PER_DOMAIN = 20
#: States that count towards limits and alias uniqueness. Whether a connection that failed validation or was
#: rejected still holds its alias and counts toward the 20 is documented nowhere: the emulator takes the
#: harsher case, until it is deleted.
_HOLDING = {
    "VALIDATING",
    "VALIDATION_FAILED",
    "PENDING_ACCEPTANCE",
    "APPROVED",
    "PROVISIONING",
    "ACTIVE",
    "REJECTING",
    "REJECTED",
    "DELETING",
}


class ApiError(Exception):
    """An error the service returns: the code's HTTP status comes from the model."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Domain:
    """A seeded domain: where it lives, what it runs (e.g. 'OpenSearch_2.19', 'Elasticsearch_7.10') and the
    settings cross-cluster search depends on (a domain assumed to exist meets them)."""

    owner_id: str
    region: str
    name: str
    engine_version: str = "OpenSearch_2.19"
    fine_grained_access_control: bool = True
    node_to_node_encryption: bool = True
    instance_types: tuple[str, ...] = ()

    @property
    def engine(self) -> str:
        return self.engine_version.split("_", 1)[0]

    @property
    def version(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.engine_version.split("_", 1)[1]))


@dataclass
class StoredConnection:
    """One connection, with the time at which its current transitional state ends."""

    connection_id: str
    source: dict[str, str]
    destination: dict[str, str]
    alias: str
    status: str
    message: str = ""
    mode: str = "DIRECT"
    skip_unavailable: str | None = None
    due: float | None = None
    created_with: str = ""  #: the API (es or opensearch) whose create made it; see Realism.api_affinity
    listed_from: float = 0.0  #: before this, no call finds it (Realism.describe_lag_seconds)
    stale: tuple[str, str, float] | None = None  #: (status, message, until): what Describe shows until then

    def move(self, status: str, message: str = "", due: float | None = None) -> None:
        self.status, self.message, self.due = status, message, due


@dataclass
class Faults:
    """Fault injection, settable while the emulator runs."""

    throttle_next: int = 0  #: the next N requests answer ThrottlingException (429)
    error_next: int = 0  #: the next N requests answer InternalException (500)
    stuck_in: set[str] = field(default_factory=set)  #: states that never end (e.g. {"VALIDATING"})
    validation_failure: str | None = None  #: every new connection fails validation with this message
    reject_all: bool = False  #: destination owners reject every pending connection at once
    rate_per_second: float | None = None  #: per-account request rate; beyond it, ThrottlingException
    #: the next N accepts answer LimitExceededException (both models list it for AcceptInbound...: the
    #: destination's 20 inbound connections)
    accept_limit_exceeded: int = 0
    #: status -> the code answers show instead: the service has added status codes before (FACTS), so an
    #: answer may hold one no botocore model lists
    shown_status: dict[str, str] = field(default_factory=dict)


@dataclass
class Realism:
    """Ways the real service (and IAM, and the network) is less kind than a plain emulator; settable while it runs.

    - api_affinity: a connection created through one API cannot be accepted through the other. The real
      error for an OpenSearch-created connection accepted through the ES API is reported in aws/aws-sdk-js-v3
      issue #4453 ("Connection created using Amazon OpenSearch Service SDK cannot be accepted with Amazon
      Elasticsearch Service SDK", a ValidationException). The mirror case (ES-created, accepted through the
      OpenSearch API) is undocumented: the emulator refuses it too, the harsher assumption.
    - iam_propagation_seconds: IAM is eventually consistent ("Changes that I make are not always immediately
      visible", IAM User Guide, Troubleshooting IAM); a policy attached just before a call may still deny it
      (aws/aws-cdk#37675, the same race in CDK's own custom resources). Each principal (access key) is denied
      with AccessDeniedException for this many seconds after its first connection call.
    - denied_actions: IAM actions the principals lack for good (e.g. {"es:CreateOutboundConnection"}). A call
      is authorized under both its action names (the team's checked facts), so lacking either denies it; the
      message has IAM's shape ("... is not authorized to perform: ACTION on resource: ... because no
      identity-based policy allows the ACTION action", IAM User Guide, "Access denied error messages").
    - lost_create_answers: the next N creates are carried out, but answered with a 500: a timeout or a server
      error does not mean the call did nothing (AWS Builders' Library, "Making retries safe with idempotent
      APIs").
    - slow_answers: operation name -> seconds each answer is held back after the operation ran (the service
      did its work; the answer is late), so a client whose read timeout is shorter gives up (botocore's
      ReadTimeoutError, `Read timeout on endpoint URL`).
    - describe_lag_seconds: Describe is eventually consistent (terraform-provider-aws,
      internal/service/opensearch/inbound_connection_accepter.go: "Sometimes AWS just has consistency issues
      and doesn't see our connection yet"; its outbound waiter tolerates not-found too). For this many seconds
      after the create that made it, no call finds a connection (Describe does not list it; Accept and
      Delete answer ResourceNotFoundException, the harsher reading), and after an accept, answers still show
      the status from before the accept. Both APIs.
    """

    api_affinity: bool = True
    iam_propagation_seconds: float = 0.0
    denied_actions: set[str] = field(default_factory=set)
    lost_create_answers: int = 0
    slow_answers: dict[str, float] = field(default_factory=dict)
    describe_lag_seconds: float = 0.0


#: The SDK names in the API-affinity error (aws/aws-sdk-js-v3#4453).
_SDK_NAMES = {ES: "Amazon Elasticsearch Service SDK", OPENSEARCH: "Amazon OpenSearch Service SDK"}


@dataclass(frozen=True)
class Call:
    """One request as the emulator saw it."""

    at: float
    service: str
    operation: str
    account: str
    region: str
    status: int
    error: str | None = None


@dataclass
class Delays:
    """Seconds each transitional state lasts."""

    validating: float = 0.2
    approved: float = 0.1
    provisioning: float = 0.2
    deleting: float = 0.2
    rejecting: float = 0.1


_MODEL_SESSION = botocore.session.get_session()


def _route_table() -> list[tuple[str, re.Pattern[str], str, OperationModel]]:
    routes = []
    for service in (ES, OPENSEARCH):
        model: ServiceModel = _MODEL_SESSION.get_service_model(service)
        for name in model.operation_names:
            if "Connection" not in name:
                continue
            operation = model.operation_model(name)
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", operation.http["requestUri"])
            routes.append((operation.http["method"], re.compile(pattern + "$"), service, operation))
    return routes


_ROUTES = _route_table()


def validate(shape: Shape | None, value: Any, path: str = "") -> list[str]:
    """Check a value against a model shape: required, types, enums, lengths, ranges, patterns."""
    if shape is None:
        return []
    errors: list[str] = []
    where = path or shape.name
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        for required in meta.get("required", []):
            if required not in value:
                errors.append(f"{where}.{required}: missing required member")
        members: dict[str, Shape] = getattr(shape, "members", {})
        for key, item in value.items():
            if key not in members:
                errors.append(f"{where}.{key}: unknown member")
            else:
                errors += validate(members[key], item, f"{where}.{key}")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        if len(value) < meta.get("min", 0):
            errors.append(f"{where}: fewer than {meta['min']} items")
        for index, item in enumerate(value):
            errors += validate(shape.member, item, f"{where}[{index}]")  # type: ignore[attr-defined]
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if shape.enum and value not in shape.enum:  # type: ignore[attr-defined]
            errors.append(f"{where}: must be one of {', '.join(shape.enum)}")  # type: ignore[attr-defined]
        if len(value) < meta.get("min", 0) or len(value) > meta.get("max", 1 << 30):
            errors.append(f"{where}: length must be {meta.get('min', 0)}-{meta.get('max', 'any')}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            errors.append(f"{where}: must match {meta['pattern']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: expected an integer"]
        if value < meta.get("min", -(1 << 62)) or value > meta.get("max", 1 << 62):
            errors.append(f"{where}: out of range")
    return errors


class ConnectionStore:
    """The shared state behind both APIs: domains, connections, faults, the call log."""

    def __init__(
        self,
        delays: Delays | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`clock` and `sleep` are the world's time (clock.py): delays, IAM's propagation, rate windows and
        slow answers all pass on it."""
        self.delays = delays or Delays()
        self.sleep = sleep
        self.faults = Faults()
        self.realism = Realism()
        self._first_call: dict[str, float] = {}  #: principal (access key) -> its first call, for IAM propagation
        self.clock = clock
        self.domains: dict[tuple[str, str, str], Domain] = {}
        self.connections: dict[str, StoredConnection] = {}
        self.calls: list[Call] = []
        self.credentials: dict[str, str] = {}  #: access key -> account
        self.roles: dict[str, tuple[set[str], str | None]] = {}  #: role ARN -> (trusted accounts, external id)
        #: Called with (access key, secret key, session token, role ARN) each time AssumeRole hands out a
        #: session, so other stand-ins (the local OpenSearch domains) know whom those credentials stand for.
        self.assumed_role_listeners: list[Callable[[str, str, str, str], None]] = []
        self.lock = threading.RLock()
        self._rate: dict[str, list[float]] = {}
        self._ids = itertools.count(1)

    # --- setup -------------------------------------------------------------------------------
    def add_domain(
        self,
        owner_id: str,
        region: str,
        name: str,
        engine_version: str = "OpenSearch_2.19",
        *,
        fine_grained_access_control: bool = True,
        node_to_node_encryption: bool = True,
        instance_types: tuple[str, ...] = (),
    ) -> Domain:
        """Seed a domain in an account and region."""
        domain = Domain(
            owner_id,
            region,
            name,
            engine_version,
            fine_grained_access_control,
            node_to_node_encryption,
            instance_types,
        )
        self.domains[(owner_id, region, name)] = domain
        return domain

    def credentials_for(self, account: str) -> tuple[str, str]:
        """An access key pair that identifies `account` to the emulator."""
        key = "AKIA" + account + secrets.token_hex(2).upper()
        self.credentials[key] = account
        return key, "secret-" + account

    def issue_session(self, account: str) -> tuple[str, str, str]:
        """Temporary credentials of `account` as AssumeRole hands them out: an access key (ASIA..., as STS's
        temporary keys begin; never one handed out before, so it names one session), a secret and a session
        token of their own (STS API Reference, AssumeRole: Credentials)."""
        with self.lock:
            while True:
                key = "ASIA" + account + secrets.token_hex(4).upper()
                if key not in self.credentials:
                    break
            self.credentials[key] = account
        return key, "secret-" + secrets.token_hex(8), "session-" + secrets.token_urlsafe(24)

    def add_role(self, role_arn: str, trusted_accounts: set[str], external_id: str | None = None) -> None:
        """A role that the trusted accounts may assume (for cross-account acceptance)."""
        self.roles[role_arn] = (trusted_accounts, external_id)

    # --- time --------------------------------------------------------------------------------
    def _advance(self) -> None:
        now = self.clock()
        for conn in self.connections.values():
            while conn.due is not None and conn.due <= now and conn.status not in self.faults.stuck_in:
                self._finish(conn, conn.due)

    def _finish(self, conn: StoredConnection, at: float) -> None:
        if conn.status == "VALIDATING":
            failure = self.faults.validation_failure or self._validation_problem(conn)
            if failure:
                conn.move("VALIDATION_FAILED", failure)
            elif self.faults.reject_all:
                conn.move("REJECTING", "Rejected by the destination domain owner", at + self.delays.rejecting)
            else:
                conn.move("PENDING_ACCEPTANCE", "Connection is waiting for acceptance by the destination owner")
        elif conn.status == "APPROVED":
            conn.move("PROVISIONING", "Connection is being provisioned", at + self.delays.provisioning)
        elif conn.status == "PROVISIONING":
            conn.move("ACTIVE", "Connection is active")
        elif conn.status == "DELETING":
            conn.move("DELETED", "Connection is deleted")
        elif conn.status == "REJECTING":
            conn.move("REJECTED", conn.message)
        else:
            conn.due = None

    def _validation_problem(self, conn: StoredConnection) -> str | None:
        source = self.domains.get((conn.source["OwnerId"], conn.source["Region"], conn.source["DomainName"]))
        dest = self.domains.get(
            (conn.destination["OwnerId"], conn.destination["Region"], conn.destination["DomainName"])
        )
        if source is None or dest is None:
            return f"Domain {conn.destination['DomainName']} does not exist in {conn.destination['Region']}"
        setting = _setting_problem(source, dest)
        if setting:
            return setting
        if source.engine == "Elasticsearch" and dest.engine == "OpenSearch":
            return "An Elasticsearch domain cannot connect to an OpenSearch domain"
        if source.engine == dest.engine and source.version < dest.version:
            return f"Source version {source.engine_version} is older than destination version {dest.engine_version}"
        cross_region = source.region != dest.region
        for domain in (source, dest):
            minimum = (7, 10) if cross_region else (6, 7)
            if domain.engine == "Elasticsearch" and domain.version[:2] < minimum:
                return f"{domain.name} runs {domain.engine_version}; Elasticsearch {minimum[0]}.{minimum[1]}+ needed"
        return None

    # --- the operations ----------------------------------------------------------------------
    def handle(self, service: str, operation: str, params: dict[str, Any], account: str, region: str) -> Any:
        """Run one operation for a caller; returns the output dict (in the service's own shapes)."""
        with self.lock:
            self._advance()
            name = re.sub(r"CrossClusterSearch", "", operation)
            method = getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())
            return method(service, params, account, region)

    def _fresh_id(self) -> str:
        return f"cc-{next(self._ids):04d}{secrets.token_hex(6)}"

    def _create_outbound_connection(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        source = _domain_param(service, params, "source")
        dest = _domain_param(service, params, "destination")
        source.setdefault("OwnerId", account)
        source.setdefault("Region", region)
        dest.setdefault("OwnerId", account)
        dest.setdefault("Region", region)
        if (source["OwnerId"], source["Region"]) != (account, region):
            raise ApiError("ValidationException", "The source domain must belong to the caller's account and region")
        if (account, region, source["DomainName"]) not in self.domains:
            raise ApiError("ResourceNotFoundException", f"Domain not found: {source['DomainName']}")
        alias = params["ConnectionAlias"]
        held = [c for c in self.connections.values() if c.status in _HOLDING]
        if any(c.source == source and c.alias == alias for c in held):
            raise ApiError(
                "ResourceAlreadyExistsException",
                f"Connection alias {alias} already exists for domain {source['DomainName']}",
            )
        if sum(c.source == source for c in held) >= LIMIT_PER_DOMAIN:
            raise ApiError(
                "LimitExceededException",
                f"Domain {source['DomainName']} already has {LIMIT_PER_DOMAIN} outbound connections",
            )
        if sum(c.destination == dest for c in held) >= LIMIT_PER_DOMAIN:
            raise ApiError(
                "LimitExceededException",
                f"Domain {dest['DomainName']} already has {LIMIT_PER_DOMAIN} inbound connections",
            )
        conn = StoredConnection(
            self._fresh_id(),
            source,
            dest,
            alias,
            "VALIDATING",
            mode=params.get("ConnectionMode", "DIRECT"),
            skip_unavailable=params.get("ConnectionProperties", {})
            .get("CrossClusterSearch", {})
            .get("SkipUnavailable"),
            created_with=service,
        )
        conn.move("VALIDATING", "Connection is being validated", self.clock() + self.delays.validating)
        conn.listed_from = self.clock() + self.realism.describe_lag_seconds
        self.connections[conn.connection_id] = conn
        item = _render(service, conn, "outbound", self.clock())
        return item

    def _visible(self, direction: str, account: str, region: str) -> list[StoredConnection]:
        now = self.clock()
        listed = [c for c in self.connections.values() if c.listed_from <= now]
        if direction == "outbound":
            return [c for c in listed if (c.source["OwnerId"], c.source["Region"]) == (account, region)]
        return [
            c
            for c in listed
            if (c.destination["OwnerId"], c.destination["Region"]) == (account, region)
            and c.status not in ("VALIDATING", "VALIDATION_FAILED")
        ]

    def _describe(self, service: str, direction: str, params: dict[str, Any], account: str, region: str) -> Any:
        found = self._visible(direction, account, region)
        for flt in params.get("Filters", []):
            getter = _FILTERS[service][direction].get(flt["Name"])
            if getter is None:
                raise ApiError("ValidationException", f"Unsupported filter name: {flt['Name']}")
            found = [c for c in found if getter(c) in flt["Values"]]
        start = 0
        if "NextToken" in params:
            try:
                start = int(base64.b64decode(params["NextToken"], validate=True).decode())
            except ValueError:
                raise ApiError("InvalidPaginationTokenException", "The pagination token is invalid") from None
        size = params.get("MaxResults") or 100
        page = found[start : start + size]
        key = "CrossClusterSearchConnections" if service == ES else "Connections"
        output: dict[str, Any] = {key: [_render(service, c, direction, self.clock()) for c in page]}
        if start + size < len(found):
            output["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return output

    def _describe_outbound_connections(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        return self._describe(service, "outbound", params, account, region)

    def _describe_inbound_connections(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        return self._describe(service, "inbound", params, account, region)

    def _find(self, direction: str, params: dict[str, Any], account: str, region: str) -> StoredConnection:
        connection_id = params.get("CrossClusterSearchConnectionId") or params.get("ConnectionId")
        for conn in self._visible(direction, account, region):
            if conn.connection_id == connection_id:
                return conn
        raise ApiError("ResourceNotFoundException", f"Connection {connection_id} not found")

    def _single(self, service: str, conn: StoredConnection, direction: str) -> Any:
        key = "CrossClusterSearchConnection" if service == ES else "Connection"
        return {key: _render(service, conn, direction, self.clock())}

    def _pending_inbound(self, params: dict[str, Any], account: str, region: str) -> StoredConnection:
        """The caller's inbound connection, which only a pending request may be accepted or rejected from."""
        conn = self._find("inbound", params, account, region)
        if conn.status != "PENDING_ACCEPTANCE":
            raise ApiError("ValidationException", f"Connection {conn.connection_id} is {conn.status}, not pending")
        return conn

    def _accept_inbound_connection(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        conn = self._pending_inbound(params, account, region)
        if self.faults.accept_limit_exceeded > 0:
            self.faults.accept_limit_exceeded -= 1
            domain = conn.destination["DomainName"]
            raise ApiError(
                "LimitExceededException", f"Domain {domain} already has {LIMIT_PER_DOMAIN} inbound connections"
            )
        lag = self.realism.describe_lag_seconds
        if lag > 0:
            conn.stale = (conn.status, conn.message, self.clock() + lag)
        if self.realism.api_affinity and conn.created_with and conn.created_with != service:
            raise ApiError(
                "ValidationException",
                f"Connection created using {_SDK_NAMES[conn.created_with]} cannot be accepted with "
                f"{_SDK_NAMES[service]}",
            )
        # The opensearch model's InboundConnectionStatusCode documents APPROVED -> PROVISIONING -> ACTIVE.
        conn.move("APPROVED", "Connection request is approved", self.clock() + self.delays.approved)
        return self._single(service, conn, "inbound")

    def _reject_inbound_connection(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        conn = self._pending_inbound(params, account, region)
        conn.move("REJECTING", "Rejected by the destination domain owner", self.clock() + self.delays.rejecting)
        return self._single(service, conn, "inbound")

    def _delete(self, service: str, direction: str, params: dict[str, Any], account: str, region: str) -> Any:
        conn = self._find(direction, params, account, region)
        if conn.status == "DELETED":
            raise ApiError("ResourceNotFoundException", f"Connection {conn.connection_id} is already deleted")
        if conn.status != "DELETING":
            conn.move("DELETING", "Connection is being deleted", self.clock() + self.delays.deleting)
        return self._single(service, conn, direction)

    def _delete_outbound_connection(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        return self._delete(service, "outbound", params, account, region)

    def _delete_inbound_connection(self, service: str, params: dict[str, Any], account: str, region: str) -> Any:
        return self._delete(service, "inbound", params, account, region)

    def iam_denial(self, principal: str, account: str, region: str, operation: str) -> str | None:
        """The AccessDeniedException message IAM gives this call, if any (see Realism)."""
        now = self.clock()
        first = self._first_call.setdefault(principal, now)
        # Both action names (e.g. es:CreateOutboundConnection and es:CreateOutboundCrossClusterSearchConnection).
        names = [f"es:{operation}", f"es:{re.sub('CrossClusterSearch', '', operation)}"]
        missing = next((name for name in names if name in self.realism.denied_actions), None)
        if missing is None and now - first < self.realism.iam_propagation_seconds:
            missing = names[-1]
        if missing is None:
            return None
        resource = f"arn:aws:es:{region}:{account}:domain/*" if "Create" in operation else "*"
        return (
            f"User: arn:aws:sts::{account}:assumed-role/provider-role/session is not authorized to perform: "
            f"{missing} on resource: {resource} because no identity-based policy allows the {missing} action"
        )

    def lose_create_answer(self, operation: str) -> bool:
        """Whether this create, already carried out, answers 500 instead (Realism.lost_create_answers)."""
        if not operation.startswith("CreateOutbound") or self.realism.lost_create_answers <= 0:
            return False
        self.realism.lost_create_answers -= 1
        return True

    # --- inspection for tests ----------------------------------------------------------------
    def live(self) -> list[StoredConnection]:
        """Connections that are not DELETED (nor dead after a failed validation or a rejection)."""
        with self.lock:
            self._advance()
            return [
                c for c in self.connections.values() if c.status not in ("DELETED", "VALIDATION_FAILED", "REJECTED")
            ]

    def status_of(self, connection_id: str) -> str:
        with self.lock:
            self._advance()
            return self.connections[connection_id].status

    def throttled(self, account: str) -> bool:
        """Per-account rate limit (a sliding one-second window)."""
        rate = self.faults.rate_per_second
        if rate is None:
            return False
        now = self.clock()
        window = [t for t in self._rate.get(account, []) if now - t < 1.0]
        if len(window) >= rate:
            self._rate[account] = window
            return True
        self._rate[account] = [*window, now]
        return False


#: M3 and burstable instance types, which the guide says cross-cluster search does not support.
_UNSUPPORTED_INSTANCE = re.compile(r"(m3|t2|t3)\.", re.IGNORECASE)


def _setting_problem(source: Domain, dest: Domain) -> str | None:
    """The prerequisites on both domains' settings, from the Amazon OpenSearch Service developer guide,
    "Cross-cluster search" (limitations): a connection joins two domains; fine-grained access control and
    node-to-node encryption must be on on both; no M3 or burstable (T2, T3) instance types. The service refuses
    the connection in validation (VALIDATION_FAILED). The guide and practice disagree on T2/T3 (Terraform's
    acceptance tests connect t3.small.search domains): the emulator models the harsher case and refuses them.
    The messages are the emulator's own wording."""
    if source == dest:
        return f"Domain {source.name} cannot connect to itself"
    for domain in (source, dest):
        if not domain.fine_grained_access_control:
            return f"Domain {domain.name} must have fine-grained access control enabled for cross-cluster search"
        if not domain.node_to_node_encryption:
            return f"Domain {domain.name} must have node-to-node encryption enabled for cross-cluster search"
        for instance_type in domain.instance_types:
            if _UNSUPPORTED_INSTANCE.match(instance_type):
                return f"Domain {domain.name} uses {instance_type}: cross-cluster search does not support it"
    return None


def _domain_param(service: str, params: dict[str, Any], side: str) -> dict[str, str]:
    if service == ES:
        return dict(params["SourceDomainInfo" if side == "source" else "DestinationDomainInfo"])
    return dict(params["LocalDomainInfo" if side == "source" else "RemoteDomainInfo"]["AWSDomainInformation"])


# The es model's status enums: inbound ends at APPROVED (no PROVISIONING, ACTIVE); outbound has no APPROVED
# nor REJECTING. What the es API shows for them is not documented: the emulator shows an approved request as
# PROVISIONING (the next state it has) and a rejecting one as REJECTED.
_ES_INBOUND = {"PROVISIONING": "APPROVED", "ACTIVE": "APPROVED"}
_ES_OUTBOUND = {"REJECTING": "REJECTED", "APPROVED": "PROVISIONING"}


def _render(service: str, conn: StoredConnection, direction: str, now: float) -> dict[str, Any]:
    """A connection in the shape each API and direction uses, as answers show it `now` (a status from before
    an accept while Realism.describe_lag_seconds lasts)."""
    status, message = conn.status, conn.message
    if conn.stale is not None and now < conn.stale[2]:
        status, message = conn.stale[0], conn.stale[1]
    if service == ES:
        table = _ES_INBOUND if direction == "inbound" else _ES_OUTBOUND
        item: dict[str, Any] = {
            "SourceDomainInfo": conn.source,
            "DestinationDomainInfo": conn.destination,
            "CrossClusterSearchConnectionId": conn.connection_id,
            "ConnectionStatus": {"StatusCode": table.get(status, status), "Message": message},
        }
    else:
        item = {
            "LocalDomainInfo": {"AWSDomainInformation": conn.source},
            "RemoteDomainInfo": {"AWSDomainInformation": conn.destination},
            "ConnectionId": conn.connection_id,
            "ConnectionStatus": {"StatusCode": status, "Message": message},
            "ConnectionMode": conn.mode,
        }
        properties: dict[str, Any] = {}
        if direction == "outbound" and conn.skip_unavailable:
            properties["CrossClusterSearch"] = {"SkipUnavailable": conn.skip_unavailable}
        # The opensearch model: ConnectionProperties.Endpoint is "the endpoint of the remote domain, applicable
        # for VPC_ENDPOINT connection mode" (outbound only). When it appears is not documented: the emulator
        # shows it only once the connection is ACTIVE, the latest it could appear.
        if direction == "outbound" and conn.mode == "VPC_ENDPOINT" and status == "ACTIVE":
            properties["Endpoint"] = _vpc_endpoint(conn.destination)
        if properties:
            item["ConnectionProperties"] = properties
    if direction == "outbound":
        item["ConnectionAlias"] = conn.alias
    return item


def _disguised(output: Any, shown: dict[str, str]) -> Any:
    """The answer with each ConnectionStatus.StatusCode in `shown` replaced (Faults.shown_status)."""
    if not shown:
        return output
    if isinstance(output, list):
        return [_disguised(item, shown) for item in output]
    if not isinstance(output, dict):
        return output
    changed = {key: _disguised(value, shown) for key, value in output.items()}
    code = changed.get("StatusCode")
    if isinstance(code, str) and code in shown:
        changed["StatusCode"] = shown[code]
    return changed


def _vpc_endpoint(domain: dict[str, str]) -> str:
    """A VPC domain's endpoint, shaped as AWS names them (vpc-NAME-ID.REGION.es.amazonaws.com)."""
    digest = hashlib.sha256(f"{domain['OwnerId']}/{domain['DomainName']}".encode()).hexdigest()[:26]
    return f"vpc-{domain['DomainName']}-{digest}.{domain['Region']}.es.amazonaws.com"


def _filter_table() -> dict[str, dict[str, dict[str, Callable[[StoredConnection], str]]]]:
    def by(side: str, key: str) -> Callable[[StoredConnection], str]:
        return lambda c: getattr(c, side)[key]

    def connection_id(c: StoredConnection) -> str:
        return c.connection_id

    def table(id_name: str, source: str, dest: str) -> dict[str, dict[str, Callable[[StoredConnection], str]]]:
        return {
            "outbound": {
                id_name: connection_id,
                f"{source}.domain-name": by("source", "DomainName"),
                **{f"{dest}.{k}": by("destination", v) for k, v in _FILTER_KEYS.items()},
            },
            "inbound": {
                id_name: connection_id,
                f"{dest}.domain-name": by("destination", "DomainName"),
                **{f"{source}.{k}": by("source", v) for k, v in _FILTER_KEYS.items()},
            },
        }

    return {
        ES: table("cross-cluster-search-connection-id", "source-domain-info", "destination-domain-info"),
        OPENSEARCH: table("connection-id", "local-domain-info", "remote-domain-info"),
    }


_FILTER_KEYS = {"domain-name": "DomainName", "owner-id": "OwnerId", "region": "Region"}
_FILTERS = _filter_table()
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the store keeps its own call log."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Log the call (before the caller can see the answer), then answer."""
        store = self.server.store
        with store.lock:
            store.calls.append(
                Call(
                    store.clock(),
                    self.seen[1],
                    self.seen[0],
                    self.caller[0],
                    self.caller[1],
                    status,
                    headers.get("x-amzn-ErrorType") or headers.get("x-error-code"),
                )
            )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self) -> None:
        store = self.server.store
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        access_key, region, signing_service = match.groups() if match else ("", "", "")
        account = store.credentials.get(access_key, "")
        path = unquote(urlsplit(self.path).path)
        self.seen = ("Unknown", signing_service)
        self.caller = (account, region)
        self.principal = access_key
        try:
            if not account:
                raise ApiError(
                    "UnrecognizedClientException", "The security token included in the request is invalid", 403
                )
            if signing_service == "sts":
                self.seen = ("AssumeRole", "sts")
                self._reply(200, self._assume_role(body, account), {"Content-Type": "text/xml"})
                return
            output = self._operation(path, body, account, region)
            self._reply(200, json.dumps(output).encode(), {"Content-Type": "application/json"})
        except ApiError as failure:
            self._error(failure, self.seen[1])

    def _operation(self, path: str, body: bytes, account: str, region: str) -> Any:
        store = self.server.store
        for method, pattern, service, operation in _ROUTES:
            matched = pattern.match(path)
            if method != self.command or not matched:
                continue
            self.seen = (operation.name, service)
            with store.lock:
                if store.faults.throttle_next > 0 or store.throttled(account):
                    store.faults.throttle_next = max(0, store.faults.throttle_next - 1)
                    raise ApiError("ThrottlingException", "Rate exceeded", 429)
                if store.faults.error_next > 0:
                    store.faults.error_next -= 1
                    raise ApiError("InternalException", "Internal error, please retry", 500)
                denied = store.iam_denial(self.principal, account, region, operation.name)
                if denied is not None:
                    raise ApiError("AccessDeniedException", denied, 403)
            params: dict[str, Any] = json.loads(body) if body else {}
            for uri_name, value in matched.groupdict().items():
                members: dict[str, Shape] = getattr(operation.input_shape, "members", {})
                member = next(k for k, v in members.items() if v.serialization.get("name") == uri_name)
                params[member] = value
            problems = validate(operation.input_shape, params)
            if problems:
                raise ApiError("ValidationException", "; ".join(problems)[:500])
            output = store.handle(service, operation.name, params, account, region)
            invalid = validate(operation.output_shape, output)
            if invalid:
                raise AssertionError(f"emulator produced an invalid {operation.name} response: {invalid}")
            output = _disguised(output, store.faults.shown_status)
            late = store.realism.slow_answers.get(operation.name, 0.0)
            if late > 0:
                store.sleep(late)  # outside the store's lock: other callers go on
            with store.lock:
                if store.lose_create_answer(operation.name):
                    raise ApiError("InternalException", "Internal error, please retry", 500)
            return output
        raise ApiError("UnknownOperationException", f"No operation at {self.command} {path}", 404)

    def _error(self, failure: ApiError, service: str) -> None:
        status = failure.status
        if status is None:
            try:
                shape = _MODEL_SESSION.get_service_model(service if service in (ES, OPENSEARCH) else ES).shape_for(
                    failure.code
                )
                status = int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
            except Exception:  # noqa: BLE001 - codes outside the model default to 400
                status = 400
        if service == "sts":  # the query protocol answers errors in XML
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{failure.code}</Code>"
                f"<Message>{failure.message}</Message></Error><RequestId>emulated</RequestId></ErrorResponse>"
            )
            self._reply(status, xml.encode(), {"Content-Type": "text/xml", "x-error-code": failure.code})
            return
        body = json.dumps({"message": failure.message}).encode()
        self._reply(status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": failure.code})

    def _assume_role(self, body: bytes, account: str) -> bytes:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        role_arn = form.get("RoleArn", "")
        trusted, external_id = self.server.store.roles.get(role_arn, (set(), None))
        if account not in trusted or (external_id is not None and form.get("ExternalId") != external_id):
            raise ApiError("AccessDenied", f"Not authorized to assume {role_arn}", 403)
        role_account = role_arn.split(":")[4]
        key, secret, token = self.server.store.issue_session(role_account)
        for listener in list(self.server.store.assumed_role_listeners):
            listener(key, secret, token, role_arn)
        return (
            '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
            f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
            f"<SessionToken>{token}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
            f"<AssumedRoleUser><Arn>{role_arn}/session</Arn><AssumedRoleId>AROAEMULATED:session</AssumedRoleId>"
            "</AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>emulated</RequestId>"
            "</ResponseMetadata></AssumeRoleResponse>"
        ).encode()


class _Server(LocalServer):
    def __init__(self, store: ConnectionStore) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store = store


@dataclass
class Emulator:
    """A running emulator: its store and its endpoint URL."""

    store: ConnectionStore
    url: str

    def client(self, service: str, account: str, region: str) -> Any:
        """A boto3 client that acts as `account` in `region` (e.g. another account's console user)."""
        key, secret = self.store.credentials_for(account)
        return boto3.client(  # type: ignore[call-overload]
            service, region_name=region, endpoint_url=self.url, aws_access_key_id=key, aws_secret_access_key=secret
        )

    def endpoint_env(self) -> dict[str, str]:
        """Environment variables that point boto3 clients at the emulator."""
        return {
            "AWS_ENDPOINT_URL_ELASTICSEARCH_SERVICE": self.url,
            "AWS_ENDPOINT_URL_OPENSEARCH": self.url,
            "AWS_ENDPOINT_URL_STS": self.url,
            "AWS_ENDPOINT_URL": self.url,
        }


@contextmanager
def running(store: ConnectionStore | None = None) -> Iterator[Emulator]:
    """Serve a store on a free loopback port for the duration of the block."""
    server = _Server(store or ConnectionStore())
    thread = threading.Thread(target=server.serve_forever, name="emulator", daemon=True)
    thread.start()
    try:
        yield Emulator(server.store, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
