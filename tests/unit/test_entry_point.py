"""index.handler through crhelper, in-process: envelope checks, dispatch, Data and physical ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from handler_harness import ACCEPTER, ACCOUNT, Harness, harness, valid_properties

from ccs_offline.cloudformation_api import StackResource


@pytest.fixture(scope="module")
def h() -> Iterator[Harness]:
    with harness() as running:
        yield running


def test_create_update_delete_through_crhelper(h: Harness) -> None:
    created = h.send(h.event())
    assert created is not None and created["Status"] == "SUCCESS", created
    connection_id = created["PhysicalResourceId"]
    assert created["Data"] == {
        "ConnectionId": connection_id,
        "ConnectionStatus": "ACTIVE",
        "ConnectionAlias": "logs",
        "Endpoint": "",
    }

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


def _with_reserved(properties: dict[str, object]) -> dict[str, object]:
    """Properties as CloudFormation delivers them: its own keys beside ours, as strings."""
    return dict(
        properties, ServiceToken="arn:aws:lambda:us-east-1:111111111111:function:provider", ServiceTimeout="750"
    )


ACCEPTER_PROPS = {
    "SourceDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-source", "Region": "us-east-1"},
    "DestinationDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-destination", "Region": "us-east-1"},
    "TimeoutSeconds": "10",
}


def test_cloudformation_reserved_keys_are_accepted_in_every_request(h: Harness) -> None:
    props = _with_reserved(valid_properties("reserved"))
    created = h.send(h.event(properties=props, ServiceTimeout="750"))
    assert created is not None and created["Status"] == "SUCCESS", created
    connection_id = created["PhysicalResourceId"]
    new = dict(props, TimeoutSeconds="60")
    updated = h.send(
        h.event("Update", new, PhysicalResourceId=connection_id, OldResourceProperties=props, ServiceTimeout="750")
    )
    assert updated is not None and updated["Status"] == "SUCCESS", updated
    deleted = h.send(h.event("Delete", new, PhysicalResourceId=connection_id, ServiceTimeout="750"))
    assert deleted is not None and deleted["Status"] == "SUCCESS", deleted
    assert h.store.status_of(connection_id) == "DELETED"


def test_accepter_accepts_cloudformation_reserved_keys(h: Harness) -> None:
    outbound = h.send(h.event(properties=dict(valid_properties("res-acc"), AcceptConnection="false")))
    assert outbound is not None and outbound["Status"] == "SUCCESS", outbound
    accepter = _with_reserved(ACCEPTER_PROPS)
    accepted = h.send(h.event(properties=accepter, ResourceType=ACCEPTER))
    assert accepted is not None and accepted["Status"] == "SUCCESS", accepted
    updated = h.send(
        h.event(
            "Update",
            accepter,
            ResourceType=ACCEPTER,
            PhysicalResourceId=accepted["PhysicalResourceId"],
            OldResourceProperties=accepter,
        )
    )
    assert updated is not None and updated["Status"] == "SUCCESS", updated
    removed = h.send(
        h.event("Delete", accepter, ResourceType=ACCEPTER, PhysicalResourceId=outbound["PhysicalResourceId"])
    )
    assert removed is not None and removed["Status"] == "SUCCESS", removed
    assert h.store.status_of(outbound["PhysicalResourceId"]) == "DELETED"


def test_unknown_keys_still_fail_create_and_update_naming_the_key(h: Harness) -> None:
    created = h.send(h.event(properties=dict(valid_properties(), Colour="blue")))
    assert created is not None and created["Status"] == "FAILED"
    assert created["Reason"].startswith("ResourceProperties.Colour is not a supported property")
    updated = h.send(
        h.event(
            "Update",
            dict(valid_properties(), Colour="blue"),
            PhysicalResourceId="cc-0000abcdef123456",
            OldResourceProperties=valid_properties(),
        )
    )
    assert updated is not None and updated["Status"] == "FAILED"
    assert updated["PhysicalResourceId"] == "cc-0000abcdef123456"
    assert "ResourceProperties.Colour" in updated["Reason"]


@pytest.mark.parametrize(
    "written_by_another_version",
    [
        {"Colour": "blue"},  # a key a newer construct added
        {"ConnectionAlias": "a"},  # a value a later rule refuses
        {"TimeoutSeconds": "99999"},
        {"Api": "FUTURE_API"},
        {"SourceDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "Logs_Source", "Region": "us-east-1"}},
        {"DestinationDomainInfo": "not an object"},
    ],
)
def test_delete_never_fails_on_properties(h: Harness, written_by_another_version: dict[str, object]) -> None:
    created = h.send(h.event(properties=valid_properties("lenient")))
    assert created is not None and created["Status"] == "SUCCESS", created
    odd = dict(valid_properties("lenient"), **written_by_another_version)
    deleted = h.send(h.event("Delete", odd, PhysicalResourceId=created["PhysicalResourceId"]))
    assert deleted is not None and deleted["Status"] == "SUCCESS", deleted
    assert h.store.status_of(created["PhysicalResourceId"]) == "DELETED"


def test_accepter_delete_never_fails_on_properties(h: Harness) -> None:
    outbound = h.send(h.event(properties=dict(valid_properties("lenient-in"), AcceptConnection="false")))
    assert outbound is not None
    accepted = h.send(h.event(properties=ACCEPTER_PROPS, ResourceType=ACCEPTER))
    assert accepted is not None and accepted["Status"] == "SUCCESS", accepted
    odd = dict(ACCEPTER_PROPS, Colour="blue", TimeoutSeconds="0", ConnectionAlias="!")
    removed = h.send(h.event("Delete", odd, ResourceType=ACCEPTER, PhysicalResourceId=accepted["PhysicalResourceId"]))
    assert removed is not None and removed["Status"] == "SUCCESS", removed
    assert h.store.status_of(outbound["PhysicalResourceId"]) == "DELETED"


def test_failed_create_answers_a_stable_id_that_the_rollback_delete_passes(h: Harness) -> None:
    event = h.event(properties=dict(valid_properties(), ConnectionAlias="x"))
    first = h.send(event)
    again = h.send(dict(event, ResponseURL=h.endpoint.new_url()))  # the same request, delivered twice
    assert first is not None and again is not None
    assert first["Status"] == again["Status"] == "FAILED"
    assert first["PhysicalResourceId"] == again["PhysicalResourceId"]
    assert first["PhysicalResourceId"].startswith("CreateFailed-Connection-")
    rollback = h.send(h.event("Delete", event["ResourceProperties"], PhysicalResourceId=first["PhysicalResourceId"]))
    assert rollback is not None and rollback["Status"] == "SUCCESS"


def test_delete_leaves_a_connection_another_resource_of_the_stack_now_holds(h: Harness) -> None:
    """A renamed construct: the new logical id adopted the connection; the old one's cleanup Delete must not
    delete it. A holder that is itself being deleted does not count (a stack delete removes both)."""
    created = h.send(h.event(properties=valid_properties("renamed")))
    assert created is not None and created["Status"] == "SUCCESS", created
    connection_id = created["PhysicalResourceId"]
    h.holders[:] = [
        StackResource("NewName", connection_id, "Custom::OutboundCrossClusterSearchConnection", "CREATE_COMPLETE")
    ]
    try:
        kept = h.send(h.event("Delete", valid_properties("renamed"), PhysicalResourceId=connection_id))
        assert kept is not None and kept["Status"] == "SUCCESS", kept
        assert h.store.status_of(connection_id) == "ACTIVE"
        h.holders[:] = [
            StackResource(
                "NewName", connection_id, "Custom::OutboundCrossClusterSearchConnection", "DELETE_IN_PROGRESS"
            )
        ]
        deleted = h.send(h.event("Delete", valid_properties("renamed"), PhysicalResourceId=connection_id))
        assert deleted is not None and deleted["Status"] == "SUCCESS", deleted
        assert h.store.status_of(connection_id) == "DELETED"
    finally:
        h.holders.clear()


def test_delete_keeps_the_connection_loudly_when_cloudformation_cannot_say(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    created = h.send(h.event(properties=valid_properties("unknown-stack")))
    assert created is not None and created["Status"] == "SUCCESS", created
    other_stack = "arn:aws:cloudformation:us-east-1:111111111111:stack/Other/00000000-0000-0000-0000-000000000009"
    refused = h.send(
        h.event(
            "Delete",
            valid_properties("unknown-stack"),
            PhysicalResourceId=created["PhysicalResourceId"],
            StackId=other_stack,
        )
    )
    assert refused is not None and refused["Status"] == "FAILED"
    assert refused["Reason"].startswith(
        f"Kept connection {created['PhysicalResourceId']}: could not ask CloudFormation"
    )
    assert f"KEPT_CONNECTION {created['PhysicalResourceId']}" in caplog.text
    assert h.store.status_of(created["PhysicalResourceId"]) == "ACTIVE"
    deleted = h.send(
        h.event("Delete", valid_properties("unknown-stack"), PhysicalResourceId=created["PhysicalResourceId"])
    )
    assert deleted is not None and deleted["Status"] == "SUCCESS"


def test_accepter_delete_leaves_an_inbound_connection_another_accepter_of_the_stack_holds(h: Harness) -> None:
    outbound = h.send(h.event(properties=dict(valid_properties("renamed-acc"), AcceptConnection="false")))
    assert outbound is not None
    accepted = h.send(h.event(properties=ACCEPTER_PROPS, ResourceType=ACCEPTER))
    assert accepted is not None and accepted["Status"] == "SUCCESS", accepted
    connection_id = accepted["PhysicalResourceId"]
    h.holders[:] = [StackResource("MovedAccepter", connection_id, ACCEPTER, "UPDATE_COMPLETE")]
    try:
        kept = h.send(h.event("Delete", ACCEPTER_PROPS, ResourceType=ACCEPTER, PhysicalResourceId=connection_id))
        assert kept is not None and kept["Status"] == "SUCCESS", kept
        assert h.store.status_of(connection_id) in ("APPROVED", "PROVISIONING", "ACTIVE")
    finally:
        h.holders.clear()
    removed = h.send(h.event("Delete", ACCEPTER_PROPS, ResourceType=ACCEPTER, PhysicalResourceId=connection_id))
    assert removed is not None and removed["Status"] == "SUCCESS"
    assert h.store.status_of(connection_id) == "DELETED"
