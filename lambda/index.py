"""Lambda entry point: CloudFormation's custom resource protocol, through crhelper.

Only the wiring lives here; the connection logic is in `connections.py`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from crhelper import CfnResource

import connections
from clients import SHORTEST_CALL, BotoApis
from properties import InvalidInput, OutboundSpec, parse_accepter, parse_delete_target, parse_outbound
from stack import check_not_held_by_another_stack, held_elsewhere

logger = logging.getLogger(__name__)

OUTBOUND_TYPE = "Custom::OutboundCrossClusterSearchConnection"
ACCEPTER_TYPE = "Custom::InboundCrossClusterSearchConnectionAccepter"
RESOURCE_TYPES = (OUTBOUND_TYPE, ACCEPTER_TYPE)
REQUEST_TYPES = ("Create", "Update", "Delete")
#: Set on a stand-in event when the request itself was malformed; the create callback reports it.
_ENVELOPE_PROBLEM = "X-EnvelopeProblem"
#: Seconds kept back from the Lambda's time for cleanup after a failure (connections.CLEANUP_SECONDS fits).
CLEANUP_RESERVE_SECONDS = 70
#: Seconds kept back at the very end for crhelper's response PUT; crhelper's own timer (0.5 s before the
#: end, with an empty physical id) then never has to answer.
RESPONSE_RESERVE_SECONDS = 5

# INFO logging never prints the event (it holds the pre-signed ResponseURL); no 120 s sleep on Delete.
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="WARNING", sleep_on_delete=0)


class _Budget:
    """The invocation's time: when the answer is due, and how long waiting may last before that."""

    def __init__(self, context: Any) -> None:
        self.limit: float = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESPONSE_RESERVE_SECONDS

    def left(self) -> float:
        """Seconds until the answer is due."""
        return self.limit - time.monotonic()

    def deadline(self, timeout_seconds: int, reserve: float = CLEANUP_RESERVE_SECONDS) -> connections.Deadline:
        """Wait at most `timeout_seconds`, keeping `reserve` for cleanup; waiting ends early enough for one
        last short service call (the status to report) before the answer is due."""
        return connections.Deadline(
            max(0.0, min(float(timeout_seconds), self.left() - reserve)),
            limit=self.limit - SHORTEST_CALL.worst_case_seconds() - 0.5,
        )


def failed_create_id(event: dict[str, Any]) -> str:
    """The physical id a failed Create answers with: stable for one request (a re-delivered copy answers the
    same), never mistaken for a connection id (upper case), so the rollback Delete knows there is nothing."""
    digest = hashlib.sha256(f"{event.get('StackId')}|{event.get('RequestId')}".encode()).hexdigest()[:16]
    return f"CreateFailed-{str(event.get('LogicalResourceId', 'Resource'))[:200]}-{digest}"


def _hold_fallback_id(event: dict[str, Any]) -> None:
    """Every answer carries a physical id, also FAILED ones and crhelper's last-moment timeout answer: the
    one CloudFormation sent (Update, Delete), or a stable one (Create). A successful callback replaces it."""
    helper.PhysicalResourceId = str(event.get("PhysicalResourceId") or failed_create_id(event))


def _stack_region(stack_id: str) -> str | None:
    """The region of a stack ARN (arn:partition:cloudformation:region:account:stack/name/id)."""
    parts = stack_id.split(":")
    return parts[3] if len(parts) >= 6 and parts[3] else None


def _outbound_apis(spec: OutboundSpec, budget: _Budget) -> BotoApis:
    return BotoApis(
        spec.api,
        spec.source.region,
        spec.destination.region,
        budget.left,
        spec.accept_role_arn,
        spec.accept_external_id,
    )


def _cloudformation(event: dict[str, Any], apis: BotoApis) -> Any:
    """CloudFormation in the stack's own region."""
    return apis.cloudformation(_stack_region(str(event["StackId"])) or os.environ.get("AWS_REGION", "us-east-1"))


def _adoption_guard(event: dict[str, Any], apis: BotoApis) -> Callable[[connections.Connection], None]:
    """Adopting an existing connection is refused when a resource of another stack holds it."""

    def check(connection: connections.Connection) -> None:
        check_not_held_by_another_stack(
            _cloudformation(event, apis), str(event["StackId"]), connection.connection_id, RESOURCE_TYPES
        )

    return check


def _report(connection: connections.Connection, alias: str | None) -> str:
    helper.Data.update(
        {
            "ConnectionId": connection.connection_id,
            "ConnectionStatus": connection.status,
            "ConnectionAlias": alias or connection.alias or "",
            "Endpoint": connection.endpoint,
        }
    )
    return connection.connection_id


def _is_accepter(event: dict[str, Any]) -> bool:
    return event.get("ResourceType") == ACCEPTER_TYPE


def _accept(event: dict[str, Any], budget: _Budget) -> str:
    accepter = parse_accepter(event.get("ResourceProperties"))
    apis = BotoApis(accepter.api, accepter.source.region, accepter.destination.region, budget.left)
    physical_id = str(event.get("PhysicalResourceId", ""))
    known = physical_id if connections.looks_like_connection_id(physical_id) else None
    accepted = connections.accept_inbound(accepter, apis, budget.deadline(accepter.timeout_seconds), known)
    return _report(accepted, accepter.alias)


@helper.create
def create(event: dict[str, Any], context: Any) -> str:
    """Create or adopt the connection (or accept the inbound one); its id becomes the physical id."""
    _hold_fallback_id(event)
    if _ENVELOPE_PROBLEM in event:
        raise ValueError(event[_ENVELOPE_PROBLEM])
    budget = _Budget(context)
    if _is_accepter(event):
        return _accept(event, budget)
    spec = parse_outbound(event.get("ResourceProperties"))
    apis = _outbound_apis(spec, budget)
    created = connections.create_outbound(
        spec, apis, budget.deadline(spec.timeout_seconds), _adoption_guard(event, apis)
    )
    return _report(created, spec.alias)


@helper.update
def update(event: dict[str, Any], context: Any) -> str:
    """Update in place when only options changed; replace otherwise (a new id)."""
    _hold_fallback_id(event)
    physical_id = str(event.get("PhysicalResourceId", ""))
    budget = _Budget(context)
    if _is_accepter(event):
        return _accept(event, budget)
    spec = parse_outbound(event.get("ResourceProperties"))
    try:
        old: OutboundSpec | None = parse_outbound(event.get("OldResourceProperties"))
    except ValueError:
        old = None
    apis = _outbound_apis(spec, budget)
    updated = connections.update_outbound(
        physical_id, old, spec, apis, budget.deadline(spec.timeout_seconds), _adoption_guard(event, apis)
    )
    return _report(updated, spec.alias)


@helper.delete
def delete(event: dict[str, Any], context: Any) -> None:
    """Delete the connection from its physical id and the least the properties must say (API, region):
    properties written by another version of the construct never make a Delete fail."""
    _hold_fallback_id(event)
    physical_id = str(event.get("PhysicalResourceId", ""))
    if not connections.looks_like_connection_id(physical_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", physical_id)
        return
    accepter = _is_accepter(event)
    own_region = os.environ.get("AWS_REGION", "us-east-1")
    side = "DestinationDomainInfo" if accepter else "SourceDomainInfo"
    target = parse_delete_target(event.get("ResourceProperties"), side, own_region)
    budget = _Budget(context)
    apis = BotoApis(target.api, target.region, target.region, budget.left)
    holder = held_elsewhere(
        _cloudformation(event, apis),
        str(event["StackId"]),
        str(event["LogicalResourceId"]),
        physical_id,
        RESOURCE_TYPES,
    )
    if holder is not None:
        logger.info("Connection %s is now held by %s of this stack: leaving it", physical_id, holder)
        return
    deadline = budget.deadline(target.timeout_seconds, reserve=0)
    if accepter:
        connections.delete_inbound(physical_id, apis, deadline)
    else:
        connections.delete_outbound(physical_id, apis, deadline)


def envelope_problem(event: dict[str, Any]) -> InvalidInput | None:
    """What is wrong with the request around the properties (CloudFormation never sends this, fuzzers do)."""
    text_fields = ["RequestId", "LogicalResourceId"]
    if event.get("RequestType") in ("Update", "Delete"):
        text_fields.append("PhysicalResourceId")
    checks: list[tuple[str, bool, str]] = [
        ("RequestType", event.get("RequestType") in REQUEST_TYPES, "must be one of " + ", ".join(REQUEST_TYPES)),
        (
            "ResourceType",
            event.get("ResourceType") in (OUTBOUND_TYPE, ACCEPTER_TYPE),
            f"must be {OUTBOUND_TYPE} or {ACCEPTER_TYPE}",
        ),
        ("StackId", isinstance(event.get("StackId"), str) and "/" in event["StackId"], "must be a stack ARN"),
    ]
    checks += [
        (
            name,
            isinstance(event.get(name), str) and 0 < len(event[name]) <= 1024,
            "must be a string of 1-1024 characters",
        )
        for name in text_fields
    ]
    for name, ok, rule in checks:
        if not ok:
            return InvalidInput(name, rule, event.get(name))
    return None


def _stand_in(event: dict[str, Any], problem: InvalidInput) -> dict[str, Any]:
    """A well-formed Create carrying the problem, so crhelper answers FAILED on the request's ResponseURL."""

    def text(name: str, fallback: str) -> str:
        value = event.get(name)
        return value if isinstance(value, str) and value and (name != "StackId" or "/" in value) else fallback

    return {
        "RequestType": "Create",
        "ResponseURL": event["ResponseURL"],
        "StackId": text("StackId", "arn:aws:cloudformation:unknown:000000000000:stack/unknown/unknown"),
        "RequestId": text("RequestId", "unknown"),
        "LogicalResourceId": text("LogicalResourceId", "unknown"),
        _ENVELOPE_PROBLEM: str(problem),
    }


def handler(event: Any, context: Any) -> None:
    """The Lambda handler: checks the request's envelope, then crhelper calls the matching function and responds."""
    if not isinstance(event, dict) or not str(event.get("ResponseURL", "")).startswith("https://"):
        logger.error("Not a CloudFormation request (no https ResponseURL): nothing to answer")
        return
    problem = envelope_problem(event)
    helper(event if problem is None else _stand_in(event, problem), context)
