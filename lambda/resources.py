"""CloudFormation's three requests, for both resource types, mapped onto the connection lifecycle
(connections.py): what each request reads, which proof guards taking over an existing connection
(ownership.py), and what the answer carries. Each returns an Answer; a failure raises (a Leftover names a
connection a failed Create leaves behind, which its FAILED answer must carry as the physical id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from . import connections, lifecycle, ownership, request
from .clients import IAM_PROPAGATION_SECONDS, BotoApis
from .contract import (
    ATTR_ALIAS,
    ATTR_CONNECTION_ID,
    ATTR_ENDPOINT,
    ATTR_STATUS,
    CLEANUP_SECONDS,
    DESTINATION,
    OWNERSHIP_ANSWER_SECONDS,
    SOURCE,
)
from .dialects import ACCEPTING, PENDING_ACCEPTANCE, VALIDATING, Connection
from .errors import CloudFormationUnavailable, ConnectionFailed, LateRequest, Leftover
from .lifecycle import ROLLBACK_STATUSES, Answer
from .lifecycle import budget as _budget
from .lifecycle import check_awaited as _check_awaited
from .properties import AccepterSpec, OutboundSpec, parse_accepter, parse_delete_target, parse_outbound
from .timing import Budget, Clock, Deadline

logger = logging.getLogger(__name__)

#: Starts the log line of a Delete that kept its connection because CloudFormation could not be asked, and
#: of every connection a failed request may leave behind (a CloudWatch Logs metric filter on it finds each).
KEPT_MARKER = "KEPT_CONNECTION"


def _answer(connection: Connection, alias: str | None) -> Answer:
    return Answer(
        connection.connection_id,
        {
            ATTR_CONNECTION_ID: connection.connection_id,
            ATTR_STATUS: connection.status,
            ATTR_ALIAS: alias or connection.alias or "",
            ATTR_ENDPOINT: connection.endpoint,
        },
    )


def _check_stack_creates(event: dict[str, Any], apis: BotoApis, allowed: frozenset[str] = frozenset()) -> None:
    lifecycle.check_stack_creates(event, apis.cloudformation(request.stack_region(event)), allowed)


def _guard(
    event: dict[str, Any],
    apis: BotoApis,
    adopt_id: str | None,
    look: Callable[[str], Connection | None],
    moving: frozenset[str],
    deadline: Deadline,
    timeout_seconds: int,
    accepting: bool,
) -> Callable[[Connection], None]:
    return ownership.guard(
        lambda: apis.cloudformation(request.stack_region(event)),
        event["StackId"],
        event["LogicalResourceId"],
        request.own_types(event),
        adopt_id,
        look,
        moving,
        deadline,
        ownership.grace_seconds(timeout_seconds, accepting, IAM_PROPAGATION_SECONDS),
    )


def _outbound_guard(
    event: dict[str, Any], spec: OutboundSpec, apis: BotoApis, deadline: Deadline
) -> Callable[[Connection], None]:
    # PENDING_ACCEPTANCE is not moving: a copy of this request that makes the connection accepts it at once,
    # though its accept may wait out IAM's propagation first (clients.py), which the grace allows for.
    moving = frozenset({VALIDATING}) | (ACCEPTING - {PENDING_ACCEPTANCE} if spec.accept else frozenset())
    return _guard(
        event,
        apis,
        spec.adopt_connection_id,
        apis.source().get_outbound,
        moving,
        deadline,
        spec.timeout_seconds,
        spec.accept,
    )


def _outbound_apis(spec: OutboundSpec, budget: Budget) -> BotoApis:
    return BotoApis(
        spec.api, spec.source.region, spec.destination.region, budget, spec.accept_role_arn, spec.accept_external_id
    )


def _accept(event: dict[str, Any], budget: Budget) -> Answer:
    accepter: AccepterSpec = parse_accepter(event.get("ResourceProperties"))
    apis = BotoApis(accepter.api, accepter.source.region, accepter.destination.region, budget)
    if event["RequestType"] == "Create":
        _check_stack_creates(event, apis)
    physical_id = str(event.get("PhysicalResourceId", ""))
    known = physical_id if connections.looks_like_connection_id(physical_id) else None
    deadline = budget.deadline(accepter.timeout_seconds)
    moving = connections.accepter_moving(accepter) - {PENDING_ACCEPTANCE}
    guard = _guard(
        event,
        apis,
        accepter.adopt_connection_id,
        apis.destination().get_inbound,
        moving,
        deadline,
        accepter.timeout_seconds,
        True,
    )
    try:
        accepted = connections.accept_inbound(accepter, apis, deadline, known, guard)
    except connections.ConnectionGone as gone:
        # A rollback Update cannot bring the connection back either: it keeps the resource as it is, showing
        # the status, so the stack does not end in UPDATE_ROLLBACK_FAILED. A forward Update fails, saying why.
        status = ownership.stack_status(apis.cloudformation(request.stack_region(event)), event["StackId"])
        if event["RequestType"] != "Update" or status not in ROLLBACK_STATUSES:
            raise
        logger.error("Stack %s is rolling back: keeping %s as it is (%s)", event["StackId"], physical_id, gone)
        return _answer(gone.connection, accepter.alias)
    return _answer(accepted, accepter.alias)


def create(event: dict[str, Any], context: Any, clock: Clock) -> Answer:
    """Create or adopt the connection (or accept the inbound one); its id becomes the physical id. A Leftover
    names a connection made and not deleted again, for the FAILED answer's physical id."""
    if request.PROBLEM in event:
        raise ValueError(event[request.PROBLEM])
    _check_awaited(event, clock)
    budget = _budget(event, context, clock)
    if request.is_accepter(event):
        return _accept(event, budget)
    spec = parse_outbound(event.get("ResourceProperties"))
    apis = _outbound_apis(spec, budget)
    _check_stack_creates(event, apis)
    deadline = budget.deadline(spec.timeout_seconds)
    try:
        created = connections.create_outbound(spec, apis, deadline, _outbound_guard(event, spec, apis, deadline))
        _undo_if_stack_gave_up(event, apis, created, deadline)
    except Leftover as left:
        # The FAILED answer carries its id (index.py), so CloudFormation's rollback Delete tries again.
        logger.error("%s %s: made by a failed Create, and not confirmed deleted", KEPT_MARKER, left.connection_id)
        raise
    return _answer(created, spec.alias)


def _undo_if_stack_gave_up(event: dict[str, Any], apis: BotoApis, created: Connection, deadline: Deadline) -> None:
    """The stack may have started rolling back while this Create worked (another resource failed): then no one
    will hold what it made. Delete it again and fail (a Leftover when that cannot be confirmed)."""
    try:
        _check_stack_creates(event, apis)
    except LateRequest as late:
        logger.info("Deleting %s again: %s", created.connection_id, late)
        try:
            deleted = connections.delete_outbound(created.connection_id, apis, deadline.fresh(CLEANUP_SECONDS))
        except Exception as error:
            raise Leftover(str(late), created.connection_id) from error
        if not deleted:
            raise Leftover(str(late), created.connection_id) from late
        raise


def update(event: dict[str, Any], context: Any, clock: Clock) -> Answer:
    """Update in place when only options changed; replace otherwise (a new id)."""
    _check_awaited(event, clock)
    budget = _budget(event, context, clock)
    if request.is_accepter(event):
        return _accept(event, budget)
    spec = parse_outbound(event.get("ResourceProperties"))  # OldResourceProperties are never needed
    apis = _outbound_apis(spec, budget)
    deadline = budget.deadline(spec.timeout_seconds)
    try:
        updated = connections.update_outbound(
            str(event["PhysicalResourceId"]),
            spec,
            apis,
            deadline,
            _outbound_guard(event, spec, apis, deadline),
            # A rollback Update may make a connection again; a forward one only while its stack is updating.
            lambda: _check_stack_creates(event, apis, allowed=ROLLBACK_STATUSES),
        )
    except Leftover as left:
        # The FAILED Update keeps the old physical id (the rollback Update never sees the replacement): this
        # line and the reason's start name the replacement left behind.
        logger.error("%s %s: made by a failed Update, and could not be deleted again", KEPT_MARKER, left.connection_id)
        raise ConnectionFailed(
            f"Replacement {left.connection_id} is left behind (delete it by hand): {left}"
        ) from left.__cause__
    return _answer(updated, spec.alias)


def delete(event: dict[str, Any], context: Any, clock: Clock) -> None:
    """Delete the connection from its physical id and the least the properties must say (API, region):
    properties written by another version of the construct never make a Delete fail. A connection another
    resource of this stack now holds (a renamed construct) is left alone."""
    physical_id = str(event["PhysicalResourceId"])
    if not connections.looks_like_connection_id(physical_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", physical_id)
        return
    accepter = request.is_accepter(event)
    target = parse_delete_target(
        event.get("ResourceProperties"), DESTINATION if accepter else SOURCE, request.own_region()
    )
    budget = _budget(event, context, clock)
    apis = BotoApis(target.api, target.region, target.region, budget)
    cloudformation = apis.cloudformation(request.stack_region(event))
    try:
        holder = ownership.held_elsewhere(
            cloudformation,
            event["StackId"],
            event["LogicalResourceId"],
            physical_id,
            request.own_types(event),
            budget.deadline(OWNERSHIP_ANSWER_SECONDS + 1, reserve=0),
        )
    except CloudFormationUnavailable as unavailable:
        # Deleting on a guess could take a live connection from a renamed construct; keeping it may leak it
        # (CloudFormation drops a resource after three failed cleanup Deletes). Keep it, loudly.
        logger.error("%s %s: %s", KEPT_MARKER, physical_id, unavailable)
        raise ConnectionFailed(
            f"Kept connection {physical_id}: {unavailable}. Delete it by hand if CloudFormation gives up on "
            "this resource"
        ) from unavailable
    if holder is not None:
        logger.info("Connection %s is now held by %s of this stack: leaving it", physical_id, holder)
        return
    deadline = budget.deadline(target.timeout_seconds, reserve=0)
    try:
        delete = connections.delete_inbound if accepter else connections.delete_outbound
        if not delete(physical_id, apis, deadline):
            logger.warning(
                "%s %s: never listed by the service while this Delete looked, so counted as gone; if it appears "
                "later, delete it by hand",
                KEPT_MARKER,
                physical_id,
            )
    except Exception as error:
        # A failed cleanup Delete is tried three times, then CloudFormation drops the resource: say which
        # connection may be left behind, in a line a metric filter finds.
        logger.error("%s %s: the Delete failed (%s)", KEPT_MARKER, physical_id, error)
        raise
