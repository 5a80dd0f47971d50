"""The request around the properties: is it well-formed, which ids, types and regions it names, how long
CloudFormation waits for its answer.

CloudFormation never sends a malformed request, but a fuzzer or a hand-made invocation may; every one that
has a ResponseURL still gets a FAILED answer naming the field.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .contract import ACCEPTER_TYPE, ALL_TYPES, OUTBOUND_TYPE, RESOURCE_TYPES, SERVICE_TIMEOUT_MAX_SECONDS
from .properties import InvalidInput, whole_seconds

REQUEST_TYPES = ("Create", "Update", "Delete")
#: Set on a stand-in event when the request itself was malformed; the create callback reports it.
PROBLEM = "X-EnvelopeProblem"


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
            event.get("ResourceType") in ALL_TYPES,
            " or ".join(ALL_TYPES).join(["must be ", ""]),
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
        seconds = whole_seconds(str(value) if isinstance(value, int) and not isinstance(value, bool) else value)
        if seconds is not None and 0 < seconds <= SERVICE_TIMEOUT_MAX_SECONDS:
            return float(seconds)
    return None


#: How long CloudFormation waits for a custom resource without ServiceTimeout: one hour (CloudFormation User
#: Guide, "Custom resources": the ServiceTimeout property's default and maximum).
DEFAULT_SERVICE_TIMEOUT_SECONDS = SERVICE_TIMEOUT_MAX_SECONDS


def _query_value(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def response_url_times(event: dict[str, Any]) -> tuple[float | None, float | None]:
    """(signed, expires) in epoch seconds, as the pre-signed S3 ResponseURL carries them: SigV4 URLs have
    X-Amz-Date (YYYYMMDD'T'HHMMSS'Z') and X-Amz-Expires (seconds); older SigV2 URLs only Expires (epoch
    seconds). CloudFormation signs the URL when it sends the request. None for what the URL does not say."""
    query = parse_qs(urlsplit(str(event.get("ResponseURL", ""))).query)
    signed = expires = None
    date = _query_value(query, "X-Amz-Date")
    if date is not None:
        try:
            signed = float(calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ")))
        except ValueError:
            signed = None
        lifetime = whole_seconds(_query_value(query, "X-Amz-Expires"))
        expires = None if signed is None or lifetime is None else signed + lifetime
    else:
        expires_value = whole_seconds(_query_value(query, "Expires"))
        expires = None if expires_value is None else float(expires_value)
    return signed, expires


def no_longer_awaited(event: dict[str, Any], wall_now: float) -> str | None:
    """Why CloudFormation can no longer be waiting for this request's answer (its ResponseURL expired, or the
    resource's ServiceTimeout has passed since the URL was signed), or None. Lambda may deliver an
    asynchronous event long after it was sent: it keeps events that met throttling or a 5xx in its queue for
    up to the function's maximum event age ("How Lambda handles errors and retries with asynchronous
    invocation", Lambda Developer Guide)."""
    signed, expires = response_url_times(event)
    shown = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_now))
    if expires is not None and wall_now > expires:
        return f"its ResponseURL expired at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(expires))} (now {shown})"
    waits = service_timeout(event) or DEFAULT_SERVICE_TIMEOUT_SECONDS
    if signed is not None and wall_now > signed + waits:
        sent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed))
        return f"CloudFormation sent it at {sent} and waits {waits:.0f} s for an answer (now {shown})"
    return None


def own_types(event: dict[str, Any]) -> tuple[str, ...]:
    """The resource types that may hold this resource's connection: an outbound connection and its accepter
    share the connection id, so each is held only by resources of its own type."""
    own = event.get("ResourceType")
    return (own,) if own in RESOURCE_TYPES else RESOURCE_TYPES
