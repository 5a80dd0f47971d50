"""The request around the properties: is it well-formed, which ids and region it names, how much time it has.

CloudFormation never sends a malformed request, but a fuzzer or a hand-made invocation may; every one that
has a ResponseURL still gets a FAILED answer naming the field.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from .clients import SHORTEST_CALL
from .connections import Deadline
from .contract import (
    ACCEPTER_TYPE,
    CLEANUP_RESERVE_SECONDS,
    EXTERNAL_ID,
    OUTBOUND_TYPE,
    RESOURCE_TYPES,
    RESPONSE_RESERVE_SECONDS,
    SERVICE_TIMEOUT_MARGIN_SECONDS,
)
from .properties import InvalidInput

REQUEST_TYPES = ("Create", "Update", "Delete")
#: Set on a stand-in event when the request itself was malformed; the create callback reports it.
PROBLEM = "X-EnvelopeProblem"
#: Seconds a last short service call may take: its worst case, plus margin.
_LAST_CALL_SECONDS = SHORTEST_CALL.worst_case_seconds() + 0.5


def is_cloudformation_request(event: object) -> bool:
    """Only requests with an https ResponseURL can be answered at all."""
    return isinstance(event, dict) and str(event.get("ResponseURL", "")).startswith("https://")


def envelope_problem(event: dict[str, Any]) -> InvalidInput | None:
    """What is wrong with the request around the properties."""
    text_fields = ["RequestId", "LogicalResourceId"]
    if event.get("RequestType") in ("Update", "Delete"):
        text_fields.append("PhysicalResourceId")
    checks: list[tuple[str, bool, str]] = [
        ("RequestType", event.get("RequestType") in REQUEST_TYPES, "must be one of " + ", ".join(REQUEST_TYPES)),
        (
            "ResourceType",
            event.get("ResourceType") in RESOURCE_TYPES,
            " or ".join(RESOURCE_TYPES).join(["must be ", ""]),
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


def stand_in(event: dict[str, Any], problem: InvalidInput) -> dict[str, Any]:
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
        "ResourceType": OUTBOUND_TYPE,
        PROBLEM: str(problem),
    }


#: crhelper cuts a Reason over 256 characters to its last 240 (losing the start: the field or the cause).
MAX_REASON = 256


def reason(text: str, event: dict[str, Any]) -> str:
    """A FAILED answer's Reason: the properties' secret values (AcceptRoleExternalId) replaced, and at most
    MAX_REASON characters, keeping the start."""
    properties = event.get("ResourceProperties")
    for props in (properties, event.get("OldResourceProperties")):
        secret = props.get(EXTERNAL_ID) if isinstance(props, dict) else None
        if isinstance(secret, str) and len(secret) >= 2:
            text = text.replace(secret, "(hidden)")
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def is_accepter(event: dict[str, Any]) -> bool:
    """Whether the request is for an InboundConnectionAccepter."""
    return event.get("ResourceType") == ACCEPTER_TYPE


def failed_create_id(event: dict[str, Any]) -> str:
    """The physical id a failed Create answers with: stable for one request (a re-delivered copy answers the
    same), never mistaken for a connection id (upper case), so the rollback Delete knows there is nothing."""
    digest = hashlib.sha256(f"{event.get('StackId')}|{event.get('RequestId')}".encode()).hexdigest()[:16]
    return f"CreateFailed-{str(event.get('LogicalResourceId', 'Resource'))[:200]}-{digest}"


def fallback_id(event: dict[str, Any]) -> str:
    """The physical id any answer can carry: the one CloudFormation sent (Update, Delete), or a stable one."""
    return str(event.get("PhysicalResourceId") or failed_create_id(event))


def stack_region(event: dict[str, Any]) -> str:
    """The region of the request's stack (arn:partition:cloudformation:region:account:stack/name/id)."""
    parts = str(event.get("StackId", "")).split(":")
    return parts[3] if len(parts) >= 6 and parts[3] else own_region()


def own_region() -> str:
    """The function's own region."""
    return os.environ.get("AWS_REGION", "us-east-1")


def service_timeout(event: dict[str, Any]) -> float | None:
    """How long CloudFormation waits for this resource's answer (ServiceTimeout, seconds), when the event says:
    at its top level, else in ResourceProperties (both strings, CloudFormation User Guide, "Custom resource
    request objects"); None when absent or unreadable."""
    properties = event.get("ResourceProperties")
    for value in (
        event.get("ServiceTimeout"),
        properties.get("ServiceTimeout") if isinstance(properties, dict) else None,
    ):
        text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if text.isascii() and text.isdigit() and 0 < int(text) <= 3600:
            return float(text)
    return None


class Budget:
    """The invocation's time: when the answer is due, and how long waiting may last before that. The answer is
    due before the Lambda ends and before the resource's own ServiceTimeout: the function's timeout is sized
    for the stack's longest resource, so a short resource's CloudFormation gives up long before the Lambda
    would end. ServiceTimeout counts from CloudFormation's request, which is a little before this invocation
    starts: SERVICE_TIMEOUT_MARGIN_SECONDS of it are kept back for that and for the answer's way back."""

    def __init__(self, context: Any, event: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        remaining = context.get_remaining_time_in_millis() / 1000
        self.limit: float = now + remaining - RESPONSE_RESERVE_SECONDS
        waits = service_timeout(event) if event is not None else None
        if waits is not None:
            self.limit = min(self.limit, now + waits - SERVICE_TIMEOUT_MARGIN_SECONDS)

    def left(self) -> float:
        """Seconds until the answer is due."""
        return self.limit - time.monotonic()

    def deadline(self, timeout_seconds: int, reserve: float = CLEANUP_RESERVE_SECONDS) -> Deadline:
        """Wait at most `timeout_seconds`, keeping `reserve` for cleanup; waiting ends early enough for one
        last short service call (the status to report) before the answer is due."""
        return Deadline(
            max(0.0, min(float(timeout_seconds), self.left() - reserve)), limit=self.limit - _LAST_CALL_SECONDS
        )
