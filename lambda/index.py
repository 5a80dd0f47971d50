"""Lambda entry point: CloudFormation's custom resource protocol through crhelper, and nothing else.

Each callback parses the properties (properties.py), builds the clients (clients.py) and runs the lifecycle
(connections.py); the request's own checks, ids and time are in envelope.py.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from crhelper import CfnResource

from . import connections, envelope
from .clients import IAM_PROPAGATION_SECONDS, BotoApis
from .contract import ATTR_ALIAS, ATTR_CONNECTION_ID, ATTR_ENDPOINT, ATTR_STATUS, DESTINATION, RESOURCE_TYPES, SOURCE
from .dialects import ACCEPTING, PENDING_ACCEPTANCE, VALIDATING, Connection
from .properties import OutboundSpec, parse_accepter, parse_delete_target, parse_outbound
from .stack import (
    ROLLBACK_STATUSES,
    CloudFormationUnavailable,
    check_not_held_by_another_stack,
    held_elsewhere,
    prove_held_by_this_stack,
    stack_status,
)

logger = logging.getLogger(__name__)

#: Starts the log line of a Delete that kept its connection because CloudFormation could not be asked (a
#: CloudWatch Logs metric filter on it finds every connection that may have leaked).
KEPT_MARKER = "KEPT_CONNECTION"

# INFO logging never prints the event (it holds the pre-signed ResponseURL); no 120 s sleep on Delete.
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="WARNING", sleep_on_delete=0)


R = TypeVar("R")


class Failed(Exception):
    """A failure as CloudFormation is told it (envelope.reason: no secret, the start kept)."""


def _reasons(callback: Callable[[dict[str, Any], Any], R]) -> Callable[[dict[str, Any], Any], R]:
    """Every failure of a callback reaches crhelper with its reason already shortened, keeping the start
    (crhelper itself would keep the end), and without secret values."""

    @functools.wraps(callback)
    def wrapped(event: dict[str, Any], context: Any) -> R:
        try:
            return callback(event, context)
        except Exception as error:
            text = envelope.reason(str(error), event)
            if text == str(error):
                raise
            cause = None if "(hidden)" in text else error  # the chained original would be logged with it
            raise Failed(text) from cause

    return wrapped


def _outbound_apis(spec: OutboundSpec, budget: envelope.Budget) -> BotoApis:
    return BotoApis(
        spec.api,
        spec.source.region,
        spec.destination.region,
        budget.left,
        spec.accept_role_arn,
        spec.accept_external_id,
    )


def _ownership_guard(
    event: dict[str, Any],
    apis: BotoApis,
    adopt_id: str | None,
    look: Callable[[str], Connection | None],
    moving: frozenset[str],
    deadline: connections.Deadline,
    grace: float,
) -> Callable[[Connection], None]:
    """Taking over an existing connection: the one AdoptConnectionId names, unless a stack of this region
    visibly holds it; any other only when this resource's stack proves it its own (stack.py)."""

    def check(connection: Connection) -> None:
        cloudformation = apis.cloudformation(envelope.stack_region(event))
        connection_id = connection.connection_id
        if connection_id == adopt_id:
            check_not_held_by_another_stack(cloudformation, event["StackId"], connection_id, _own_type(event))
            logger.info("Adopting %s, as AdoptConnectionId asks", connection.describe())
            return

        def settling() -> bool:
            current = look(connection_id)
            return current is not None and current.status in moving

        how = prove_held_by_this_stack(
            cloudformation,
            event["StackId"],
            event["LogicalResourceId"],
            connection_id,
            _own_type(event),
            settling,
            deadline,
            f"Connection {connection_id} ({connection.source.domain_name} to {connection.destination.domain_name})",
            grace,
        )
        logger.info("Taking over %s: %s", connection.describe(), how)

    return check


def _outbound_guard(
    event: dict[str, Any], spec: OutboundSpec, apis: BotoApis, deadline: connections.Deadline
) -> Callable[[Connection], None]:
    # PENDING_ACCEPTANCE is not moving: a copy of this request that makes the connection accepts it at once,
    # though its accept may wait out IAM's propagation first (clients.py), which the grace allows for.
    moving = frozenset({VALIDATING}) | (ACCEPTING - {PENDING_ACCEPTANCE} if spec.accept else frozenset())
    grace = connections.ownership_grace_seconds(spec.timeout_seconds) + (IAM_PROPAGATION_SECONDS if spec.accept else 0)
    return _ownership_guard(event, apis, spec.adopt_connection_id, apis.source().get_outbound, moving, deadline, grace)


def _claim(connection_id: str) -> None:
    """A connection this Create made but could not delete again after a later step failed is the FAILED
    answer's physical id, so the rollback Delete deletes it."""
    helper.PhysicalResourceId = connection_id


def _report(connection: Connection, alias: str | None) -> str:
    helper.Data.update(
        {
            ATTR_CONNECTION_ID: connection.connection_id,
            ATTR_STATUS: connection.status,
            ATTR_ALIAS: alias or connection.alias or "",
            ATTR_ENDPOINT: connection.endpoint,
        }
    )
    return connection.connection_id


def _accept(event: dict[str, Any], budget: envelope.Budget) -> str:
    accepter = parse_accepter(event.get("ResourceProperties"))
    apis = BotoApis(accepter.api, accepter.source.region, accepter.destination.region, budget.left)
    physical_id = str(event.get("PhysicalResourceId", ""))
    known = physical_id if connections.looks_like_connection_id(physical_id) else None
    deadline = budget.deadline(accepter.timeout_seconds)
    moving = connections.accepter_moving(accepter) - {PENDING_ACCEPTANCE}
    guard = _ownership_guard(
        event,
        apis,
        accepter.adopt_connection_id,
        apis.destination().get_inbound,
        moving,
        deadline,
        connections.ownership_grace_seconds(accepter.timeout_seconds) + IAM_PROPAGATION_SECONDS,
    )
    try:
        accepted = connections.accept_inbound(accepter, apis, deadline, known, guard)
    except connections.ConnectionGone as gone:
        # A rollback Update cannot bring the connection back either: it keeps the resource as it is, showing
        # the status, so the stack does not end in UPDATE_ROLLBACK_FAILED. A forward Update fails, saying why.
        status = stack_status(apis.cloudformation(envelope.stack_region(event)), event["StackId"])
        if event["RequestType"] != "Update" or status not in ROLLBACK_STATUSES:
            raise
        logger.error("Stack %s is rolling back: keeping %s as it is (%s)", event["StackId"], physical_id, gone)
        return _report(gone.connection, accepter.alias)
    return _report(accepted, accepter.alias)


@helper.create
@_reasons
def create(event: dict[str, Any], context: Any) -> str:
    """Create or adopt the connection (or accept the inbound one); its id becomes the physical id."""
    helper.PhysicalResourceId = envelope.fallback_id(event)  # also for a FAILED or last-moment answer
    if envelope.PROBLEM in event:
        raise ValueError(event[envelope.PROBLEM])
    budget = envelope.Budget(context, event)
    if envelope.is_accepter(event):
        return _accept(event, budget)
    spec = parse_outbound(event.get("ResourceProperties"))
    apis = _outbound_apis(spec, budget)
    deadline = budget.deadline(spec.timeout_seconds)
    created = connections.create_outbound(spec, apis, deadline, _outbound_guard(event, spec, apis, deadline), _claim)
    return _report(created, spec.alias)


@helper.update
@_reasons
def update(event: dict[str, Any], context: Any) -> str:
    """Update in place when only options changed; replace otherwise (a new id)."""
    helper.PhysicalResourceId = envelope.fallback_id(event)
    budget = envelope.Budget(context, event)
    if envelope.is_accepter(event):
        return _accept(event, budget)
    spec = parse_outbound(event.get("ResourceProperties"))  # OldResourceProperties are never needed
    apis = _outbound_apis(spec, budget)
    deadline = budget.deadline(spec.timeout_seconds)
    updated = connections.update_outbound(
        str(event["PhysicalResourceId"]), spec, apis, deadline, _outbound_guard(event, spec, apis, deadline), _kept
    )
    return _report(updated, spec.alias)


@helper.delete
@_reasons
def delete(event: dict[str, Any], context: Any) -> None:
    """Delete the connection from its physical id and the least the properties must say (API, region):
    properties written by another version of the construct never make a Delete fail. A connection another
    resource of this stack now holds (a renamed construct) is left alone."""
    helper.PhysicalResourceId = envelope.fallback_id(event)
    physical_id = str(event["PhysicalResourceId"])
    if not connections.looks_like_connection_id(physical_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", physical_id)
        return
    accepter = envelope.is_accepter(event)
    target = parse_delete_target(
        event.get("ResourceProperties"), DESTINATION if accepter else SOURCE, envelope.own_region()
    )
    budget = envelope.Budget(context, event)
    apis = BotoApis(target.api, target.region, target.region, budget.left)
    cloudformation = apis.cloudformation(envelope.stack_region(event))
    try:
        holder = held_elsewhere(
            cloudformation, event["StackId"], event["LogicalResourceId"], physical_id, _own_type(event)
        )
    except CloudFormationUnavailable as unavailable:
        # Deleting on a guess could take a live connection from a renamed construct; keeping it may leak it
        # (CloudFormation drops a resource after three failed cleanup Deletes). Keep it, loudly.
        logger.error("%s %s: %s", KEPT_MARKER, physical_id, unavailable)
        raise connections.ConnectionFailed(
            f"Kept connection {physical_id}: {unavailable}. Delete it by hand if CloudFormation gives up on "
            "this resource"
        ) from unavailable
    if holder is not None:
        logger.info("Connection %s is now held by %s of this stack: leaving it", physical_id, holder)
        return
    deadline = budget.deadline(target.timeout_seconds, reserve=0)
    try:
        if accepter:
            connections.delete_inbound(physical_id, apis, deadline)
        else:
            connections.delete_outbound(physical_id, apis, deadline)
    except Exception as error:
        # A failed cleanup Delete is tried three times, then CloudFormation drops the resource: say which
        # connection may be left behind, in a line a metric filter finds.
        logger.error("%s %s: the Delete failed (%s)", KEPT_MARKER, physical_id, error)
        raise


def _own_type(event: dict[str, Any]) -> tuple[str, ...]:
    """An outbound connection and its accepter share the connection id: each is held only by resources of
    its own type."""
    own = event.get("ResourceType")
    return (own,) if own in RESOURCE_TYPES else RESOURCE_TYPES


def _kept(connection_id: str) -> None:
    """A connection an Update made for a replacement but could not delete again after a later step failed:
    the FAILED Update keeps the old id, so only this line names it."""
    logger.error("%s %s: made by a failed Update, and could not be deleted again", KEPT_MARKER, connection_id)


def handler(event: Any, context: Any) -> None:
    """The Lambda handler: checks the request's envelope, then crhelper calls the matching function and responds."""
    if not envelope.is_cloudformation_request(event):
        logger.error("Not a CloudFormation request (no https ResponseURL): nothing to answer")
        return
    problem = envelope.envelope_problem(event)
    helper(event if problem is None else envelope.stand_in(event, problem), context)
