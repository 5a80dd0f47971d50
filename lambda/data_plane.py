"""The domains' own REST API, for what a connection alone does not do: the security plugin's roles and role
mappings, cross-cluster replication, and a search through a connection.

Calls go through opensearch-py (the field's client) over urllib3, signed with SigV4 for service `es` by its
`Urllib3AWSV4SignerAuth`, as the IAM role whose credentials the caller passes in (the admin role the user
names per domain, which the function assumes). TLS is verified against SSL_CERT_FILE when set, else certifi's
bundle (opensearch-py's default). Waiting goes through the invocation's clock (timing.py).

Every change is one log line naming the domain, the role and the entries. Every refusal names the domain,
the calling role and the permission the security plugin wanted, with the plugin's own words.

The security API keeps one mapping document per role, shared by everyone who maps to that role: entries are
added and removed by read-modify-write with a JSON Patch that first tests the lists it replaces, so an entry
someone else added between the read and the write is never dropped (the patch fails and is tried again on a
fresh read). Only creating a mapping that does not exist yet is a plain PUT, which the API cannot make
conditional.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.credentials import Credentials, ReadOnlyCredentials
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError

from .errors import ConnectionFailed
from .timing import Clock, Deadline, poll

LOG = logging.getLogger(__name__)

#: The IAM service name Amazon OpenSearch Service signs for (both engines).
SIGNING_SERVICE = "es"
SECURITY_API = "/_plugins/_security/api"
REPLICATION_API = "/_plugins/_replication"
#: The built-in roles of replication, to map on the leader and on the follower (AWS developer guide,
#: "Cross-cluster replication"; the security plugin's roles.yml).
LEADER_ROLE = "cross_cluster_replication_leader_full_access"
FOLLOWER_ROLE = "cross_cluster_replication_follower_full_access"
#: What a role of this library grants where replication runs, scoped to the replicated indices: the actions of
#: the built-in roles above (the security plugin's roles.yml; OpenSearch docs "Cross-cluster replication",
#: "Replication security", which lists them for custom roles), and auto-follow's one cluster permission.
LEADER_ACTIONS = (
    "indices:admin/plugins/replication/index/setup/validate",
    "indices:data/read/plugins/replication/changes",
    "indices:data/read/plugins/replication/file_chunk",
)
FOLLOWER_ACTIONS = (
    "indices:admin/plugins/replication/index/setup/validate",
    "indices:data/write/plugins/replication/changes",
    "indices:admin/plugins/replication/index/start",
    "indices:admin/plugins/replication/index/pause",
    "indices:admin/plugins/replication/index/resume",
    "indices:admin/plugins/replication/index/stop",
    "indices:admin/plugins/replication/index/update",
    "indices:admin/plugins/replication/index/status_check",
)
AUTOFOLLOW_CLUSTER_ACTIONS = ("cluster:admin/plugins/replication/autofollow/update",)
#: What a cross-cluster search needs on the destination (security plugin's
#: cross_cluster_search_remote_full_access; search_shards when ccs_minimize_roundtrips=false).
REMOTE_SEARCH_ACTIONS = ("indices:admin/shards/search_shards", "indices:data/read/search")
#: How often a mapping's read-modify-write is tried again when someone else changed it in between.
MAPPING_ATTEMPTS = 5
#: The replication plugin's statuses (replication._common.yaml's enum, plus FAILED and STOPPED, which the
#: plugin returns and the specification does not list).
BOOTSTRAPPING, SYNCING, PAUSED, FAILED = "BOOTSTRAPPING", "SYNCING", "PAUSED", "FAILED"
NOT_IN_PROGRESS = "REPLICATION NOT IN PROGRESS"
_NO_PERMISSIONS = re.compile(r"no permissions for \[([^\]]*)\]")


class DataPlaneError(ConnectionFailed):
    """A domain's REST API refused or failed a call; the message names the domain and the operation."""


class DataPlaneForbidden(DataPlaneError):
    """The security plugin (or the domain's IAM front end) refused the caller; the message names the domain,
    the calling role and the permission it wanted."""


class ReplicationFailed(DataPlaneError):
    """A replication reached FAILED (or stopped on its own); the message carries the plugin's reason."""


@dataclass(frozen=True)
class DomainEndpoint:
    """A domain as the data plane reaches it: a name for messages, its HTTPS endpoint and its region."""

    name: str
    endpoint: str  #: "search-x.eu-west-1.es.amazonaws.com", "vpc-…", or a full https:// URL
    region: str

    def host_and_port(self) -> tuple[str, int]:
        split = urlsplit(self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
        if split.scheme != "https" or not split.hostname:
            raise ValueError(f"Domain {self.name}: endpoint {self.endpoint!r} is not an https endpoint")
        return split.hostname, split.port or 443


@dataclass(frozen=True)
class MappingEntries:
    """Who a role mapping maps: IAM ARNs or user names in `users`, backend roles (IAM role ARNs, SAML
    groups) in `backend_roles`."""

    users: tuple[str, ...] = ()
    backend_roles: tuple[str, ...] = ()

    def lists(self) -> dict[str, tuple[str, ...]]:
        return {"users": self.users, "backend_roles": self.backend_roles}

    def __str__(self) -> str:
        parts = [f"{key}={list(values)}" for key, values in self.lists().items() if values]
        return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class ReplicationStatus:
    """One follower index's replication as `_status` reports it."""

    index: str
    status: str
    reason: str = ""
    leader_alias: str = ""
    leader_index: str = ""

    @property
    def running(self) -> bool:
        return self.status in (BOOTSTRAPPING, SYNCING)


class DomainClient:
    """One domain's REST API, called as one IAM role."""

    def __init__(
        self,
        domain: DomainEndpoint,
        credentials: Credentials | ReadOnlyCredentials,
        caller: str,
        *,
        timeout: float = 10.0,
        clock: Clock | None = None,
        iam_propagation_seconds: float = 0.0,
    ) -> None:
        """`caller` is the role's ARN (for messages and log lines); `timeout` bounds each HTTP request. An IAM
        denial (a 403 from AWS's front end, not the security plugin) is tried again on `clock` for up to
        `iam_propagation_seconds` from the first: a grant this deployment just attached may not apply yet."""
        host, port = domain.host_and_port()
        self.domain = domain
        self.caller = caller
        self.timeout = timeout
        self.clock = clock
        self.iam_propagation_seconds = iam_propagation_seconds
        self._denied_since: float | None = None
        self.client = OpenSearch(
            hosts=[{"host": host, "port": port}],
            http_auth=Urllib3AWSV4SignerAuth(credentials, domain.region, SIGNING_SERVICE),
            use_ssl=True,
            verify_certs=True,
            connection_class=Urllib3HttpConnection,
            timeout=timeout,
            # Connection errors and 502/503/504 are tried again by the transport; every write here is
            # idempotent or guarded (mapping patches test first, start checks the status first).
            max_retries=2,
        )

    # --- the transport, and what a refusal says -------------------------------------------------------------
    def _call(
        self, operation: str, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        pause = 1.0
        while True:
            try:
                return self.client.transport.perform_request(method, path, params=params, body=body)
            except TransportConnectionError as error:
                raise DataPlaneError(
                    f"Domain {self.domain.name}: {operation} got no answer from {self.domain.endpoint}: {error}"
                ) from error
            except TransportError as error:
                if not self._wait_for_iam(error, pause):
                    raise self._refusal(operation, error) from error
                pause = min(pause * 2, 8.0)

    def _wait_for_iam(self, error: TransportError, pause: float) -> bool:
        """Sleep and say True when the refusal is IAM's (not the security plugin's) and IAM may still be
        applying a new grant (IAM User Guide, "Changes that I make are not always immediately visible")."""
        said = _said(error.info, error.error)
        if error.status_code != 403 or "not authorized to perform" not in said or self.clock is None:
            return False
        now = self.clock.now()
        self._denied_since = now if self._denied_since is None else self._denied_since
        if now - self._denied_since + pause > self.iam_propagation_seconds:
            return False
        LOG.info(
            "%s: IAM denied %s (a new grant may still be applying); trying again in %.0f s",
            self.domain.name,
            self.caller,
            pause,
        )
        self.clock.sleep(pause)
        return True

    def _refusal(self, operation: str, error: TransportError) -> DataPlaneError:
        status, said = error.status_code, _said(error.info, error.error)
        where = f"Domain {self.domain.name}: {operation} as {self.caller}"
        if status != 403:
            return _HttpError(f"{where} failed (HTTP {status}): {said}", status, _error_type(error.info))
        missing = _NO_PERMISSIONS.search(said)
        if missing:
            wanted = missing.group(1)
            fix = f"map {self.caller} on {self.domain.name} to a role that grants {wanted}"
        elif "REST API" in said:
            wanted = "the security REST API"
            fix = f"map {self.caller} on {self.domain.name} to all_access or security_manager"
        else:
            wanted = "IAM access to the domain (es:ESHttp*)"
            fix = f"allow {self.caller} in {self.domain.name}'s access policy and check the SigV4 region"
        return DataPlaneForbidden(f"{where} was refused, it needs {wanted}: {said} ({fix})")

    # --- roles ------------------------------------------------------------------------------------------------
    def put_role(
        self,
        name: str,
        *,
        index_patterns: Iterable[str],
        allowed_actions: Iterable[str],
        cluster_permissions: Iterable[str] = (),
        description: str = "",
    ) -> bool:
        """Create or replace this resource's own role; True when it was created."""
        document: dict[str, Any] = {
            "cluster_permissions": list(cluster_permissions),
            "index_permissions": [{"index_patterns": list(index_patterns), "allowed_actions": list(allowed_actions)}],
        }
        if description:
            document["description"] = description
        answer = self._call(f"putting role {name}", "PUT", f"{SECURITY_API}/roles/{name}", body=document)
        created = str(answer.get("status", "")).upper() == "CREATED"
        LOG.info(
            "%s: role %s %s (index patterns %s, actions %s, cluster permissions %s)",
            self.domain.name,
            name,
            "created" if created else "updated",
            document["index_permissions"][0]["index_patterns"],
            document["index_permissions"][0]["allowed_actions"],
            document["cluster_permissions"],
        )
        return created

    def get_role(self, name: str) -> dict[str, Any] | None:
        """The role's document, or None when there is none (a 404, expected)."""
        answer = self._call(f"reading role {name}", "GET", f"{SECURITY_API}/roles/{name}", params={"ignore": 404})
        document = answer.get(name) if isinstance(answer, dict) else None
        return document if isinstance(document, dict) else None

    def delete_role(self, name: str) -> bool:
        """Delete this resource's own role; False when it was already gone."""
        if not self._delete(f"deleting role {name}", f"{SECURITY_API}/roles/{name}"):
            return False
        LOG.info("%s: role %s deleted", self.domain.name, name)
        return True

    # --- role mappings ------------------------------------------------------------------------------------------
    def role_mapping(self, role: str) -> dict[str, list[str]] | None:
        """The role's mapping document, or None when it has none (a 404, expected: not logged as a failure)."""
        path = f"{SECURITY_API}/rolesmapping/{role}"
        answer = self._call(f"reading the mapping of {role}", "GET", path, params={"ignore": 404})
        document = answer.get(role) if isinstance(answer, dict) else None
        if not isinstance(document, dict):
            return None
        return {key: list(value) for key, value in document.items() if isinstance(value, list)}

    def add_mapping_entries(self, role: str, entries: MappingEntries) -> bool:
        """Map `entries` to `role`, keeping every entry others made; False when all were mapped already."""
        return self._change_mapping(role, entries, add=True)

    def remove_mapping_entries(self, role: str, entries: MappingEntries) -> bool:
        """Unmap `entries` from `role`, keeping every entry others made (the mapping document stays); False
        when none was mapped."""
        return self._change_mapping(role, entries, add=False)

    def delete_role_mapping(self, role: str) -> bool:
        """Delete the whole mapping of a role this resource owns; False when it had none."""
        if not self._delete(f"deleting the mapping of {role}", f"{SECURITY_API}/rolesmapping/{role}"):
            return False
        LOG.info("%s: mapping of role %s deleted", self.domain.name, role)
        return True

    def _change_mapping(self, role: str, entries: MappingEntries, *, add: bool) -> bool:
        verb = "mapping to" if add else "unmapping from"
        for _ in range(MAPPING_ATTEMPTS):
            current = self.role_mapping(role)
            if current is None:
                if not add:
                    return False
                body = {key: list(values) for key, values in entries.lists().items()}
                self._call(f"{verb} {role}", "PUT", f"{SECURITY_API}/rolesmapping/{role}", body=body)
                LOG.info("%s: role %s mapped to %s (new mapping)", self.domain.name, role, entries)
                return True
            operations: list[dict[str, Any]] = []
            for key, values in entries.lists().items():
                before = current.get(key)
                kept = list(before or [])
                after = [*kept, *(v for v in values if v not in kept)] if add else [v for v in kept if v not in values]
                if after == kept:
                    continue
                if before is None:
                    operations.append({"op": "add", "path": f"/{key}", "value": after})
                else:
                    operations += [
                        {"op": "test", "path": f"/{key}", "value": before},
                        {"op": "replace", "path": f"/{key}", "value": after},
                    ]
            if not operations:
                return False
            try:
                self._call(f"{verb} {role}", "PATCH", f"{SECURITY_API}/rolesmapping/{role}", body=operations)
            except _HttpError as error:
                if error.status in (400, 404, 409):  # changed or deleted since the read: read again
                    continue
                raise
            LOG.info("%s: role %s %s %s", self.domain.name, role, "mapped to" if add else "unmapped from", entries)
            return True
        raise DataPlaneError(
            f"Domain {self.domain.name}: the mapping of {role} kept changing while {verb} {entries}"
            f" ({MAPPING_ATTEMPTS} attempts)"
        )

    # --- replication (called on the follower) --------------------------------------------------------------------
    def replication_status(self, index: str) -> ReplicationStatus:
        answer = self._call(f"reading the replication status of {index}", "GET", f"{REPLICATION_API}/{index}/_status")
        return ReplicationStatus(
            index,
            str(answer.get("status", "")),
            str(answer.get("reason") or ""),
            str(answer.get("leader_alias") or ""),
            str(answer.get("leader_index") or ""),
        )

    def start_replication(
        self,
        index: str,
        *,
        leader_alias: str,
        leader_index: str,
        leader_role: str = LEADER_ROLE,
        follower_role: str = FOLLOWER_ROLE,
    ) -> bool:
        """Start following `leader_alias:leader_index` into `index`; False when that replication already runs
        (a re-delivered request). Refused when `index` follows something else or exists."""
        current = self.replication_status(index)
        if current.status != NOT_IN_PROGRESS and (current.leader_alias, current.leader_index) == (
            leader_alias,
            leader_index,
        ):
            return False
        if current.status != NOT_IN_PROGRESS:
            raise DataPlaneError(
                f"Domain {self.domain.name}: index {index} already follows"
                f" {current.leader_alias}:{current.leader_index} ({current.status}); it cannot follow"
                f" {leader_alias}:{leader_index}"
            )
        body = {
            "leader_alias": leader_alias,
            "leader_index": leader_index,
            "use_roles": {"leader_cluster_role": leader_role, "follower_cluster_role": follower_role},
        }
        self._call(
            f"starting replication of {index} from {leader_alias}:{leader_index}",
            "PUT",
            f"{REPLICATION_API}/{index}/_start",
            body=body,
        )
        LOG.info("%s: replication of %s from %s:%s started", self.domain.name, index, leader_alias, leader_index)
        return True

    def wait_until_syncing(self, index: str, deadline: Deadline) -> ReplicationStatus:
        """Poll the status until SYNCING; ReplicationFailed with the plugin's reason when it FAILED, paused
        or stopped on its own; DeadlineExceeded when the deadline comes first."""

        def look() -> ReplicationStatus:
            return self.replication_status(index)

        def waiting(status: ReplicationStatus) -> bool:
            if status.status in (FAILED, PAUSED, "STOPPED"):
                reason = status.reason or "the plugin gave no reason"
                raise ReplicationFailed(
                    f"Domain {self.domain.name}: replication of {index} from"
                    f" {status.leader_alias}:{status.leader_index} is {status.status}: {reason}"
                )
            # Not (yet) in progress right after a start is waited out too: the deadline ends it.
            return status.status != SYNCING

        return poll(
            look(), look, waiting, deadline, lambda s: f"replication of {index} on {self.domain.name} is {s.status}"
        )

    def stop_replication(self, index: str) -> bool:
        """Stop following (irreversible: the index becomes a normal index); False when nothing replicates."""
        if self.replication_status(index).status == NOT_IN_PROGRESS:
            return False
        self._call(f"stopping replication of {index}", "POST", f"{REPLICATION_API}/{index}/_stop", body={})
        LOG.info("%s: replication of %s stopped", self.domain.name, index)
        return True

    def create_autofollow_rule(
        self,
        name: str,
        *,
        leader_alias: str,
        pattern: str,
        leader_role: str = LEADER_ROLE,
        follower_role: str = FOLLOWER_ROLE,
    ) -> bool:
        """Replicate every leader index matching `pattern`. The plugin's POST is an upsert: a rule of that name
        on this alias is replaced (cross-cluster-replication ReplicationMetadataStore.addMetadata indexes the rule
        by its id, CREATED or UPDATED alike)."""
        body = {
            "leader_alias": leader_alias,
            "name": name,
            "pattern": pattern,
            "use_roles": {"leader_cluster_role": leader_role, "follower_cluster_role": follower_role},
        }
        self._call(f"creating auto-follow rule {name}", "POST", f"{REPLICATION_API}/_autofollow", body=body)
        LOG.info("%s: auto-follow rule %s created (%s:%s)", self.domain.name, name, leader_alias, pattern)
        return True

    def delete_autofollow_rule(self, name: str, *, leader_alias: str) -> bool:
        """Delete the rule (the replications it started go on); False when there was none."""
        body = {"leader_alias": leader_alias, "name": name}
        try:
            self._call(f"deleting auto-follow rule {name}", "DELETE", f"{REPLICATION_API}/_autofollow", body=body)
        except _HttpError as error:
            if error.status == 404:
                return False
            raise
        LOG.info("%s: auto-follow rule %s deleted (%s)", self.domain.name, name, leader_alias)
        return True

    # --- search ----------------------------------------------------------------------------------------------
    def smoke_search(self, alias: str, pattern: str) -> int:
        """Search `alias:pattern` through the connection (size 0): the number of hits, or DataPlaneForbidden
        with the destination's own refusal."""
        answer = self._call(f"searching {alias}:{pattern}", "GET", f"/{alias}:{pattern}/_search", params={"size": "0"})
        total = answer.get("hits", {}).get("total", 0)
        return int(total.get("value", 0) if isinstance(total, dict) else total)

    def matching_indices(self, pattern: str) -> list[str]:
        """The indices a name or pattern names (none for a pattern that matches nothing; a 404 for a name)."""
        answer = self._call(f"listing the indices {pattern}", "GET", f"/{pattern}")
        return sorted(answer) if isinstance(answer, dict) else []

    def delete_index(self, index: str) -> bool:
        """Delete an index (a follower index a failed Create started and stopped); False when there was none."""
        if not self._delete(f"deleting index {index}", f"/{index}"):
            return False
        LOG.info("%s: index %s deleted", self.domain.name, index)
        return True

    def _delete(self, operation: str, path: str) -> bool:
        try:
            self._call(operation, "DELETE", path)
        except _HttpError as error:
            if error.status == 404:
                return False
            raise
        return True


class _HttpError(DataPlaneError):
    """A refusal other than 403, with its status and error type, for callers that expect some."""

    def __init__(self, message: str, status: Any, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def _said(info: Any, error: Any) -> str:
    """What the domain said: an OpenSearch error's reason, the security API's message, or the raw text."""
    if isinstance(info, dict):
        cause = info.get("error")
        if isinstance(cause, dict):
            return str(cause.get("reason") or cause.get("type") or cause)
        if isinstance(cause, str):
            return cause
        for key in ("message", "Message"):  # the security API's; AWS's front end writes "Message"
            if key in info:
                return str(info[key])
    return str(info or error)


def _error_type(info: Any) -> str:
    cause = info.get("error") if isinstance(info, dict) else None
    return str(cause.get("type", "")) if isinstance(cause, dict) else ""
