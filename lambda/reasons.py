"""A FAILED answer's Reason as CloudFormation shows it: no secret value, and the start kept."""

from __future__ import annotations

from typing import Any

from .contract import EXTERNAL_ID

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
