"""The data-plane client (lambda/data_plane.py) against the local OpenSearch domains, over real HTTPS with
SigV4 signatures the stand-in verifies, on a clock that only moves when the client waits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from ccs_offline.opensearch_domain import LocalDomain, OpenSearchWorld, local_opensearch
from cross_cluster_search.ccs_handler.data_plane import (
    FOLLOWER_ROLE,
    LEADER_ROLE,
    REMOTE_SEARCH_ACTIONS,
    DataPlaneError,
    DataPlaneForbidden,
    DomainClient,
    DomainEndpoint,
    MappingEntries,
    ReplicationFailed,
)
from cross_cluster_search.ccs_handler.errors import DeadlineExceeded
from cross_cluster_search.ccs_handler.timing import Clock, Deadline

REGION = "eu-west-1"
ADMIN = "arn:aws:iam::111111111111:role/ccs-admin"
READER = "arn:aws:iam::111111111111:role/log-reader"
OTHER_TEAM = "arn:aws:iam::111111111111:role/other-team"
BOOTSTRAP = 40.0


@dataclass
class FastClock:
    """World time that passes only when someone sleeps on it."""

    t: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def deadline(self, seconds: float) -> Deadline:
        return Deadline(seconds, Clock(self.now, self.sleep))


@dataclass
class Pair:
    """A follower (the connection's source) and a leader (its destination) with an ACTIVE connection."""

    world: OpenSearchWorld
    clock: FastClock
    source: LocalDomain
    destination: LocalDomain

    def client(self, domain: LocalDomain, role: str = ADMIN) -> DomainClient:
        endpoint = DomainEndpoint(domain.name, domain.endpoint, REGION)
        return DomainClient(endpoint, self.world.session(role), role, timeout=5)


@pytest.fixture
def pair(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    clock = FastClock()
    with local_opensearch(clock.now, clock.sleep, bootstrap_seconds=BOOTSTRAP) as (world, ca_file):
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
        source, destination = world.add_domain("follower", REGION), world.add_domain("leader", REGION)
        for domain in (source, destination):
            domain.map_role("all_access", backend_roles=(ADMIN,))
        source.connect("leader-logs", destination)
        destination.index("logs-2026", "1", {"message": "hello from the leader"})
        yield Pair(world, clock, source, destination)


# --- roles and mappings -----------------------------------------------------------------------------------
def test_a_role_is_created_then_updated_then_deleted(pair: Pair) -> None:
    client = pair.client(pair.destination)
    assert client.put_role("ccs-read", index_patterns=["logs-*"], allowed_actions=["read"]) is True
    assert client.put_role("ccs-read", index_patterns=["logs-*", "app-*"], allowed_actions=["read"]) is False
    assert pair.destination.roles["ccs-read"]["index_permissions"][0]["index_patterns"] == ["logs-*", "app-*"]
    assert client.delete_role("ccs-read") is True
    assert client.delete_role("ccs-read") is False
    assert "ccs-read" not in pair.destination.roles


def test_adding_entries_keeps_the_entries_others_made(pair: Pair) -> None:
    pair.destination.map_role(FOLLOWER_ROLE, users=("alice",), backend_roles=(OTHER_TEAM,))
    client = pair.client(pair.destination)
    client.add_mapping_entries(FOLLOWER_ROLE, MappingEntries(backend_roles=(READER,)))
    client.add_mapping_entries(FOLLOWER_ROLE, MappingEntries(backend_roles=(READER,)))  # again: no duplicate
    mapping = pair.destination.mappings[FOLLOWER_ROLE]
    assert mapping["users"] == ["alice"]
    assert mapping["backend_roles"] == [OTHER_TEAM, READER]


def test_removing_entries_removes_only_ours(pair: Pair) -> None:
    pair.destination.map_role(LEADER_ROLE, users=("alice",), backend_roles=(OTHER_TEAM, READER))
    client = pair.client(pair.destination)
    client.remove_mapping_entries(LEADER_ROLE, MappingEntries(backend_roles=(READER,)))
    assert pair.destination.mappings[LEADER_ROLE]["backend_roles"] == [OTHER_TEAM]
    assert pair.destination.mappings[LEADER_ROLE]["users"] == ["alice"]
    client.remove_mapping_entries("no-such-mapping", MappingEntries(users=("x",)))  # nothing to remove


def test_a_mapping_that_changes_between_read_and_write_is_read_again(pair: Pair) -> None:
    """Someone maps another entry right after our read: the tested patch fails, and the retry keeps it."""
    pair.destination.map_role(LEADER_ROLE, backend_roles=(OTHER_TEAM,))
    client = pair.client(pair.destination)
    real_read = client.role_mapping
    reads = []

    def read_then_someone_writes(role: str) -> dict[str, list[str]] | None:
        seen = real_read(role)
        reads.append(seen)
        if len(reads) == 1:
            pair.destination.map_role(LEADER_ROLE, backend_roles=("arn:aws:iam::111111111111:role/late-comer",))
        return seen

    client.role_mapping = read_then_someone_writes  # type: ignore[method-assign]
    client.add_mapping_entries(LEADER_ROLE, MappingEntries(backend_roles=(READER,)))
    assert len(reads) == 2
    assert pair.destination.mappings[LEADER_ROLE]["backend_roles"] == [
        OTHER_TEAM,
        "arn:aws:iam::111111111111:role/late-comer",
        READER,
    ]


def test_every_change_is_one_log_line_naming_domain_role_and_entries(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    client = pair.client(pair.destination)
    with caplog.at_level(logging.INFO, logger="cross_cluster_search.ccs_handler.data_plane"):
        client.add_mapping_entries(LEADER_ROLE, MappingEntries(backend_roles=(READER,)))
        client.add_mapping_entries(LEADER_ROLE, MappingEntries(backend_roles=(READER,)))  # no change, no line
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("data_plane")]
    assert "leader" in line and LEADER_ROLE in line and READER in line


def test_an_admin_role_without_security_api_access_gets_a_clear_error(pair: Pair) -> None:
    unmapped = "arn:aws:iam::111111111111:role/not-an-admin"
    client = pair.client(pair.destination, role=unmapped)
    with pytest.raises(DataPlaneForbidden) as refused:
        client.add_mapping_entries(LEADER_ROLE, MappingEntries(backend_roles=(READER,)))
    message = str(refused.value)
    assert "Domain leader" in message and unmapped in message and "security REST API" in message
    assert "does not have any role privileged for admin access" in message  # the plugin's own words
    assert LEADER_ROLE not in pair.destination.mappings


def test_a_signature_for_another_service_is_refused_before_the_plugin(pair: Pair) -> None:
    client = pair.client(pair.destination)
    client.client.transport.get_connection().http_auth.signer.service = "s3"
    with pytest.raises(DataPlaneForbidden, match=r"Domain leader: .*access policy"):
        client.put_role("r", index_patterns=["*"], allowed_actions=["read"])
    assert "r" not in pair.destination.roles


def test_a_signature_for_another_region_is_refused(pair: Pair) -> None:
    endpoint = DomainEndpoint("leader", pair.destination.endpoint, "us-west-2")
    client = DomainClient(endpoint, pair.world.session(ADMIN), ADMIN)
    with pytest.raises(DataPlaneForbidden, match=r"valid region.*check the SigV4 region"):
        client.delete_role("anything")


# --- replication ----------------------------------------------------------------------------------------
def map_for_replication(pair: Pair, role: str = ADMIN) -> None:
    pair.source.map_role(FOLLOWER_ROLE, backend_roles=(role,))
    pair.destination.map_role(LEADER_ROLE, backend_roles=(role,))


def test_replication_waits_until_syncing_on_the_world_clock(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    assert follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026") is True
    started = pair.clock.t
    status = follower.wait_until_syncing("logs-2026", pair.clock.deadline(300))
    assert status.status == "SYNCING"
    assert BOOTSTRAP <= pair.clock.t - started <= BOOTSTRAP + 5  # waited the bootstrap out, not much more
    assert pair.source.documents("logs-2026") == {"1": {"message": "hello from the leader"}}
    # A re-delivered start is a no-op, not an error.
    assert follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026") is False


def test_replication_that_fails_reports_the_plugins_reason(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026")
    pair.source.fail_replication("logs-2026", "retention lease with ID [replication:x] not found")
    with pytest.raises(ReplicationFailed, match=r"Domain follower: .*logs-2026 .*FAILED: retention lease"):
        follower.wait_until_syncing("logs-2026", pair.clock.deadline(300))


def test_replication_that_does_not_sync_in_time_times_out(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026")
    with pytest.raises(DeadlineExceeded, match="BOOTSTRAPPING"):
        follower.wait_until_syncing("logs-2026", pair.clock.deadline(10))


def test_replication_without_the_leader_mapping_names_the_leader_permission(pair: Pair) -> None:
    pair.source.map_role(FOLLOWER_ROLE, backend_roles=(ADMIN,))  # the leader's mapping is missing
    follower = pair.client(pair.source)
    with pytest.raises(DataPlaneForbidden) as refused:
        follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026")
    assert "indices:admin/plugins/replication/index/setup/validate" in str(refused.value)
    assert ADMIN in str(refused.value)
    assert "logs-2026" not in pair.source.replications


def test_an_index_that_follows_another_leader_is_not_taken_over(pair: Pair) -> None:
    map_for_replication(pair)
    pair.destination.index("logs-2025", "9", {"message": "older"})
    follower = pair.client(pair.source)
    follower.start_replication("logs", leader_alias="leader-logs", leader_index="logs-2025")
    with pytest.raises(DataPlaneError, match="already follows leader-logs:logs-2025"):
        follower.start_replication("logs", leader_alias="leader-logs", leader_index="logs-2026")


def test_stop_ends_replication_once(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026")
    assert follower.stop_replication("logs-2026") is True
    assert follower.stop_replication("logs-2026") is False
    assert follower.replication_status("logs-2026").status == "REPLICATION NOT IN PROGRESS"


def test_an_autofollow_rule_replicates_matching_indices_and_its_deletion_leaves_them(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    assert follower.create_autofollow_rule("logs", leader_alias="leader-logs", pattern="logs-*") is True
    # The plugin's POST is an upsert: the same name again replaces the rule (here: with another pattern).
    assert follower.create_autofollow_rule("logs", leader_alias="leader-logs", pattern="logs-20*") is True
    assert pair.source.rules[("leader-logs", "logs")].pattern == "logs-20*"
    assert follower.create_autofollow_rule("logs", leader_alias="leader-logs", pattern="logs-*") is True
    follower.wait_until_syncing("logs-2026", pair.clock.deadline(300))
    assert follower.delete_autofollow_rule("logs", leader_alias="leader-logs") is True
    assert follower.delete_autofollow_rule("logs", leader_alias="leader-logs") is False
    assert follower.replication_status("logs-2026").status == "SYNCING"


def test_an_autofollow_rule_picks_up_a_new_leader_index_at_its_next_poll(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    follower.create_autofollow_rule("logs", leader_alias="leader-logs", pattern="logs-*")
    pair.clock.sleep(10)
    pair.destination.index("logs-2027", "7", {"message": "new"})
    assert follower.replication_status("logs-2027").status == "REPLICATION NOT IN PROGRESS"
    pair.clock.sleep(20)  # the rule's 30 s poll comes round
    assert follower.replication_status("logs-2027").status == "BOOTSTRAPPING"
    follower.wait_until_syncing("logs-2027", pair.clock.deadline(300))
    assert pair.source.documents("logs-2027") == {"7": {"message": "new"}}


def test_a_paused_replication_does_not_count_as_syncing(pair: Pair) -> None:
    map_for_replication(pair)
    follower = pair.client(pair.source)
    follower.start_replication("logs-2026", leader_alias="leader-logs", leader_index="logs-2026")
    follower.client.transport.perform_request("POST", "/_plugins/_replication/logs-2026/_pause", body={})
    with pytest.raises(ReplicationFailed, match="is PAUSED: User initiated"):
        follower.wait_until_syncing("logs-2026", pair.clock.deadline(300))


# --- search through the connection ----------------------------------------------------------------------
def test_a_cross_cluster_search_is_refused_until_the_mapping_exists_then_answers(pair: Pair) -> None:
    searcher = pair.client(pair.source, role=READER)
    with pytest.raises(DataPlaneForbidden) as refused:
        searcher.smoke_search("leader-logs", "logs-*")
    message = str(refused.value)
    assert "no permissions for [indices:admin/shards/search_shards, indices:data/read/search]" in message
    assert f"User [name={READER}" in message and "Domain follower" in message

    admin = pair.client(pair.destination)
    admin.put_role("ccs-remote-read", index_patterns=["logs-*"], allowed_actions=list(REMOTE_SEARCH_ACTIONS))
    admin.add_mapping_entries("ccs-remote-read", MappingEntries(backend_roles=(READER,)))
    assert searcher.smoke_search("leader-logs", "logs-*") == 1


def test_a_role_on_other_indices_does_not_open_the_search(pair: Pair) -> None:
    admin = pair.client(pair.destination)
    admin.put_role("ccs-remote-read", index_patterns=["metrics-*"], allowed_actions=list(REMOTE_SEARCH_ACTIONS))
    admin.add_mapping_entries("ccs-remote-read", MappingEntries(backend_roles=(READER,)))
    with pytest.raises(DataPlaneForbidden, match="indices:data/read/search"):
        pair.client(pair.source, role=READER).smoke_search("leader-logs", "logs-*")


def test_an_unknown_connection_alias_is_an_error_naming_it(pair: Pair) -> None:
    with pytest.raises(DataPlaneError, match=r"no such remote cluster: \[nowhere\]"):
        pair.client(pair.source).smoke_search("nowhere", "logs-*")


def test_an_iam_denial_is_waited_out_while_a_new_grant_may_still_apply(pair: Pair) -> None:
    """AWS's front end denies a role whose es:ESHttp* grant is not applied yet; the client tries again on its
    clock, within the propagation window, and the security plugin's own refusals are never retried."""
    endpoint = DomainEndpoint(pair.destination.name, pair.destination.endpoint, REGION)
    patient = DomainClient(
        endpoint, pair.world.session(ADMIN), ADMIN, timeout=5, clock=pair.clock, iam_propagation_seconds=40
    )
    pair.world.iam_denials[ADMIN] = 2
    before = pair.clock.t
    assert patient.put_role("late-grant", index_patterns=["logs-*"], allowed_actions=["read"]) is True
    assert pair.clock.t - before == 3.0  # 1 s, then 2 s
    pair.world.iam_denials[ADMIN] = 100
    with pytest.raises(DataPlaneForbidden, match="not authorized to perform: es:ESHttpDelete"):
        patient.delete_role("late-grant")
    assert pair.clock.t - before <= 3.0 + 40
    pair.world.iam_denials[ADMIN] = 0
    reader = DomainClient(
        endpoint, pair.world.session(READER), READER, timeout=5, clock=pair.clock, iam_propagation_seconds=40
    )
    waited = pair.clock.t
    with pytest.raises(DataPlaneForbidden, match="security REST API"):
        reader.put_role("x", index_patterns=["logs-*"], allowed_actions=["read"])
    assert pair.clock.t == waited  # the plugin's refusal: no waiting
