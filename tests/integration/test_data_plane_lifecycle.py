"""The data plane through the bundled asset, judged from outside: an app with two domains, a connection, search
access, two follower indices and an auto-follow rule is deployed offline by the real handler in a Lambda-like
process; what it did is read from the local domains (their security configuration, their replications) and from
signed searches, never from the handler."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from conftest import ACCOUNT, fgac_domain, measured_into, new_store, world_time

from ccs_offline import deploy
from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.emulator import Delays
from ccs_offline.local_cloudformation import Response
from ccs_offline.opensearch_domain import LocalDomain
from ccs_offline.world import World, offline, seed_domains
from cross_cluster_search import FollowerIndex, OutboundConnection, RemoteSearchAccess, ReplicationRule

REGION = "us-east-1"
OURS = "cdk_ccs_"


@dataclass
class App:
    stack: StackTemplate
    ids: dict[str, str]  #: construct id -> logical id of its resource
    reader: str  #: LogReader's ARN, as the offline world resolves it
    stranger: str  #: a role no domain maps


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    outdir = tmp_path_factory.mktemp("cdk.out")
    cdk_app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(cdk_app, "DataPlaneLifecycle", env=cdk.Environment(account=ACCOUNT, region=REGION))
    admin = iam.Role(stack, "Admin", role_name="dp-admin", assumed_by=iam.AccountRootPrincipal())
    reader = iam.Role(stack, "Reader", role_name="log-reader", assumed_by=iam.AccountRootPrincipal())
    source, destination = (
        fgac_domain(stack, "Follower", "dpl-follower", admin),
        fgac_domain(stack, "Leader", "dpl-leader", admin),
    )
    connection = OutboundConnection(stack, "Conn", source=source, destination=destination, connection_alias="demo")
    constructs: dict[str, cdk.Resource] = {
        "Search": RemoteSearchAccess(
            stack,
            "Search",
            connection=connection,
            admin_role=admin,
            index_patterns=["logs-*"],
            backend_roles=[reader.role_arn],
            smoke_search_role=reader,
        ),
        "Replica": FollowerIndex(
            stack,
            "Replica",
            connection=connection,
            leader_index="logs-2026",
            leader_admin_role=admin,
            follower_admin_role=admin,
            stop_replication_on_delete=True,
        ),
        "Kept": FollowerIndex(
            stack,
            "Kept",
            connection=connection,
            leader_index="audit-2026",
            leader_admin_role=admin,
            follower_admin_role=admin,
        ),
        "Rule": ReplicationRule(
            stack,
            "Rule",
            connection=connection,
            index_pattern="metrics-*",
            leader_admin_role=admin,
            follower_admin_role=admin,
        ),
    }
    cdk_app.synth()
    [template] = load_assembly(outdir)
    ids = {
        name: stack.get_logical_id(construct.node.default_child)  # type: ignore[arg-type]
        for name, construct in constructs.items()
    }
    ids["Conn"] = stack.get_logical_id(connection.node.default_child)  # type: ignore[arg-type]
    return App(template, ids, f"arn:aws:iam::{ACCOUNT}:role/log-reader", f"arn:aws:iam::{ACCOUNT}:role/stranger")


@pytest.fixture
def world(app: App) -> Iterator[World]:
    store = new_store(Delays(validating=0.2, provisioning=0.2, deleting=0.2))
    seed_domains(store, app.stack)
    with offline(app.stack, store, coverage_data_file=measured_into(), clock=world_time(), bootstrap_seconds=4) as w:
        leader = w.domain("dpl-leader")
        for index in ("logs-2026", "audit-2026", "metrics-1"):
            leader.index(index, "1", {"message": f"first of {index}"})
        yield w


def ours(domain: LocalDomain) -> dict[str, dict[str, list[str]]]:
    """The roles of this library on a domain, with their mapping's entries."""
    return {
        name: {k: v for k, v in domain.mappings.get(name, {}).items() if v and k in ("users", "backend_roles")}
        for name in sorted(domain.roles)
        if name.startswith(OURS)
    }


def create_connection(world: World, app: App) -> None:
    assert world.cloudformation.create(app.ids["Conn"]).ok


def test_deploy_searches_and_replicates_and_delete_removes_only_what_it_should(world: World, app: App) -> None:
    cfn, leader, follower = world.cloudformation, world.domain("dpl-leader"), world.domain("dpl-follower")
    created = {r.logical_id: r for r in cfn.deploy()}
    assert all(r.ok for r in created.values()), {k: r.reason for k, r in created.items() if not r.ok}

    # A search through the connection as the source side's reader finds the leader's document.
    props = cfn.deployed[app.ids["Search"]].properties
    words, hit = deploy.search_report(world, ACCOUNT, props)
    assert hit, words
    # The follower index is SYNCING with the leader's document, and says so in its attributes.
    replica = created[app.ids["Replica"]]
    assert replica.data["ReplicationStatus"] == "SYNCING"
    assert follower.documents("logs-2026") == leader.documents("logs-2026")
    # The rule starts what matches its pattern, in the plugin's own time.
    ends = world.clock.now() + 120
    while "metrics-1" not in follower.replications and world.clock.now() < ends:
        world.clock.sleep(2)
    assert "metrics-1" in follower.replications
    # Least privilege: the search role reads logs-*; the replication roles name only their index or pattern.
    search_role = created[app.ids["Search"]].data["RoleName"]
    assert leader.roles[search_role]["index_permissions"] == [
        {
            "index_patterns": ["logs-*"],
            "allowed_actions": ["indices:admin/shards/search_shards", "indices:data/read/search"],
        }
    ]
    assert leader.roles[search_role]["cluster_permissions"] == []
    patterns = {
        tuple(role["index_permissions"][0]["index_patterns"])
        for domain in (leader, follower)
        for name, role in domain.roles.items()
        if name.startswith(OURS)
    }
    assert sorted(patterns) == [("audit-2026",), ("logs-*",), ("logs-2026",), ("metrics-*",)]
    # Every change is one log line naming the domain, the role and the entries.
    logs = created[app.ids["Search"]].logs
    assert f"dpl-leader: role {search_role} mapped to backend_roles=['{app.reader}']" in logs

    deleted = cfn.destroy()
    assert all(r.ok for r in deleted), [r.reason for r in deleted if not r.ok]
    # The stopped follower index is a normal index now, its roles gone; the kept one still replicates, as do
    # the rule's indices (a deleted rule stops nothing), and their roles stay, in a KEPT_DATA_PLANE line.
    assert "logs-2026" not in follower.replications and "logs-2026" in follower.indices
    assert {"audit-2026", "metrics-1"} <= set(follower.replications)
    left = set(ours(leader)) | set(ours(follower))
    assert left and all("Kept" in name or "Rule" in name or "autofollow" in name for name in left), left
    assert not follower.rules
    kept_logs = "".join(r.logs for r in deleted if r.logical_id in (app.ids["Kept"], app.ids["Rule"]))
    assert kept_logs.count("KEPT_DATA_PLANE") == 2


def test_a_rule_waits_for_what_it_matches_and_can_stop_it_on_delete(world: World, app: App) -> None:
    create_connection(world, app)
    cfn, follower = world.cloudformation, world.domain("dpl-follower")
    created = cfn.create(app.ids["Rule"], {"StopReplicationOnDelete": "true"})
    assert created.ok, created.reason
    # The Create answered once the matching leader index replicates (the plugin's poll came round meanwhile).
    assert follower.replications["metrics-1"].leader_index == "metrics-1"
    assert follower.documents("metrics-1") == world.domain("dpl-leader").documents("metrics-1")
    deleted = cfn.delete(app.ids["Rule"])
    assert deleted.ok, deleted.reason
    assert not follower.rules
    assert "metrics-1" not in follower.replications and "metrics-1" in follower.indices, deleted.logs
    assert ours(follower) == {} and ours(world.domain("dpl-leader")) == {}


def test_an_unmapped_admin_role_fails_naming_domain_role_and_permission_and_leaves_nothing(
    world: World, app: App
) -> None:
    create_connection(world, app)
    cfn, leader = world.cloudformation, world.domain("dpl-leader")
    world.emulator.store.add_role(app.stranger, {ACCOUNT})
    definition = cfn.definition(app.ids["Search"])
    destination = dict(definition.properties["DestinationDomain"])
    response = cfn.create(app.ids["Search"], {"DestinationDomain": {**destination, "AdminRoleArn": app.stranger}})
    assert not response.ok
    assert "dpl-leader" in response.reason and app.stranger in response.reason
    assert "security REST API" in response.reason
    assert ours(leader) == {}


def test_a_follower_index_that_cannot_start_undoes_its_roles_and_reports_the_plugin(world: World, app: App) -> None:
    create_connection(world, app)
    cfn = world.cloudformation
    response = cfn.create(app.ids["Replica"], {"LeaderIndex": "missing-2026"})
    assert not response.ok
    assert "no such index [missing-2026]" in response.reason
    assert ours(world.domain("dpl-leader")) == {} and ours(world.domain("dpl-follower")) == {}
    assert "Undid what this request made" in response.logs


def test_a_late_create_changes_nothing(world: World, app: App) -> None:
    create_connection(world, app)
    cfn = world.cloudformation
    cfn.stack_status = "ROLLBACK_COMPLETE"
    response = cfn.create(app.ids["Replica"])
    assert not response.ok and response.reason.startswith("Changed nothing: stack")
    assert ours(world.domain("dpl-leader")) == {} and not world.domain("dpl-follower").replications


def test_updating_whom_search_access_maps_keeps_entries_others_added(world: World, app: App) -> None:
    create_connection(world, app)
    cfn, leader = world.cloudformation, world.domain("dpl-leader")
    created: Response = cfn.create(app.ids["Search"])
    assert created.ok, created.reason
    role = created.data["RoleName"]
    leader.map_role(role, backend_roles=("arn:aws:iam::222222222222:role/other-team",))
    analyst = f"arn:aws:iam::{ACCOUNT}:role/analyst"
    world.emulator.store.add_role(analyst, {ACCOUNT})
    updated = cfn.update(app.ids["Search"], {"BackendRoles": [app.reader, analyst], "Users": ["carol"]})
    assert updated.ok and updated.physical_id == created.physical_id, updated.reason
    assert ours(leader)[role] == {
        "backend_roles": [app.reader, "arn:aws:iam::222222222222:role/other-team", analyst],
        "users": ["carol"],
    }
    narrowed = cfn.update(app.ids["Search"], {"BackendRoles": [analyst], "Users": []})
    assert narrowed.ok, narrowed.reason
    assert ours(leader)[role] == {"backend_roles": ["arn:aws:iam::222222222222:role/other-team", analyst]}
    assert cfn.delete(app.ids["Search"]).ok
    assert ours(leader) == {}


def test_a_replaced_follower_index_and_the_cleanup_of_the_old_one_share_nothing(world: World, app: App) -> None:
    """A new follower_index is a replacement; CloudFormation's cleanup Delete of the old resource (which stops
    on delete) stops only the old index and deletes only the old roles: the new one keeps syncing."""
    create_connection(world, app)
    cfn, follower = world.cloudformation, world.domain("dpl-follower")
    assert cfn.create(app.ids["Replica"]).ok
    before = set(ours(follower))
    replaced = cfn.update(app.ids["Replica"], {"FollowerIndex": "logs-2026-copy"})
    assert replaced.ok, replaced.reason
    assert replaced.physical_id == "us-east-1/dpl-follower/logs-2026-copy"
    assert "logs-2026" not in follower.replications  # the old one, stopped by the cleanup Delete
    status = deploy.replication_report(world, ACCOUNT, cfn.deployed[app.ids["Replica"]].properties)
    assert status[1], status[0]
    now = set(ours(follower))
    assert now and not (now & before), (before, now)  # the old roles went, the new ones are there


def test_a_refused_leader_change_does_not_refuse_its_rollback(world: World, app: App) -> None:
    create_connection(world, app)
    cfn = world.cloudformation
    assert cfn.create(app.ids["Replica"]).ok
    seen = len(cfn.history)
    forward = cfn.update(app.ids["Replica"], {"LeaderIndex": "audit-2026"})
    assert not forward.ok and "cannot follow another leader" in forward.reason
    rollback = cfn.history[seen + 1 :]
    assert rollback and all(r.ok for r in rollback), [r.reason for r in rollback]
    assert world.domain("dpl-follower").replications["logs-2026"].leader_index == "logs-2026"


def test_an_update_of_a_paused_follower_index_reports_it_and_succeeds(world: World, app: App) -> None:
    create_connection(world, app)
    cfn, follower = world.cloudformation, world.domain("dpl-follower")
    assert cfn.create(app.ids["Replica"]).ok
    follower.replications["logs-2026"].state, follower.replications["logs-2026"].reason = "PAUSED", "User initiated"
    updated = cfn.update(app.ids["Replica"], {"StopReplicationOnDelete": "false"})
    assert updated.ok, updated.reason
    assert updated.data["ReplicationStatus"] == "PAUSED"


def test_a_rule_that_stops_on_delete_leaves_a_follower_index_the_stack_holds(world: World, app: App) -> None:
    create_connection(world, app)
    cfn, follower = world.cloudformation, world.domain("dpl-follower")
    world.domain("dpl-leader").index("logs-2027", "1", {"message": "next year"})
    assert cfn.create(app.ids["Replica"]).ok  # logs-2026, held by the FollowerIndex
    rule = cfn.create(app.ids["Rule"], {"IndexPattern": "logs-*", "StopReplicationOnDelete": "true"})
    assert rule.ok, rule.reason
    assert follower.replications["logs-2027"].rule is not None
    assert cfn.delete(app.ids["Rule"]).ok
    assert "logs-2027" not in follower.replications  # the rule's, stopped
    assert follower.replications["logs-2026"].state == "RUNNING"  # the FollowerIndex's, left alone


def test_a_role_of_that_name_that_is_not_the_resources_is_refused_and_left(world: World, app: App) -> None:
    create_connection(world, app)
    cfn, leader = world.cloudformation, world.domain("dpl-leader")
    role = cfn.definition(app.ids["Search"]).properties["RoleName"]
    leader.roles[role] = {"description": "another team's", "cluster_permissions": [], "index_permissions": []}
    response = cfn.create(app.ids["Search"])
    assert not response.ok and f"role {role} exists and is not this resource's" in response.reason
    assert leader.roles[role]["description"] == "another team's"
