"""The synthesized template and the bundled handler, end to end, against the emulator."""

from __future__ import annotations

import pytest
from conftest import ACCEPT_ROLE, ACCOUNT, OTHER_ACCOUNT, Assembly

from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.world import World


def test_create_with_auto_accept_in_the_same_region_is_active(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)

    assert created.ok, created.reason
    assert created.data == {
        "ConnectionId": created.physical_id,
        "ConnectionStatus": "ACTIVE",
        "ConnectionAlias": "same",
        "Endpoint": "",
    }
    assert world.store.status_of(created.physical_id) == "ACTIVE"
    deleted = cfn.delete(logical_id)
    assert deleted.ok
    assert world.store.status_of(created.physical_id) == "DELETED"


def test_cross_region_auto_accept_accepts_in_the_destination_region(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    created = cfn.create(assembly.ids["CrossRegion"])

    assert created.ok, created.reason
    assert created.data["ConnectionStatus"] == "ACTIVE"
    accepts = [c for c in world.store.calls if c.operation.startswith("AcceptInbound")]
    assert [(c.account, c.region, c.status) for c in accepts] == [(ACCOUNT, "eu-west-1", 200)]
    assert cfn.delete(assembly.ids["CrossRegion"]).ok


def test_other_account_without_accept_stops_at_pending_acceptance(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    created = cfn.create(assembly.ids["CrossAccount"])

    assert created.ok, created.reason
    assert created.data["ConnectionStatus"] == "PENDING_ACCEPTANCE"
    assert not any(c.operation.startswith("AcceptInbound") for c in world.store.calls)
    assert cfn.delete(assembly.ids["CrossAccount"]).ok


def test_template_booleans_and_numbers_arrive_as_strings(assembly: Assembly, cfn: LocalCloudFormation) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id, {"AcceptConnection": False, "TimeoutSeconds": 120})

    assert cfn.deployed[logical_id].properties["AcceptConnection"] == "false"
    assert cfn.deployed[logical_id].properties["TimeoutSeconds"] == "120"
    assert created.ok, created.reason
    assert created.data["ConnectionStatus"] == "PENDING_ACCEPTANCE"
    assert cfn.delete(logical_id).ok


def test_update_of_options_keeps_the_id(assembly: Assembly, cfn: LocalCloudFormation) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    updated = cfn.update(logical_id, {"TimeoutSeconds": "300"})

    assert updated.ok and updated.physical_id == created.physical_id
    assert cfn.delete(logical_id).ok


def test_replacement_with_a_new_alias_creates_then_cloudformation_deletes_the_old(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    replaced = cfn.update(logical_id, {"ConnectionAlias": "same-v2"})

    assert replaced.ok and replaced.physical_id != created.physical_id
    assert world.store.status_of(created.physical_id) == "DELETED"
    assert world.store.status_of(replaced.physical_id) == "ACTIVE"
    assert cfn.delete(logical_id).ok


def test_replacement_keeping_the_alias_deletes_the_old_connection_first_when_allowed(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    moved = cfn.update(
        logical_id,
        {
            "DestinationDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-remote", "Region": "eu-west-1"},
            "ReplaceByDeletingFirst": "true",
        },
    )

    assert moved.ok, moved.reason
    assert moved.physical_id != created.physical_id
    assert world.store.status_of(created.physical_id) == "DELETED"
    assert world.store.connections[moved.physical_id].alias == "same"
    cleanup = cfn.history[-1]
    assert (cleanup.request_type, cleanup.physical_id, cleanup.ok) == ("Delete", created.physical_id, True)
    assert cfn.delete(logical_id).ok


def test_validation_failure_fails_the_create_and_rollback_leaves_nothing(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    del world.store.domains[(ACCOUNT, "us-east-1", "logs-local")]
    created = cfn.create(assembly.ids["SameRegion"])

    assert not created.ok
    assert "VALIDATION_FAILED" in created.reason and "logs-local does not exist" in created.reason
    rollback = cfn.history[-1]
    assert (rollback.request_type, rollback.physical_id, rollback.ok) == ("Delete", created.physical_id, True)
    assert not world.store.live()


def test_rejection_fails_the_create_and_rollback_leaves_nothing(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.faults.reject_all = True
    created = cfn.create(assembly.ids["SameRegion"])

    assert not created.ok
    assert "REJECT" in created.reason and "Rejected by the destination domain owner" in created.reason
    assert cfn.history[-1].ok


def test_delete_of_unknown_and_crhelper_generated_ids_succeeds(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    definition = cfn.definition(assembly.ids["SameRegion"])
    properties = cfn.properties(definition)

    def deletes() -> list[str | None]:
        return [c.error for c in world.store.calls if c.operation.startswith("DeleteOutbound")]

    # An id the service never knew is asked about again for a while (it may not be listed yet), then gone.
    response = cfn.send(definition, cfn.event("Delete", definition, properties, "cc-0000000000unknown"))
    assert response.ok, response.reason
    asked = deletes()
    assert asked and set(asked) == {"ResourceNotFoundException"}
    for physical_id in (f"Offline_{definition.logical_id}_AB12CD34", f"Offline-{definition.logical_id}-1X2Y3Z4W"):
        response = cfn.send(definition, cfn.event("Delete", definition, properties, physical_id))
        assert response.ok, response.reason
    assert deletes() == asked, "only the id that looks like a connection id is asked about"


def test_a_storm_of_throttling_and_5xx_is_absorbed(assembly: Assembly, world: World, cfn: LocalCloudFormation) -> None:
    world.store.faults.throttle_next = 2
    world.store.faults.error_next = 1
    world.store.faults.rate_per_second = 2
    created = cfn.create(assembly.ids["SameRegion"])

    assert created.ok, created.reason
    errors = [c.error for c in world.store.calls if c.error]
    assert errors.count("ThrottlingException") >= 2 and errors.count("InternalException") == 1
    world.store.faults.rate_per_second = None
    assert cfn.delete(assembly.ids["SameRegion"]).ok


def test_a_stuck_connection_fails_with_a_clear_reason_before_the_lambda_times_out(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.faults.stuck_in = {"VALIDATING"}
    created = cfn.create(assembly.ids["SameRegion"], {"TimeoutSeconds": "10"})

    assert not created.ok
    assert "Timed out after 10 s" in created.reason and "VALIDATING" in created.reason
    assert created.latency < cfn.definition(assembly.ids["SameRegion"]).function.timeout
    world.store.faults.stuck_in = set()
    assert not world.store.live()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ConnectionAlias": "9-lives"}, "ConnectionAlias"),
        ({"TimeoutSeconds": "forever"}, "TimeoutSeconds"),
        (
            {"SourceDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "UPPER", "Region": "us-east-1"}},
            "SourceDomainInfo.DomainName",
        ),
        ({"AcceptConnection": "yes"}, "AcceptConnection"),
    ],
)
def test_invalid_properties_fail_naming_the_field(
    assembly: Assembly, world: World, cfn: LocalCloudFormation, overrides: dict[str, object], field: str
) -> None:
    created = cfn.create(assembly.ids["SameRegion"], overrides)

    assert not created.ok
    assert created.reason.startswith(field + " ")
    assert not world.store.calls, "no AWS call with invalid parameters"


def test_cross_account_accept_through_a_role(assembly: Assembly, world: World, cfn: LocalCloudFormation) -> None:
    world.store.add_role(ACCEPT_ROLE, {ACCOUNT}, external_id="shared-secret")
    created = cfn.create(assembly.ids["ViaRole"])

    assert created.ok, created.reason
    assert created.data["ConnectionStatus"] == "ACTIVE"
    accepts = [c for c in world.store.calls if c.operation.startswith("AcceptInbound")]
    assert [(c.account, c.region) for c in accepts] == [(OTHER_ACCOUNT, "us-east-1")]
    assert cfn.delete(assembly.ids["ViaRole"]).ok


def test_role_that_cannot_be_assumed_fails_and_cleans_up(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    created = cfn.create(assembly.ids["ViaRole"])

    assert not created.ok
    assert "AccessDenied" in created.reason
    assert not world.store.live()


def test_failed_update_is_rolled_back_and_the_connection_survives(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    world.store.domains.pop((ACCOUNT, "eu-west-1", "logs-remote"))
    failed = cfn.update(
        logical_id,
        {
            "DestinationDomainInfo": {"OwnerId": ACCOUNT, "DomainName": "logs-remote", "Region": "eu-west-1"},
            "ReplaceByDeletingFirst": "true",
        },
    )

    assert not failed.ok and "VALIDATION_FAILED" in failed.reason
    rollback = cfn.history[-1]
    assert (rollback.request_type, rollback.ok) == ("Update", True)
    assert cfn.deployed[logical_id].physical_id == rollback.physical_id
    [survivor] = world.store.live()
    assert (survivor.connection_id, survivor.destination["DomainName"]) == (rollback.physical_id, "logs-local")
    assert world.store.status_of(created.physical_id) == "DELETED" or rollback.physical_id == created.physical_id
    assert cfn.delete(logical_id).ok
