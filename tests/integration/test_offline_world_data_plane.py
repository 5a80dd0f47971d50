"""The offline world's data plane (world.py with opensearch_domain.py): the template's domains run as local HTTPS
domains their DomainEndpoint resolves to, each fine-grained access control master user is mapped as AWS maps it,
the sessions the emulator's STS hands out act as their role on the domains, an ACTIVE connection is a remote
cluster of its source until it is deleted, and the Lambda-like process trusts one CA bundle for everything local.

The data-plane resources are added to the synthesized template by hand (their constructs and handler come
separately): nothing here deploys them, the world only reads what they name."""

from __future__ import annotations

import copy
import dataclasses
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from botocore.credentials import Credentials
from conftest import ACCOUNT, fgac_domain, measured_into, new_store, world_time

from ccs_offline import deploy
from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.opensearch_domain import Caller
from ccs_offline.world import World, offline, seed_domains
from cross_cluster_search import OutboundConnection
from cross_cluster_search.ccs_handler.data_plane import DataPlaneError, DataPlaneForbidden, DomainClient, DomainEndpoint

REGION = "us-east-1"
#: A leader the template does not declare, named by its AWS endpoint (an imported domain).
PARTNER = "partner-logs"
PARTNER_ENDPOINT = f"search-{PARTNER}-abcdefghijklmnopqrstuvwxyz.{REGION}.es.amazonaws.com"
PARTNER_ADMIN = f"arn:aws:iam::{ACCOUNT}:role/partner-admin"
READ_LOGS = {
    "index_patterns": ["logs-*"],
    "allowed_actions": ["indices:data/read/search", "indices:admin/shards/search_shards"],
}
LEADER_ROLE = "cross_cluster_replication_leader_full_access"
FOLLOWER_ROLE = "cross_cluster_replication_follower_full_access"
START = {
    "leader_alias": "demo",
    "leader_index": "logs-2026",
    "use_roles": {"leader_cluster_role": LEADER_ROLE, "follower_cluster_role": FOLLOWER_ROLE},
}
DOMAINS = ("LeaderDomain", "FollowerDomain")  #: (the alias is an attribute of the connection, known once deployed)


@dataclass
class Synthesized:
    stack: StackTemplate
    connection: str  #: the OutboundConnection's logical id
    admin_arn: str  #: SearchAdmin's ARN as the template resolves it (RoleName set)
    reader_arn: str  #: LogReader's (no RoleName: the logical id stands for the generated name)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "DataPlaneWorld", env=cdk.Environment(account=ACCOUNT, region=REGION))
    admin = iam.Role(stack, "SearchAdmin", role_name="search-admin", assumed_by=iam.AccountRootPrincipal())
    reader = iam.Role(stack, "LogReader", assumed_by=iam.AccountRootPrincipal())
    source = fgac_domain(stack, "Source", "dp-source", admin)
    destination = fgac_domain(stack, "Destination", "dp-destination", admin)
    fgac_domain(stack, "Internal", "dp-internal", None)
    connection = OutboundConnection(stack, "Conn", source=source, destination=destination, connection_alias="demo")
    app.synth()
    [template] = load_assembly(outdir)
    ids = {
        name: stack.get_logical_id(construct.node.default_child)  # type: ignore[arg-type]
        for name, construct in (("admin", admin), ("reader", reader), ("source", source), ("dest", destination))
    }
    connection_id = stack.get_logical_id(connection.resource.node.default_child)  # type: ignore[arg-type]
    document = copy.deepcopy(template.template)
    token = document["Resources"][connection_id]["Properties"]["ServiceToken"]

    def of(domain_id: str) -> dict[str, Any]:
        return {
            "DomainName": {"Ref": domain_id},
            "Region": {"Ref": "AWS::Region"},
            "Endpoint": {"Fn::GetAtt": [domain_id, "DomainEndpoint"]},
            "AdminRoleArn": {"Fn::GetAtt": [ids["admin"], "Arn"]},
        }

    document["Resources"]["Follow"] = {
        "Type": "Custom::CrossClusterFollowerIndex",
        "Properties": {
            "ServiceToken": token,
            "LeaderDomain": {
                "DomainName": PARTNER,
                "Region": REGION,
                "Endpoint": PARTNER_ENDPOINT,
                "AdminRoleArn": PARTNER_ADMIN,
            },
            "FollowerDomain": of(ids["source"]),
            "ConnectionAlias": {"Fn::GetAtt": [connection_id, "ConnectionAlias"]},
            "LeaderIndex": "logs-2026",
            "FollowerIndex": "logs-2026",
        },
    }
    document["Resources"]["Search"] = {
        "Type": "Custom::CrossClusterSearchAccess",
        "Properties": {
            "ServiceToken": token,
            "DestinationDomain": of(ids["dest"]),
            "IndexPatterns": ["logs-*"],
            "BackendRoles": [{"Fn::GetAtt": [ids["reader"], "Arn"]}],
            "ConnectionAlias": "demo",
            "SmokeSearch": {
                **{k: v for k, v in of(ids["source"]).items() if k != "AdminRoleArn"},
                "RoleArn": {"Fn::GetAtt": [ids["reader"], "Arn"]},
            },
        },
    }
    return Synthesized(
        dataclasses.replace(template, template=document),
        connection_id,
        f"arn:aws:iam::{ACCOUNT}:role/search-admin",
        f"arn:aws:iam::{ACCOUNT}:role/{ids['reader']}",
    )


@pytest.fixture
def world(synthesized: Synthesized) -> Any:
    store = new_store()
    seed_domains(store, synthesized.stack)
    with offline(synthesized.stack, store, measured_into(), clock=world_time(), bootstrap_seconds=5) as running:
        yield running


def _client(world: World, domain: str, role_arn: str, token: str | None = None) -> DomainClient:
    """The handler's DomainClient as `role_arn`, with a session from the emulator's STS (`token` replaces the
    session token it issued)."""
    sts = world.emulator.client("sts", ACCOUNT, REGION)
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    credentials = Credentials(
        issued["AccessKeyId"], issued["SecretAccessKey"], token if token is not None else issued["SessionToken"]
    )
    local = world.domain(domain)
    return DomainClient(DomainEndpoint(domain, world.endpoints()[domain], local.region), credentials, role_arn)


def test_domain_endpoints_resolve_to_the_local_domains_while_the_world_runs(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    source_id = next(k for k, (name, _) in stack.domain_names().items() if name == "dp-source")
    get_endpoint = {"Fn::GetAtt": [source_id, "DomainEndpoint"]}
    with offline(stack, new_store(), clock=world_time()) as world:
        local = world.domain("dp-source")
        assert local.endpoint == f"https://{stack.resolve(get_endpoint)}"
        assert stack.resolve(get_endpoint).startswith("127.0.0.1:")
        follow = {key: stack.resolve(stack.resources["Follow"]["Properties"][key]) for key in DOMAINS}
        # The follower is the template's domain; the leader the template does not declare is named by its AWS
        # endpoint, which resolves to its local stand-in (the offline world has no DNS for it).
        assert follow["FollowerDomain"]["Endpoint"] == world.endpoints()["dp-source"]
        assert follow["LeaderDomain"]["Endpoint"] == world.endpoints()[PARTNER]
        assert follow["FollowerDomain"]["AdminRoleArn"] == synthesized.admin_arn
        smoke = stack.resolve(stack.resources["Search"]["Properties"])["SmokeSearch"]
        assert smoke["RoleArn"] == synthesized.reader_arn
        assert smoke["Endpoint"] == world.endpoints()["dp-source"]
    # Without a running world, endpoints are as AWS names them again.
    assert stack.resolve(get_endpoint) == f"search-dp-source.{REGION}.es.amazonaws.com"
    assert stack.resolve(stack.resources["Follow"]["Properties"]["LeaderDomain"])["Endpoint"] == PARTNER_ENDPOINT


def test_master_users_are_mapped_and_admin_roles_may_be_assumed(world: World, synthesized: Synthesized) -> None:
    admin = synthesized.admin_arn
    for name in ("dp-source", "dp-destination"):
        mappings = world.domain(name).mappings
        for role in ("all_access", "security_manager"):
            assert admin in mappings[role]["users"] and admin in mappings[role]["backend_roles"], (name, role)
    assert world.domain("dp-internal").mappings == {}  # an internal master user: no IAM role is mapped
    assert world.domain(PARTNER).roles_of(Caller(PARTNER_ADMIN)) == ["all_access", "security_manager"]
    for role in (admin, synthesized.reader_arn, PARTNER_ADMIN):
        assert world.store.roles[role] == ({ACCOUNT}, None), role
    assert any("dp-internal" in line and "no IAM role mapped" in line for line in world.data_plane)


def test_assumed_role_sessions_act_as_their_role(
    world: World, synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", world.ca_bundle)
    admin = _client(world, "dp-destination", synthesized.admin_arn)
    assert synthesized.admin_arn in (admin.role_mapping("all_access") or {})["users"]
    reader = _client(world, "dp-destination", synthesized.reader_arn)
    with pytest.raises(DataPlaneForbidden, match="REST API"):
        reader.role_mapping("all_access")
    forged = _client(world, "dp-destination", synthesized.admin_arn, token="not-the-issued-token")
    with pytest.raises(DataPlaneForbidden, match="security token included in the request is invalid"):
        forged.role_mapping("all_access")
    assert [e.caller for e in world.domain("dp-destination").exchanges] == [
        synthesized.admin_arn,
        synthesized.reader_arn,
        "-",
    ]


def test_active_connections_are_remote_clusters_until_deleted(
    world: World, synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", world.ca_bundle)
    source, destination = world.domain("dp-source"), world.domain("dp-destination")
    destination.index("logs-2026", "1", {"message": "hello"})
    client = _client(world, "dp-source", synthesized.admin_arn)
    with pytest.raises(DataPlaneError, match="no such remote cluster"):
        client.smoke_search("demo", "logs-*")
    created = world.cloudformation.create(synthesized.connection)
    assert created.ok, created.reason
    assert client.smoke_search("demo", "logs-*") == 1
    assert source.remotes == {"demo": destination}
    deleted = world.cloudformation.delete(synthesized.connection)
    assert deleted.ok, deleted.reason
    world.opensearch.sync_remotes(source)
    assert source.remotes == {}
    with pytest.raises(DataPlaneError, match="no such remote cluster"):
        client.smoke_search("demo", "logs-*")


def test_the_lambda_process_trusts_one_bundle_for_the_response_url_and_the_domains(world: World) -> None:
    invoker = world.cloudformation.invoker
    assert invoker.ca_bundle == world.ca_bundle
    bundle = Path(world.ca_bundle).read_text()
    assert bundle.count("BEGIN CERTIFICATE") == 2
    assert Path(invoker.endpoint.ca_file).read_text().strip() in bundle
    # A process that trusts only SSL_CERT_FILE reaches both over verified TLS: the domain answers an unsigned
    # request with its front end's 403, the ResponseURL server a PUT with 200.
    script = (
        "import json, sys, urllib.request, urllib.error\n"
        "codes = []\n"
        "for method, url in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        codes.append(urllib.request.urlopen(urllib.request.Request(url, b'{}', method=method)).status)\n"
        "    except urllib.error.HTTPError as error:\n"
        "        codes.append(error.code)\n"
        "print(json.dumps(codes))\n"
    )
    urls = [("GET", world.domain("dp-source").endpoint + "/"), ("PUT", invoker.endpoint.new_url())]
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(urls)],
        env={"SSL_CERT_FILE": world.ca_bundle, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [403, 200]
    # The ResponseURL's CA alone does not make the domains trusted: the bundle does.
    only_response_ca = ssl.create_default_context(cafile=invoker.endpoint.ca_file)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(world.domain("dp-source").endpoint + "/", context=only_response_ca)


# --- deploy.py's pieces (`make deploy-local`), on the same world -------------------------------------------
def test_deploy_seeds_each_leader_with_the_index_the_data_plane_names(world: World, synthesized: Synthesized) -> None:
    assert deploy.leader_indices(synthesized.stack) == {PARTNER: {"logs-2026"}, "dp-destination": {"logs-2026"}}
    said = deploy.seed_leaders(world, synthesized.stack)
    assert said == [
        "the offline leader domain dp-destination already holds index logs-2026 with 1 document, as your leader would",
        f"the offline leader domain {PARTNER} already holds index logs-2026 with 1 document, as your leader would",
    ]
    assert deploy.seed_leaders(world, synthesized.stack) == said  # a second time adds nothing
    assert list(world.domain(PARTNER).documents("logs-2026")) == ["1"]


def test_deploy_reports_roles_mappings_replication_and_a_cross_cluster_search(
    world: World, synthesized: Synthesized
) -> None:
    stack = synthesized.stack
    deploy.seed_leaders(world, stack)
    before = deploy.snapshot(world)
    source, destination = world.domain("dp-source"), world.domain("dp-destination")
    assert world.cloudformation.create(synthesized.connection).ok
    # What the handler will do, done by hand here: a role for the reader on the destination, and replication
    # roles for the admin on both sides, then a follower index.
    admin = deploy.assume(world, ACCOUNT, synthesized.admin_arn, REGION)
    calls = [
        (destination, "PUT", "/_plugins/_security/api/roles/reader", {"index_permissions": [READ_LOGS]}),
        (
            destination,
            "PUT",
            "/_plugins/_security/api/rolesmapping/reader",
            {"backend_roles": [synthesized.reader_arn]},
        ),
        (destination, "PUT", f"/_plugins/_security/api/rolesmapping/{LEADER_ROLE}", {"users": [synthesized.admin_arn]}),
        (source, "PUT", f"/_plugins/_security/api/rolesmapping/{FOLLOWER_ROLE}", {"users": [synthesized.admin_arn]}),
        (source, "PUT", "/_plugins/_replication/logs-2026/_start", START),
    ]
    for domain, method, path, body in calls:
        status, answer = deploy.signed_request(world, domain.endpoint, REGION, admin, method, path, body)
        assert status in (200, 201), (path, answer)
    assert deploy.security_changes(before, destination) == [
        "role reader: indices:data/read/search, indices:admin/shards/search_shards on logs-*",
        f"role mapping {LEADER_ROLE}: users ['{synthesized.admin_arn}']",
        f"role mapping reader: backend_roles ['{synthesized.reader_arn}']",
    ]
    follow = {
        "FollowerDomain": stack.resolve(stack.resources["Follow"]["Properties"]["FollowerDomain"]),
        "LeaderIndex": "logs-2026",
        "FollowerIndex": "logs-2026",
    }
    started = world.clock.now()
    words, ok = deploy.replication_report(world, ACCOUNT, follow)
    assert ok and words == "follower index logs-2026 on dp-source: replication SYNCING from demo:logs-2026, 1 document"
    assert world.clock.now() - started >= 5  # it waited out the bootstrap, on the world's clock
    search = stack.resolve(stack.resources["Search"]["Properties"])
    words, ok = deploy.search_report(world, ACCOUNT, search)
    assert ok, words
    assert words.startswith(f"cross-cluster search demo:logs-* on dp-source as {synthesized.reader_arn}: 1 hit, ")
    assert "demo:logs-2026/1" in words
    # What is left after the delete counts only when every follower index stops its replication on delete.
    assert deploy.leftovers(world, stack, before) == 0
    stopping = copy.deepcopy(stack.template)
    stopping["Resources"]["Follow"]["Properties"]["StopReplicationOnDelete"] = "true"
    assert deploy.leftovers(world, dataclasses.replace(stack, template=stopping), before) == 5  # 4 changes, 1 follower
    for domain, path in ((destination, "roles/reader"), (destination, "rolesmapping/reader")):
        deploy.signed_request(world, domain.endpoint, REGION, admin, "DELETE", f"/_plugins/_security/api/{path}", None)
    assert world.cloudformation.delete(synthesized.connection).ok
    words, ok = deploy.search_report(world, ACCOUNT, search)
    assert not ok and "no such remote cluster" in words
