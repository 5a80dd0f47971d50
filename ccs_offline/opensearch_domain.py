"""A local stand-in for the REST API of OpenSearch domains with fine-grained access control: the security
plugin's roles and role mappings, the replication plugin's start/status/pause/resume/stop and auto-follow
rules, and `_search` across a connection (`alias:index`). Each domain is its own HTTPS server on loopback with
a throwaway CA (ccs_offline/response_url.py's pattern); clients trust it through SSL_CERT_FILE.

Who calls is what AWS sees: the SigV4 signature is checked (botocore's own SigV4 code recomputes it from the
secret the test registers), and the access key in its credential scope names an IAM role ARN. The security
plugin then decides from that identity, as it does for IAM users on Amazon OpenSearch Service: a caller is
mapped to a role when the role's mapping lists the ARN in `users` or `backend_roles` (AWS developer guide,
"Fine-grained access control", "Mapping roles to users"), and refusals carry the plugin's own bodies.

Time passes on the clock the world is given (`now`, `sleep`, as ccs_offline/emulator.py's ConnectionStore
takes them): replication bootstraps for `bootstrap_seconds`, then syncs; auto-follow rules look for new leader
indices every `autofollow_poll_seconds`.

Every modelled behaviour names its source; where the sources are unsure, the harsher case is modelled and
the comment says so. Sources, in short:
  [spec]     opensearch-project/opensearch-api-specification (tests/reference/opensearch-api-specification)
  [roles]    the security plugin's static roles (config/roles.yml: cross_cluster_* and all_access)
  [rest-api] security plugin RestApiPrivilegesEvaluator / AbstractApiAction ("No permission to access REST
             API: ..." with status FORBIDDEN)
  [sec#50]   opensearch-project/security #50, #533, OpenSearch #13021: the security_exception 403 body
  [ccr]      cross-cluster-replication TransportReplicationStatusAction, its issues #1466 (FAILED, PAUSED
             bodies) and terraform-provider-opensearch PR #318 (a SYNCING body), OpenSearch docs
             "Cross-cluster replication" (API, permissions, auto-follow)
  [aws-ccs]  AWS developer guide "Cross-cluster search" / "Cross-cluster replication"
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import json
import os
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ccs_offline.local_server import LocalServer

JSON = dict[str, Any]

# --- the security plugin's configuration ----------------------------------------------------------------
#: The built-in roles this stand-in knows, with the permissions the security plugin's static roles.yml gives
#: them [roles]. `security_manager` is the role Amazon OpenSearch Service maps the master user to for the
#: security REST API (AWS developer guide, "Fine-grained access control", "Additional master users").
BUILT_IN_ROLES: dict[str, JSON] = {
    "all_access": {
        "cluster_permissions": ["*"],
        "index_permissions": [{"index_patterns": ["*"], "allowed_actions": ["*"]}],
    },
    "security_manager": {
        "cluster_permissions": ["cluster:admin/opendistro_security/*", "restapi:admin/*"],
        "index_permissions": [],
    },
    "cross_cluster_search_remote_full_access": {
        "cluster_permissions": [],
        "index_permissions": [
            {
                "index_patterns": ["*"],
                "allowed_actions": ["indices:admin/shards/search_shards", "indices:data/read/search"],
            }
        ],
    },
    "cross_cluster_replication_leader_full_access": {
        "cluster_permissions": [],
        "index_permissions": [
            {
                "index_patterns": ["*"],
                "allowed_actions": [
                    "indices:admin/plugins/replication/index/setup/validate",
                    "indices:data/read/plugins/replication/changes",
                    "indices:data/read/plugins/replication/file_chunk",
                ],
            }
        ],
    },
    "cross_cluster_replication_follower_full_access": {
        "cluster_permissions": ["cluster:admin/plugins/replication/autofollow/update"],
        "index_permissions": [
            {
                "index_patterns": ["*"],
                "allowed_actions": [
                    "indices:admin/plugins/replication/index/setup/validate",
                    "indices:data/write/plugins/replication/changes",
                    "indices:admin/plugins/replication/index/start",
                    "indices:admin/plugins/replication/index/pause",
                    "indices:admin/plugins/replication/index/resume",
                    "indices:admin/plugins/replication/index/stop",
                    "indices:admin/plugins/replication/index/update",
                    "indices:admin/plugins/replication/index/status_check",
                ],
            }
        ],
    },
}
#: Roles whose members may use the security REST API: the plugin's `restapi.roles_enabled` as Amazon
#: OpenSearch Service sets it (all_access, security_manager) [rest-api][aws FGAC guide].
REST_API_ROLES = ("all_access", "security_manager")
#: The default action groups a role may name instead of actions (security plugin action_groups.yml; only
#: those a role of this library would use). Unknown names are taken literally (harsher: grant nothing more).
ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "unlimited": ("*",),
    "indices_all": ("indices:*",),
    "cluster_all": ("cluster:*",),
    "read": ("indices:data/read*", "indices:admin/mappings/fields/get*", "indices:admin/resolve/index"),
    "search": ("indices:data/read/search*", "indices:data/read/msearch*", "indices:data/read/suggest*"),
}
#: The keys a role and a role mapping document may hold [spec: security._common Role, RoleMapping]; the
#: plugin answers 400 to any other key (its "Invalid configuration" answer).
ROLE_KEYS = frozenset({"description", "cluster_permissions", "index_permissions", "tenant_permissions"})
MAPPING_KEYS = frozenset({"description", "users", "backend_roles", "and_backend_roles", "hosts"})
SECURITY_KINDS = ("roles", "rolesmapping")
_MAPPING_LISTS = ("hosts", "users", "backend_roles", "and_backend_roles")

# --- the replication plugin ---------------------------------------------------------------------------------
#: The actions each replication route checks on the follower [ccr: the plugin's action names, which the
#: follower role of roles.yml grants]; `setup/validate` is checked on the leader with the leader role.
START = ("indices:admin/plugins/replication/index/setup/validate", "indices:admin/plugins/replication/index/start")
PAUSE = ("indices:admin/plugins/replication/index/pause",)
RESUME = ("indices:admin/plugins/replication/index/resume",)
STOP = ("indices:admin/plugins/replication/index/stop",)
STATUS = ("indices:admin/plugins/replication/index/status_check",)
AUTOFOLLOW = ("cluster:admin/plugins/replication/autofollow/update",)
LEADER_VALIDATE = ("indices:admin/plugins/replication/index/setup/validate",)
#: What a cross-cluster search needs on the destination. OpenSearch docs say search_shards is checked only
#: with ccs_minimize_roundtrips=false, but the refusal users report (security #50) names both: the harsher
#: case, both always, is modelled.
REMOTE_SEARCH = ("indices:admin/shards/search_shards", "indices:data/read/search")
LOCAL_SEARCH = ("indices:data/read/search",)
#: Deleting an index [spec: indices.yaml indices.delete; the security plugin's action name].
DELETE_INDEX = ("indices:admin/delete",)
#: Reading an index's definition [spec: indices.yaml indices.get; the security plugin's action name].
GET_INDEX = ("indices:admin/get",)


#: The routes this stand-in serves (method, path template as the API specification writes it). `_search` is
#: `_core.yaml`'s `/{index}/_search`; the others are replication.yaml's and security.yaml's.
ROUTES = (
    ("GET", "/_plugins/_security/api/roles/{role}"),
    ("PUT", "/_plugins/_security/api/roles/{role}"),
    ("PATCH", "/_plugins/_security/api/roles/{role}"),
    ("DELETE", "/_plugins/_security/api/roles/{role}"),
    ("GET", "/_plugins/_security/api/rolesmapping/{role}"),
    ("PUT", "/_plugins/_security/api/rolesmapping/{role}"),
    ("PATCH", "/_plugins/_security/api/rolesmapping/{role}"),
    ("DELETE", "/_plugins/_security/api/rolesmapping/{role}"),
    ("PUT", "/_plugins/_replication/{index}/_start"),
    ("GET", "/_plugins/_replication/{index}/_status"),
    ("POST", "/_plugins/_replication/{index}/_pause"),
    ("POST", "/_plugins/_replication/{index}/_resume"),
    ("POST", "/_plugins/_replication/{index}/_stop"),
    ("POST", "/_plugins/_replication/_autofollow"),
    ("DELETE", "/_plugins/_replication/_autofollow"),
    ("GET", "/{index}/_search"),
    ("POST", "/{index}/_search"),
    ("DELETE", "/{index}"),
    ("GET", "/{index}"),
)


class RestError(Exception):
    """An answer other than 2xx: its status and body."""

    def __init__(self, status: int, body: JSON) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body


def exception_body(status: int, kind: str, reason: str) -> JSON:
    """OpenSearch's error body [spec: _common ErrorResponseBase, ErrorCause; sec#50 for its shape]."""
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def security_api_answer(status: int, word: str, message: str) -> RestError:
    """The security REST API's own answer shape: {"status": "<HTTP reason>", "message": ...} [spec: Ok,
    Created, Error; rest-api]."""
    return RestError(status, {"status": word, "message": message})


@dataclass(frozen=True)
class Caller:
    """An IAM role as the security plugin sees it: its ARN is the user name and its backend role."""

    role_arn: str

    def describe(self) -> str:
        """The plugin's rendering of a user in a refusal [sec#50: `User [name=…, backend_roles=[…],
        requestedTenant=null]`; older versions wrote `roles=[…]`]. That an IAM caller's name and backend role
        are both its role ARN is unsure (AWS documents mapping the ARN as either)."""
        return f"User [name={self.role_arn}, backend_roles=[{self.role_arn}], requestedTenant=null]"


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the domain saw them (for checks against the API specification)."""

    caller: str  #: the role ARN, or "-" when the request was not authenticated
    method: str
    path: str  #: without the query string, percent-decoded
    query: dict[str, str]
    request: Any  #: the JSON body, or None
    status: int
    response: Any


@dataclass
class Replication:
    """One follower index's replication [ccr]."""

    follower_index: str
    leader_alias: str
    leader_index: str
    started: float
    state: str = "RUNNING"  #: RUNNING, PAUSED or FAILED (the overall state; RUNNING shows as a shard state)
    reason: str = "User initiated"  #: [ccr: the SYNCING body of terraform-provider-opensearch PR #318]
    rule: str | None = None


@dataclass
class Rule:
    """An auto-follow rule: leader indices matching `pattern` on `leader_alias` are replicated [ccr]."""

    leader_alias: str
    name: str
    pattern: str
    use_roles: JSON
    created: float


@dataclass
class LocalDomain:
    """One domain: its security configuration, its indices, its remote connections, its replications."""

    name: str
    world: OpenSearchWorld
    region: str = "us-east-1"
    roles: dict[str, JSON] = field(default_factory=dict)
    mappings: dict[str, JSON] = field(default_factory=dict)
    indices: dict[str, dict[str, JSON]] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)  #: index -> when it was made (for auto-follow)
    remotes: dict[str, LocalDomain] = field(default_factory=dict)
    replications: dict[str, Replication] = field(default_factory=dict)
    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)  #: every request and its answer, in order
    endpoint: str = ""

    # --- what a test sets up (the domain's owner, outside the REST API) --------------------------------
    def map_role(self, role: str, *, users: tuple[str, ...] = (), backend_roles: tuple[str, ...] = ()) -> None:
        """Add entries to a role's mapping, as the domain's master user would."""
        with self.world.lock:
            mapping = self.mappings.setdefault(role, _empty_mapping())
            for key, values in (("users", users), ("backend_roles", backend_roles)):
                kept = mapping.get(key, [])
                mapping[key] = [*kept, *(v for v in values if v not in kept)]

    def connect(self, alias: str, destination: LocalDomain) -> None:
        """An ACTIVE outbound connection from this domain to `destination` under `alias`."""
        with self.world.lock:
            self.remotes[alias] = destination

    def index(self, index: str, doc_id: str, source: JSON) -> None:
        """Store a document (creating the index)."""
        with self.world.lock:
            self.created.setdefault(index, self.world.now())
            self.indices.setdefault(index, {})[doc_id] = dict(source)

    def fail_replication(self, index: str, reason: str) -> None:
        """The follower index's replication fails with `reason` (e.g. the leader's retention lease expired)."""
        with self.world.lock:
            self.replications[index].state = "FAILED"
            self.replications[index].reason = reason

    def documents(self, index: str) -> dict[str, JSON]:
        """The index's documents now (a follower's are the leader's once it syncs)."""
        self.world.sync_remotes(self)
        with self.world.lock:
            self._advance()
            return copy.deepcopy(self.indices.get(index, {}))

    # --- the security plugin's decisions --------------------------------------------------------------
    def roles_of(self, caller: Caller) -> list[str]:
        """The roles the caller is mapped to: by user name or backend role; `and_backend_roles` needs all of
        them [security plugin docs, "Role mappings"]."""
        mapped = []
        for role, mapping in sorted(self.mappings.items()):
            every = set(mapping.get("and_backend_roles", []))
            by_user = caller.role_arn in mapping.get("users", [])
            by_backend = caller.role_arn in mapping.get("backend_roles", [])
            by_all = bool(every) and every <= {caller.role_arn}
            if by_user or by_backend or by_all:
                mapped.append(role)
        return mapped

    def _role(self, name: str) -> JSON | None:
        return BUILT_IN_ROLES.get(name) or self.roles.get(name)

    def missing(self, caller: Caller, actions: tuple[str, ...], index: str | None, via: str | None = None) -> list[str]:
        """The actions the caller's roles do not grant on `index` (cluster permissions when None). With `via`,
        only that role counts, and only if the caller is mapped to it: the request runs as that role."""
        mapped = self.roles_of(caller)
        names = mapped if via is None else [via] if via in mapped else []
        granted: list[str] = []
        for name in names:
            role = self._role(name) or {}
            if index is None:
                granted += role.get("cluster_permissions", [])
                continue
            for permission in role.get("index_permissions", []):
                if any(fnmatch.fnmatchcase(index, p) for p in permission.get("index_patterns", [])):
                    granted += permission.get("allowed_actions", [])
        patterns = [p for g in granted for p in ACTION_GROUPS.get(g, (g,))]
        return [a for a in actions if not any(fnmatch.fnmatchcase(a, p) for p in patterns)]

    def require(self, caller: Caller, actions: tuple[str, ...], index: str | None, via: str | None = None) -> None:
        """403 security_exception naming the missing actions and the user [sec#50]."""
        missing = self.missing(caller, actions, index, via)
        if missing:
            reason = f"no permissions for [{', '.join(missing)}] and {caller.describe()}"
            raise RestError(403, exception_body(403, "security_exception", reason))

    def require_rest_api(self, caller: Caller) -> None:
        """Only members of REST_API_ROLES may use the security REST API [rest-api]."""
        roles = self.roles_of(caller)
        if not set(roles) & set(REST_API_ROLES):
            raise security_api_answer(
                403,
                "FORBIDDEN",
                f"No permission to access REST API: User {caller.role_arn} with Security roles [{', '.join(roles)}]"
                " does not have any role privileged for admin access",
            )

    # --- replication over time ------------------------------------------------------------------------------
    def _advance(self) -> None:
        """Auto-follow rules start what they match once their poll comes round [ccr: fetch_poll_interval]."""
        now = self.world.now()
        for rule in list(self.rules.values()):
            leader = self.remotes.get(rule.leader_alias)
            if leader is None:
                continue
            for index, made in sorted(leader.created.items()):
                seen = max(made, rule.created)
                polls = -(-(seen - rule.created) // self.world.autofollow_poll_seconds)
                due = rule.created + polls * self.world.autofollow_poll_seconds
                if fnmatch.fnmatchcase(index, rule.pattern) and index not in self.indices and due <= now:
                    self._begin(index, rule.leader_alias, index, due, rule.name)
        for replication in self.replications.values():
            if replication.state == "RUNNING" and self._phase(replication) == "SYNCING":
                leader = self.remotes.get(replication.leader_alias)
                source = leader.indices.get(replication.leader_index, {}) if leader else {}
                self.indices[replication.follower_index] = copy.deepcopy(source)

    def _begin(self, follower: str, alias: str, leader_index: str, at: float, rule: str | None = None) -> None:
        self.replications[follower] = Replication(follower, alias, leader_index, at, rule=rule)
        self.indices.setdefault(follower, {})
        self.created.setdefault(follower, at)

    def _phase(self, replication: Replication) -> str:
        """A running replication bootstraps (copies the leader's shards), then syncs [ccr]."""
        done = self.world.now() - replication.started >= self.world.bootstrap_seconds
        return "SYNCING" if done else "BOOTSTRAPPING"


def _empty_mapping() -> JSON:
    return {key: [] for key in _MAPPING_LISTS}


# --- JSON Patch (RFC 6902), as the security API's PATCH takes it -------------------------------------------
def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_patch(document: JSON, operations: list[JSON]) -> JSON:
    """add/remove/replace/test on a copy; ValueError when an operation does not apply (the whole patch is
    refused, RFC 6902 section 5)."""
    result = copy.deepcopy(document)
    for operation in operations:
        op, parts = operation.get("op"), _pointer(str(operation.get("path", "")))
        parent: Any = result
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != operation.get("value"):
                raise ValueError(f"test failed for {operation['path']}")
        elif op in ("add", "replace"):
            if isinstance(parent, list):
                position = len(parent) if last == "-" else int(last)
                if op == "add":
                    parent.insert(position, operation.get("value"))
                else:
                    parent[position] = operation.get("value")
            else:
                if op == "replace" and last not in parent:
                    raise ValueError(f"no {operation['path']} to replace")
                parent[last] = operation.get("value")
        elif op == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        else:
            raise ValueError(f"unsupported op {op!r}")
    return result


# --- the HTTP side ---------------------------------------------------------------------------------------
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Registered:
    """An IAM role's session as the test hands it out: the keys it signs with, and the role they stand for."""

    secret_key: str
    role_arn: str
    token: str | None


class _DomainHandler(BaseHTTPRequestHandler):
    server: _DomainServer
    protocol_version = "HTTP/1.1"  #: keep-alive, as the domains' endpoints
    disable_nagle_algorithm = True  #: headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        domain = self.server.domain
        caller_name, request = "-", None
        try:
            request = _json_body(raw)
            caller = domain.world.authenticate(domain, self.command, self.path, dict(self.headers.items()), raw)
            caller_name = caller.role_arn
            status, answer = domain.world.route(domain, caller, self.command, self.path, request)
        except RestError as error:
            status, answer = error.status, error.body
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        exchange = Exchange(caller_name, self.command, unquote(split.path), query, request, status, answer)
        with domain.world.lock:
            domain.exchanges.append(exchange)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _DomainServer(LocalServer):
    def __init__(self, domain: LocalDomain) -> None:
        super().__init__(("127.0.0.1", 0), _DomainHandler)
        self.domain = domain


class OpenSearchWorld:
    """The domains, the IAM sessions that may call them, and the clock replication runs on."""

    def __init__(
        self,
        ca: trustme.CA,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        bootstrap_seconds: float = 30.0,
        autofollow_poll_seconds: float = 30.0,
    ) -> None:
        """`bootstrap_seconds`: how long a new replication copies shards before it syncs (no source gives a
        figure; it grows with the leader's size). `autofollow_poll_seconds`: the plugin's default
        `plugins.replication.autofollow.fetch_poll_interval` (30 s, OpenSearch docs "Replication settings")."""
        self.now = now
        self.sleep = sleep
        self.bootstrap_seconds = bootstrap_seconds
        self.autofollow_poll_seconds = autofollow_poll_seconds
        self.lock = threading.RLock()
        self.domains: dict[str, LocalDomain] = {}
        self.sessions: dict[str, Registered] = {}
        #: role ARN -> how many more requests AWS's front end denies it: an identity-based grant not yet applied
        #: (IAM is eventually consistent: IAM User Guide, "Changes that I make are not always immediately
        #: visible"). The body is AWS's for an IAM denial of es:ESHttp* (AWS developer guide, "Identity and
        #: Access Management in Amazon OpenSearch Service"; its exact key, "Message", unsure).
        self.iam_denials: dict[str, int] = {}
        self._ca = ca
        self._servers: list[tuple[_DomainServer, threading.Thread]] = []
        self._keys = itertools.count(1)
        #: Where remote clusters come from besides `connect`: domain -> {alias: destination domain name} of its
        #: outbound connections that are ACTIVE now (the control plane's, e.g. the emulator's; world.py sets
        #: it). Asked before each request to a domain; an alias it stops naming is no longer a remote.
        self.remotes_source: Callable[[LocalDomain], dict[str, str]] | None = None
        self._synced: dict[str, set[str]] = {}  #: domain name -> the aliases remotes_source put in

    # --- setup ---------------------------------------------------------------------------------------------
    def add_domain(self, name: str, region: str = "us-east-1") -> LocalDomain:
        """A domain in `region`, served on its own HTTPS port; its endpoint is `domain.endpoint`."""
        domain = LocalDomain(name, self, region)
        server = _DomainServer(domain)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, name=f"opensearch-{name}", daemon=True)
        thread.start()
        domain.endpoint = f"https://127.0.0.1:{server.server_address[1]}"
        with self.lock:
            self.domains[name] = domain
            self._servers.append((server, thread))
        return domain

    def session(self, role_arn: str) -> Credentials:
        """Temporary credentials standing for `role_arn` (as STS AssumeRole hands them out)."""
        number = next(self._keys)
        key, secret, token = f"ASIALOCAL{number:011d}", f"local-secret-{number}", f"local-token-{number}"
        self.register(key, secret, token, role_arn)
        return Credentials(key, secret, token)

    def register(self, access_key: str, secret_key: str, token: str | None, role_arn: str) -> None:
        """Credentials handed out elsewhere (the control-plane emulator's STS AssumeRole) stand for `role_arn`."""
        with self.lock:
            self.sessions[access_key] = Registered(secret_key, role_arn, token)

    def close(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    def sync_remotes(self, domain: LocalDomain) -> None:
        """The domain's remote clusters as `remotes_source` says now: an outbound connection that is ACTIVE is
        a remote cluster under its alias, one that is not (DELETING, DELETED, gone) is none (AWS developer
        guide, "Cross-cluster search": searches go through an active connection; while a connection is being
        deleted it is taken as gone, the harsher case). Remotes set with `connect` stay unless it names the
        alias."""
        source = self.remotes_source
        if source is None:
            return
        active = source(domain)  # outside the lock: it reads the control plane's state under its own
        with self.lock:
            for alias in self._synced.get(domain.name, set()) - set(active):
                domain.remotes.pop(alias, None)
            kept = set()
            for alias, name in active.items():
                destination = self.domains.get(name)
                if destination is not None:
                    domain.remotes[alias] = destination
                    kept.add(alias)
            self._synced[domain.name] = kept

    # --- who is calling ----------------------------------------------------------------------------------
    def authenticate(
        self, domain: LocalDomain, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Caller:
        """The caller from a valid SigV4 signature (service `es`); otherwise the answers AWS's front end gives
        before the plugin sees the request: 403 with a `message` (AWS developer guide, "Signing HTTP
        requests to Amazon OpenSearch Service"; the exact texts are those of other SigV4 services, unsure)."""
        lower = {k.lower(): v for k, v in headers.items()}
        match = _AUTHORIZATION.fullmatch(lower.get("authorization", ""))
        if match is None:
            raise RestError(403, {"message": "Authorization header requires 'Credential', 'Signature' parameters."})
        with self.lock:
            session = self.sessions.get(match["key"])
        if session is None or lower.get("x-amz-security-token") != session.token:
            raise RestError(403, {"message": "The security token included in the request is invalid."})
        if match["service"] != "es":
            raise RestError(
                403, {"message": f"Credential should be scoped to correct service: 'es'. ({match['service']})"}
            )
        if match["region"] != domain.region:
            raise RestError(
                403,
                {"message": f"Credential should be scoped to a valid region. ({match['region']} != {domain.region})"},
            )
        signed = match["signed"].split(";")
        request = AWSRequest(
            method=method,
            url=f"https://{lower.get('host', '')}{target}",
            data=body,
            headers={name: lower.get(name, "") for name in signed},
        )
        request.context["timestamp"] = lower.get("x-amz-date", "")
        signer = SigV4Auth(Credentials(match["key"], session.secret_key, session.token), "es", match["region"])
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if expected != match["signature"]:
            raise RestError(
                403,
                {
                    "message": "The request signature we calculated does not match the signature you provided. "
                    "Check your AWS Secret Access Key and signing method."
                },
            )
        with self.lock:
            denials = self.iam_denials.get(session.role_arn, 0)
            if denials:
                self.iam_denials[session.role_arn] = denials - 1
        if denials:
            action = {"GET": "ESHttpGet", "PUT": "ESHttpPut", "POST": "ESHttpPost", "PATCH": "ESHttpPatch"}.get(
                method, "ESHttpDelete"
            )
            raise RestError(
                403,
                {
                    "Message": f"User: {session.role_arn} is not authorized to perform: es:{action} on resource: "
                    f"arn:aws:es:{domain.region}:{session.role_arn.split(':')[4]}:domain/{domain.name}"
                },
            )
        return Caller(session.role_arn)

    # --- what is called ------------------------------------------------------------------------------------
    def route(self, domain: LocalDomain, caller: Caller, method: str, target: str, body: Any) -> tuple[int, Any]:
        """Dispatch one request (its JSON body parsed); a RestError is the answer for anything but success."""
        split = urlsplit(target)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        parts = [p for p in path.split("/") if p]
        self.sync_remotes(domain)
        with self.lock:
            domain._advance()
            if parts[:3] == ["_plugins", "_security", "api"] and len(parts) == 5 and parts[3] in SECURITY_KINDS:
                domain.require_rest_api(caller)
                return _security(domain, parts[3], parts[4], method, body)
            if parts[:2] == ["_plugins", "_replication"] and len(parts) == 3 and parts[2] == "_autofollow":
                _allow(method, target, ("POST", "DELETE"))
                return _autofollow(domain, caller, method, body)
            if parts[:2] == ["_plugins", "_replication"] and len(parts) == 4:
                verbs = {"_start": "PUT", "_stop": "POST", "_pause": "POST", "_resume": "POST", "_status": "GET"}
                if parts[3] in verbs:
                    _allow(method, target, (verbs[parts[3]],))
                    return _replication(domain, caller, parts[2], parts[3], body)
            if len(parts) == 1 and method == "DELETE" and not parts[0].startswith("_"):
                return _delete_index(domain, caller, parts[0])
            if len(parts) == 1 and method == "GET" and not parts[0].startswith("_"):
                return _get_indices(domain, caller, parts[0])
            if len(parts) == 2 and parts[1] == "_search" and not parts[0].startswith("_"):
                _allow(method, target, ("GET", "POST"))
                return _search(domain, caller, parts[0], query)
        raise RestError(400, {"error": f"no handler found for uri [{target}] and method [{method}]"})


def _json_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise RestError(
            400, exception_body(400, "parse_exception", f"request body is not valid JSON: {error}")
        ) from None


def _allow(method: str, target: str, allowed: tuple[str, ...]) -> None:
    """OpenSearch's answer to a known path with the wrong method (RestController: 405 with `allowed`)."""
    if method not in allowed:
        message = f"Incorrect HTTP method for uri [{target}] and method [{method}], allowed: [{', '.join(allowed)}]"
        raise RestError(405, {"error": message, "status": 405})


# --- security REST API [spec: security.yaml roles/{role}, rolesmapping/{role}] ------------------------------
def _security(domain: LocalDomain, kind: str, name: str, method: str, body: Any) -> tuple[int, Any]:
    store = domain.roles if kind == "roles" else domain.mappings
    keys = ROLE_KEYS if kind == "roles" else MAPPING_KEYS
    exists = name in store or (kind == "roles" and name in BUILT_IN_ROLES)
    if method == "GET":
        if not exists:
            raise security_api_answer(404, "NOT_FOUND", f"Resource '{name}' not found.")
        document = copy.deepcopy(store.get(name) or BUILT_IN_ROLES[name])
        static = kind == "roles" and name in BUILT_IN_ROLES
        return 200, {
            name: {**document, "reserved": static, "hidden": False, **({"static": static} if kind == "roles" else {})}
        }
    if kind == "roles" and name in BUILT_IN_ROLES and method != "GET":
        # Static roles cannot be changed through the API (security plugin docs, "Reserved and hidden resources").
        raise security_api_answer(403, "FORBIDDEN", f"Resource '{name}' is read-only.")
    if method == "DELETE":
        if not exists:
            raise security_api_answer(404, "NOT_FOUND", f"Resource '{name}' not found.")
        del store[name]
        return 200, {"status": "OK", "message": f"'{name}' deleted."}
    if method == "PUT":
        document = _validated(body, keys)
        if kind == "rolesmapping" and domain._role(name) is None:
            # The plugin refuses a mapping for a role that does not exist (security plugin
            # RolesMappingApiAction: the role must exist; the text is unsure).
            raise security_api_answer(404, "NOT_FOUND", f"Role '{name}' is not available for role-mapping.")
        store[name] = {**(_empty_mapping() if kind == "rolesmapping" else {}), **document}
        if exists:
            return 200, {"status": "OK", "message": f"'{name}' updated."}
        return 201, {"status": "CREATED", "message": f"'{name}' created."}
    if method == "PATCH":
        if not exists:
            raise security_api_answer(404, "NOT_FOUND", f"Resource '{name}' not found.")
        if not isinstance(body, list) or not all(isinstance(o, dict) and "op" in o and "path" in o for o in body):
            raise security_api_answer(400, "BAD_REQUEST", "Request body must be a list of JSON Patch operations.")
        try:
            store[name] = _validated(apply_patch(store[name], body), keys)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise security_api_answer(400, "BAD_REQUEST", str(error)) from None
        return 200, {"status": "OK", "message": "Resource updated."}
    raise RestError(
        405, {"error": f"Incorrect HTTP method for uri [{kind}/{name}] and method [{method}]", "status": 405}
    )


def _validated(body: Any, keys: frozenset[str]) -> JSON:
    if not isinstance(body, dict):
        raise security_api_answer(400, "BAD_REQUEST", "Request body required for this action.")
    unknown = sorted(set(body) - keys)
    if unknown:
        raise RestError(
            400,
            {"status": "BAD_REQUEST", "message": "Invalid configuration", "invalid_keys": {"keys": ",".join(unknown)}},
        )
    return copy.deepcopy(body)


# --- replication [spec: replication.yaml; ccr] --------------------------------------------------------------
def _replication(domain: LocalDomain, caller: Caller, index: str, verb: str, body: Any) -> tuple[int, Any]:
    if verb == "_start":
        return _start(domain, caller, index, body)
    current = domain.replications.get(index)
    if verb == "_status":
        domain.require(caller, STATUS, index)
        if current is None:
            # No replication metadata: 200 with this status alone [ccr TransportReplicationStatusAction].
            return 200, {"status": "REPLICATION NOT IN PROGRESS"}
        answer: JSON = {
            "status": current.state if current.state != "RUNNING" else domain._phase(current),
            "reason": current.reason,
            "leader_alias": current.leader_alias,
            "leader_index": current.leader_index,
            "follower_index": current.follower_index,
        }
        if answer["status"] == "SYNCING":
            leader = domain.remotes.get(current.leader_alias)
            checkpoint = len(leader.indices.get(current.leader_index, {})) - 1 if leader else -1
            answer["syncing_details"] = {
                "leader_checkpoint": checkpoint,
                "follower_checkpoint": checkpoint,
                "seq_no": checkpoint + 1,
            }
        return 200, answer
    domain.require(caller, {"_pause": PAUSE, "_resume": RESUME, "_stop": STOP}[verb], index)
    if current is None:
        # The plugin's text is unsure; the refusal (400) is modelled.
        raise RestError(
            400, exception_body(400, "illegal_argument_exception", f"No replication in progress for index:{index}")
        )
    if verb == "_pause":
        if current.state != "RUNNING":
            raise RestError(
                400,
                exception_body(400, "illegal_argument_exception", f"Replication on Index {index} is already paused"),
            )
        current.state, current.reason = "PAUSED", "User initiated"
    elif verb == "_resume":
        if current.state != "PAUSED":
            raise RestError(
                400,
                exception_body(400, "illegal_argument_exception", f"Replication on Index {index} is already running"),
            )
        current.state, current.reason = "RUNNING", "User initiated"
    else:
        # Stop ends replication for good and leaves a normal index [ccr docs: "Stop replication"].
        del domain.replications[index]
    return 200, {"acknowledged": True}


def _use_roles(body: JSON) -> tuple[str, str]:
    """With the security plugin, start and auto-follow need `use_roles` naming both roles [ccr docs,
    "Replication security"]; a missing one is refused (harsher than guessing defaults)."""
    roles = body.get("use_roles")
    leader = roles.get("leader_cluster_role") if isinstance(roles, dict) else None
    follower = roles.get("follower_cluster_role") if isinstance(roles, dict) else None
    if not (isinstance(leader, str) and isinstance(follower, str)):
        raise RestError(
            400,
            exception_body(
                400, "illegal_argument_exception", "Missing use_roles: leader_cluster_role and follower_cluster_role"
            ),
        )
    return leader, follower


def _leader(domain: LocalDomain, alias: Any) -> LocalDomain:
    leader = domain.remotes.get(alias) if isinstance(alias, str) else None
    if leader is None:
        raise RestError(
            404, exception_body(404, "no_such_remote_cluster_exception", f"no such remote cluster: [{alias}]")
        )
    return leader


def _start(domain: LocalDomain, caller: Caller, index: str, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("leader_alias", "leader_index")):
        raise RestError(
            400, exception_body(400, "illegal_argument_exception", "Mandatory params leader_alias and leader_index")
        )
    leader_role, follower_role = _use_roles(body)
    # The request runs as the follower role, and the same user runs as the leader role on the leader: map the
    # caller to both [aws-ccs: "map the same user or role ..."]; a caller allowed only through another role
    # (all_access) is refused (unsure; harsher).
    domain.require(caller, START, index, via=follower_role)
    leader = _leader(domain, body["leader_alias"])
    leader.require(caller, LEADER_VALIDATE, body["leader_index"], via=leader_role)
    if body["leader_index"] not in leader.indices:
        raise RestError(
            404, exception_body(404, "index_not_found_exception", f"no such index [{body['leader_index']}]")
        )
    if index in domain.indices:
        # Starting again (a replication that runs, or any index of that name) is refused: the follower index
        # must not exist [ccr docs, "Start replication"]. A re-delivered start therefore fails.
        raise RestError(
            400, exception_body(400, "resource_already_exists_exception", f"index [{index}] already exists")
        )
    domain._begin(index, body["leader_alias"], body["leader_index"], domain.world.now())
    return 200, {"acknowledged": True}


def _autofollow(domain: LocalDomain, caller: Caller, method: str, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("leader_alias", "name")):
        raise RestError(
            400, exception_body(400, "illegal_argument_exception", "Mandatory params leader_alias and name")
        )
    key = (body["leader_alias"], body["name"])
    if method == "DELETE":
        domain.require(caller, AUTOFOLLOW, None)
        if key not in domain.rules:
            raise RestError(
                404,
                exception_body(
                    404, "resource_not_found_exception", f"Autofollow replication rule {body['name']} does not exist"
                ),
            )
        # Deleting a rule does not stop the replications it started [ccr docs, "Delete a replication rule"].
        del domain.rules[key]
        return 200, {"acknowledged": True}
    if not isinstance(body.get("pattern"), str):
        raise RestError(400, exception_body(400, "illegal_argument_exception", "Mandatory param pattern"))
    leader_role, follower_role = _use_roles(body)
    domain.require(caller, AUTOFOLLOW, None, via=follower_role)
    _leader(domain, body["leader_alias"]).require(caller, LEADER_VALIDATE, body["pattern"], via=leader_role)
    # A rule of the same name is replaced: the plugin's POST is an upsert (cross-cluster-replication
    # TransportAutoFollowClusterManagerNodeAction -> ReplicationMetadataStore.addMetadata, which indexes the rule
    # by its id and takes CREATED and UPDATED alike). Replacing it is the harsher case for a caller that assumed
    # a name clash would be refused.
    domain.rules[key] = Rule(body["leader_alias"], body["name"], body["pattern"], body["use_roles"], domain.world.now())
    domain._advance()
    return 200, {"acknowledged": True}


# --- deleting an index [spec: indices.yaml indices.delete] -------------------------------------------------------
def _delete_index(domain: LocalDomain, caller: Caller, index: str) -> tuple[int, Any]:
    domain.require(caller, DELETE_INDEX, index)
    if index not in domain.indices:
        raise RestError(404, exception_body(404, "index_not_found_exception", f"no such index [{index}]"))
    if index in domain.replications:
        # A follower index is read-only while it replicates [ccr docs]; whether the plugin also refuses its
        # deletion is unsure: the harsher case, a refusal, is modelled (stop first).
        raise RestError(
            400,
            exception_body(400, "illegal_argument_exception", f"Cannot delete index [{index}] while it replicates"),
        )
    del domain.indices[index]
    domain.created.pop(index, None)
    return 200, {"acknowledged": True}


def _get_indices(domain: LocalDomain, caller: Caller, target: str) -> tuple[int, Any]:
    """The indices a name or pattern names [spec: indices.get, whose answer maps each name to its IndexState;
    allow_no_indices defaults to true, so a pattern matching nothing is an empty answer, a missing name a 404]."""
    names = sorted(i for i in domain.indices if fnmatch.fnmatchcase(i, target))
    if not names and "*" not in target:
        raise RestError(404, exception_body(404, "index_not_found_exception", f"no such index [{target}]"))
    for name in names:
        domain.require(caller, GET_INDEX, name)
    return 200, {name: {"aliases": {}, "mappings": {}, "settings": {}} for name in names}


# --- search [_core.search.yaml SearchResponse; aws-ccs; sec#50] ---------------------------------------------
def _search(domain: LocalDomain, caller: Caller, target: str, query: dict[str, str]) -> tuple[int, Any]:
    size = int(query.get("size", "10"))
    hits: list[JSON] = []
    remote_clusters = 0
    for expression in target.split(","):
        alias, _, pattern = expression.rpartition(":")
        where = _leader(domain, alias) if alias else domain
        remote_clusters += 1 if alias else 0
        names = sorted(i for i in where.indices if fnmatch.fnmatchcase(i, pattern))
        if not names and "*" not in pattern:
            raise RestError(404, exception_body(404, "index_not_found_exception", f"no such index [{expression}]"))
        for name in names or [pattern]:
            # The identity travels and is evaluated where the index lives [aws-ccs].
            where.require(caller, REMOTE_SEARCH if alias else LOCAL_SEARCH, name)
        for name in names:
            for doc_id, source in sorted(where.indices[name].items()):
                hits.append(
                    {"_index": f"{alias}:{name}" if alias else name, "_id": doc_id, "_score": 1.0, "_source": source}
                )
    answer: JSON = {
        "took": 1,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": len(hits), "relation": "eq"},
            "max_score": 1.0 if hits else None,
            "hits": hits[:size],
        },
    }
    if remote_clusters:
        answer["_clusters"] = {"total": remote_clusters, "successful": remote_clusters, "skipped": 0}
    return 200, answer


@contextmanager
def local_opensearch(
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    bootstrap_seconds: float = 30.0,
    autofollow_poll_seconds: float = 30.0,
) -> Iterator[tuple[OpenSearchWorld, str]]:
    """The world and the path of the CA file its clients must trust (SSL_CERT_FILE)."""
    ca = trustme.CA()
    world = OpenSearchWorld(ca, now, sleep, bootstrap_seconds, autofollow_poll_seconds)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
        handle.write(ca.cert_pem.bytes())
    try:
        yield world, handle.name
    finally:
        world.close()
        with suppress(FileNotFoundError):
            os.unlink(handle.name)
