"""Cross-cluster connection lifecycle: plain functions over injected API clients.

Nothing here knows about CloudFormation. `index.py` maps its events onto these functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from properties import ELASTICSEARCH, OPENSEARCH, AccepterSpec, DomainRef, OutboundSpec

logger = logging.getLogger(__name__)

VALIDATING = "VALIDATING"
VALIDATION_FAILED = "VALIDATION_FAILED"
PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
APPROVED = "APPROVED"
PROVISIONING = "PROVISIONING"
ACTIVE = "ACTIVE"
REJECTING = "REJECTING"
REJECTED = "REJECTED"
DELETING = "DELETING"
DELETED = "DELETED"

GONE = frozenset({DELETING, DELETED})
FAILED_STATES = frozenset({VALIDATION_FAILED, REJECTING, REJECTED})
#: States in which a connection with the same source, destination and alias is ours to adopt.
LIVE = frozenset({VALIDATING, PENDING_ACCEPTANCE, APPROVED, PROVISIONING, ACTIVE})
#: States that still move on their own after an accept.
ACCEPTING = frozenset({PENDING_ACCEPTANCE, APPROVED, PROVISIONING})
#: Every state but DELETED: what a delete waits out.
NOT_DELETED = LIVE | FAILED_STATES | {DELETING}
#: States that mean the destination owner already said yes.
ACCEPTED = frozenset({APPROVED, PROVISIONING, ACTIVE})

_NOT_FOUND = "ResourceNotFoundException"
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
#: Seconds a failed Create may spend deleting what it created (index.py keeps this time in reserve).
CLEANUP_SECONDS = 60.0
_MAX_MESSAGE = 160


class ConnectionFailed(Exception):
    """The service refused or failed the connection; the message says why."""


class DeadlineExceeded(ConnectionFailed):
    """A state did not change before the resource's timeout."""


@dataclass(frozen=True)
class Connection:
    """One connection as either API describes it."""

    connection_id: str
    source: DomainRef
    destination: DomainRef
    status: str
    message: str = ""
    alias: str | None = None
    endpoint: str = ""  #: the remote domain's endpoint (OpenSearch API, VPC_ENDPOINT mode)

    def describe(self) -> str:
        """A one-line account of the connection for errors and logs."""
        detail = f": {self.message[:_MAX_MESSAGE]}" if self.message else ""
        return f"connection {self.connection_id} is {self.status}{detail}"


@dataclass(frozen=True)
class _Dialect:
    """Where the two APIs differ: operation names, keys and filter names."""

    operation: str  # format string with {verb} and {direction}
    id_key: str
    source_key: str
    destination_key: str
    nested_domain: bool
    list_key: str
    item_key: str
    id_filter: str
    source_filter: str
    destination_filter: str


_DIALECTS = {
    ELASTICSEARCH: _Dialect(
        operation="{verb}_{direction}_cross_cluster_search_connection",
        id_key="CrossClusterSearchConnectionId",
        source_key="SourceDomainInfo",
        destination_key="DestinationDomainInfo",
        nested_domain=False,
        list_key="CrossClusterSearchConnections",
        item_key="CrossClusterSearchConnection",
        id_filter="cross-cluster-search-connection-id",
        source_filter="source-domain-info",
        destination_filter="destination-domain-info",
    ),
    "OPENSEARCH": _Dialect(
        operation="{verb}_{direction}_connection",
        id_key="ConnectionId",
        source_key="LocalDomainInfo",
        destination_key="RemoteDomainInfo",
        nested_domain=True,
        list_key="Connections",
        item_key="Connection",
        id_filter="connection-id",
        source_filter="local-domain-info",
        destination_filter="remote-domain-info",
    ),
}


class ConnectionApi:
    """The connection operations of one API, on one client (one account and region)."""

    def __init__(
        self,
        client: Any = None,
        api: str = ELASTICSEARCH,
        create_client: Any = None,
        pick: Callable[[str], Any] | None = None,
    ) -> None:
        """`pick(verb)` gives the client for each call (clients.py picks one whose retries fit the time left);
        without it, `client` makes every call and `create_client` (default: `client`) the create call."""
        self._pick = pick or (lambda verb: (create_client or client) if verb == "create" else client)
        self._dialect = _DIALECTS[api]

    def _call(self, verb: str, direction: str, request: dict[str, Any], plural: bool = False) -> dict[str, Any]:
        name = self._dialect.operation.format(verb=verb, direction=direction) + ("s" if plural else "")
        response: dict[str, Any] = getattr(self._pick(verb), name)(**request)
        return response

    def _domain(self, info: DomainRef) -> dict[str, Any]:
        return {"AWSDomainInformation": info.as_api()} if self._dialect.nested_domain else info.as_api()

    def _parse(self, item: dict[str, Any]) -> Connection:
        def domain(key: str) -> DomainRef:
            raw = item.get(key, {})
            raw = raw.get("AWSDomainInformation", {}) if self._dialect.nested_domain else raw
            return DomainRef(raw.get("OwnerId", ""), raw.get("DomainName", ""), raw.get("Region", ""))

        status = item.get("ConnectionStatus", {})
        return Connection(
            connection_id=item[self._dialect.id_key],
            source=domain(self._dialect.source_key),
            destination=domain(self._dialect.destination_key),
            status=status.get("StatusCode", ""),
            message=status.get("Message", ""),
            alias=item.get("ConnectionAlias"),
            endpoint=str(item.get("ConnectionProperties", {}).get("Endpoint", "")),
        )

    def _describe(self, direction: str, filters: list[dict[str, Any]]) -> list[Connection]:
        found: list[Connection] = []
        request: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
        while True:
            page = self._call("describe", direction, request, plural=True)
            found.extend(self._parse(item) for item in page.get(self._dialect.list_key, []))
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]

    def _by_id(self, direction: str, connection_id: str) -> Connection | None:
        matches = self._describe(direction, [{"Name": self._dialect.id_filter, "Values": [connection_id]}])
        return matches[0] if matches else None

    def _pair_filters(self, direction: str, source: DomainRef, destination: DomainRef) -> list[dict[str, Any]]:
        """Filters each API accepts: the caller's own domain by name, the peer in full."""
        own, peer, peer_filter = (
            (source, destination, self._dialect.destination_filter)
            if direction == "outbound"
            else (destination, source, self._dialect.source_filter)
        )
        own_filter = self._dialect.source_filter if direction == "outbound" else self._dialect.destination_filter
        return [
            {"Name": f"{own_filter}.domain-name", "Values": [own.domain_name]},
            {"Name": f"{peer_filter}.domain-name", "Values": [peer.domain_name]},
            {"Name": f"{peer_filter}.owner-id", "Values": [peer.owner_id]},
            {"Name": f"{peer_filter}.region", "Values": [peer.region]},
        ]

    def create_outbound(self, spec: OutboundSpec) -> Connection:
        """Request a new outbound connection."""
        request: dict[str, Any] = {
            self._dialect.source_key: self._domain(spec.source),
            self._dialect.destination_key: self._domain(spec.destination),
            "ConnectionAlias": spec.alias,
        }
        if spec.connection_mode:
            request["ConnectionMode"] = spec.connection_mode
        if spec.skip_unavailable:
            request["ConnectionProperties"] = {"CrossClusterSearch": {"SkipUnavailable": spec.skip_unavailable}}
        return self._parse(self._call("create", "outbound", request))

    def get_outbound(self, connection_id: str) -> Connection | None:
        """The outbound connection with this id, or None."""
        return self._by_id("outbound", connection_id)

    def find_outbound(self, source: DomainRef, destination: DomainRef) -> list[Connection]:
        """Outbound connections from source to destination, in any state."""
        found = self._describe("outbound", self._pair_filters("outbound", source, destination))
        return [c for c in found if c.source.domain_name == source.domain_name and c.destination == destination]

    def delete_outbound(self, connection_id: str) -> Connection | None:
        """Delete an outbound connection; None when the service does not know it."""
        return self._delete("outbound", connection_id)

    def get_inbound(self, connection_id: str) -> Connection | None:
        """The inbound connection with this id, or None."""
        return self._by_id("inbound", connection_id)

    def find_inbound(self, source: DomainRef, destination: DomainRef) -> list[Connection]:
        """Inbound connections from source to destination, in any state."""
        found = self._describe("inbound", self._pair_filters("inbound", source, destination))
        return [c for c in found if c.source == source and c.destination.domain_name == destination.domain_name]

    def accept_inbound(self, connection_id: str) -> Connection:
        """Accept an inbound connection (destination owner, destination region)."""
        accepted = self._call("accept", "inbound", {self._dialect.id_key: connection_id})
        return self._parse(accepted[self._dialect.item_key])

    def delete_inbound(self, connection_id: str) -> Connection | None:
        """Delete an inbound connection; None when the service does not know it."""
        return self._delete("inbound", connection_id)

    def _delete(self, direction: str, connection_id: str) -> Connection | None:
        try:
            deleted = self._call("delete", direction, {self._dialect.id_key: connection_id})
        except ClientError as error:
            if _code(error) == _NOT_FOUND:
                return None
            raise
        return self._parse(deleted[self._dialect.item_key])


class Apis(Protocol):
    """Gives the API for each side of a connection, with the right account and region."""

    def source(self) -> ConnectionApi:
        """The source domain's owner, in the source domain's region."""

    def destination(self) -> ConnectionApi:
        """The destination domain's owner, in the destination domain's region."""


@dataclass
class Deadline:
    """A point in time after which waiting stops; never later than `limit` (on `clock`), the moment the
    invocation must have answered."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    limit: float | None = None
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        """Seconds left, never negative."""
        end = self.started + self.seconds
        return max(0.0, (end if self.limit is None else min(end, self.limit)) - self.clock())

    def fresh(self, seconds: float) -> Deadline:
        """A new deadline `seconds` from now on the same clock and limit (for cleanup after this one failed)."""
        return Deadline(seconds, self.clock, self.sleep, self.limit)


def poll_interval(elapsed: float) -> float:
    """Seconds until the next look: every second at first, then every 5% of the time waited so far
    (so a wait ends at most ~5% after the service is done), at most 20 s apart."""
    return min(20.0, max(1.0, 0.05 * elapsed))


def wait_while(
    connection: Connection,
    states: frozenset[str],
    fetch: Callable[[str], Connection | None],
    deadline: Deadline,
) -> Connection | None:
    """Look again until the connection leaves `states`; None when it disappears."""
    current: Connection | None = connection
    waited_from = deadline.clock()
    while current is not None and current.status in states:
        left = deadline.remaining()
        if left <= 0:
            raise DeadlineExceeded(
                f"Timed out after {deadline.seconds:.0f} s: {current.describe()} (raise TimeoutSeconds to wait longer)"
            )
        deadline.sleep(min(poll_interval(deadline.clock() - waited_from), left))
        current = fetch(current.connection_id)
    return current


def _same_request(connection: Connection, spec: OutboundSpec) -> bool:
    return (
        connection.alias == spec.alias
        and connection.destination == spec.destination
        and connection.source.domain_name == spec.source.domain_name
    )


def _check_not_failed(connection: Connection | None, what: str) -> Connection:
    if connection is None:
        raise ConnectionFailed(f"The {what} connection disappeared while waiting for it")
    if connection.status in FAILED_STATES or connection.status in GONE:
        raise ConnectionFailed(f"The {what} {connection.describe()}")
    return connection


def create_outbound(
    spec: OutboundSpec, apis: Apis, deadline: Deadline, may_adopt: Callable[[Connection], None] | None = None
) -> Connection:
    """Create the connection (or adopt the live one already made for this request, after `may_adopt` raised
    nothing for it), wait for it to settle, accept it if asked. A connection this call created is deleted
    again when a later step fails.
    """
    source_api = apis.source()
    try:
        connection = _create_through_throttling(source_api, spec, deadline)
        created = True
        logger.info("Created %s", connection.describe())
    except ClientError as error:
        adopted = _adoptable(source_api, spec) if _code(error) == "ResourceAlreadyExistsException" else None
        if adopted is None:
            raise ConnectionFailed(f"Creating connection '{spec.alias}' failed: {_client_error(error)}") from error
        if may_adopt is not None:
            may_adopt(adopted)
        logger.info("Adopting existing %s", adopted.describe())
        connection, created = adopted, False
    try:
        return _settle(connection, spec, apis, deadline)
    except Exception:
        if created:
            _discard(connection.connection_id, source_api, deadline)
        raise


def _create_through_throttling(api: ConnectionApi, spec: OutboundSpec, deadline: Deadline) -> Connection:
    """The create call. Its client retries little (a connection limit must fail fast, and botocore counts
    LimitExceededException as throttling), so a longer throttling storm is waited out here, within the deadline."""
    pause = 1.0
    while True:
        try:
            return api.create_outbound(spec)
        except ClientError as error:
            if _code(error) not in THROTTLING_CODES or deadline.remaining() <= pause:
                raise
            logger.info("Create throttled; trying again in %.0f s", pause)
            deadline.sleep(pause)
            pause = min(pause * 2, 10.0)


def _adoptable(api: ConnectionApi, spec: OutboundSpec) -> Connection | None:
    """The live connection with this request's source, destination and alias (a re-delivered Create's,
    or one made by hand), if that is what holds the alias."""
    existing = api.find_outbound(spec.source, spec.destination)
    return next((c for c in existing if _same_request(c, spec) and c.status in LIVE), None)


def _settle(connection: Connection, spec: OutboundSpec, apis: Apis, deadline: Deadline) -> Connection:
    """Wait out validation, then accept when asked and wait for ACTIVE."""
    source_api = apis.source()
    validated = wait_while(connection, frozenset({VALIDATING}), source_api.get_outbound, deadline)
    settled = _check_not_failed(validated, "outbound")
    if not spec.accept or settled.status == ACTIVE:
        return settled
    if settled.status == PENDING_ACCEPTANCE:
        try:
            apis.destination().accept_inbound(settled.connection_id)
        except ClientError as error:
            # Another copy of the same request (CloudFormation's invocation is asynchronous and may arrive
            # twice) may have accepted it first: a connection that moved on is no failure.
            again = source_api.get_outbound(settled.connection_id)
            if again is None or again.status not in ACCEPTED:
                raise ConnectionFailed(f"Accepting {settled.connection_id} failed: {_client_error(error)}") from error
            logger.info("Accept refused, but %s: carrying on", again.describe())
            settled = again
    active = wait_while(settled, ACCEPTING, source_api.get_outbound, deadline)
    return _check_not_failed(active, "outbound")


def _discard(connection_id: str, api: ConnectionApi, deadline: Deadline) -> None:
    """Best-effort cleanup of a connection this invocation created."""
    try:
        delete_connection(connection_id, api.get_outbound, api.delete_outbound, deadline.fresh(CLEANUP_SECONDS))
    except Exception:
        logger.exception("Could not clean up connection %s", connection_id)


def update_outbound(
    connection_id: str,
    old: OutboundSpec | None,
    new: OutboundSpec,
    apis: Apis,
    deadline: Deadline,
    may_adopt: Callable[[Connection], None] | None = None,
) -> Connection:
    """Keep the connection when only options changed; otherwise replace it."""
    source_api = apis.source()
    if old is not None and old.identity == new.identity:
        current = source_api.get_outbound(connection_id) if looks_like_connection_id(connection_id) else None
        if current is not None and current.status in LIVE:
            return _settle(current, new, apis, deadline)
        logger.info("Connection %s is gone; creating it again", connection_id)
        return create_outbound(new, apis, deadline, may_adopt)
    if old is not None and old.source == new.source and old.alias == new.alias:
        # The alias is unique per source domain: the old connection must go first.
        delete_outbound(connection_id, apis, deadline)
    return create_outbound(new, apis, deadline, may_adopt)


def looks_like_connection_id(physical_id: str) -> bool:
    """Connection ids are lowercase; ids invented by crhelper or CloudFormation are not."""
    return (
        10 <= len(physical_id) <= 256
        and physical_id[0].isascii()
        and physical_id[0].islower()
        and all(ch.isascii() and (ch.islower() or ch.isdigit() or ch == "-") for ch in physical_id)
    )


def delete_outbound(connection_id: str, apis: Apis, deadline: Deadline) -> None:
    """Delete the connection and wait until it is DELETED; unknown ids are already gone."""
    if not looks_like_connection_id(connection_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", connection_id)
        return
    api = apis.source()
    delete_connection(connection_id, api.get_outbound, api.delete_outbound, deadline)


def delete_connection(
    connection_id: str,
    fetch: Callable[[str], Connection | None],
    delete: Callable[[str], Connection | None],
    deadline: Deadline,
) -> None:
    """Delete through `delete` and wait through `fetch` until the connection is DELETED."""
    try:
        deleting = delete(connection_id)
    except ClientError:
        current = fetch(connection_id)  # a refusal for a connection that is already DELETED is no failure
        if current is not None and current.status != DELETED:
            raise
        deleting = None
    if deleting is None:
        logger.info("Connection %s is already gone", connection_id)
        return
    wait_while(deleting, NOT_DELETED, fetch, deadline)


def accept_inbound(spec: AccepterSpec, apis: Apis, deadline: Deadline, known_id: str | None = None) -> Connection:
    """Wait for the request from the source, accept it, wait until it is accepted (ACTIVE with the OpenSearch
    API). The request is `spec.connection_id` when given, else `known_id` (the resource's own, on Update),
    else the only one from the source; with several, it refuses to guess (the inbound API shows no alias)."""
    api = apis.destination()
    wanted = spec.connection_id

    def pending() -> Connection | None:
        candidates = [
            c for c in api.find_inbound(spec.source, spec.destination) if c.status not in GONE | FAILED_STATES
        ]
        if wanted is not None:
            return next((c for c in candidates if c.connection_id == wanted), None)
        own = [c for c in candidates if c.connection_id == known_id]
        if own:
            return own[0]
        if len(candidates) > 1:
            found = ", ".join(f"{c.connection_id} ({c.status})" for c in candidates)
            raise ConnectionFailed(
                f"{len(candidates)} requests from {spec.source.domain_name} to {spec.destination.domain_name}: "
                f"{found}. Set ConnectionId (connection_id) to the one to accept"
            )
        return next(iter(candidates), None)

    found = pending()
    waited_from = deadline.clock()
    while found is None:
        if deadline.remaining() <= 0:
            which = f"connection request {wanted}" if wanted else "no connection request"
            raise DeadlineExceeded(
                f"Timed out after {deadline.seconds:.0f} s: {which} from "
                f"{spec.source.domain_name} ({spec.source.owner_id}, {spec.source.region})"
                + (" is not pending" if wanted else " arrived")
            )
        deadline.sleep(min(poll_interval(deadline.clock() - waited_from), deadline.remaining()))
        found = pending()
    if found.status == PENDING_ACCEPTANCE:
        try:
            found = api.accept_inbound(found.connection_id)
        except ClientError as error:
            again = api.get_inbound(found.connection_id)  # a duplicate delivery may have accepted it first
            if again is None or again.status not in ACCEPTED:
                raise ConnectionFailed(f"Accepting {found.connection_id} failed: {_client_error(error)}") from error
            found = again
    # OpenSearch inbound connections go APPROVED -> PROVISIONING -> ACTIVE; the ES API's end at APPROVED.
    moving = ACCEPTING if spec.api == OPENSEARCH else frozenset({PENDING_ACCEPTANCE, PROVISIONING})
    settled = wait_while(found, moving, api.get_inbound, deadline)
    return _check_not_failed(settled, "inbound")


def delete_inbound(connection_id: str, apis: Apis, deadline: Deadline) -> None:
    """Delete the inbound connection and wait until it is DELETED."""
    if not looks_like_connection_id(connection_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", connection_id)
        return
    api = apis.destination()
    delete_connection(connection_id, api.get_inbound, api.delete_inbound, deadline)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _client_error(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {str(details.get('Message', ''))[:_MAX_MESSAGE]}"
