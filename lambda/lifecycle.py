"""What every resource type's requests share, below resources.py (connections) and data_resources.py (the
domains' REST API): the Answer, the invocation's budget, and the two checks that keep a late request from
changing anything (a copy of a request CloudFormation no longer waits for, from Lambda's queue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import ownership, request
from .errors import LateRequest
from .timing import Budget, Clock

#: Stack statuses in which CloudFormation is rolling an update back (DescribeStacks' StackStatus values).
ROLLBACK_STATUSES = frozenset({"UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"})
#: Stack statuses in which CloudFormation sends no Create: it is rolling back, deleting, cleaning up, or
#: done (DescribeStacks' StackStatus values). A Create arriving then is a late copy of one it already gave
#: up on (Lambda keeps asynchronous events for up to the maximum event age).
NO_CREATE_STATUSES = frozenset(
    {
        "CREATE_FAILED",
        "CREATE_COMPLETE",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    }
)


@dataclass(frozen=True)
class Answer:
    """What a successful request answers: the physical id and the Fn::GetAtt attributes."""

    physical_id: str
    data: dict[str, str]


def budget(event: dict[str, Any], context: Any, clock: Clock) -> Budget:
    """The invocation's time: Lambda's, and the resource's ServiceTimeout counted from the request's signing."""
    return Budget(context, request.service_timeout(event), clock, request.response_url_times(event)[0])


def check_awaited(event: dict[str, Any], clock: Clock) -> None:
    """Nothing is created, replaced or accepted once CloudFormation can no longer be waiting for the answer."""
    late = request.no_longer_awaited(event, clock.wall())
    if late is not None:
        raise LateRequest(f"Changed nothing: this {event['RequestType']} arrived too late to be answered: {late}")


def check_stack_creates(event: dict[str, Any], cloudformation: Any, allowed: frozenset[str] = frozenset()) -> None:
    """A Create (or an Update's replacement) makes nothing while the stack is rolling back, being deleted or
    done (but for `allowed` statuses): CloudFormation sends none then, so this is a late copy of a request its
    stack already gave up on. `cloudformation` is a client in the stack's region."""
    status = ownership.stack_status(cloudformation, event["StackId"])
    if status in NO_CREATE_STATUSES - allowed:
        raise LateRequest(
            f"Changed nothing: stack {event['StackId'].split('/')[-2]} is {status}, so CloudFormation is not "
            f"waiting for this {event['RequestType']} (a late copy of a request Lambda kept in its queue)"
        )
