"""What CloudFormation says about who holds a connection.

When a construct is renamed or moved, CloudFormation sees a new logical id: it creates the new resource (which
adopts the live connection) and later, in the cleanup phase, deletes the old one. That Delete must leave the
connection alone, because the new resource now holds it (`held_elsewhere`). A Create must not adopt a
connection that a resource of another stack holds: that stack would later delete it (`held_by_another_stack`).
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .connections import ConnectionFailed

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
        raise ConnectionFailed(
            f"Not deleting {physical_id}: could not ask CloudFormation whether another resource of this stack "
            f"holds it ({_cause(error)}). Retry the stack operation"
        ) from error


def _cause(error: ClientError | BotoCoreError) -> str:
    return (
        str(error.response.get("Error", {}).get("Code", "Error"))
        if isinstance(error, ClientError)
        else type(error).__name__
    )


def check_not_held_by_another_stack(client: Any, stack_id: str, physical_id: str, types: tuple[str, ...]) -> None:
    """Raise ConnectionFailed when a live resource of another stack holds the connection. CloudFormation finds
    the stack a physical id belongs to (DescribeStackResources with PhysicalResourceId; deleted stacks are
    listed too, with DELETE_ statuses); its ValidationError means no stack does."""
    try:
        resources = client.describe_stack_resources(PhysicalResourceId=physical_id).get("StackResources", [])
    except (ClientError, BotoCoreError) as error:
        if _cause(error) == "ValidationError":
            return
        raise ConnectionFailed(
            f"Not adopting {physical_id}: could not ask CloudFormation which stack holds it ({_cause(error)})"
        ) from error
    for resource in resources:
        if (
            resource.get("PhysicalResourceId") == physical_id
            and resource.get("StackId") != stack_id
            and resource.get("ResourceType") in types
            and not str(resource.get("ResourceStatus", "")).startswith("DELETE_")
        ):
            raise ConnectionFailed(
                f"Connection {physical_id} belongs to stack {resource.get('StackName')} "
                f"({resource.get('LogicalResourceId')}): declare each connection in one stack only"
            )
