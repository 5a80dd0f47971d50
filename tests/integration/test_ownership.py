"""Who holds a connection: a renamed construct keeps it (the old logical id's cleanup Delete leaves it), and a
second stack declaring the same connection is refused instead of sharing one the first stack will delete."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from conftest import ACCOUNT, SAME_REGION, SOURCE, measured_into, new_store, world_time
from constructs import Construct

from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.cloudformation_api import Stacks
from ccs_offline.world import offline, seed_domains
from cross_cluster_search import OutboundConnection


def _synthesize(outdir: Path, nested: bool, name: str = "Renames") -> StackTemplate:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, name, env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    scope: Construct = Construct(stack, "Search") if nested else stack
    OutboundConnection(
        scope,
        "Moved" if nested else "Logs",
        source=SOURCE,
        destination=SAME_REGION,
        connection_alias="logs",
        timeout=cdk.Duration.seconds(60),  # a refusal waits one poll interval of it (+5 s): 8 s
    )
    app.synth()
    [template] = load_assembly(outdir)
    return template


def test_a_renamed_construct_keeps_its_live_connection(tmp_path: Path) -> None:
    before = _synthesize(tmp_path / "v1", nested=False)
    after = _synthesize(tmp_path / "v2", nested=True)
    [old_id] = [d.logical_id for d in before.custom_resources()]
    [new_id] = [d.logical_id for d in after.custom_resources()]
    assert old_id != new_id

    store = new_store()
    seed_domains(store, before)
    with offline(before, store, coverage_data_file=measured_into(), clock=world_time()) as world:
        cfn = world.cloudformation
        [created] = cfn.deploy()
        assert created.ok, created.reason

        responses = cfn.apply(after)  # Create of the new logical id, then the cleanup Delete of the old one
        assert [(r.request_type, r.logical_id, r.status) for r in responses] == [
            ("Create", new_id, "SUCCESS"),
            ("Delete", old_id, "SUCCESS"),
        ]
        assert responses[0].physical_id == created.physical_id  # the new resource holds the same connection
        assert store.status_of(created.physical_id) == "ACTIVE"
        assert [c.connection_id for c in store.live()] == [created.physical_id]

        [deleted] = cfn.destroy()
        assert deleted.ok, deleted.reason
        assert store.status_of(created.physical_id) == "DELETED"
        assert "ListStackResources" in world.cloudformation_api.calls


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE"])
def test_ownership_is_read_from_the_stack_resource_listing(status: str) -> None:
    """The stand-in lists custom resources with their physical ids and statuses, other resources as complete."""
    from ccs_offline.lambda_service import LambdaInvoker  # noqa: PLC0415
    from ccs_offline.local_cloudformation import Deployed, LocalCloudFormation  # noqa: PLC0415

    template = StackTemplate(
        "S", {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}, Path("."), ACCOUNT, "us-east-1"
    )
    cfn = LocalCloudFormation(template, LambdaInvoker.__new__(LambdaInvoker))
    cfn.deployed["Conn"] = Deployed("cc-1", {}, {})
    cfn.statuses["Conn"] = status
    assert [(r.logical_id, r.physical_id, r.status) for r in cfn.stack_resources()] == [
        ("Bucket", "S-Bucket", "CREATE_COMPLETE"),
        ("Conn", "cc-1", status),
    ]


def test_a_second_stack_cannot_adopt_a_connection_the_first_one_holds(tmp_path: Path) -> None:
    first = _synthesize(tmp_path / "first", nested=False, name="First")
    second = _synthesize(tmp_path / "second", nested=False, name="Second")
    store = new_store()
    seed_domains(store, first)
    stacks = Stacks()
    with (
        offline(first, store, measured_into(), stacks, clock=world_time()) as one,
        offline(second, store, measured_into(), stacks, clock=world_time()) as other,
    ):
        [created] = one.cloudformation.deploy()
        assert created.ok, created.reason

        [refused] = other.cloudformation.deploy()
        assert not refused.ok
        assert refused.reason.startswith(
            f"Connection {created.physical_id} (logs-source to logs-local) exists and no resource of this stack "
            "holds it"
        ), refused.reason
        assert "DescribeStackResources" not in other.cloudformation_api.calls  # absence proves nothing
        assert store.status_of(created.physical_id) == "ACTIVE"  # the refused stack's rollback left it alone
        assert other.cloudformation.deployed == {}

        [deleted] = one.cloudformation.destroy()
        assert deleted.ok and store.status_of(created.physical_id) == "DELETED"
