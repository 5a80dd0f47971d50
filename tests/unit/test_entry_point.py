"""index.handler through crhelper, in-process: envelope checks, dispatch, Data and physical ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from handler_harness import ACCEPTER, ACCOUNT, Harness, harness, valid_properties


@pytest.fixture(scope="module")
def h() -> Iterator[Harness]:
    with harness() as running:
        yield running


def test_create_update_delete_through_crhelper(h: Harness) -> None:
    created = h.send(h.event())
    assert created is not None and created["Status"] == "SUCCESS", created
    connection_id = created["PhysicalResourceId"]
    assert created["Data"] == {"ConnectionId": connection_id, "ConnectionStatus": "ACTIVE", "ConnectionAlias": "logs"}

    props = valid_properties()
    updated = h.send(
        h.event(
            "Update", dict(props, TimeoutSeconds="60"), PhysicalResourceId=connection_id, OldResourceProperties=props
        )
    )
    assert updated is not None and updated["PhysicalResourceId"] == connection_id

    deleted = h.send(h.event("Delete", props, PhysicalResourceId=connection_id))
    assert deleted is not None and deleted["Status"] == "SUCCESS"
    assert h.store.status_of(connection_id) == "DELETED"


def test_update_with_unreadable_old_properties_replaces(h: Harness) -> None:
    created = h.send(h.event(properties=valid_properties("before")))
    assert created is not None
    replaced = h.send(
        h.event(
            "Update",
            valid_properties("after"),
            PhysicalResourceId=created["PhysicalResourceId"],
            OldResourceProperties="garbage",
        )
    )
    assert replaced is not None and replaced["Status"] == "SUCCESS"
    assert replaced["PhysicalResourceId"] != created["PhysicalResourceId"]
    for physical_id, alias in ((created["PhysicalResourceId"], "before"), (replaced["PhysicalResourceId"], "after")):
        h.send(h.event("Delete", valid_properties(alias), PhysicalResourceId=physical_id))
    assert not h.store.live()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"RequestType": "Upsert"}, "RequestType"),
        ({"ResourceType": "Custom::Other"}, "ResourceType"),
        ({"StackId": 7}, "StackId"),
        ({"RequestId": ""}, "RequestId"),
        ({"RequestType": "Delete"}, "PhysicalResourceId"),
    ],
)
def test_malformed_requests_fail_naming_the_field(h: Harness, change: dict[str, object], field: str) -> None:
    response = h.send(dict(h.event(), **change))
    assert response is not None and response["Status"] == "FAILED"
    assert response["Reason"].startswith(field + " ")


def test_requests_without_a_response_url_are_ignored(h: Harness) -> None:
    assert h.send({"RequestType": "Create"}) is None
    assert h.send(["not", "an", "event"]) is None


def test_accepter_waits_for_the_request_and_accepts(h: Harness) -> None:
    accepter = {
        "SourceDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-source", "Region": "us-east-1"},
        "DestinationDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-destination", "Region": "us-east-1"},
        "TimeoutSeconds": "10",
    }
    outbound = h.send(h.event(properties=dict(valid_properties("pending"), AcceptConnection="false")))
    assert outbound is not None and outbound["Data"]["ConnectionStatus"] == "PENDING_ACCEPTANCE"

    accepted = h.send(h.event(properties=accepter, ResourceType=ACCEPTER))
    assert accepted is not None and accepted["Status"] == "SUCCESS", accepted
    assert accepted["PhysicalResourceId"] == outbound["PhysicalResourceId"]
    assert accepted["Data"]["ConnectionStatus"] == "APPROVED"

    again = h.send(
        h.event(
            "Update",
            accepter,
            ResourceType=ACCEPTER,
            PhysicalResourceId=outbound["PhysicalResourceId"],
            OldResourceProperties=accepter,
        )
    )
    assert again is not None and again["PhysicalResourceId"] == outbound["PhysicalResourceId"]

    removed = h.send(
        h.event("Delete", accepter, ResourceType=ACCEPTER, PhysicalResourceId=accepted["PhysicalResourceId"])
    )
    assert removed is not None and removed["Status"] == "SUCCESS"
    assert h.store.status_of(outbound["PhysicalResourceId"]) == "DELETED"
