"""What CloudFormation says about who holds a connection, and how a resource proves a connection is its own.

Ownership is proven, never guessed from an absence. CloudFormation's query API is regional, DescribeStackResources
returns only a stack's first 100 resources, whether it finds custom resources by physical id is not
documented, and a resource in DELETE_FAILED still exists (its stack's next delete deletes its connection). So
"no other stack seems to hold it" proves nothing, and a Create takes over an existing connection only when
this resource's own stack proves it (`prove_held_by_this_stack`):

- another resource of this stack, not being deleted, holds it: a renamed or moved construct (CloudFormation
  creates the new logical id, then deletes the old one in the cleanup phase);
- this very resource holds it: a re-delivered Create (the invocation is asynchronous and may arrive twice).
  A copy that overlaps the first one waits until the first copy's answer shows in the stack.

Anything else (a connection made by hand, kept by RETAIN from a deleted stack, or held by a stack of another
region) is refused with the connection's id, unless the resource names it in AdoptConnectionId
(`check_not_held_by_another_stack` then still refuses one that a stack of this region visibly holds).

A Delete leaves a connection that another resource of its stack holds (`held_elsewhere`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .contract import ADOPT_CONNECTION_ID, OWNERSHIP_ANSWER_SECONDS
from .dialects import Connection
from .errors import CloudFormationUnavailable, ConnectionFailed
from .timing import Deadline, poll_interval

logger = logging.getLogger(__name__)

#: DescribeStackResources returns at most this many of a stack's resources (botocore's cloudformation model).
FIRST_RESOURCES = 100


def _cause(error: ClientError | BotoCoreError) -> str:
    return (
        str(error.response.get("Error", {}).get("Code", "Error"))
        if isinstance(error, ClientError)
        else type(error).__name__
    )


def _resources(client: Any, stack_id: str, physical_id: str, types: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every resource of this stack of one of `types` (ListStackResources, every page). Raises
    CloudFormationUnavailable when it cannot say."""
    request: dict[str, Any] = {"StackName": stack_id}
    found: list[dict[str, Any]] = []
    try:
        while True:
            page = client.list_stack_resources(**request)
            found += [r for r in page.get("StackResourceSummaries", []) if r.get("ResourceType") in types]
            if not page.get("NextToken"):
                return found
            request["NextToken"] = page["NextToken"]
    except (ClientError, BotoCoreError) as error:
        raise CloudFormationUnavailable(
            f"could not ask CloudFormation which resources of this stack hold {physical_id} ({_cause(error)})"
        ) from error


def holders(client: Any, stack_id: str, physical_id: str, types: tuple[str, ...]) -> list[tuple[str, str]]:
    """(logical id, status) of every resource of this stack, of one of `types`, whose physical id is
    `physical_id` (ListStackResources, every page). Raises CloudFormationUnavailable when it cannot say."""
    return [
        (str(r["LogicalResourceId"]), str(r.get("ResourceStatus", "")))
        for r in _resources(client, stack_id, physical_id, types)
        if r.get("PhysicalResourceId") == physical_id
    ]


def held_elsewhere(
    client: Any,
    stack_id: str,
    logical_id: str,
    physical_id: str,
    types: tuple[str, ...],
    deadline: Deadline | None = None,
) -> str | None:
    """The logical id of another resource of this stack that holds `physical_id` and is not being deleted;
    None when there is none. ListStackResources shows a resource's physical id some seconds after its answer:
    while another live resource of the same type shows none yet (a renamed construct that just took the
    connection over), it is asked again, OWNERSHIP_ANSWER_SECONDS at most (on `deadline`'s clock). Raises
    CloudFormationUnavailable when CloudFormation cannot say."""
    started = None if deadline is None else deadline.now()
    while True:
        others = [
            r
            for r in _resources(client, stack_id, physical_id, types)
            if r.get("LogicalResourceId") != logical_id and not str(r.get("ResourceStatus", "")).startswith("DELETE_")
        ]
        holder = next((str(r["LogicalResourceId"]) for r in others if r.get("PhysicalResourceId") == physical_id), None)
        unshown = [str(r["LogicalResourceId"]) for r in others if not r.get("PhysicalResourceId")]
        if holder is not None or not unshown or deadline is None or started is None:
            return holder
        if deadline.now() - started >= OWNERSHIP_ANSWER_SECONDS or deadline.remaining() <= 1.0:
            return None
        logger.info("%s of this stack shows no physical id yet: asking again", ", ".join(unshown))
        deadline.sleep(1.0)


def prove_held_by_this_stack(
    client: Any,
    stack_id: str,
    logical_id: str,
    connection_id: str,
    types: tuple[str, ...],
    settling: Callable[[], bool],
    deadline: Deadline,
    describe: str,
    grace: float,
) -> str:
    """How this resource's stack proves `connection_id` is its own (a renamed construct, or this resource
    itself after a re-delivered Create); raises ConnectionFailed when it cannot. While the connection is still
    `settling` (another copy of this request may be working on it) and for `grace` seconds after, the stack is
    asked again: the other copy's answer shows there as this resource's physical id."""
    settled_at: float | None = None
    while True:
        try:
            found = holders(client, stack_id, connection_id, types)
        except CloudFormationUnavailable as unavailable:  # no answer is no proof either way: ask again
            if deadline.remaining() <= 5.0:
                raise
            logger.warning("%s; asking again", unavailable)
            deadline.sleep(5.0)
            continue
        if any(holder == logical_id for holder, _ in found):
            return "this resource already holds it (a repeated delivery of this request)"
        live = [holder for holder, status in found if not status.startswith("DELETE_")]
        if live:
            return f"{live[0]} of this stack holds it (a renamed or moved construct)"
        now = deadline.now()
        if settling():
            settled_at = None  # still moving on its own (again): another copy may be working on it
        elif settled_at is None:
            settled_at = now
        pause = min(5.0, max(1.0, grace / 4))
        if (settled_at is not None and now - settled_at >= grace) or deadline.remaining() <= pause:
            raise ConnectionFailed(
                f"{describe} exists and no resource of this stack holds it (another stack's or region's, or made "
                f"by hand?). To take it over set {ADOPT_CONNECTION_ID} (adopt_connection_id) to {connection_id}"
            )
        deadline.sleep(pause)


def check_not_held_by_another_stack(client: Any, stack_id: str, physical_id: str, types: tuple[str, ...]) -> None:
    """For a deliberate adoption (AdoptConnectionId): raise ConnectionFailed when a stack of this region
    visibly holds the connection, in any status but DELETE_COMPLETE (a DELETE_FAILED resource still exists).
    DescribeStackResources with PhysicalResourceId returns the holding stack's resources (its first 100 only,
    so a miss is followed by ListStackResources of that stack); its ValidationError means no stack it can see.
    A stack of another region is invisible here: that is why adoption is the user's explicit decision."""
    try:
        answer = client.describe_stack_resources(PhysicalResourceId=physical_id)
    except (ClientError, BotoCoreError) as error:
        if _cause(error) == "ValidationError":
            return
        raise ConnectionFailed(
            f"Not adopting {physical_id}: could not ask CloudFormation which stack holds it ({_cause(error)})"
        ) from error
    resources = [r for r in answer.get("StackResources", []) if r.get("ResourceType") in types]
    stacks = {str(r.get("StackId")): str(r.get("StackName")) for r in answer.get("StackResources", [])}
    held = [
        (str(r.get("StackName")), str(r.get("LogicalResourceId")), str(r.get("ResourceStatus")))
        for r in resources
        if r.get("PhysicalResourceId") == physical_id and r.get("StackId") != stack_id
    ]
    listed = answer.get("StackResources", [])
    if not held and len(listed) >= FIRST_RESOURCES:  # the holder may be past the first 100: list that stack
        for other_id, other_name in stacks.items():
            if other_id != stack_id:
                held += [(other_name, lid, status) for lid, status in holders(client, other_id, physical_id, types)]
    for stack_name, holder, status in held:
        if status != "DELETE_COMPLETE":
            raise ConnectionFailed(
                f"Connection {physical_id} belongs to stack {stack_name} ({holder}, {status}): declare each "
                "connection in one stack only (remove it there with RETAIN first)"
            )


def stack_status(client: Any, stack_id: str) -> str | None:
    """The stack's status (DescribeStacks), or None when CloudFormation cannot say."""
    try:
        stacks = client.describe_stacks(StackName=stack_id).get("Stacks", [])
    except (ClientError, BotoCoreError) as error:
        logger.warning("Could not read the status of stack %s (%s)", stack_id, _cause(error))
        return None
    return str(stacks[0].get("StackStatus")) if stacks else None


def grace_seconds(timeout_seconds: float, accepting: bool, iam_propagation_seconds: float) -> float:
    """How long after an existing connection stopped changing another copy of the same request (waiting up to
    `timeout_seconds`) may still be about to answer: its longest poll interval, plus time to answer; plus IAM's
    propagation when that copy accepts (its accept may wait out a new policy first)."""
    return poll_interval(timeout_seconds) + OWNERSHIP_ANSWER_SECONDS + (iam_propagation_seconds if accepting else 0.0)


def guard(
    cloudformation: Callable[[], Any],
    stack_id: str,
    logical_id: str,
    types: tuple[str, ...],
    adopt_id: str | None,
    look: Callable[[str], Connection | None],
    moving: frozenset[str],
    deadline: Deadline,
    grace: float,
) -> Callable[[Connection], None]:
    """What a resource checks before taking over an existing connection: the one AdoptConnectionId names,
    unless a stack of this region visibly holds it; any other only when this resource's stack proves it its
    own. `cloudformation()` gives the stack region's client; `look` re-reads a connection, which is still
    settling while its status is in `moving`."""

    def check(connection: Connection) -> None:
        connection_id = connection.connection_id
        if connection_id == adopt_id:
            check_not_held_by_another_stack(cloudformation(), stack_id, connection_id, types)
            logger.info("Adopting %s, as AdoptConnectionId asks", connection.describe())
            return

        def settling() -> bool:
            current = look(connection_id)
            return current is not None and current.status in moving

        how = prove_held_by_this_stack(
            cloudformation(),
            stack_id,
            logical_id,
            connection_id,
            types,
            settling,
            deadline,
            f"Connection {connection_id} ({connection.source.domain_name} to {connection.destination.domain_name})",
            grace,
        )
        logger.info("Taking over %s: %s", connection.describe(), how)

    return check
