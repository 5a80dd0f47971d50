"""Connection lifecycle over botocore Stubbers (every request and response checked against the model)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from stubs import CONNECTION_ID, DESTINATION, SOURCE, EsStub, FakeTime, StubApis, es_connection, spec

from cross_cluster_search.ccs_handler.connections import (
    SETTLING_SECONDS,
    create_outbound,
    delete_outbound,
    looks_like_connection_id,
    update_outbound,
)
from cross_cluster_search.ccs_handler.dialects import ConnectionOperations
from cross_cluster_search.ccs_handler.errors import ConnectionFailed, DeadlineExceeded
from cross_cluster_search.ccs_handler.properties import DomainRef
from cross_cluster_search.ccs_handler.timing import poll_interval


@dataclass
class World:
    source: EsStub
    destination: EsStub
    apis: StubApis
    time: FakeTime


@pytest.fixture
def world() -> Iterator[World]:
    with EsStub(SOURCE.region) as source, EsStub(DESTINATION.region) as destination:
        yield World(source, destination, StubApis(source, destination), FakeTime())
        source.stubber.assert_no_pending_responses()
        destination.stubber.assert_no_pending_responses()


def test_create_waits_for_validation_accepts_in_destination_region_and_waits_for_active(world: World) -> None:
    world.source.create()
    world.source.describe_by_id(es_connection("VALIDATING"))
    world.source.describe_by_id(es_connection("PENDING_ACCEPTANCE"))
    world.destination.accept()
    world.source.describe_by_id(es_connection("PROVISIONING"))
    world.source.describe_by_id(es_connection("ACTIVE"))

    connection = create_outbound(spec(), world.apis, world.time.deadline())

    assert (connection.connection_id, connection.status) == (CONNECTION_ID, "ACTIVE")
    assert world.destination.client.meta.region_name == "eu-west-1"
    assert world.time.sleeps and world.time.sleeps[0] <= 1.0


def test_create_without_accept_stops_at_pending_acceptance(world: World) -> None:
    world.source.create()
    world.source.describe_by_id(es_connection("PENDING_ACCEPTANCE"))

    connection = create_outbound(spec(accept=False), world.apis, world.time.deadline())

    assert connection.status == "PENDING_ACCEPTANCE"


def test_existing_connection_is_adopted_not_duplicated(world: World) -> None:
    other_alias = es_connection("ACTIVE", connection_id="cc-other00000000", alias="metrics")
    deleted_same = es_connection("DELETED", connection_id="cc-deleted000000")
    world.source.before_create(es_connection("ACTIVE"))
    world.source.stubber.add_client_error(
        "create_outbound_cross_cluster_search_connection", "ResourceAlreadyExistsException", "alias exists", 409
    )
    world.source.describe_pair(other_alias, next_token="page2")
    world.source.describe_pair(deleted_same, es_connection("ACTIVE"), token_in="page2")

    connection = create_outbound(spec(), world.apis, world.time.deadline())

    assert connection.connection_id == CONNECTION_ID
    assert world.time.sleeps == []


@pytest.mark.parametrize(
    ("status", "message"), [("VALIDATION_FAILED", "Incompatible versions"), ("REJECTED", "Rejected by owner")]
)
def test_failed_create_reports_the_service_message_and_deletes_what_it_created(
    world: World, status: str, message: str
) -> None:
    world.source.create()
    world.source.describe_by_id(es_connection(status, message=message))
    # cleanup: delete, wait for DELETED
    world.source.delete()
    world.source.describe_by_id(es_connection("DELETED"))

    with pytest.raises(ConnectionFailed, match=f"{status}: {message}"):
        create_outbound(spec(accept=False), world.apis, world.time.deadline())


def test_stuck_connection_times_out_with_a_clear_reason_and_is_cleaned_up(world: World) -> None:
    world.source.create()
    for _ in range(10):
        world.source.describe_by_id(es_connection("VALIDATING"))
    world.source.delete()
    world.source.describe_by_id(es_connection("DELETED"))

    with pytest.raises(DeadlineExceeded, match=r"Timed out after 10 s.*VALIDATING.*TimeoutSeconds"):
        create_outbound(spec(), world.apis, world.time.deadline(10))
    assert world.time.now <= 10 + 60


def test_create_error_from_the_service_names_the_code(world: World) -> None:
    world.source.before_create()
    world.source.stubber.add_client_error(
        "create_outbound_cross_cluster_search_connection",
        "LimitExceededException",
        "Domain logs-source already has 20 outbound connections",
        409,
    )

    with pytest.raises(ConnectionFailed, match="LimitExceededException: Domain logs-source already has 20"):
        create_outbound(spec(), world.apis, world.time.deadline())


def test_update_of_options_only_keeps_the_connection(world: World) -> None:
    world.source.describe_by_id(es_connection("ACTIVE"))

    connection = update_outbound(CONNECTION_ID, spec(timeout_seconds=60), world.apis, world.time.deadline())

    assert connection.connection_id == CONNECTION_ID


def test_update_in_place_accepts_a_pending_connection_when_accept_turns_on(world: World) -> None:
    world.source.describe_by_id(es_connection("PENDING_ACCEPTANCE"))
    world.destination.accept()
    world.source.describe_by_id(es_connection("ACTIVE"))

    connection = update_outbound(CONNECTION_ID, spec(), world.apis, world.time.deadline())

    assert connection.status == "ACTIVE"


OLD_DESTINATION = DomainRef("111111111111", "old-destination", "eu-west-1")


def test_replacement_keeping_source_and_alias_is_refused_before_anything_is_deleted(world: World) -> None:
    world.source.describe_by_id(es_connection("ACTIVE", destination=OLD_DESTINATION))

    with pytest.raises(
        ConnectionFailed, match=r"Not replacing connection cc-0123456789abcdef .*replace_by_deleting_first"
    ):
        update_outbound(CONNECTION_ID, spec(), world.apis, world.time.deadline())


def test_replacement_keeping_source_and_alias_is_refused_under_retain_even_when_allowed(world: World) -> None:
    world.source.describe_by_id(es_connection("ACTIVE", destination=OLD_DESTINATION))

    with pytest.raises(ConnectionFailed, match="RETAIN keeps connections through replacements"):
        update_outbound(
            CONNECTION_ID, spec(replace_by_deleting_first=True, retain=True), world.apis, world.time.deadline()
        )


def test_replacement_with_the_same_alias_deletes_the_old_connection_first_when_allowed(world: World) -> None:
    world.source.describe_by_id(es_connection("ACTIVE", destination=OLD_DESTINATION))
    world.source.delete()
    world.source.describe_by_id(es_connection("DELETED", destination=OLD_DESTINATION))
    world.source.create()
    world.source.describe_by_id(es_connection("ACTIVE"))

    update_outbound(CONNECTION_ID, spec(replace_by_deleting_first=True), world.apis, world.time.deadline())


def test_replacement_with_a_new_alias_creates_first_and_leaves_the_old_to_cloudformation(world: World) -> None:
    old_id = "cc-old0000000000"
    world.source.describe_by_id(es_connection("ACTIVE", alias="before", connection_id=old_id), connection_id=old_id)
    world.source.create(alias="logs")
    world.source.describe_by_id(es_connection("ACTIVE"))

    update_outbound(old_id, spec(), world.apis, world.time.deadline())


@pytest.mark.parametrize("physical_id", ["stack_Connection_AB12CD34", "stack-Connection-1ABCDEF", ""])
def test_delete_of_ids_that_are_not_connections_calls_nothing(world: World, physical_id: str) -> None:
    assert not looks_like_connection_id(physical_id)
    delete_outbound(physical_id, world.apis, world.time.deadline())


def test_delete_of_unknown_or_deleted_connection_succeeds(world: World) -> None:
    # Unknown: asked again every 2 s for SETTLING_SECONDS (it may not be listed yet), then gone.
    for _ in range(16):
        world.source.stubber.add_client_error(
            "delete_outbound_cross_cluster_search_connection", "ResourceNotFoundException", "unknown", 409
        )
        world.source.describe_by_id()
    delete_outbound(CONNECTION_ID, world.apis, world.time.deadline())
    world.source.stubber.assert_no_pending_responses()
    assert sum(world.time.sleeps) == SETTLING_SECONDS
    world.source.stubber.add_client_error(
        "delete_outbound_cross_cluster_search_connection", "DisabledOperationException", "already deleted", 409
    )
    world.source.describe_by_id(es_connection("DELETED"))
    delete_outbound(CONNECTION_ID, world.apis, world.time.deadline())


def test_delete_refused_for_a_live_connection_fails_with_the_services_error(world: World) -> None:
    world.source.stubber.add_client_error(
        "delete_outbound_cross_cluster_search_connection", "DisabledOperationException", "not now", 409
    )
    world.source.describe_by_id(es_connection("ACTIVE"))
    with pytest.raises(ClientError, match="not now"):
        delete_outbound(CONNECTION_ID, world.apis, world.time.deadline())


def test_delete_waits_until_deleted(world: World) -> None:
    world.source.delete()
    world.source.describe_by_id(es_connection("DELETING"))
    world.source.describe_by_id(es_connection("DELETED"))

    delete_outbound(CONNECTION_ID, world.apis, world.time.deadline())
    assert len(world.time.sleeps) == 2


def test_delete_racing_another_delete_succeeds(world: World) -> None:
    world.source.stubber.add_client_error(
        "delete_outbound_cross_cluster_search_connection", "ResourceNotFoundException", "gone", 404
    )
    world.source.describe_by_id()  # not listed yet
    # Looked at again: the other delete's DELETED connection is listed now.
    world.source.stubber.add_client_error(
        "delete_outbound_cross_cluster_search_connection", "DisabledOperationException", "already deleted", 409
    )
    world.source.describe_by_id(es_connection("DELETED"))

    delete_outbound(CONNECTION_ID, world.apis, world.time.deadline())
    world.source.stubber.assert_no_pending_responses()


def test_poll_interval_starts_at_one_second_and_grows_to_a_twentieth_of_the_wait() -> None:
    assert poll_interval(0) == 1.0
    assert poll_interval(100) == 5.0
    assert poll_interval(10_000) == 20.0


def test_opensearch_api_speaks_its_own_shapes() -> None:
    client = boto3.client("opensearch", region_name="us-east-1")
    api = ConnectionOperations.on_client(client, "OPENSEARCH")
    item = {
        "LocalDomainInfo": {"AWSDomainInformation": SOURCE.as_api()},
        "RemoteDomainInfo": {"AWSDomainInformation": DESTINATION.as_api()},
        "ConnectionId": CONNECTION_ID,
        "ConnectionAlias": "logs",
        "ConnectionStatus": {"StatusCode": "VALIDATING"},
        "ConnectionMode": "DIRECT",
    }
    with Stubber(client) as stubber:
        stubber.add_response(
            "create_outbound_connection",
            item,
            {
                "LocalDomainInfo": {"AWSDomainInformation": SOURCE.as_api()},
                "RemoteDomainInfo": {"AWSDomainInformation": DESTINATION.as_api()},
                "ConnectionAlias": "logs",
                "ConnectionMode": "DIRECT",
                "ConnectionProperties": {"CrossClusterSearch": {"SkipUnavailable": "ENABLED"}},
            },
        )
        stubber.add_response(
            "describe_outbound_connections",
            {"Connections": [dict(item, ConnectionStatus={"StatusCode": "ACTIVE"})]},
            {"Filters": [{"Name": "connection-id", "Values": [CONNECTION_ID]}], "MaxResults": 100},
        )
        created = api.create_outbound(spec(api="OPENSEARCH", connection_mode="DIRECT", skip_unavailable="ENABLED"))
        found = api.get_outbound(CONNECTION_ID)
        stubber.assert_no_pending_responses()
    assert created.source == SOURCE and created.destination == DESTINATION and created.alias == "logs"
    assert found is not None and found.status == "ACTIVE"


def test_a_long_throttling_storm_on_create_is_waited_out_but_a_connection_limit_fails_at_once(world: World) -> None:
    world.source.before_create()
    for _ in range(3):
        world.source.stubber.add_client_error(
            "create_outbound_cross_cluster_search_connection", "ThrottlingException", "Rate exceeded", 400
        )
    world.source.create(first=False)
    world.source.describe_by_id(es_connection("ACTIVE"))
    assert create_outbound(spec(), world.apis, world.time.deadline()).status == "ACTIVE"
    assert world.time.sleeps[:3] == [1.0, 2.0, 4.0]

    world.source.before_create()
    world.source.stubber.add_client_error(
        "create_outbound_cross_cluster_search_connection", "LimitExceededException", "20 outbound connections", 409
    )
    slept = len(world.time.sleeps)
    with pytest.raises(ConnectionFailed, match="LimitExceededException: 20 outbound connections"):
        create_outbound(spec(), world.apis, world.time.deadline())
    assert len(world.time.sleeps) == slept


def test_a_connection_that_appears_after_throttling_is_not_taken_for_this_requests(world: World) -> None:
    """Another copy of the request created it while this one was throttled: nothing was lost, so the
    ownership guard decides (and a later failure here must not delete it)."""
    world.source.before_create()
    world.source.stubber.add_client_error(
        "create_outbound_cross_cluster_search_connection", "ThrottlingException", "Rate exceeded", 400
    )
    world.source.stubber.add_client_error(
        "create_outbound_cross_cluster_search_connection", "ResourceAlreadyExistsException", "alias exists", 409
    )
    world.source.describe_pair(es_connection("ACTIVE"))
    guarded: list[str] = []

    def refuse(connection: object) -> None:
        guarded.append(getattr(connection, "connection_id", ""))
        raise ConnectionFailed("not proven")

    with pytest.raises(ConnectionFailed, match="not proven"):
        create_outbound(spec(), world.apis, world.time.deadline(), refuse)
    assert guarded == [CONNECTION_ID]
