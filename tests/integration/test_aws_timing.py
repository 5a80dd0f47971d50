"""Connections under AWS's timing (issue 19), through the bundled asset: Describe that lags behind the call
that made or accepted a connection, copies of an event that Lambda delivers late, a ResponseURL with no route
or one that refuses the answer, status codes no model lists. Each behaviour is a stand-in setting that names
its source (ccs_offline/emulator.py Realism and Faults, response_url.py, local_cloudformation.py)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from conftest import ACCOUNT, OTHER_ACCOUNT, OTHER_OWNER, SOURCE, Assembly, partner_request

from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.world import World
from cross_cluster_search.ccs_handler.contract import service_timeout_seconds

LAG = 2.5  #: seconds Describe lags behind a create or an accept


# --- 1. Read-after-write lag ----------------------------------------------------------------------------
@pytest.mark.parametrize("construct", ["SameRegion", "OpenSearchApi"])
def test_a_create_succeeds_while_describe_lags_behind_it(
    assembly: Assembly, world: World, cfn: LocalCloudFormation, construct: str
) -> None:
    world.store.realism.describe_lag_seconds = LAG
    logical_id = assembly.ids[construct]

    created = cfn.create(logical_id)

    assert created.ok, created.reason
    assert created.data["ConnectionStatus"] == "ACTIVE"
    assert [c.connection_id for c in world.store.live()] == [created.physical_id]
    assert cfn.delete(logical_id).ok


def test_an_accepter_and_its_update_succeed_while_describe_lags_behind_the_accept(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.realism.describe_lag_seconds = LAG
    connection_id = partner_request(world)
    logical_id = assembly.ids["Accepter"]

    accepted = cfn.create(logical_id)
    assert accepted.ok, accepted.reason
    assert accepted.physical_id == connection_id
    updated = cfn.update(logical_id, {"TimeoutSeconds": "11"})  # right away: the accept may not show yet

    assert updated.ok, updated.reason
    assert updated.physical_id == connection_id
    assert world.store.status_of(connection_id) in ("APPROVED", "PROVISIONING", "ACTIVE")
    assert cfn.delete(logical_id).ok


def test_a_failed_create_whose_cleanup_cannot_see_its_connection_names_it_for_the_rollback(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """The connection is not listed for longer than the resource waits: the cleanup cannot confirm its delete,
    so the FAILED answer carries the connection's id and CloudFormation's rollback Delete deletes it."""
    world.store.realism.describe_lag_seconds = 45.0
    logical_id = assembly.ids["SameRegion"]
    short: dict[str, Any] = {"TimeoutSeconds": "10", "ServiceTimeout": str(service_timeout_seconds(10))}

    failed = cfn.create(logical_id, short)  # then the rollback Delete, with the answer's physical id

    assert not failed.ok
    assert failed.physical_id.startswith("cc-"), failed.physical_id
    assert f"KEPT_CONNECTION {failed.physical_id}" in failed.logs
    rollback = cfn.history[-1]
    assert (rollback.request_type, rollback.physical_id, rollback.status) == ("Delete", failed.physical_id, "SUCCESS")
    assert world.store.status_of(failed.physical_id) in ("DELETING", "DELETED")


# --- 2. Late and repeated events ------------------------------------------------------------------------
def _fill_outbound_limit(world: World, keep_free: int = 0) -> list[str]:
    client = world.emulator.client("es", ACCOUNT, SOURCE.region)
    made = []
    for index in range(20 - keep_free):
        answer = client.create_outbound_cross_cluster_search_connection(
            SourceDomainInfo={"OwnerId": ACCOUNT, "DomainName": SOURCE.domain_name, "Region": SOURCE.region},
            DestinationDomainInfo={"OwnerId": OTHER_ACCOUNT, "DomainName": "filler", "Region": SOURCE.region},
            ConnectionAlias=f"filler{index}",
        )
        made.append(str(answer["CrossClusterSearchConnectionId"]))
    return made


def _delete_all(world: World, ids: list[str]) -> None:
    client = world.emulator.client("es", ACCOUNT, SOURCE.region)
    for connection_id in ids:
        client.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=connection_id)


@pytest.mark.leaves_connections
def test_a_late_copy_of_a_create_after_its_stack_rolled_back_creates_nothing(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.add_domain(OTHER_ACCOUNT, SOURCE.region, "filler")
    fillers = _fill_outbound_limit(world)
    logical_id = assembly.ids["SameRegion"]
    cfn.stack_status = "CREATE_IN_PROGRESS"
    first = cfn.create(logical_id)  # LimitExceeded, then the rollback Delete
    assert not first.ok and "LimitExceededException" in first.reason, first.reason
    cfn.stack_status = "ROLLBACK_COMPLETE"
    [event] = [e for e in cfn.sent if e["RequestType"] == "Create"]
    _delete_all(world, fillers[:1])  # a slot frees up while Lambda still holds a copy of the event

    late = cfn.redeliver(event)

    assert not late.ok
    assert "Changed nothing" in late.reason and "ROLLBACK_COMPLETE" in late.reason, late.reason
    assert not [c for c in world.store.live() if c.alias == "same"]
    _delete_all(world, fillers[1:])


def test_a_copy_arriving_after_cloudformation_stopped_waiting_changes_nothing(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    definition = cfn.definition(logical_id)
    properties = cfn.properties(definition)
    waits = int(properties["ServiceTimeout"])
    cfn.stack_status = "CREATE_IN_PROGRESS"  # the stack looks busy: only the URL's time tells
    event = cfn.event("Create", definition, properties)
    event["ResponseURL"] = cfn.invoker.endpoint.new_url(signed_at=world.clock.wall() - waits - 5)

    late = cfn.send(definition, event)

    assert not late.ok
    assert late.reason.startswith("Changed nothing: this Create arrived too late"), late.reason
    assert world.store.live() == []
    created = cfn.create(logical_id)
    update = cfn.event("Update", definition, cfn.properties(definition, {"ConnectionAlias": "same-v2"}))
    update["PhysicalResourceId"] = created.physical_id
    # An older SigV2 URL says only when it expires: expired, nothing is replaced either.
    update["ResponseURL"] = cfn.invoker.endpoint.new_url(signed_at=world.clock.wall() - 7300, sigv2=True)
    refused = cfn.send(definition, update)
    assert not refused.ok and "its ResponseURL expired" in refused.reason, refused.reason
    assert [(c.connection_id, c.alias) for c in world.store.live()] == [(created.physical_id, "same")]
    assert cfn.delete(logical_id).ok


def test_the_time_in_lambdas_queue_counts_against_the_service_timeout(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.faults.stuck_in = {"VALIDATING"}
    logical_id = assembly.ids["SameRegion"]
    definition = cfn.definition(logical_id)
    properties = cfn.properties(definition)
    waits = int(properties["ServiceTimeout"])  # 600 s of waiting, 750 s of ServiceTimeout
    queued = waits - 60  # the event waited in Lambda's queue: CloudFormation gives up 60 s after delivery
    event = cfn.event("Create", definition, properties)
    event["ResponseURL"] = cfn.invoker.endpoint.new_url(signed_at=world.clock.wall() - queued)

    answer = cfn.send(definition, event)

    assert not answer.ok
    assert queued + answer.latency < waits, f"answered {queued + answer.latency:.0f} s after the request"
    world.store.faults.stuck_in = set()
    rollback = cfn.send(definition, cfn.event("Delete", definition, properties, answer.physical_id))
    assert rollback.ok


# --- 3. No route to the ResponseURL ---------------------------------------------------------------------
def test_a_response_url_that_cannot_be_reached_changes_nothing(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    definition = cfn.definition(assembly.ids["SameRegion"])
    event = cfn.event("Create", definition, cfn.properties(definition))
    event["ResponseURL"] = cfn.invoker.endpoint.unreachable_url()

    invoked = cfn.invoker.invoke(definition.function, event, (cfn.stack.account, cfn.stack.region))

    assert not invoked.timed_out  # crhelper's own sender would try for ever
    assert "Changed nothing: no answer could reach CloudFormation's ResponseURL host" in invoked.logs
    assert world.store.live() == []
    assert not [call for call in world.store.calls if call.operation.startswith("Create")]


def test_an_answer_s3_refuses_is_not_taken_as_delivered(assembly: Assembly, cfn: LocalCloudFormation) -> None:
    logical_id = assembly.ids["SameRegion"]
    definition = cfn.definition(logical_id)
    event = cfn.event("Create", definition, cfn.properties(definition))
    cfn.invoker.endpoint.refuse(event["ResponseURL"], 403)

    invoked = cfn.invoker.invoke(definition.function, event, (cfn.stack.account, cfn.stack.region))

    assert not invoked.timed_out
    refused = [json.loads(body) for body in cfn.invoker.endpoint.refused(event["ResponseURL"])]
    assert len(refused) >= 2, "a refused answer is sent again"
    assert "The ResponseURL refused the answer: HTTP 403" in invoked.logs
    connection_id = refused[0]["PhysicalResourceId"]
    assert f"KEPT_CONNECTION {connection_id}" in invoked.logs  # CloudFormation never heard of it: say so
    assert cfn.send(definition, cfn.event("Delete", definition, event["ResourceProperties"], connection_id)).ok


# --- 4. What the service answers ------------------------------------------------------------------------
def test_an_accept_refused_for_the_inbound_limit_fails_at_once(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    connection_id = partner_request(world)
    world.store.faults.accept_limit_exceeded = 1

    answer = cfn.create(assembly.ids["Accepter"])

    assert not answer.ok
    assert answer.reason.startswith(f"Accepting {connection_id} failed: LimitExceededException"), answer.reason
    # Not after botocore's retries of LimitExceededException as throttling (about 70 s) nor after waiting
    # for another copy's accept to show (30 s): at once, plus the cold start in world seconds.
    assert answer.latency < 30, answer.latency
    client = world.emulator.client("es", OTHER_ACCOUNT, OTHER_OWNER.region)
    client.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=connection_id)
    while world.store.live():
        world.clock.sleep(0.1)


def test_a_status_no_model_lists_is_never_taken_for_success(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    world.store.faults.shown_status = {"PENDING_ACCEPTANCE": "PENDING_REVIEW"}
    logical_id = assembly.ids["CrossAccount"]  # another owner's domain: it stays pending
    short: dict[str, Any] = {"TimeoutSeconds": "10", "ServiceTimeout": str(service_timeout_seconds(10))}

    answer = cfn.create(logical_id, short)

    assert not answer.ok
    assert "is PENDING_REVIEW" in answer.reason and "a status this version does not know" in answer.reason, (
        answer.reason
    )
    assert world.store.live() == []  # the connection it made was deleted again


def test_a_late_copy_of_a_forward_update_after_its_rollback_replaces_nothing(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """Adversarial review: the forward Update's first copy answered, another resource failed, the stack rolled
    back; a copy Lambda kept in its queue (within the ServiceTimeout) must not make a connection no one holds."""
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    definition = cfn.definition(logical_id)
    old = cfn.deployed[logical_id].properties
    event = cfn.event(
        "Update", definition, cfn.properties(definition, {"ConnectionAlias": "same-v2"}), created.physical_id, old
    )
    cfn.stack_status = "UPDATE_ROLLBACK_COMPLETE"

    late = cfn.send(definition, event)

    assert not late.ok
    assert "Changed nothing" in late.reason and "UPDATE_ROLLBACK_COMPLETE" in late.reason, late.reason
    assert [c.connection_id for c in world.store.live()] == [created.physical_id]
    assert cfn.delete(logical_id).ok


def test_a_redelivered_create_proves_ownership_through_a_throttled_lagging_cloudformation(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """CloudFormation shows a new physical id some seconds after its answer (physical_id_lag_seconds) and its
    API throttles: a second copy of the Create still proves the connection its own, and nothing is doubled."""
    assert cfn.physical_id_lag_seconds > 0
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    assert created.ok, created.reason
    world.cloudformation_api.server.stacks.throttle_next = 3

    again = cfn.redeliver(cfn.sent[0])

    assert again.ok and again.physical_id == created.physical_id, again.reason
    assert world.cloudformation_api.server.stacks.throttle_next == 0  # each throttled call was tried again
    assert [c.connection_id for c in world.store.live()] == [created.physical_id]
    assert cfn.delete(logical_id).ok


def test_a_create_whose_stack_starts_rolling_back_meanwhile_deletes_what_it_made(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """Adversarial review: another resource fails while this Create works; the stack rolls back and no one
    will hold the connection: it is deleted again and the Create answers FAILED."""
    logical_id = assembly.ids["SameRegion"]
    cfn.stack_status = "CREATE_IN_PROGRESS"

    def another_resource_fails() -> None:
        while not world.store.connections:
            world.clock.sleep(0.05)
        cfn.stack_status = "ROLLBACK_IN_PROGRESS"

    failing = threading.Thread(target=another_resource_fails, daemon=True)
    failing.start()
    answer = cfn.create(logical_id)
    failing.join()

    assert not answer.ok
    assert "ROLLBACK_IN_PROGRESS" in answer.reason, answer.reason
    assert world.store.live() == []


def test_an_update_never_takes_a_status_no_model_lists_for_gone(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id, {"TimeoutSeconds": "10", "ServiceTimeout": str(service_timeout_seconds(10))})
    world.store.faults.shown_status = {"ACTIVE": "ACTIVE_DEGRADED"}

    answer = cfn.update(logical_id, {"TimeoutSeconds": "11", "ServiceTimeout": str(service_timeout_seconds(11))})

    assert not answer.ok  # (its rollback Update fails the same way: the status is unknown, so it is kept)
    assert "ACTIVE_DEGRADED" in answer.reason and "a status this version does not know" in answer.reason
    assert [c.connection_id for c in world.store.live()] == [created.physical_id]  # nothing made twice
    world.store.faults.shown_status = {}
    assert cfn.delete(logical_id).ok


def test_a_failed_updates_replacement_it_cannot_see_is_named_in_the_reason(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """The FAILED Update keeps the old id and its rollback Update never sees the replacement: the reason
    starts with it, and the log marks it."""
    logical_id = assembly.ids["SameRegion"]
    short: dict[str, Any] = {"TimeoutSeconds": "10", "ServiceTimeout": str(service_timeout_seconds(10))}
    created = cfn.create(logical_id, short)
    world.store.realism.describe_lag_seconds = 45.0

    failed = cfn.update(logical_id, dict(short, ConnectionAlias="same-v2"))

    assert not failed.ok
    [replacement] = [c.connection_id for c in world.store.connections.values() if c.alias == "same-v2"]
    assert failed.reason.startswith(f"Replacement {replacement} is left behind (delete it by hand)"), failed.reason
    assert f"KEPT_CONNECTION {replacement}" in failed.logs
    assert cfn.deployed[logical_id].physical_id == created.physical_id  # the rollback kept the old one
    world.clock.sleep(45.0)
    client = world.emulator.client("es", ACCOUNT, SOURCE.region)
    client.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=replacement)
    assert cfn.delete(logical_id).ok
