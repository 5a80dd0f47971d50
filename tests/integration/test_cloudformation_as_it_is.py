"""Connections under CloudFormation as it really behaves (issue 13): ownership proven, never guessed;
replacements and rollbacks that leave no stack pointing at a deleted connection; no silent leak in cleanup.

Each test runs the bundled asset under the runtime client against the emulator and the local CloudFormation
(ccs_offline/local_cloudformation.py, cloudformation_api.py), which model the regional query API,
DescribeStackResources' first 100 resources, DELETE_FAILED resources, rollbacks after a replacement, Retain
policies and the three cleanup attempts (sources in those modules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import aws_cdk as cdk
from conftest import ACCOUNT, OTHER_OWNER, OTHER_REGION, SAME_REGION, SOURCE, measured_into, new_store, world_time
from constructs import Construct

from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.cloudformation_api import Stacks
from ccs_offline.emulator import ConnectionStore
from ccs_offline.world import World, offline, seed_domains
from cross_cluster_search import ConnectionApi, ConnectionMode, InboundConnectionAccepter, OutboundConnection

Build = Callable[[cdk.Stack], object]
SHORT = cdk.Duration.seconds(60)
#: Without accepting, a refusal does not also wait out IAM's propagation for another copy's accept.
PENDING: dict[str, object] = {"accept_connection": False}


def _outbound(**props: object) -> Build:
    settings: dict[str, object] = {
        "source": SOURCE,
        "destination": SAME_REGION,
        "connection_alias": "logs",
        "timeout": SHORT,  # a refusal waits one poll interval of it (+5 s) for another copy's answer: 8 s
    }
    settings.update(props)
    return lambda stack: OutboundConnection(stack, "Logs", **settings)  # type: ignore[arg-type]


def _synthesize(outdir: Path, build: Build, name: str = "First", region: str = "us-east-1") -> StackTemplate:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, name, env=cdk.Environment(account=ACCOUNT, region=region))
    build(stack)
    app.synth()
    [template] = load_assembly(outdir)
    return template


def _store(*templates: StackTemplate) -> ConnectionStore:
    """An emulator state with every domain the templates name (also those a later version deploys to)."""
    store = new_store()
    for template in templates:
        seed_domains(store, template)
    return store


@contextmanager
def _worlds(store: ConnectionStore, *templates: StackTemplate) -> Iterator[tuple[World, ...]]:
    """One local CloudFormation per template (stacks of one account, in any regions), one emulator state."""
    stacks = Stacks()
    with ExitStack() as running:
        worlds = []
        for template in templates:
            seed_domains(store, template)
            worlds.append(running.enter_context(offline(template, store, measured_into(), stacks, clock=world_time())))
        yield tuple(worlds)


def _refusal(connection_id: str) -> str:
    return f"Connection {connection_id} (logs-source to logs-local) exists and no resource of this stack holds it"


# --- 1. ownership is proven, not guessed -------------------------------------------------------------
def test_a_stack_of_another_region_keeps_its_connection(tmp_path: Path) -> None:
    """The query API is regional: the second stack (us-east-1) cannot see the first (eu-west-1)."""
    first = _synthesize(tmp_path / "a", _outbound(**PENDING), "First", "eu-west-1")
    second = _synthesize(tmp_path / "b", _outbound(**PENDING), "Second", "us-east-1")
    store = _store()
    with _worlds(store, first, second) as (one, other):
        [created] = one.cloudformation.deploy()
        assert created.ok, created.reason

        [refused] = other.cloudformation.deploy()

        assert not refused.ok
        assert refused.reason.startswith(_refusal(created.physical_id)), refused.reason
        assert "adopt_connection_id" in refused.reason
        assert store.status_of(created.physical_id) == "PENDING_ACCEPTANCE"  # untouched
        assert one.cloudformation.destroy()[0].ok
        assert store.status_of(created.physical_id) == "DELETED"


def test_a_stack_with_more_than_100_resources_keeps_its_connection(tmp_path: Path) -> None:
    """DescribeStackResources shows only a stack's first 100 resources; the connection is the 121st."""

    def crowded(stack: cdk.Stack) -> None:
        for index in range(120):
            cdk.CfnWaitConditionHandle(stack, f"Filler{index:03d}")
        _outbound(**PENDING)(stack)

    first = _synthesize(tmp_path / "a", crowded, "First")
    second = _synthesize(tmp_path / "b", _outbound(**PENDING), "Second")
    store = _store()
    with _worlds(store, first, second) as (one, other):
        [created] = one.cloudformation.deploy()
        assert created.ok, created.reason

        [refused] = other.cloudformation.deploy()

        assert not refused.ok and refused.reason.startswith(_refusal(created.physical_id)), refused.reason
        assert store.status_of(created.physical_id) == "PENDING_ACCEPTANCE"  # untouched
        assert one.cloudformation.destroy()[0].ok


def test_a_delete_failed_resource_still_holds_its_connection(tmp_path: Path) -> None:
    """A stack whose delete failed still exists; its retried delete deletes the connection, so another stack
    must not take it over meanwhile."""
    first = _synthesize(tmp_path / "a", _outbound(**PENDING), "First")
    second = _synthesize(tmp_path / "b", _outbound(**PENDING), "Second")
    store = _store()
    with _worlds(store, first, second) as (one, other):
        [created] = one.cloudformation.deploy()
        one_stacks = one.cloudformation_api.server.stacks
        one_stacks.refuse["ListStackResources"] = "AccessDenied"
        [failed_delete] = one.cloudformation.destroy()
        assert not failed_delete.ok and one.cloudformation.statuses[created.logical_id] == "DELETE_FAILED"
        one_stacks.refuse.clear()

        [refused] = other.cloudformation.deploy()

        assert not refused.ok and refused.reason.startswith(_refusal(created.physical_id)), refused.reason
        [retried] = one.cloudformation.destroy()
        assert retried.ok and store.status_of(created.physical_id) == "DELETED"
        assert other.cloudformation.deployed == {}


def test_a_second_accepter_stack_does_not_take_over_an_accepted_connection(tmp_path: Path) -> None:
    """The first accepter accepted the request; a second accepter stack for the same pair must not take it
    (its delete would delete the first's connection)."""

    def accepter(stack: cdk.Stack) -> None:
        InboundConnectionAccepter(stack, "Accept", source=OTHER_OWNER, destination=SOURCE, timeout=SHORT)

    first = _synthesize(tmp_path / "a", accepter, "First")
    second = _synthesize(tmp_path / "b", accepter, "Second")
    store = _store()
    with _worlds(store, first, second) as (one, other):
        requester = one.emulator.client("es", OTHER_OWNER.owner_id, OTHER_OWNER.region)
        requester.create_outbound_cross_cluster_search_connection(
            SourceDomainInfo=OTHER_OWNER.as_properties(),
            DestinationDomainInfo=SOURCE.as_properties(),
            ConnectionAlias="partner",
        )
        [accepted] = one.cloudformation.deploy()
        assert accepted.ok, accepted.reason

        [refused] = other.cloudformation.deploy()

        assert not refused.ok, refused.reason
        assert (
            f"Connection {accepted.physical_id} (partner-logs to logs-source) exists and no resource" in refused.reason
        )
        assert store.status_of(accepted.physical_id) == "ACTIVE"  # the emulator's one state (APPROVED inbound)
        assert one.cloudformation.destroy()[0].ok
        assert store.status_of(accepted.physical_id) == "DELETED"


def test_a_hand_made_connection_is_taken_over_only_when_named(tmp_path: Path) -> None:
    plain = _synthesize(tmp_path / "a", _outbound(**PENDING), "First")
    store = _store()
    seed_domains(store, plain)
    with offline(plain, store, measured_into(), clock=world_time()) as world:
        made = world.emulator.client("es", ACCOUNT, "us-east-1").create_outbound_cross_cluster_search_connection(
            SourceDomainInfo=SOURCE.as_properties(),
            DestinationDomainInfo=SAME_REGION.as_properties(),
            ConnectionAlias="logs",
        )
        made_id = made["CrossClusterSearchConnectionId"]

        [refused] = world.cloudformation.deploy()
        assert not refused.ok and refused.reason.startswith(_refusal(made_id)), refused.reason
        assert store.status_of(made_id) != "DELETED"

        world.cloudformation.stack = _synthesize(
            tmp_path / "b", _outbound(adopt_connection_id=made_id, **PENDING), "First"
        )
        [adopted] = world.cloudformation.deploy()
        assert adopted.ok and adopted.physical_id == made_id, adopted.reason
        assert world.cloudformation.destroy()[0].ok
        assert store.status_of(made_id) == "DELETED"


# --- 2. a replacement that keeps the alias survives a rollback; Retain keeps the old connection ---------
def test_a_replacement_keeping_the_alias_is_refused_so_a_rollback_leaves_the_connection_live(
    tmp_path: Path,
) -> None:
    before = _synthesize(tmp_path / "a", _outbound())
    after = _synthesize(tmp_path / "b", _outbound(destination=OTHER_REGION))
    store = _store(before, after)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()

        responses = cfn.apply(after, fail_after=True)

        assert [(r.request_type, r.status) for r in responses] == [("Update", "FAILED"), ("Update", "SUCCESS")]
        assert "replace_by_deleting_first" in responses[0].reason, responses[0].reason
        deployed = cfn.deployed[created.logical_id]
        assert deployed.physical_id == created.physical_id
        assert store.status_of(deployed.physical_id) == deployed.data["ConnectionStatus"] == "ACTIVE"
        assert cfn.destroy()[0].ok and not store.live()


def test_a_rollback_after_a_replacement_deletes_only_the_new_connection(tmp_path: Path) -> None:
    """No Update is sent: the old id comes back and the new one is deleted in the rollback's cleanup."""
    before = _synthesize(tmp_path / "a", _outbound())
    after = _synthesize(tmp_path / "b", _outbound(connection_alias="logs-v2", destination=OTHER_REGION))
    store = _store(before, after)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()

        responses = cfn.apply(after, fail_after=True)

        assert [(r.request_type, r.status) for r in responses] == [("Update", "SUCCESS"), ("Delete", "SUCCESS")]
        assert responses[1].physical_id == responses[0].physical_id != created.physical_id
        assert cfn.deployed[created.logical_id].physical_id == created.physical_id
        assert store.status_of(created.physical_id) == "ACTIVE"
        assert store.status_of(responses[0].physical_id) == "DELETED"
        assert cfn.destroy()[0].ok and not store.live()


def test_retain_keeps_the_old_connection_through_every_replacement(tmp_path: Path) -> None:
    retain = {"removal_policy": cdk.RemovalPolicy.RETAIN}
    before = _synthesize(tmp_path / "a", _outbound(**retain))
    same_alias = _synthesize(tmp_path / "b", _outbound(destination=OTHER_REGION, **retain))
    new_alias = _synthesize(tmp_path / "c", _outbound(connection_alias="logs-v2", destination=OTHER_REGION, **retain))
    store = _store(before, same_alias, new_alias)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()

        refused = cfn.apply(same_alias)
        assert refused[0].status == "FAILED" and "RETAIN keeps connections" in refused[0].reason, refused[0].reason
        assert store.status_of(created.physical_id) == "ACTIVE"

        [replaced] = cfn.apply(new_alias)  # no cleanup Delete: UpdateReplacePolicy Retain
        assert replaced.ok and replaced.physical_id != created.physical_id, replaced.reason
        assert store.status_of(created.physical_id) == "ACTIVE"
        assert cfn.destroy() == []  # DeletionPolicy Retain: no Delete either
        assert {c.connection_id for c in store.live()} == {created.physical_id, replaced.physical_id}


# --- 3. rollback Updates succeed without CloudFormation and without the failed values -----------------
def test_a_rollback_update_after_a_validation_failure_needs_no_cloudformation_call(tmp_path: Path) -> None:
    before = _synthesize(tmp_path / "a", _outbound())
    store = _store(before)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()
        world.cloudformation_api.server.stacks.refuse.update(
            {"DescribeStackResources": "AccessDenied", "ListStackResources": "AccessDenied"}
        )
        calls_before = len(world.cloudformation_api.calls)

        failed = cfn.update(created.logical_id, {"ConnectionAlias": "not valid!"})

        assert not failed.ok and failed.reason.startswith("ConnectionAlias must be"), failed.reason
        rollback = cfn.history[-1]
        assert (rollback.request_type, rollback.status) == ("Update", "SUCCESS"), rollback.reason
        assert rollback.physical_id == created.physical_id
        assert world.cloudformation_api.calls[calls_before:] == []
        assert cfn.stack_status == "UPDATE_ROLLBACK_COMPLETE"
        world.cloudformation_api.server.stacks.refuse.clear()
        assert cfn.destroy()[0].ok


# --- 4. an accepter Update after the requester deleted its connection ----------------------------------
def test_an_accepter_update_after_the_requester_deleted_fails_fast_and_its_rollback_succeeds(tmp_path: Path) -> None:
    def accepter(stack: cdk.Stack) -> None:
        InboundConnectionAccepter(stack, "Accept", source=OTHER_OWNER, destination=SOURCE, timeout=SHORT)

    template = _synthesize(tmp_path / "a", accepter)
    store = _store()
    with _worlds(store, template) as (world,):
        cfn = world.cloudformation
        requester = world.emulator.client("es", OTHER_OWNER.owner_id, OTHER_OWNER.region)

        def request(alias: str) -> str:
            made = requester.create_outbound_cross_cluster_search_connection(
                SourceDomainInfo=OTHER_OWNER.as_properties(),
                DestinationDomainInfo=SOURCE.as_properties(),
                ConnectionAlias=alias,
            )
            return str(made["CrossClusterSearchConnectionId"])

        first = request("partner")
        [accepted] = cfn.deploy()
        assert accepted.ok and accepted.physical_id == first, accepted.reason
        requester.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=first)
        second = request("partner-v2")  # the requester made a new request; it must not be taken silently

        failed = cfn.update(accepted.logical_id, {"TimeoutSeconds": "300"})

        assert not failed.ok and failed.latency < 10, failed.reason
        assert f"Inbound connection {first} from partner-logs" in failed.reason
        assert "DELET" in failed.reason and second in failed.reason
        rollback = cfn.history[-1]
        assert (rollback.request_type, rollback.status) == ("Update", "SUCCESS"), rollback.reason
        assert rollback.physical_id == first and rollback.data["ConnectionStatus"] in ("DELETING", "DELETED")
        assert cfn.stack_status == "UPDATE_ROLLBACK_COMPLETE"
        assert store.status_of(second) == "PENDING_ACCEPTANCE"
        assert cfn.destroy()[0].ok
        requester.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=second)


# --- 5. no needless replacement ----------------------------------------------------------------------
def test_making_a_service_default_explicit_keeps_the_connection(tmp_path: Path) -> None:
    opensearch = {"api": ConnectionApi.OPENSEARCH}
    implicit = _synthesize(tmp_path / "a", _outbound(**opensearch))
    explicit = _synthesize(tmp_path / "b", _outbound(connection_mode=ConnectionMode.DIRECT, **opensearch))
    store = _store()
    with _worlds(store, implicit) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()

        [updated] = cfn.apply(explicit)

        assert updated.ok and updated.physical_id == created.physical_id, updated.reason
        assert store.status_of(created.physical_id) == "ACTIVE"
        assert cfn.destroy()[0].ok


# --- 6. no silent leak in cleanup --------------------------------------------------------------------
def test_a_cleanup_delete_that_cannot_ask_cloudformation_keeps_the_connection_loudly(tmp_path: Path) -> None:
    before = _synthesize(tmp_path / "a", _outbound())
    after = _synthesize(tmp_path / "b", _outbound(connection_alias="logs-v2"))
    store = _store(before, after)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()
        world.cloudformation_api.server.stacks.refuse["ListStackResources"] = "AccessDenied"

        responses = cfn.apply(after)

        assert [(r.request_type, r.status) for r in responses] == [("Update", "SUCCESS")] + [("Delete", "FAILED")] * 3
        assert cfn.dropped == [(created.logical_id, created.physical_id)]  # CloudFormation gave up on it
        for answer in responses[1:]:
            assert answer.reason.startswith(f"Kept connection {created.physical_id}: "), answer.reason
            assert "Retry the stack operation" not in answer.reason
            assert f"KEPT_CONNECTION {created.physical_id}" in answer.logs
        assert store.status_of(created.physical_id) == "ACTIVE"  # kept, and named in every answer and log line
        world.cloudformation_api.server.stacks.refuse.clear()
        assert cfn.destroy()[0].ok
        world.emulator.client("es", ACCOUNT, "us-east-1").delete_outbound_cross_cluster_search_connection(
            CrossClusterSearchConnectionId=created.physical_id
        )


def _nested(stack: cdk.Stack) -> None:
    OutboundConnection(
        Construct(stack, "Search"),
        "Logs",
        source=SOURCE,
        destination=SAME_REGION,
        connection_alias="logs",
        timeout=SHORT,
    )


def test_a_rename_still_keeps_its_connection_under_the_harsher_stand_in(tmp_path: Path) -> None:
    before = _synthesize(tmp_path / "a", _outbound())
    after = _synthesize(tmp_path / "b", _nested)
    store = _store(before, after)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()

        responses = cfn.apply(after)

        assert [(r.request_type, r.status) for r in responses] == [("Create", "SUCCESS"), ("Delete", "SUCCESS")]
        assert responses[0].physical_id == created.physical_id
        assert store.status_of(created.physical_id) == "ACTIVE"
        assert cfn.destroy()[0].ok and not store.live()


def test_a_rollback_after_a_rename_leaves_the_connection_with_the_old_resource(tmp_path: Path) -> None:
    """The new logical id took the connection over; the rollback deletes that new resource, which must leave
    the connection to the old one (still in the stack)."""
    before = _synthesize(tmp_path / "a", _outbound())
    after = _synthesize(tmp_path / "b", _nested)
    store = _store(before, after)
    with _worlds(store, before) as (world,):
        cfn = world.cloudformation
        [created] = cfn.deploy()

        responses = cfn.apply(after, fail_after=True)

        assert [(r.request_type, r.status) for r in responses] == [("Create", "SUCCESS"), ("Delete", "SUCCESS")]
        assert list(cfn.deployed) == [created.logical_id]
        assert store.status_of(created.physical_id) == "ACTIVE"
        assert cfn.destroy()[0].ok and not store.live()
