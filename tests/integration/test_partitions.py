"""Every partition: regions botocore knows are accepted, ARNs carry the stack's partition, the lifecycle runs."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from conftest import ACCOUNT, measured_into, new_store, world_time

from ccs_offline.assembly import load_assembly
from ccs_offline.world import offline, seed_domains
from cross_cluster_search import DomainInfo, OutboundConnection


@pytest.mark.parametrize(
    ("partition", "region"),
    [("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1"), ("aws-eusc", "eusc-de-east-1")],
)
def test_a_stack_in_each_partition_deploys_and_scopes_iam_to_its_partition(
    tmp_path: Path, partition: str, region: str
) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"@aws-cdk/core:enablePartitionLiterals": True})
    stack = cdk.Stack(app, "Partitioned", env=cdk.Environment(account=ACCOUNT, region=region))
    OutboundConnection(
        stack,
        "Conn",
        source=DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region=region),
        destination=DomainInfo(owner_id=ACCOUNT, domain_name="logs-archive", region=region),
        connection_alias="logs",
    )
    app.synth()
    [template] = load_assembly(tmp_path)
    rendered = json.dumps(template.template)
    assert f"arn:{partition}:es:{region}:{ACCOUNT}:domain/logs-source" in rendered
    assert "arn:aws:" not in rendered

    store = new_store()
    seed_domains(store, template)
    with offline(template, store, coverage_data_file=measured_into(), clock=world_time()) as world:
        [created] = world.cloudformation.deploy()
        assert created.ok, created.reason
        assert created.data["ConnectionStatus"] == "ACTIVE"
        assert world.cloudformation.sent[0]["StackId"].startswith(f"arn:{partition}:cloudformation:{region}:")
        [deleted] = world.cloudformation.destroy()
        assert deleted.ok, deleted.reason
        assert store.status_of(created.physical_id) == "DELETED"
