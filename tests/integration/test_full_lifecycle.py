"""Cross-account acceptance, the OpenSearch API, adoption and status messages, through the bundled asset."""

from __future__ import annotations

import re
import time

from conftest import ACCOUNT, OTHER_ACCOUNT, Assembly, partner_request

from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.world import World


def test_accepter_accepts_the_partners_request_and_deletes_it_on_removal(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    connection_id = partner_request(world)
    accepted = cfn.create(assembly.ids["Accepter"])

    assert accepted.ok, accepted.reason
    assert accepted.physical_id == connection_id
    assert accepted.data["ConnectionStatus"] == "APPROVED"  # where the ES API's inbound statuses end
    assert world.store.status_of(connection_id) in ("APPROVED", "PROVISIONING", "ACTIVE")
    assert cfn.delete(assembly.ids["Accepter"]).ok
    assert world.store.status_of(connection_id) == "DELETED"


def test_accepter_gives_up_with_a_clear_reason_when_no_request_arrives(
    assembly: Assembly, cfn: LocalCloudFormation
) -> None:
    accepted = cfn.create(assembly.ids["Accepter"])

    assert not accepted.ok
    assert "Timed out after 10 s: no connection request from partner-logs (222222222222, us-east-1)" in accepted.reason


def test_opensearch_api_creates_with_its_options(assembly: Assembly, world: World, cfn: LocalCloudFormation) -> None:
    created = cfn.create(assembly.ids["OpenSearchApi"])

    assert created.ok, created.reason
    assert created.data["ConnectionStatus"] == "ACTIVE"
    stored = world.store.connections[created.physical_id]
    assert (stored.mode, stored.skip_unavailable) == ("DIRECT", "ENABLED")
    assert {c.service for c in world.store.calls} == {"opensearch"}
    assert cfn.delete(assembly.ids["OpenSearchApi"]).ok


def test_switching_only_the_api_keeps_the_connection(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    switched = cfn.update(logical_id, {"Api": "OPENSEARCH"})

    assert switched.ok and switched.physical_id == created.physical_id
    assert world.store.calls[-1].service == "opensearch"
    assert cfn.delete(logical_id).ok


def test_a_connection_made_by_hand_is_adopted_only_when_named(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    client = world.emulator.client("opensearch", ACCOUNT, "us-east-1")
    by_hand = client.create_outbound_connection(
        LocalDomainInfo={
            "AWSDomainInformation": {"OwnerId": ACCOUNT, "DomainName": "logs-source", "Region": "us-east-1"}
        },
        RemoteDomainInfo={
            "AWSDomainInformation": {"OwnerId": ACCOUNT, "DomainName": "logs-local", "Region": "us-east-1"}
        },
        ConnectionAlias="same",
    )["ConnectionId"]
    # PENDING_ACCEPTANCE and nobody accepting: not a copy's. With accepting on, the refusal also waits out
    # IAM's propagation (another copy's accept may still be denied): one poll interval of 60 s + 5 s + 40 s.
    refused = cfn.create(assembly.ids["SameRegion"], {"TimeoutSeconds": "60"})

    assert not refused.ok and f"set AdoptConnectionId (adopt_connection_id) to {by_hand}" in refused.reason
    assert 48 <= refused.latency < 80, refused.latency
    assert world.store.status_of(by_hand) == "PENDING_ACCEPTANCE"

    adopted = cfn.create(assembly.ids["SameRegion"], {"AdoptConnectionId": by_hand})

    assert adopted.ok and adopted.physical_id == by_hand, adopted.reason
    assert adopted.data["ConnectionStatus"] == "ACTIVE"
    assert len(world.store.connections) == 1
    assert cfn.delete(assembly.ids["SameRegion"]).ok


def test_an_alias_taken_by_another_destination_fails_with_the_services_message(
    assembly: Assembly, cfn: LocalCloudFormation
) -> None:
    first = cfn.create(assembly.ids["SameRegion"])
    clash = cfn.create(assembly.ids["CrossRegion"], {"ConnectionAlias": "same"})

    assert first.ok and not clash.ok
    assert "ResourceAlreadyExistsException: Connection alias same already exists" in clash.reason
    assert cfn.delete(assembly.ids["SameRegion"]).ok


def test_opensearch_accepter_waits_until_the_connection_is_active(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    """The opensearch API's inbound side goes APPROVED -> PROVISIONING -> ACTIVE; APPROVED is not the end."""
    connection_id = partner_request(world)
    accepted = cfn.create(assembly.ids["OpenSearchAccepter"])

    assert accepted.ok, accepted.reason
    assert accepted.physical_id == connection_id
    assert accepted.data["ConnectionStatus"] == "ACTIVE"
    assert world.store.status_of(connection_id) == "ACTIVE"
    assert cfn.delete(assembly.ids["OpenSearchAccepter"]).ok


def test_accepter_refuses_to_guess_among_several_requests(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    first = partner_request(world, "first")
    second = partner_request(world, "second")
    refused = cfn.create(assembly.ids["Accepter"])

    assert not refused.ok
    assert first in refused.reason and second in refused.reason and "ConnectionId" in refused.reason, refused.reason
    assert world.store.status_of(first) == world.store.status_of(second) == "PENDING_ACCEPTANCE"

    accepted = cfn.create(assembly.ids["Accepter"], {"ConnectionId": second})
    assert accepted.ok, accepted.reason
    assert accepted.physical_id == second
    assert world.store.status_of(first) == "PENDING_ACCEPTANCE"
    assert cfn.delete(assembly.ids["Accepter"]).ok
    world.emulator.client("es", OTHER_ACCOUNT, "us-east-1").delete_outbound_cross_cluster_search_connection(
        CrossClusterSearchConnectionId=first
    )
    while world.store.status_of(first) != "DELETED":  # the partner's own cleanup (0.2 s in the emulator)
        time.sleep(0.05)


def test_vpc_endpoint_connections_report_the_remote_endpoint(assembly: Assembly, cfn: LocalCloudFormation) -> None:
    logical_id = assembly.ids["OpenSearchApi"]
    created = cfn.create(logical_id, {"ConnectionMode": "VPC_ENDPOINT"})

    assert created.ok, created.reason
    assert re.fullmatch(r"vpc-logs-remote-[0-9a-f]+\.eu-west-1\.es\.amazonaws\.com", created.data["Endpoint"])
    assert cfn.delete(logical_id).ok
    direct = cfn.create(logical_id)
    assert direct.ok and direct.data["Endpoint"] == ""
    assert cfn.delete(logical_id).ok
