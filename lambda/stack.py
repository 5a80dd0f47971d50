"""What the request's own stack says: whether another of its resources holds a connection.

When a construct is renamed or moved, CloudFormation sees a new logical id: it creates the new resource (which
adopts the live connection) and later, in the cleanup phase, deletes the old one. That Delete must leave the
connection alone, because the new resource now holds it.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from connections import ConnectionFailed

logger = logging.getLogger(__name__)


def held_elsewhere(client: Any, stack_id: str, logical_id: str, physical_id: str, types: tuple[str, ...]) -> str | None:
    """The logical id of another resource of this stack, of one of `types`, that is not being deleted and has
    `physical_id` as its physical id; None when there is none. Raises ConnectionFailed when CloudFormation
    cannot say: a connection another resource holds must never be deleted on a guess."""
    request: dict[str, Any] = {"StackName": stack_id}
    try:
        while True:
            page = client.list_stack_resources(**request)
            for resource in page.get("StackResourceSummaries", []):
                if (
                    resource.get("PhysicalResourceId") == physical_id
                    and resource.get("LogicalResourceId") != logical_id
                    and resource.get("ResourceType") in types
                    and not str(resource.get("ResourceStatus", "")).startswith("DELETE_")
                ):
                    return str(resource["LogicalResourceId"])
            if not page.get("NextToken"):
                return None
            request["NextToken"] = page["NextToken"]
    except (ClientError, BotoCoreError) as error:
        cause = (
            error.response.get("Error", {}).get("Code", "Error")
            if isinstance(error, ClientError)
            else type(error).__name__
        )
        raise ConnectionFailed(
            f"Not deleting {physical_id}: could not ask CloudFormation whether another resource of this stack "
            f"holds it ({cause}). Retry the stack operation"
        ) from error
