"""The service as it really is (issue 14), through the bundled asset: API affinity on accept, IAM propagation,
lost create answers, answers within the resource's ServiceTimeout, reasons that keep their start, time-outs
that say what they were doing. Each behaviour is an emulator setting (ccs_offline/emulator.py, Realism)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import OTHER_ACCOUNT, OTHER_OWNER, Assembly, partner_request

from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.world import World
from cross_cluster_search.ccs_handler.contract import service_timeout_seconds

ES_DESCRIBE = "DescribeOutboundCrossClusterSearchConnections"


def _delete_partner_requests(world: World, ids: list[str]) -> None:
    client = world.emulator.client("es", OTHER_ACCOUNT, OTHER_OWNER.region)
    for connection_id in ids:
        client.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=connection_id)
    while any(c.status == "DELETING" for c in world.store.live()):
        time.sleep(0.05)


# --- 1. API affinity --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("created_with", "accepter"),
    [("opensearch", "Accepter"), ("es", "OpenSearchAccepter")],
    ids=["opensearch-created-es-accepter", "es-created-opensearch-accepter"],
)
def test_an_accepter_accepts_a_request_created_through_the_other_api(
    assembly: Assembly, world: World, cfn: LocalCloudFormation, created_with: str, accepter: str
) -> None:
    assert world.store.realism.api_affinity  # the emulator's default: the service's real rule
    connection_id = partner_request(world, "partner", created_with)
    logical_id = assembly.ids[accepter]

    accepted = cfn.create(logical_id)

    assert accepted.ok, accepted.reason
    assert accepted.physical_id == connection_id
    assert world.store.status_of(connection_id) in ("APPROVED", "PROVISIONING", "ACTIVE")
    assert cfn.delete(logical_id).ok


def test_an_in_place_switch_of_api_still_accepts_through_the_creating_api(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """Created through the ES API and left pending; the Update switches to the OpenSearch API and turns
    accepting on: the id stays, and the accept goes through the API that created the connection."""
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id, {"AcceptConnection": "false"})
    assert created.ok and created.data["ConnectionStatus"] == "PENDING_ACCEPTANCE", created.reason

    updated = cfn.update(logical_id, {"AcceptConnection": "true", "Api": "OPENSEARCH"})

    assert updated.ok, updated.reason
    assert updated.physical_id == created.physical_id
    assert world.store.status_of(created.physical_id) == "ACTIVE"
    assert cfn.delete(logical_id).ok


# --- 2. IAM eventual consistency ----------------------------------------------------------------------
def test_a_first_deploy_waits_out_a_policy_that_is_still_propagating(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.realism.iam_propagation_seconds = 4.0
    logical_id = assembly.ids["SameRegion"]

    created = cfn.create(logical_id)

    assert created.ok, created.reason
    denied = [c for c in world.store.calls if c.error == "AccessDeniedException"]
    assert denied, "the emulator denied nothing: the test proves nothing"
    assert world.store.status_of(created.physical_id) == "ACTIVE"
    assert cfn.delete(logical_id).ok


def test_a_role_really_lacking_an_action_fails_within_a_minute_naming_it(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.realism.denied_actions = {"es:CreateOutboundConnection"}
    created = cfn.create(assembly.ids["SameRegion"])

    assert not created.ok
    assert created.reason.startswith("Not allowed: es:CreateOutboundConnection for connection 'same'"), created.reason
    assert "Grant" in created.reason
    assert created.latency < 60
    assert world.store.live() == []


# --- 3. A create whose answer was lost ----------------------------------------------------------------
def test_a_create_whose_answer_was_lost_is_this_requests_and_is_deleted_when_a_later_step_fails(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.realism.lost_create_answers = 1  # made, but answered 500: the retry finds it existing
    world.store.faults.stuck_in = {"VALIDATING"}  # the later step that fails
    created = cfn.create(assembly.ids["SameRegion"], {"TimeoutSeconds": "10"})

    assert not created.ok
    assert "Timed out" in created.reason, created.reason
    [made] = list(world.store.connections.values())
    assert world.store.status_of(made.connection_id) in ("DELETING", "DELETED")  # not leaked


def test_when_the_cleanup_cannot_finish_the_rollback_delete_gets_the_connections_id(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.realism.lost_create_answers = 1
    world.store.faults.stuck_in = {"VALIDATING", "DELETING"}  # the create's wait fails, and so does its cleanup
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id, {"TimeoutSeconds": "10", "ServiceTimeout": str(service_timeout_seconds(10))})

    assert not created.ok
    [made] = list(world.store.connections.values())
    assert created.physical_id == made.connection_id, created.physical_id
    rollback = cfn.history[-1]
    assert rollback.request_type == "Delete" and rollback.physical_id == made.connection_id
    assert created.latency < service_timeout_seconds(10)
    world.store.faults.stuck_in = set()
    assert world.store.status_of(made.connection_id) in ("DELETING", "DELETED")


def test_a_create_whose_answer_was_lost_succeeds_with_one_connection(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.realism.lost_create_answers = 1
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)

    assert created.ok, created.reason
    assert [(c.connection_id, c.status) for c in world.store.live()] == [(created.physical_id, "ACTIVE")]
    assert cfn.delete(logical_id).ok


# --- 4. Answers in time -------------------------------------------------------------------------------
@pytest.mark.real_time  # botocore's read timeouts are real seconds
def test_a_short_resource_answers_before_its_service_timeout_when_describes_are_slow(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """A resource with timeout=Duration.seconds(10) in a stack whose function is sized for 600 s waits:
    CloudFormation gives up on it after its own ServiceTimeout (160 s), long before the Lambda would end."""
    world.store.realism.slow_answers = {ES_DESCRIBE: 12.0}  # beyond any read timeout the handler uses
    waits = service_timeout_seconds(10)
    definition = cfn.definition(assembly.ids["SameRegion"])
    assert definition.function.timeout > waits  # the function's timeout is no bound here

    answer = cfn.create(definition.logical_id, {"TimeoutSeconds": "10", "ServiceTimeout": str(waits)})

    assert not answer.ok
    assert answer.latency < waits, f"answered after {answer.latency:.0f} s, CloudFormation waits {waits} s"
    world.store.realism.slow_answers = {}


# --- 5. Reasons that keep their start -----------------------------------------------------------------
def test_a_long_reason_keeps_its_start(assembly: Assembly, world: World, cfn: LocalCloudFormation) -> None:
    ids = [partner_request(world, f"partner{n}") for n in range(6)]
    answer = cfn.create(assembly.ids["Accepter"])

    assert not answer.ok
    assert answer.reason.startswith("6 requests from partner-logs to logs-source: "), answer.reason
    assert len(answer.reason) <= 256
    _delete_partner_requests(world, ids)


def test_the_external_id_never_appears_in_a_reason(assembly: Assembly, cfn: LocalCloudFormation) -> None:
    answer = cfn.create(assembly.ids["ViaRole"], {"AcceptRoleArn": ""})

    assert not answer.ok
    assert answer.reason.startswith("AcceptRoleExternalId needs AcceptRoleArn"), answer.reason
    assert "shared-secret" not in answer.reason
    assert "shared-secret" not in answer.logs


# --- 6. Time-outs that say what they were doing --------------------------------------------------------
@pytest.mark.real_time  # botocore's read timeouts are real seconds
def test_a_read_timeout_says_which_call_for_which_connection_and_what_to_do(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    short: dict[str, Any] = {"TimeoutSeconds": "10", "ServiceTimeout": str(service_timeout_seconds(10))}
    created = cfn.create(logical_id, short)
    assert created.ok, created.reason
    world.store.realism.slow_answers = {ES_DESCRIBE: 12.0}

    answer = cfn.delete(logical_id)

    assert not answer.ok
    assert answer.reason.startswith(f"No answer to {ES_DESCRIBE} for connection {created.physical_id} "), answer.reason
    assert "read timeout" in answer.reason and "retry the stack operation" in answer.reason
    assert "Read timeout on endpoint URL" not in answer.reason
    world.store.realism.slow_answers = {}
    assert cfn.delete(logical_id).ok
