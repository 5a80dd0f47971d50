"""Ownership proofs from CloudFormation's answers (ownership.py), on a fake CloudFormation client and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from stubs import FakeTime

from cross_cluster_search.ccs_handler.errors import CloudFormationUnavailable, ConnectionFailed
from cross_cluster_search.ccs_handler.ownership import (
    check_not_held_by_another_stack,
    grace_seconds,
    held_elsewhere,
    prove_held_by_this_stack,
    stack_status,
)
from cross_cluster_search.ccs_handler.timing import poll_interval


def ownership_grace_seconds(timeout_seconds: float) -> float:
    """The grace of a request that does not accept."""
    return grace_seconds(timeout_seconds, accepting=False, iam_propagation_seconds=40)


STACK = "arn:aws:cloudformation:us-east-1:111111111111:stack/Mine/1"
OTHER = "arn:aws:cloudformation:us-east-1:111111111111:stack/Other/2"
TYPE = "Custom::OutboundCrossClusterSearchConnection"
TYPES = (TYPE,)
CONNECTION = "cc-0123456789abcdef"


def _summary(logical_id: str, physical_id: str | None, status: str = "CREATE_COMPLETE", kind: str = TYPE) -> Any:
    item = {"LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status}
    if physical_id is not None:
        item["PhysicalResourceId"] = physical_id
    return item


class FakeCloudFormation:
    """Answers ListStackResources from `listings` (one list of pages per call, the last repeated)."""

    def __init__(self, *listings: list[Any], error: str | None = None) -> None:
        self.listings = list(listings)
        self.error = error
        self.calls: list[dict[str, Any]] = []
        self.described: dict[str, Any] = {}

    def _fail(self, operation: str) -> None:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, operation)

    def list_stack_resources(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        self._fail("ListStackResources")
        pages = self.listings[0] if len(self.listings) == 1 else self.listings.pop(0)
        index = int(request.get("NextToken", 0))
        page: dict[str, Any] = {"StackResourceSummaries": pages[index]}
        if index + 1 < len(pages):
            page["NextToken"] = str(index + 1)
        return page

    def describe_stack_resources(self, **_: Any) -> dict[str, Any]:
        self._fail("DescribeStackResources")
        return self.described

    def describe_stacks(self, **_: Any) -> dict[str, Any]:
        self._fail("DescribeStacks")
        return {"Stacks": [{"StackId": STACK, "StackStatus": "UPDATE_ROLLBACK_IN_PROGRESS"}]}


def _prove(client: FakeCloudFormation, time: FakeTime, settling: list[bool] | None = None) -> str:
    states = iter(settling or [])
    return prove_held_by_this_stack(
        client,
        STACK,
        "Mine",
        CONNECTION,
        TYPES,
        lambda: next(states, False),
        time.deadline(600),
        f"Connection {CONNECTION}",
        ownership_grace_seconds(600),
    )


def test_a_renamed_construct_of_this_stack_proves_it_on_any_page() -> None:
    client = FakeCloudFormation([[_summary("Filler", "x")] * 3, [_summary("NewName", CONNECTION, "UPDATE_COMPLETE")]])
    assert _prove(client, FakeTime()) == "NewName of this stack holds it (a renamed or moved construct)"
    assert client.calls[1] == {"StackName": STACK, "NextToken": "1"}


def test_a_repeated_delivery_is_proven_once_the_first_answer_shows() -> None:
    time = FakeTime()
    client = FakeCloudFormation(
        [[_summary("Mine", None, "CREATE_IN_PROGRESS")]],
        [[_summary("Mine", None, "CREATE_IN_PROGRESS")]],
        [[_summary("Mine", CONNECTION)]],
    )
    assert _prove(client, time, settling=[True, True]).startswith("this resource already holds it")
    assert len(client.calls) == 3


def test_no_proof_is_refused_after_the_grace_naming_the_opt_in() -> None:
    time = FakeTime()
    client = FakeCloudFormation([[_summary("Gone", CONNECTION, "DELETE_IN_PROGRESS"), _summary("Other", "cc-x")]])
    with pytest.raises(ConnectionFailed, match=f"To take it over set AdoptConnectionId .* to {CONNECTION}$"):
        _prove(client, time)
    assert ownership_grace_seconds(600) == poll_interval(600) + 5 == 25
    assert ownership_grace_seconds(600) <= time.now < ownership_grace_seconds(600) + 6


def test_the_grace_starts_again_while_the_connection_moves_again() -> None:
    """A long PROVISIONING after a short pause must not be taken for a settled connection."""
    time = FakeTime()
    client = FakeCloudFormation([[]])
    with pytest.raises(ConnectionFailed):
        _prove(client, time, settling=[False, False, True, True, True, True, True, True])
    assert time.now >= 6 * 5 + ownership_grace_seconds(600)


def test_cloudformation_that_cannot_answer_is_named() -> None:
    with pytest.raises(CloudFormationUnavailable, match=r"hold cc-0123456789abcdef \(AccessDenied\)"):
        held_elsewhere(FakeCloudFormation([[]], error="AccessDenied"), STACK, "Old", CONNECTION, TYPES)
    assert stack_status(FakeCloudFormation([[]], error="AccessDenied"), STACK) is None
    assert stack_status(FakeCloudFormation([[]]), STACK) == "UPDATE_ROLLBACK_IN_PROGRESS"


def test_held_elsewhere_ignores_resources_being_deleted_and_other_types() -> None:
    listing = [
        _summary("Old", CONNECTION, "UPDATE_COMPLETE"),
        _summary("Dying", CONNECTION, "DELETE_IN_PROGRESS"),
        _summary("Bucket", CONNECTION, kind="AWS::S3::Bucket"),
    ]
    assert held_elsewhere(FakeCloudFormation([listing]), STACK, "Old", CONNECTION, TYPES) is None
    listing.append(_summary("New", CONNECTION))
    assert held_elsewhere(FakeCloudFormation([listing]), STACK, "Old", CONNECTION, TYPES) == "New"


def _resource(stack_id: str, logical_id: str, physical_id: str, status: str) -> dict[str, str]:
    return {
        "StackId": stack_id,
        "StackName": stack_id.split("/")[1],
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": TYPE,
        "ResourceStatus": status,
    }


def test_a_deliberate_adoption_is_refused_while_a_delete_failed_resource_holds_it() -> None:
    client = FakeCloudFormation([[]])
    client.described = {"StackResources": [_resource(OTHER, "Logs", CONNECTION, "DELETE_FAILED")]}
    with pytest.raises(ConnectionFailed, match=r"belongs to stack Other \(Logs, DELETE_FAILED\)"):
        check_not_held_by_another_stack(client, STACK, CONNECTION, TYPES)
    client.described = {"StackResources": [_resource(OTHER, "Logs", CONNECTION, "DELETE_COMPLETE")]}
    check_not_held_by_another_stack(client, STACK, CONNECTION, TYPES)


def test_a_deliberate_adoption_looks_past_the_first_100_resources() -> None:
    client = FakeCloudFormation([[_summary("Filler", "x")] * 100, [_summary("Logs", CONNECTION)]])
    client.described = {
        "StackResources": [_resource(OTHER, f"Filler{i}", f"x{i}", "CREATE_COMPLETE") for i in range(100)]
    }
    with pytest.raises(ConnectionFailed, match=r"belongs to stack Other \(Logs, CREATE_COMPLETE\)"):
        check_not_held_by_another_stack(client, STACK, CONNECTION, TYPES)
    assert client.calls[0] == {"StackName": OTHER}


def test_a_deliberate_adoption_of_a_connection_no_stack_shows_goes_ahead() -> None:
    check_not_held_by_another_stack(FakeCloudFormation([[]], error="ValidationError"), STACK, CONNECTION, TYPES)
    with pytest.raises(ConnectionFailed, match="could not ask CloudFormation which stack holds it"):
        check_not_held_by_another_stack(FakeCloudFormation([[]], error="Throttling"), STACK, CONNECTION, TYPES)
