"""What synthesis only warns about reaches the service: offline, the emulator (seeded from the template's domain
resources) refuses it in validation, and the handler fails the Create with the service's message, leaving nothing."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_opensearchservice as opensearch
from conftest import ACCOUNT, measured_into, new_store, world_time

from ccs_offline.assembly import load_assembly
from ccs_offline.world import offline, seed_domains
from cross_cluster_search import OutboundConnection


def domain(stack: cdk.Stack, id_: str, instance_type: str) -> opensearch.Domain:
    return opensearch.Domain(
        stack,
        id_,
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        domain_name=id_.lower(),
        capacity=opensearch.CapacityConfig(
            data_nodes=1, data_node_instance_type=instance_type, multi_az_with_standby_enabled=False
        ),
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )


def test_a_burstable_domain_synthesizes_with_a_warning_and_fails_validation_at_deploy(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Burstable", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    OutboundConnection(
        stack,
        "Conn",
        source=domain(stack, "Logs", "t3.small.search"),
        destination=domain(stack, "Archive", "m6g.large.search"),
        connection_alias="archive",
    )
    app.synth()
    [template] = load_assembly(tmp_path)
    store = new_store()
    seeded = seed_domains(store, template)
    assert any(line.startswith("logs (OpenSearch_2.19, FGAC on, node-to-node on, t3.small.search") for line in seeded)
    with offline(template, store, coverage_data_file=measured_into(), clock=world_time()) as world:
        [created] = world.cloudformation.deploy()
        assert not created.ok
        assert "VALIDATION_FAILED" in created.reason and "t3.small.search" in created.reason, created.reason
        assert store.live() == []
