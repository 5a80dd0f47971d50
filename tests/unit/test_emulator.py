"""The emulator answers real boto3 clients as AWS documents the connection API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ccs_offline.emulator import ConnectionStore, Delays, Emulator, running

A, B = "111111111111", "222222222222"


class ManualClock:
    """The emulator's clock, moved only by the test, so state transitions never race the machine's load."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    store = ConnectionStore(Delays(validating=0.05, approved=0.05, provisioning=0.05, deleting=0.05), clock=clock)
    store.add_domain(A, "us-east-1", "source")
    for index in range(3):
        store.add_domain(A, "us-east-1", f"dest-{index}")
    store.add_domain(A, "eu-west-1", "old-es", "Elasticsearch_7.9")
    store.add_domain(A, "us-east-1", "es-source", "Elasticsearch_7.10")
    store.add_domain(B, "us-east-1", "partner")
    with running(store) as running_emulator:
        yield running_emulator


def create(
    client: Any, destination: str, alias: str, owner: str = A, region: str = "us-east-1", source: str = "source"
) -> str:
    response = client.create_outbound_cross_cluster_search_connection(
        SourceDomainInfo={"OwnerId": A, "DomainName": source, "Region": "us-east-1"},
        DestinationDomainInfo={"OwnerId": owner, "DomainName": destination, "Region": region},
        ConnectionAlias=alias,
    )
    return str(response["CrossClusterSearchConnectionId"])


def status(client: Any, connection_id: str, direction: str = "outbound") -> tuple[str, str]:
    describe = getattr(client, f"describe_{direction}_cross_cluster_search_connections")
    found = describe(Filters=[{"Name": "cross-cluster-search-connection-id", "Values": [connection_id]}])
    item = found["CrossClusterSearchConnections"][0]["ConnectionStatus"]
    return item["StatusCode"], item.get("Message", "")


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


def test_pages_with_next_token_and_rejects_a_bad_token(emulator: Emulator) -> None:
    es = emulator.client("es", A, "us-east-1")
    ids = {create(es, f"dest-{i}", f"a{i}") for i in range(3)}
    first = es.describe_outbound_cross_cluster_search_connections(MaxResults=2)
    second = es.describe_outbound_cross_cluster_search_connections(MaxResults=2, NextToken=first["NextToken"])
    seen = {
        c["CrossClusterSearchConnectionId"] for page in (first, second) for c in page["CrossClusterSearchConnections"]
    }
    assert seen == ids and "NextToken" not in second
    code = error_code(es.describe_outbound_cross_cluster_search_connections, NextToken="not-a-token")
    assert code == "InvalidPaginationTokenException"


def test_views_are_limited_to_the_callers_domains_and_acceptance_to_the_destination_owner(
    emulator: Emulator, clock: ManualClock
) -> None:
    es_a = emulator.client("es", A, "us-east-1")
    es_b = emulator.client("es", B, "us-east-1")
    connection_id = create(es_a, "partner", "partner", owner=B)
    clock.sleep(0.1)
    assert es_b.describe_outbound_cross_cluster_search_connections()["CrossClusterSearchConnections"] == []
    assert es_a.describe_inbound_cross_cluster_search_connections()["CrossClusterSearchConnections"] == []
    assert (
        error_code(es_a.accept_inbound_cross_cluster_search_connection, CrossClusterSearchConnectionId=connection_id)
        == "ResourceNotFoundException"
    )
    es_b.accept_inbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=connection_id)
    assert status(es_b, connection_id, "inbound")[0] == "APPROVED"
    assert status(es_a, connection_id)[0] == "PROVISIONING"  # the es outbound enum has no APPROVED
    clock.sleep(0.1)
    assert status(es_a, connection_id)[0] == "ACTIVE"
    assert status(es_b, connection_id, "inbound")[0] == "APPROVED"


@pytest.mark.parametrize(
    ("source", "destination", "region", "message"),
    [
        ("source", "missing", "us-east-1", "does not exist"),
        ("es-source", "source", "us-east-1", "Elasticsearch domain cannot connect to an OpenSearch"),
        ("source", "old-es", "eu-west-1", "Elasticsearch 7.10+ needed"),
    ],
)
def test_validation_fails_as_documented(
    emulator: Emulator, clock: ManualClock, source: str, destination: str, region: str, message: str
) -> None:
    es = emulator.client("es", A, "us-east-1")
    connection_id = create(es, destination, "x1", region=region, source=source)
    assert status(es, connection_id)[0] == "VALIDATING"
    clock.sleep(0.1)
    code, text = status(es, connection_id)
    assert code == "VALIDATION_FAILED" and message in text


def test_rejection_deletion_alias_uniqueness_and_limits(emulator: Emulator, clock: ManualClock) -> None:
    es = emulator.client("es", A, "us-east-1")
    rejected = create(es, "dest-0", "r1")
    clock.sleep(0.1)
    es.reject_inbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=rejected)
    clock.sleep(0.15)
    assert status(es, rejected)[0] == "REJECTED"
    # A rejected connection keeps its alias and counts toward the 20 until deleted (the harsher reading).
    assert (
        error_code(
            es.create_outbound_cross_cluster_search_connection,
            SourceDomainInfo={"DomainName": "source"},
            DestinationDomainInfo={"DomainName": "dest-1"},
            ConnectionAlias="r1",
        )
        == "ResourceAlreadyExistsException"
    )
    es.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=rejected)
    clock.sleep(0.3)

    kept = create(es, "dest-0", "kept")
    assert (
        error_code(
            es.create_outbound_cross_cluster_search_connection,
            SourceDomainInfo={"DomainName": "source"},
            DestinationDomainInfo={"DomainName": "dest-1"},
            ConnectionAlias="kept",
        )
        == "ResourceAlreadyExistsException"
    )
    es.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=kept)
    assert status(es, kept)[0] == "DELETING"
    clock.sleep(0.1)
    assert status(es, kept)[0] == "DELETED"  # still visible
    assert (
        error_code(es.delete_outbound_cross_cluster_search_connection, CrossClusterSearchConnectionId=kept)
        == "ResourceNotFoundException"
    )

    for index in range(20):
        create(es, f"dest-{index % 3}", f"n{index}")
    assert (
        error_code(
            es.create_outbound_cross_cluster_search_connection,
            SourceDomainInfo={"DomainName": "source"},
            DestinationDomainInfo={"DomainName": "dest-2"},
            ConnectionAlias="n20",
        )
        == "LimitExceededException"
    )


def test_bad_parameters_and_identity_are_refused_like_aws(emulator: Emulator) -> None:
    es = emulator.client("es", A, "us-east-1")
    code = error_code(
        es.create_outbound_cross_cluster_search_connection,
        SourceDomainInfo={"DomainName": "source"},
        DestinationDomainInfo={"DomainName": "Not_Valid"},
        ConnectionAlias="ok",
    )
    assert code == "ValidationException"
    emulator.store.credentials.clear()
    assert error_code(es.describe_outbound_cross_cluster_search_connections) == "UnrecognizedClientException"


def test_opensearch_api_sees_the_same_connections(emulator: Emulator) -> None:
    es = emulator.client("es", A, "us-east-1")
    opensearch = emulator.client("opensearch", A, "us-east-1")
    connection_id = create(es, "dest-0", "shared")
    [item] = opensearch.describe_outbound_connections(Filters=[{"Name": "connection-id", "Values": [connection_id]}])[
        "Connections"
    ]
    assert item["ConnectionAlias"] == "shared" and item["ConnectionMode"] == "DIRECT"
    assert [c.service for c in emulator.store.calls] == ["es", "opensearch"]


def test_opensearch_inbound_goes_approved_provisioning_active(emulator: Emulator, clock: ManualClock) -> None:
    emulator.store.realism.api_affinity = False  # statuses only here; the affinity is tested below
    es_a = emulator.client("es", A, "us-east-1")
    os_b = emulator.client("opensearch", B, "us-east-1")
    connection_id = create(es_a, "partner", "partner", owner=B)
    clock.sleep(0.1)
    os_b.accept_inbound_connection(ConnectionId=connection_id)

    def inbound() -> str:
        [item] = os_b.describe_inbound_connections(Filters=[{"Name": "connection-id", "Values": [connection_id]}])[
            "Connections"
        ]
        return str(item["ConnectionStatus"]["StatusCode"])

    seen = [inbound()]
    for _ in range(3):
        clock.sleep(0.05)
        seen.append(inbound())
    assert seen[0] == "APPROVED" and seen[-1] == "ACTIVE"
    assert "PROVISIONING" in seen


def test_a_connection_is_accepted_only_through_the_api_that_created_it(emulator: Emulator, clock: ManualClock) -> None:
    """aws/aws-sdk-js-v3#4453, and its mirror (the harsher assumption)."""
    es_a = emulator.client("es", A, "us-east-1")
    es_b = emulator.client("es", B, "us-east-1")
    os_b = emulator.client("opensearch", B, "us-east-1")
    connection_id = create(es_a, "partner", "partner", owner=B)
    clock.sleep(0.1)
    with pytest.raises(ClientError, match="created using Amazon Elasticsearch Service SDK cannot be accepted with"):
        os_b.accept_inbound_connection(ConnectionId=connection_id)
    es_b.accept_inbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=connection_id)


def test_describe_lags_behind_create_and_accept_on_both_apis(emulator: Emulator, clock: ManualClock) -> None:
    """Realism.describe_lag_seconds (issue 19): a new connection is found by no call, and an accepted one
    still shows its old status, for that long."""
    emulator.store.realism.describe_lag_seconds = 2.0
    es = emulator.client("es", A, "us-east-1")
    opensearch = emulator.client("opensearch", A, "us-east-1")
    made = create(es, "dest-0", "lagging")
    listed = es.describe_outbound_cross_cluster_search_connections(
        Filters=[{"Name": "cross-cluster-search-connection-id", "Values": [made]}]
    )
    assert listed["CrossClusterSearchConnections"] == []
    found = opensearch.describe_outbound_connections(Filters=[{"Name": "connection-id", "Values": [made]}])
    assert found["Connections"] == []
    assert error_code(es.delete_outbound_cross_cluster_search_connection, CrossClusterSearchConnectionId=made) == (
        "ResourceNotFoundException"
    )
    clock.sleep(2.1)
    assert status(es, made)[0] == "PENDING_ACCEPTANCE"
    es.accept_inbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=made)
    assert status(es, made)[0] == "PENDING_ACCEPTANCE"  # the accept does not show yet
    assert status(es, made, "inbound")[0] == "PENDING_ACCEPTANCE"
    clock.sleep(2.1)
    assert status(es, made)[0] == "ACTIVE"


def test_accept_can_answer_limit_exceeded_and_status_codes_can_be_new(emulator: Emulator, clock: ManualClock) -> None:
    es = emulator.client("es", A, "us-east-1")
    made = create(es, "dest-0", "limited")
    clock.sleep(0.1)
    emulator.store.faults.accept_limit_exceeded = 1
    assert error_code(es.accept_inbound_cross_cluster_search_connection, CrossClusterSearchConnectionId=made) == (
        "LimitExceededException"
    )
    emulator.store.faults.shown_status = {"PENDING_ACCEPTANCE": "PENDING_REVIEW"}
    assert status(es, made)[0] == "PENDING_REVIEW"
    assert emulator.store.status_of(made) == "PENDING_ACCEPTANCE"  # only the answers say otherwise
