"""Lambda entry point: CloudFormation's custom resource protocol, through crhelper.

Only the wiring lives here; the connection logic is in `connections.py`.
"""

from __future__ import annotations

import logging
from typing import Any

from crhelper import CfnResource

import connections
from clients import BotoApis
from properties import AccepterSpec, OutboundSpec, parse_accepter, parse_outbound

logger = logging.getLogger(__name__)

OUTBOUND_TYPE = "Custom::OutboundCrossClusterSearchConnection"
ACCEPTER_TYPE = "Custom::InboundCrossClusterSearchConnectionAccepter"
#: Seconds kept back from the Lambda's time for cleanup after a failure and for the response.
CLEANUP_RESERVE_SECONDS = 70

# INFO logging never prints the event (it holds the pre-signed ResponseURL); no 120 s sleep on Delete.
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="WARNING", sleep_on_delete=0)


def _deadline(timeout_seconds: int, context: Any) -> connections.Deadline:
    left = context.get_remaining_time_in_millis() / 1000 - CLEANUP_RESERVE_SECONDS
    return connections.Deadline(max(1.0, min(float(timeout_seconds), left)))


def _outbound_apis(spec: OutboundSpec) -> BotoApis:
    return BotoApis(
        spec.api, spec.source.region, spec.destination.region, spec.accept_role_arn, spec.accept_external_id
    )


def _accepter_apis(spec: AccepterSpec) -> BotoApis:
    return BotoApis(spec.api, spec.source.region, spec.destination.region)


def _report(connection: connections.Connection, alias: str | None) -> str:
    helper.Data.update(
        {
            "ConnectionId": connection.connection_id,
            "ConnectionStatus": connection.status,
            "ConnectionAlias": alias or connection.alias or "",
        }
    )
    return connection.connection_id


def _is_accepter(event: dict[str, Any]) -> bool:
    return event.get("ResourceType") == ACCEPTER_TYPE


def _accept(event: dict[str, Any], context: Any) -> str:
    accepter = parse_accepter(event.get("ResourceProperties"))
    accepted = connections.accept_inbound(
        accepter, _accepter_apis(accepter), _deadline(accepter.timeout_seconds, context)
    )
    return _report(accepted, accepter.alias)


@helper.create
def create(event: dict[str, Any], context: Any) -> str:
    """Create or adopt the connection (or accept the inbound one); its id becomes the physical id."""
    if _is_accepter(event):
        return _accept(event, context)
    spec = parse_outbound(event.get("ResourceProperties"))
    created = connections.create_outbound(spec, _outbound_apis(spec), _deadline(spec.timeout_seconds, context))
    return _report(created, spec.alias)


@helper.update
def update(event: dict[str, Any], context: Any) -> str:
    """Update in place when only options changed; replace otherwise (a new id)."""
    physical_id = str(event.get("PhysicalResourceId", ""))
    if _is_accepter(event):
        return _accept(event, context)
    spec = parse_outbound(event.get("ResourceProperties"))
    try:
        old: OutboundSpec | None = parse_outbound(event.get("OldResourceProperties"))
    except ValueError:
        old = None
    updated = connections.update_outbound(
        physical_id, old, spec, _outbound_apis(spec), _deadline(spec.timeout_seconds, context)
    )
    return _report(updated, spec.alias)


@helper.delete
def delete(event: dict[str, Any], context: Any) -> None:
    """Delete the connection; ids that are not connections (a failed Create's) need nothing."""
    physical_id = str(event.get("PhysicalResourceId", ""))
    if not connections.looks_like_connection_id(physical_id):
        logger.info("Physical id %s is not a connection id: nothing to delete", physical_id)
        return
    if _is_accepter(event):
        accepter = parse_accepter(event.get("ResourceProperties"))
        deadline = _deadline(accepter.timeout_seconds, context)
        connections.delete_inbound(physical_id, _accepter_apis(accepter), deadline)
        return
    spec = parse_outbound(event.get("ResourceProperties"))
    connections.delete_outbound(physical_id, _outbound_apis(spec), _deadline(spec.timeout_seconds, context))


def handler(event: dict[str, Any], context: Any) -> None:
    """The Lambda handler: crhelper validates nothing, calls the matching function and responds."""
    helper(event, context)
