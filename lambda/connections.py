"""The cross-cluster connection lifecycle: create or adopt, settle, accept, update, delete; plain functions
over the APIs of each side (dialects.py). Nothing here knows about CloudFormation: index.py maps its events
onto these functions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Protocol

from botocore.exceptions import ClientError

from .contract import CLEANUP_SECONDS, ELASTICSEARCH, OPENSEARCH
from .dialects import (
    ACCEPTED,
    ACCEPTING,
    ACTIVE,
    DELETED,
    FAILED_STATES,
    GONE,
    KNOWN_STATES,
    LIVE,
    NOT_DELETED,
    PENDING_ACCEPTANCE,
    PROVISIONING,
    VALIDATING,
    Connection,
    ConnectionOperations,
    describe_error,
    error_code,
)
from .errors import ConnectionFailed, Leftover, ServiceUnreachable
from .properties import AccepterSpec, OutboundSpec
from .timing import Deadline, poll

logger = logging.getLogger(__name__)

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
#: How long a connection that exists for this request (it made it, accepted it, or the stack holds its id) may
#: be missing from the service's answers before it counts as gone. Describe is eventually consistent: a
#: connection, or its new status after an accept, can be missing for some seconds after the call that made
#: it (terraform-provider-aws, internal/service/opensearch/inbound_connection_accepter.go, "Sometimes AWS just
#: has consistency issues and doesn't see our connection yet"; its outbound waiter tolerates not-found too),
#: while a connection that existed stays visible, DELETED, for about 15 days.
SETTLING_SECONDS = 30.0
_SETTLING_PAUSE = 2.0


class Apis(Protocol):
    """Gives the operations for each side of a connection, with the right account and region."""

    def source(self) -> ConnectionOperations:
        """The source domain's owner, in the source domain's region."""

    def destination(self) -> ConnectionOperations:
        """The destination domain's owner, in the destination domain's region."""

    def destination_as(self, api: str) -> ConnectionOperations:
        """The same, through the given API (ELASTICSEARCH or OPENSEARCH)."""


def wait_while(
    connection: Connection,
    states: frozenset[str],
    fetch: Callable[[str], Connection | None],
    deadline: Deadline,
    settling_from: float | None = None,
) -> Connection | None:
    """Look again until the connection leaves `states`; None when it disappears. From `settling_from` (on the
    deadline's clock: when this request made or accepted it) for SETTLING_SECONDS, a connection missing from
    the answer is not gone but not listed yet: it counts as it was last seen."""
    last = [connection]

    def look() -> Connection | None:
        current = fetch(connection.connection_id)
        if current is None and settling_from is not None and deadline.now() - settling_from < SETTLING_SECONDS:
            logger.info(
                "Connection %s is not listed yet (eventual consistency): still %s",
                connection.connection_id,
                last[0].status,
            )
            return last[0]
        if current is not None:
            last[0] = current
        return current

    def timed_out(current: Connection | None) -> str:
        shown = current or connection
        unknown = "" if shown.status in KNOWN_STATES else ", a status this version does not know"
        return f"{shown.describe()}{unknown} (raise TimeoutSeconds to wait longer)"

    # A status no model lists may be a new transitional one: it is waited out too, and named if it stays.
    start: Connection | None = connection
    return poll(
        start,
        look,
        lambda current: current is not None and (current.status in states or current.status not in KNOWN_STATES),
        deadline,
        timed_out,
    )


def find_settled(
    fetch: Callable[[str], Connection | None], connection_id: str, deadline: Deadline
) -> Connection | None:
    """The connection with this id, looking again for up to SETTLING_SECONDS while the service does not list
    it (a connection the stack holds existed: missing is more likely not listed yet than gone)."""
    started = deadline.now()
    found = fetch(connection_id)
    while found is None and deadline.now() - started < SETTLING_SECONDS and deadline.remaining() > _SETTLING_PAUSE:
        logger.info("Connection %s is not listed (yet?); looking again in %.0f s", connection_id, _SETTLING_PAUSE)
        deadline.sleep(_SETTLING_PAUSE)
        found = fetch(connection_id)
    return found


def matches(connection: Connection, spec: OutboundSpec) -> bool:
    """Whether the connection is what the spec asks for: same source, destination and alias, and the options
    the spec sets (an option the spec leaves to the service, or one the API does not show, matches any)."""
    return (
        connection.alias == spec.alias
        and connection.destination == spec.destination
        and connection.source.domain_name == spec.source.domain_name
        and all(
            wanted is None or shown is None or wanted == shown
            for wanted, shown in (
                (spec.connection_mode, connection.mode),
                (spec.skip_unavailable, connection.skip_unavailable),
            )
        )
    )


def _check_not_failed(connection: Connection | None, what: str) -> Connection:
    if connection is None:
        raise ConnectionFailed(f"The {what} connection disappeared while waiting for it")
    if connection.status in FAILED_STATES or connection.status in GONE:
        raise ConnectionFailed(f"The {what} {connection.describe()}")
    return connection


def create_outbound(
    spec: OutboundSpec,
    apis: Apis,
    deadline: Deadline,
    may_adopt: Callable[[Connection], None] | None = None,
) -> Connection:
    """Create the connection (or adopt the live one already made for this request, after `may_adopt` raised
    nothing for it), wait for it to settle, accept it if asked. A connection this call created is deleted
    again when a later step fails (also one whose create answer was lost, found by the retry); when that
    cleanup cannot finish, the failure is a Leftover naming it.
    """
    source_api = apis.source()
    attempt = _CreateAttempt(source_api, spec)
    try:
        connection = _create_through_throttling(source_api, spec, deadline, attempt)
        created = True
        logger.info("Created %s", connection.describe())
    except (ClientError, ServiceUnreachable) as error:
        lost = isinstance(error, ServiceUnreachable) or attempt.lost
        adoptable = isinstance(error, ServiceUnreachable) or error_code(error) == "ResourceAlreadyExistsException"
        adopted = _adoptable(source_api, spec) if adoptable else None
        if adopted is None:
            if isinstance(error, ServiceUnreachable):
                raise
            raise ConnectionFailed(f"Creating connection '{spec.alias}' failed: {describe_error(error)}") from error
        created = lost and adopted.connection_id not in attempt.existing
        if not created and may_adopt is not None:
            may_adopt(adopted)
        logger.info(
            "%s %s", "Our create's answer was lost; it made" if created else "Adopting existing", adopted.describe()
        )
        connection = adopted
    made_at = deadline.now() if created else None
    try:
        return _settle(connection, spec, apis, deadline, made_at)
    except Exception as error:
        if created and not _discard(connection.connection_id, source_api, deadline):
            raise Leftover(str(error), connection.connection_id) from error
        raise


class _CreateAttempt:
    """What one create request knows to tell its own connection from one that was there before: the live
    connections with its alias before the first attempt, and whether any attempt's answer was lost (a 5xx or
    a timeout, after which the service may have made the connection: the retry then finds it existing). The
    create client makes one attempt per call (clients.py), so every such answer is seen here; a throttled
    attempt made nothing and counts for nothing (a copy of the same request throttled while the other copy
    created the connection must not take it for its own)."""

    def __init__(self, api: ConnectionOperations, spec: OutboundSpec) -> None:
        self.existing = {c.connection_id for c in api.find_outbound(spec.source, spec.destination)}
        self.lost = False


def _transient(error: ClientError) -> bool:
    """Throttling or a server-side error: worth another try."""
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return error_code(error) in THROTTLING_CODES or status >= 500


def _create_through_throttling(
    api: ConnectionOperations, spec: OutboundSpec, deadline: Deadline, attempt: _CreateAttempt | None = None
) -> Connection:
    """The create call. Its client retries little (a connection limit must fail fast, and botocore counts
    LimitExceededException as throttling), so a longer storm of throttling or 5xx errors is waited out here,
    within the deadline. A create the service carried out before answering 5xx comes back as
    ResourceAlreadyExistsException, which the caller adopts."""
    pause = 1.0
    while True:
        try:
            return api.create_outbound(spec)
        except ServiceUnreachable:
            if attempt is not None:
                attempt.lost = True  # the service may have made it before the answer was lost
            if deadline.remaining() <= pause:
                raise
            logger.info("Create got no answer; trying again in %.0f s", pause)
        except ClientError as error:
            if attempt is not None and _transient(error):
                attempt.lost = attempt.lost or error_code(error) not in THROTTLING_CODES
            if not _transient(error) or deadline.remaining() <= pause:
                raise
            logger.info("Create answered %s; trying again in %.0f s", error_code(error), pause)
        deadline.sleep(pause)
        pause = min(pause * 2, 10.0)


def _adoptable(api: ConnectionOperations, spec: OutboundSpec) -> Connection | None:
    """The live connection with this request's source, destination and alias (a re-delivered Create's,
    or one made by hand), if that is what holds the alias."""
    existing = api.find_outbound(spec.source, spec.destination)
    return next((c for c in existing if matches(c, spec) and c.status in LIVE), None)


def _settle(
    connection: Connection, spec: OutboundSpec, apis: Apis, deadline: Deadline, made_at: float | None = None
) -> Connection:
    """Wait out validation, then accept when asked and wait for ACTIVE. `made_at`: when this request made the
    connection (it may not be listed for a while after)."""
    source_api = apis.source()
    validated = wait_while(connection, frozenset({VALIDATING}), source_api.get_outbound, deadline, made_at)
    settled = _check_not_failed(validated, "outbound")
    if not spec.accept or settled.status == ACTIVE:
        return settled
    if settled.status == PENDING_ACCEPTANCE:
        try:
            accept_through_either_api(apis, settled.connection_id, spec.api, deadline, made_at)
        except ClientError as error:
            # Another copy of the same request (CloudFormation's invocation is asynchronous and may arrive
            # twice) may have accepted it first: a connection that moved on is no failure.
            again = (
                None
                if _final_refusal(error)
                else _accepted_elsewhere(source_api.get_outbound, settled.connection_id, deadline)
            )
            if again is None:
                raise ConnectionFailed(f"Accepting {settled.connection_id} failed: {describe_error(error)}") from error
            logger.info("Accept refused, but %s: carrying on", again.describe())
            settled = again
        accepted_at: float | None = deadline.now()
    else:
        accepted_at = made_at
    active = wait_while(settled, ACCEPTING, source_api.get_outbound, deadline, accepted_at)
    return _check_not_failed(active, "outbound")


#: The service's refusal to accept through the other API (aws/aws-sdk-js-v3#4453): "Connection created using
#: Amazon OpenSearch Service SDK cannot be accepted with Amazon Elasticsearch Service SDK".
_OTHER_API_NEEDED = re.compile(r"created using .+ cannot be accepted with", re.IGNORECASE)


def accept_through_either_api(
    apis: Apis, connection_id: str, api: str, deadline: Deadline, made_at: float | None = None
) -> Connection:
    """Accept through `api`; when the service answers that the connection was created through the other API
    (only that one may accept it), accept through that one. The accept makes one attempt per call (botocore
    would retry LimitExceededException as throttling): throttling and 5xx are tried again here, and so is
    not-found for SETTLING_SECONDS after `made_at` (the destination's side may not list a new connection yet)."""
    settling_until = None if made_at is None else made_at + SETTLING_SECONDS
    try:
        return _through_transient(
            lambda: apis.destination_as(api).accept_inbound(connection_id), deadline, settling_until
        )
    except ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if error_code(error) != "ValidationException" or not _OTHER_API_NEEDED.search(message):
            raise
        other = ELASTICSEARCH if api == OPENSEARCH else OPENSEARCH
        logger.info("%s was created through the other API: accepting it through %s", connection_id, other)
        return _through_transient(
            lambda: apis.destination_as(other).accept_inbound(connection_id), deadline, settling_until
        )


def _through_transient(
    call: Callable[[], Connection], deadline: Deadline, settling_until: float | None = None
) -> Connection:
    """`call`, tried again after throttling or a 5xx while the deadline allows (an accept whose answer was
    lost may have been carried out: the next try is refused, and the caller finds it accepted), and after
    ResourceNotFoundException until `settling_until` (on the deadline's clock)."""
    pause = 1.0
    while True:
        try:
            return call()
        except ClientError as error:
            settling = (
                error_code(error) == "ResourceNotFoundException"
                and settling_until is not None
                and deadline.now() < settling_until
            )
            if not (_transient(error) or settling) or deadline.remaining() <= pause:
                raise
            logger.info("Accept answered %s; trying again in %.0f s", error_code(error), pause)
        deadline.sleep(pause)
        pause = min(pause * 2, 10.0)


def _discard(connection_id: str, api: ConnectionOperations, deadline: Deadline) -> bool:
    """Best-effort cleanup of a connection this invocation created; whether it is confirmed DELETED (a
    connection the service does not list yet is not confirmed: it may still appear)."""
    try:
        if delete_connection(connection_id, api.get_outbound, api.delete_outbound, deadline.fresh(CLEANUP_SECONDS)):
            return True
        logger.error("Could not confirm that connection %s is deleted: the service does not list it", connection_id)
    except Exception:
        logger.exception("Could not clean up connection %s", connection_id)
    return False


def _final_refusal(error: ClientError) -> bool:
    """A refused accept that no other copy's accept explains: the destination's limit of 20 inbound
    connections (LimitExceededException, in both APIs' AcceptInbound models). (Denials never get here:
    clients.py turns them into AccessDenied.)"""
    return error_code(error) == "LimitExceededException"


def _accepted_elsewhere(
    fetch: Callable[[str], Connection | None], connection_id: str, deadline: Deadline
) -> Connection | None:
    """After a refused accept: the connection as another copy of this request accepted it (its new status may
    take a while to show, SETTLING_SECONDS at most); None when it was not accepted."""
    started = deadline.now()
    while True:
        again = fetch(connection_id)
        if again is not None and again.status in ACCEPTED:
            return again
        if deadline.now() - started >= SETTLING_SECONDS or deadline.remaining() <= _SETTLING_PAUSE:
            return None
        deadline.sleep(_SETTLING_PAUSE)


def update_outbound(
    connection_id: str,
    new: OutboundSpec,
    apis: Apis,
    deadline: Deadline,
    may_adopt: Callable[[Connection], None] | None = None,
    before_create: Callable[[], None] | None = None,
) -> Connection:
    """Compare the connection behind the physical id with what the new properties ask for, not with the old
    properties (a rollback Update's old properties are the ones that failed): keep it when it matches,
    otherwise replace it. A replacement that keeps source and alias must delete the old connection first,
    which a stack rollback cannot undo: refused unless asked for, and always under Retain."""
    source_api = apis.source()
    current = (
        find_settled(source_api.get_outbound, connection_id, deadline)
        if looks_like_connection_id(connection_id)
        else None
    )
    if current is not None and current.status not in KNOWN_STATES:
        # A status no model lists may be a new transitional one: never taken for gone (a rollback Update would
        # otherwise make a second connection); waited out, then named.
        current = wait_while(current, frozenset(), source_api.get_outbound, deadline) or current
    if current is not None and current.status in LIVE:
        if matches(current, new):
            return _settle(current, new, apis, deadline)
        if current.source == new.source and current.alias == new.alias:
            _check_may_delete_first(current, new)
            delete_outbound(connection_id, apis, deadline)
    else:
        logger.info("Connection %s is %s; creating it again", connection_id, current.status if current else "gone")
    if before_create is not None:
        before_create()  # e.g. refuses when CloudFormation is no longer waiting for a replacement
    return create_outbound(new, apis, deadline, may_adopt)


def _check_may_delete_first(current: Connection, new: OutboundSpec) -> None:
    where = f"connection {current.connection_id} (alias '{new.alias}' on {new.source.domain_name})"
    if new.retain:
        raise ConnectionFailed(
            f"Not replacing {where}: keeping the alias means deleting it first, and RETAIN keeps connections "
            "through replacements. Change connection_alias too"
        )
    if not new.replace_by_deleting_first:
        raise ConnectionFailed(
            f"Not replacing {where}: an alias is unique per source domain, so it would be deleted first and a "
            "stack rollback could not restore it. Change connection_alias too, or set replace_by_deleting_first"
        )


def looks_like_connection_id(physical_id: str) -> bool:
    """Connection ids are lowercase; ids invented by crhelper or CloudFormation are not."""
    return (
        10 <= len(physical_id) <= 256
        and physical_id[0].isascii()
        and physical_id[0].islower()
        and all(ch.isascii() and (ch.islower() or ch.isdigit() or ch == "-") for ch in physical_id)
    )


def delete_outbound(connection_id: str, apis: Apis, deadline: Deadline) -> bool:
    """Delete the connection and wait until it is DELETED; whether it was seen DELETED (False: the service
    never listed it, counted as gone)."""
    if not looks_like_connection_id(connection_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", connection_id)
        return True
    api = apis.source()
    return delete_connection(connection_id, api.get_outbound, api.delete_outbound, deadline)


def delete_connection(
    connection_id: str,
    fetch: Callable[[str], Connection | None],
    delete: Callable[[str], Connection | None],
    deadline: Deadline,
) -> bool:
    """Delete through `delete` and wait through `fetch` until the connection is DELETED; whether it was seen
    DELETED. A connection the service does not know is looked for again for SETTLING_SECONDS (a connection
    that existed stays listed as DELETED for days, so missing is more likely not listed yet); then it counts as
    gone (False)."""
    started = deadline.now()
    while True:
        try:
            deleting = delete(connection_id)
        except ClientError:
            current = fetch(connection_id)  # a refusal for a connection that is already DELETED is no failure
            if current is not None and current.status != DELETED:
                raise
            deleting = current
        if deleting is None:  # the delete does not know it: is it listed (DELETED), or not (yet)?
            deleting = fetch(connection_id)
        if deleting is not None:
            break
        if deadline.now() - started >= SETTLING_SECONDS or deadline.remaining() <= _SETTLING_PAUSE:
            logger.info("Connection %s is not known to the service: already gone", connection_id)
            return False
        logger.info("Connection %s is not listed (yet?); deleting again in %.0f s", connection_id, _SETTLING_PAUSE)
        deadline.sleep(_SETTLING_PAUSE)
    final = wait_while(deleting, NOT_DELETED, fetch, deadline, settling_from=deadline.now())
    return final is None or final.status == DELETED


class ConnectionGone(ConnectionFailed):
    """The resource's own connection was deleted or refused by the other side."""

    def __init__(self, message: str, connection: Connection) -> None:
        super().__init__(message)
        self.connection = connection


def accept_inbound(
    spec: AccepterSpec,
    apis: Apis,
    deadline: Deadline,
    known_id: str | None = None,
    may_take: Callable[[Connection], None] | None = None,
) -> Connection:
    """Wait for the request from the source, accept it, wait until it is accepted (ACTIVE with the OpenSearch
    API). The request is `spec.adopt_connection_id` or `spec.connection_id` when given, else `known_id` (the
    resource's own, on Update), else the only one from the source; with several, it refuses to guess (the
    inbound API shows no alias). Only a request this call accepts is taken without asking: one already
    accepted (by another stack, by hand, or by a copy of this request) is taken after `may_take` raised
    nothing for it. The resource's own connection gone
    (ConnectionGone) is never replaced by another request unless the properties name it."""
    api = apis.destination()
    wanted = spec.adopt_connection_id or spec.connection_id
    source = f"{spec.source.domain_name} ({spec.source.owner_id}, {spec.source.region})"

    def candidates() -> list[Connection]:
        return [c for c in api.find_inbound(spec.source, spec.destination) if c.status not in GONE | FAILED_STATES]

    if known_id is not None and wanted in (None, known_id):
        own = find_settled(api.get_inbound, known_id, deadline)
        if own is None or own.status in GONE | FAILED_STATES:
            others = ", ".join(c.connection_id for c in candidates()) or "none"
            last = own or Connection(known_id, spec.source, spec.destination, DELETED)
            raise ConnectionGone(
                f"Inbound connection {known_id} from {source} is {last.status}: its requester deleted it or it "
                f"was refused. Set connection_id to a new request to accept it (pending: {others})",
                last,
            )
        found: Connection | None = own
    else:

        def pending() -> Connection | None:
            listed = candidates()
            if wanted is not None:
                return next((c for c in listed if c.connection_id == wanted), None)
            if len(listed) > 1:
                ids = ", ".join(f"{c.connection_id} ({c.status})" for c in listed)
                raise ConnectionFailed(
                    f"{len(listed)} requests from {spec.source.domain_name} to {spec.destination.domain_name}: "
                    f"{ids}. Set ConnectionId (connection_id) to the one to accept"
                )
            return next(iter(listed), None)

        found = poll(
            pending(),
            pending,
            lambda seen: seen is None,
            deadline,
            lambda _: (
                f"connection request {wanted} from {source} is not pending"
                if wanted
                else f"no connection request from {source} arrived"
            ),
        )
    assert found is not None
    if found.status == PENDING_ACCEPTANCE:
        try:
            found = accept_through_either_api(apis, found.connection_id, spec.api, deadline)
            taken = True
        except ClientError as error:
            # A duplicate delivery may have accepted it first (its new status may not show at once).
            again = (
                None if _final_refusal(error) else _accepted_elsewhere(api.get_inbound, found.connection_id, deadline)
            )
            if again is None:
                raise ConnectionFailed(f"Accepting {found.connection_id} failed: {describe_error(error)}") from error
            found, taken = again, False
        accepted_at: float | None = deadline.now()
    else:
        taken, accepted_at = found.connection_id == known_id, None
    if not taken and may_take is not None:
        may_take(found)
    # OpenSearch inbound connections go APPROVED -> PROVISIONING -> ACTIVE; the ES API's end at APPROVED.
    settled = wait_while(found, accepter_moving(spec), api.get_inbound, deadline, accepted_at)
    return _check_not_failed(settled, "inbound")


def accepter_moving(spec: AccepterSpec) -> frozenset[str]:
    """The inbound states the accepter waits out: through ACTIVE with the OpenSearch API, APPROVED with the es API."""
    return ACCEPTING if spec.api == OPENSEARCH else frozenset({PENDING_ACCEPTANCE, PROVISIONING})


def delete_inbound(connection_id: str, apis: Apis, deadline: Deadline) -> bool:
    """Delete the inbound connection and wait until it is DELETED; whether it was seen DELETED."""
    if not looks_like_connection_id(connection_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", connection_id)
        return True
    api = apis.destination()
    return delete_connection(connection_id, api.get_inbound, api.delete_inbound, deadline)
