"""The emulator refuses, in validation, the domain pairs cross-cluster search does not support, with the settings
the template's domain resources declare (seed_domains)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ccs_offline.assembly import StackTemplate
from ccs_offline.emulator import ConnectionStore, Delays
from ccs_offline.world import domain_settings, seed_domains

A = "111111111111"
REGION = "us-east-1"
GOOD: dict[str, Any] = {
    "EngineVersion": "OpenSearch_2.19",
    "AdvancedSecurityOptions": {"Enabled": True, "InternalUserDatabaseEnabled": True},
    "NodeToNodeEncryptionOptions": {"Enabled": True},
    "ClusterConfig": {"InstanceType": "m6g.large.search", "InstanceCount": 1},
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def outcome(store: ConnectionStore, clock: Clock, source: str, destination: str) -> tuple[str, str]:
    """Create a connection through the store, let validation end; (status, message)."""
    created = store.handle(
        "es",
        "CreateOutboundCrossClusterSearchConnection",
        {
            "SourceDomainInfo": {"OwnerId": A, "DomainName": source, "Region": REGION},
            "DestinationDomainInfo": {"OwnerId": A, "DomainName": destination, "Region": REGION},
            "ConnectionAlias": "probe",
        },
        A,
        REGION,
    )
    clock.now += 10
    connection = store.connections[created["CrossClusterSearchConnectionId"]]
    store.handle("es", "DescribeOutboundCrossClusterSearchConnections", {}, A, REGION)
    return connection.status, connection.message


def template_store(destination: dict[str, Any]) -> tuple[ConnectionStore, Clock, list[str]]:
    """A store seeded from a template with a good source domain and the given destination domain."""
    template = {
        "Resources": {
            "Source": {"Type": "AWS::OpenSearchService::Domain", "Properties": {**GOOD, "DomainName": "src"}},
            "Destination": {
                "Type": "AWS::OpenSearchService::Domain",
                "Properties": {**destination, "DomainName": "dst"},
            },
        }
    }
    clock = Clock()
    store = ConnectionStore(Delays(validating=1.0), clock=clock)
    stack = StackTemplate(name="Demo", template=template, assembly_dir=Path("."), account=A, region=REGION)
    return store, clock, seed_domains(store, stack)


def test_a_template_pair_that_meets_the_prerequisites_validates() -> None:
    store, clock, seeded = template_store(GOOD)
    assert outcome(store, clock, "src", "dst")[0] == "PENDING_ACCEPTANCE"
    assert any("dst (OpenSearch_2.19, FGAC on, node-to-node on, m6g.large.search" in line for line in seeded)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AdvancedSecurityOptions": None}, "dst must have fine-grained access control enabled"),
        ({"AdvancedSecurityOptions": {"Enabled": False}}, "dst must have fine-grained access control enabled"),
        ({"NodeToNodeEncryptionOptions": None}, "dst must have node-to-node encryption enabled"),
        ({"ClusterConfig": {"InstanceType": "t3.small.search"}}, "dst uses t3.small.search"),
        ({"ClusterConfig": {"InstanceType": "m6g.large.search", "DedicatedMasterType": "m3.medium.search"}}, "m3"),
    ],
)
def test_template_settings_that_aws_refuses_fail_validation(change: dict[str, Any], message: str) -> None:
    destination = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    store, clock, _ = template_store(destination)
    status, reason = outcome(store, clock, "src", "dst")
    assert status == "VALIDATION_FAILED"
    assert message in reason


def test_a_domain_connected_to_itself_fails_validation() -> None:
    store, clock, _ = template_store(GOOD)
    assert outcome(store, clock, "src", "src") == ("VALIDATION_FAILED", "Domain src cannot connect to itself")


def test_elasticsearch_domain_settings_are_read_too() -> None:
    settings = domain_settings(
        {
            "Type": "AWS::Elasticsearch::Domain",
            "Properties": {
                "ElasticsearchVersion": "7.10",
                "ElasticsearchClusterConfig": {"InstanceType": "t2.small.elasticsearch"},
                "NodeToNodeEncryptionOptions": {"Enabled": "true"},
            },
        }
    )
    assert settings == {
        "fine_grained_access_control": False,
        "node_to_node_encryption": True,
        "instance_types": ("t2.small.elasticsearch",),
    }
