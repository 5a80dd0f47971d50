"""The data plane's constructs: RemoteSearchAccess, FollowerIndex and ReplicationRule synthesize what the contract
builds, assume exactly their admin roles, and refuse at synthesis what the domains would refuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from app import demo_domain
from cross_cluster_search import (
    ConnectionApi,
    ConnectionMode,
    ConnectionProvider,
    DomainInfo,
    FollowerIndex,
    InvalidProp,
    OutboundConnection,
    RemoteSearchAccess,
    ReplicationRule,
    acknowledge_access_policy_function,
    configure_provider,
)
from cross_cluster_search.ccs_handler import contract

ACCOUNT = "111111111111"
REGION = "eu-west-1"
EXTERNAL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/searcher"
FOLLOWER_INFO = DomainInfo(owner_id=ACCOUNT, domain_name="follower", region=REGION)
LEADER_INFO = DomainInfo(owner_id=ACCOUNT, domain_name="leader", region=REGION)


def new_stack(outdir: Path | None = None) -> cdk.Stack:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []}, **({"outdir": str(outdir)} if outdir else {}))
    return cdk.Stack(app, "Data", env=cdk.Environment(account=ACCOUNT, region=REGION))


def os_domain(stack: cdk.Stack, id_: str, version: opensearch.EngineVersion, **kwargs: Any) -> opensearch.Domain:
    options: dict[str, Any] = {
        "fine_grained_access_control": opensearch.AdvancedSecurityOptions(master_user_name="admin"),
        "node_to_node_encryption": True,
        "encryption_at_rest": opensearch.EncryptionAtRestOptions(enabled=True),
        "enforce_https": True,
        **kwargs,
    }
    return opensearch.Domain(stack, id_, version=version, domain_name=id_.lower(), **options)


def info_connection(stack: cdk.Stack, **kwargs: Any) -> OutboundConnection:
    """A connection between DomainInfos (no domain construct): cheap, no settings to read."""
    return OutboundConnection(
        stack, "Conn", source=FOLLOWER_INFO, destination=LEADER_INFO, connection_alias="leader", **kwargs
    )


def properties(construct: cdk.Resource) -> dict[str, Any]:
    """The custom resource's properties as the template holds them (without synthesizing the app)."""
    cfn = construct.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    resolved = cdk.Stack.of(construct).resolve(cfn._cfn_properties)
    return {k: v for k, v in resolved.items() if k not in contract.RESERVED_KEYS}


# --- one app with every construct, synthesized once with cdk-nag ------------------------------------------------
class Built:
    def __init__(self, outdir: Path) -> None:
        self.stack = stack = new_stack(outdir)
        self.admin = iam.Role(stack, "Admin", assumed_by=iam.AccountRootPrincipal())
        self.follower_admin = iam.Role(stack, "FollowerAdmin", assumed_by=iam.AccountRootPrincipal())
        self.follower = demo_domain(stack, "FollowerDomain", "follower", self.follower_admin)
        self.leader = demo_domain(stack, "LeaderDomain", "leader", self.admin)
        self.connection = OutboundConnection(
            stack, "Conn", source=self.follower, destination=self.leader, connection_alias="leader"
        )
        self.searcher = iam.Role.from_role_arn(stack, "Searcher", EXTERNAL_ROLE)
        self.search = RemoteSearchAccess(
            stack,
            "Search",
            connection=self.connection,
            admin_role=self.admin,
            index_patterns=["logs-*", "metrics"],
            backend_roles=[EXTERNAL_ROLE],
            users=["analyst"],
            smoke_search_role=self.searcher,
            timeout=cdk.Duration.minutes(5),
        )
        self.follower_index = FollowerIndex(
            stack,
            "Follow",
            connection=self.connection,
            leader_index="orders",
            follower_index="orders-copy",
            leader_admin_role=self.admin,
            follower_admin_role=self.follower_admin,
            stop_replication_on_delete=True,
            follower=self.follower,
            leader=self.leader,
        )
        self.rule = ReplicationRule(
            stack,
            "Rule",
            connection=self.connection,
            index_pattern="logs-*",
            leader_admin_role=self.admin,
            follower_admin_role=self.follower_admin,
        )
        acknowledge_access_policy_function(stack)
        app = stack.node.root
        assert isinstance(app, cdk.App)
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        try:
            assembly = app.synth()
        except RuntimeError as error:  # cdk-nag findings fail the synthesis; the report says which
            assert "ValidationFailed" in str(error), error
            assembly = None
        [self.nag] = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
        assert assembly is not None, self.nag["violations"]
        self.template = Template.from_json(assembly.get_stack_by_name("Data").template)
        self.resources: dict[str, Any] = self.template.to_json()["Resources"]

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.resolve(construct.node.default_child.logical_id))

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.resources[self.logical_id(construct)])

    def domain(self, domain: opensearch.Domain, role: Any) -> dict[str, Any]:
        return contract.data_plane_domain(
            self.stack.resolve(domain.domain_name),
            REGION,
            {"Fn::GetAtt": [self.logical_id(domain), "DomainEndpoint"]},
            self.stack.resolve(role.role_arn),
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(tmp_path_factory.mktemp("data-plane"))


def custom_properties(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource["Properties"].items() if k not in contract.RESERVED_KEYS}


def test_search_access_synthesizes_the_contracts_properties(built: Built) -> None:
    resource = built.resource(built.search)
    assert resource["Type"] == contract.SEARCH_ACCESS_TYPE
    role_name = resource["Properties"][contract.ROLE_NAME]
    assert role_name.startswith("cdk_ccs_search_") and len(role_name) <= 64
    assert custom_properties(resource) == contract.search_access_properties(
        destination=built.domain(built.leader, built.admin),
        role_name=role_name,
        index_patterns=["logs-*", "metrics"],
        users=["analyst"],
        backend_roles=[EXTERNAL_ROLE],
        timeout_seconds=300,
        alias="leader",
        smoke_search={
            contract.DOMAIN_NAME: built.stack.resolve(built.follower.domain_name),
            contract.REGION: REGION,
            contract.ENDPOINT: {"Fn::GetAtt": [built.logical_id(built.follower), "DomainEndpoint"]},
            contract.SMOKE_ROLE_ARN: EXTERNAL_ROLE,
        },
    )
    assert resource["Properties"]["ServiceTimeout"] == str(contract.service_timeout_seconds(300))
    assert built.stack.resolve(built.search.role_name) == {
        "Fn::GetAtt": [built.logical_id(built.search), contract.ATTR_ROLE_NAME]
    }


def test_follower_index_and_rule_synthesize_the_contracts_properties(built: Built) -> None:
    leader = built.domain(built.leader, built.admin)
    follower = built.domain(built.follower, built.follower_admin)
    follow = built.resource(built.follower_index)
    assert follow["Type"] == contract.FOLLOWER_INDEX_TYPE
    assert custom_properties(follow) == contract.replication_properties(
        leader=leader,
        follower=follower,
        role_name=follow["Properties"][contract.ROLE_NAME],
        alias="leader",
        timeout_seconds=contract.DEFAULT_TIMEOUT_SECONDS,
        leader_index="orders",
        follower_index="orders-copy",
        stop_on_delete=True,
    )
    rule = built.resource(built.rule)
    assert rule["Type"] == contract.REPLICATION_RULE_TYPE
    assert custom_properties(rule) == contract.replication_properties(
        leader=leader,
        follower=follower,
        role_name=rule["Properties"][contract.ROLE_NAME],
        alias="leader",
        timeout_seconds=contract.DEFAULT_TIMEOUT_SECONDS,
        rule_name=built.rule.rule_name,
        index_pattern="logs-*",
    )
    assert built.rule.rule_name.startswith("cdk_ccs_") and built.rule.rule_name == built.rule.rule_name.lower()
    names = {r["Properties"][contract.ROLE_NAME] for r in (follow, rule, built.resource(built.search))}
    assert len(names) == 3  # one role prefix per resource
    resolve = built.stack.resolve
    assert resolve(built.follower_index.follower_index_name) == {
        "Fn::GetAtt": [built.logical_id(built.follower_index), contract.ATTR_FOLLOWER_INDEX]
    }
    assert resolve(built.follower_index.replication_status) == {
        "Fn::GetAtt": [built.logical_id(built.follower_index), contract.ATTR_REPLICATION_STATUS]
    }
    assert built.follower_index.follower == FOLLOWER_INFO.__class__.from_domain(built.follower)


def test_each_resource_runs_after_its_connection_and_domains(built: Built) -> None:
    connection = built.logical_id(built.connection)
    for construct in (built.search, built.follower_index, built.rule):
        depends_on = built.resource(construct)["DependsOn"]
        assert connection in depends_on
        assert built.logical_id(construct.policy) in depends_on


def test_each_resource_runs_after_its_roles_http_grants(built: Built) -> None:
    """The admin roles' DefaultPolicies (their es:ESHttp* grants) are created before the resource and deleted
    after it: a stack deletion removing a grant first would leave the resource's Delete with a 403."""
    admin, follower_admin = (
        built.logical_id(role.node.find_child("DefaultPolicy")) for role in (built.admin, built.follower_admin)
    )
    assert admin in built.resource(built.search)["DependsOn"]
    for construct in (built.follower_index, built.rule):
        depends_on = built.resource(construct)["DependsOn"]
        assert admin in depends_on and follower_admin in depends_on


def test_each_resource_may_assume_exactly_its_admin_roles(built: Built) -> None:
    resolve = built.stack.resolve
    expected = {
        built.search: [resolve(built.admin.role_arn), EXTERNAL_ROLE],
        built.follower_index: [resolve(built.admin.role_arn), resolve(built.follower_admin.role_arn)],
        built.rule: [resolve(built.admin.role_arn), resolve(built.follower_admin.role_arn)],
    }
    for construct, arns in expected.items():
        policy = built.resources[built.logical_id(construct.policy)]
        assert policy["Properties"]["Roles"] == [resolve(ConnectionProvider.of(built.stack).role.role_name)]
        assert policy["Properties"]["PolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": arns}
        ]


def test_app_roles_trust_the_provider_and_may_call_their_domains(built: Built) -> None:
    provider_role = {"AWS": built.stack.resolve(ConnectionProvider.of(built.stack).role.role_arn)}
    for role in (built.admin, built.follower_admin):
        trust = built.resource(role)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s for s in trust if s["Principal"] == provider_role] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": provider_role}
        ]
    grants = {
        built.admin: [built.leader],  # the leader's admin (search access, replication)
        built.follower_admin: [built.follower],
    }
    for role, domains in grants.items():
        [policy] = [
            r
            for r in built.resources.values()
            if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == [{"Ref": built.logical_id(role)}]
        ]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        resources = [s["Resource"] for s in statements]
        assert resources == [{"Fn::Join": ["", [{"Fn::GetAtt": [built.logical_id(d), "Arn"]}, "/*"]]} for d in domains]
        for statement in statements:
            assert statement["Action"] == [
                "es:ESHttpGet",
                "es:ESHttpPut",
                "es:ESHttpPost",
                "es:ESHttpPatch",
                "es:ESHttpDelete",
            ]


def test_the_smoke_search_role_gets_only_get_on_the_source_and_the_resource_waits_for_it() -> None:
    stack = new_stack()
    follower = os_domain(stack, "Follower", opensearch.EngineVersion.OPENSEARCH_2_19)
    leader = os_domain(stack, "Leader", opensearch.EngineVersion.OPENSEARCH_2_19)
    connection = OutboundConnection(stack, "Conn", source=follower, destination=leader, connection_alias="leader")
    admin = iam.Role(stack, "Admin", assumed_by=iam.AccountRootPrincipal())
    searcher = iam.Role(stack, "Searcher", assumed_by=iam.AccountRootPrincipal())
    access = RemoteSearchAccess(
        stack,
        "Search",
        connection=connection,
        admin_role=admin,
        index_patterns=["logs-*"],
        backend_roles=[searcher.role_arn],
        smoke_search_role=searcher,
    )
    template = Template.from_stack(stack)
    resources = template.to_json()["Resources"]
    policy = searcher.node.find_child("DefaultPolicy")
    logical_id = stack.resolve(cast_cfn(policy).logical_id)
    assert resources[logical_id]["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "es:ESHttpGet",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": ["", [{"Fn::GetAtt": [stack.resolve(cast_cfn(follower).logical_id), "Arn"]}, "/*"]]
            },
        }
    ]
    provider_role = {"AWS": stack.resolve(ConnectionProvider.of(stack).role.role_arn)}
    trust = resources[stack.resolve(cast_cfn(searcher).logical_id)]["Properties"]["AssumeRolePolicyDocument"]
    assert {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": provider_role} in trust["Statement"]
    depends_on = resources[stack.resolve(cast_cfn(access).logical_id)]["DependsOn"]
    assert logical_id in depends_on
    assert stack.resolve(cast_cfn(admin.node.find_child("DefaultPolicy")).logical_id) in depends_on


def cast_cfn(construct: Any) -> cdk.CfnElement:
    cfn = construct.node.default_child
    assert isinstance(cfn, cdk.CfnElement)
    return cfn


def test_roles_of_another_stack_are_left_as_they_are_with_a_warning() -> None:
    """Roles in a base stack, domains and the data plane in a stack that uses them: no dependency cycle; the
    roles get no trust statement or grant, and a warning says what to add to them."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    env = cdk.Environment(account=ACCOUNT, region=REGION)
    base = cdk.Stack(app, "Base", env=env)
    admin = iam.Role(base, "Admin", assumed_by=iam.AccountRootPrincipal())
    searcher = iam.Role(base, "Searcher", assumed_by=iam.AccountRootPrincipal())
    stack = cdk.Stack(app, "S", env=env)
    follower = os_domain(stack, "Follower", opensearch.EngineVersion.OPENSEARCH_2_19)
    leader = os_domain(stack, "Leader", opensearch.EngineVersion.OPENSEARCH_2_19)
    connection = OutboundConnection(stack, "Conn", source=follower, destination=leader, connection_alias="leader")
    RemoteSearchAccess(
        stack,
        "Search",
        connection=connection,
        admin_role=admin,
        index_patterns=["logs-*"],
        backend_roles=[searcher.role_arn],
        smoke_search_role=searcher,
    )
    FollowerIndex(
        stack,
        "Follow",
        connection=connection,
        leader_index="orders",
        leader_admin_role=admin,
        follower_admin_role=admin,
    )
    assembly = app.synth()  # a cycle would raise DependencyCycle here
    base_resources = assembly.get_stack_by_name("Base").template["Resources"]
    assert [r["Type"] for r in base_resources.values()].count("AWS::IAM::Policy") == 0
    for role in base_resources.values():  # only the account root's trust, as declared
        [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert "ConnectionProvider" not in json.dumps(trust)
    annotations = Annotations.from_stack(stack)
    for path, pattern in (
        (
            "/S/Search",
            "admin_role Base/Admin is in stack Base.*es:ESHttpGet, es:ESHttpPut, es:ESHttpPost, "
            "es:ESHttpPatch, es:ESHttpDelete on '<domain arn>/\\*' of the domain S/Leader",
        ),
        (
            "/S/Search",
            "smoke_search_role Base/Searcher .*trust statement allowing sts:AssumeRole by the connection "
            "provider's role of stack S.*es:ESHttpGet on '<domain arn>/\\*' of the domain S/Follower\\. ",
        ),
        (
            "/S/Follow",
            "leader_admin_role and follower_admin_role Base/Admin .*of the domain S/Leader.*of the domain S/Follower",
        ),
    ):
        annotations.has_warning(path, Match.string_like_regexp(pattern))
    annotations.has_warning("/S/Search", Match.string_like_regexp("cross-cluster-search:adminRoleInAnotherStack"))


def test_nothing_added_leaves_a_cdk_nag_finding(built: Built) -> None:
    assert built.nag["violations"] == []
    assert built.nag["conclusion"] == "success"


def test_replication_metrics_name_the_follower_and_the_leader(built: Built) -> None:
    resolve = built.stack.resolve
    follower = {"DomainName": resolve(built.follower.domain_name), "ClientId": ACCOUNT}
    leader = {"DomainName": resolve(built.leader.domain_name), "ClientId": ACCOUNT}
    cases: list[tuple[Callable[..., Any], str, str, dict[str, Any]]] = []
    for construct in (built.follower_index, built.rule):
        cases += [
            (construct.metric_replication_num_syncing_indices, "ReplicationNumSyncingIndices", "Maximum", follower),
            (construct.metric_replication_num_failed_indices, "ReplicationNumFailedIndices", "Maximum", follower),
            (construct.metric_replication_num_paused_indices, "ReplicationNumPausedIndices", "Maximum", follower),
            (
                construct.metric_auto_follow_num_failed_start_replication,
                "AutoFollowNumFailedStartReplication",
                "Sum",
                follower,
            ),
            (construct.metric_auto_follow_leader_call_failure, "AutoFollowLeaderCallFailure", "Sum", follower),
            (construct.metric_leader_check_point, "LeaderCheckPoint", "Maximum", leader),
            (construct.metric_follower_check_point, "FollowerCheckPoint", "Maximum", follower),
        ]
    for method, name, statistic, dimensions in cases:
        metric = method()
        assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/ES", name, statistic)
        assert resolve(metric.dimensions) == dimensions
        assert (metric.account, metric.region) == (ACCOUNT, REGION)
    custom = built.rule.metric("ReplicationRate", statistic="Sum", dimensions_map={"Extra": "x"})
    assert custom.statistic == "Sum"
    assert resolve(custom.dimensions) == {**follower, "Extra": "x"}


# --- DomainInfos, imported domains, endpoints -----------------------------------------------------------------
def test_domain_infos_need_the_endpoints_and_imported_domains_lend_theirs() -> None:
    stack = new_stack()
    connection = info_connection(stack)
    admin = iam.Role.from_role_arn(stack, "Admin", f"arn:aws:iam::{ACCOUNT}:role/admin")
    with pytest.raises(InvalidProp) as error:
        RemoteSearchAccess(
            stack, "Search", connection=connection, admin_role=admin, index_patterns=["logs"], users=["u"]
        )
    assert error.value.field == "destination_endpoint"
    assert "DomainInfo" in str(error.value)
    access = RemoteSearchAccess(
        stack,
        "Search2",
        connection=connection,
        admin_role=admin,
        index_patterns=["logs"],
        users=["u"],
        destination_endpoint="search-leader-abc.eu-west-1.es.amazonaws.com",
    )
    assert properties(access)[contract.SEARCH_DOMAIN] == contract.data_plane_domain(
        "leader", REGION, "search-leader-abc.eu-west-1.es.amazonaws.com", admin.role_arn
    )
    with pytest.raises(InvalidProp) as error:
        FollowerIndex(
            stack,
            "Follow",
            connection=connection,
            leader_index="logs",
            leader_admin_role=admin,
            follower_admin_role=admin,
            leader_endpoint="leader.example",
        )
    assert error.value.field == "follower_endpoint"
    # An imported domain: its endpoint, found in the app (the connection kept only its DomainInfo) or given here.
    imported_leader = opensearch.Domain.from_domain_attributes(
        stack,
        "ImportedLeader",
        domain_arn=f"arn:aws:es:{REGION}:{ACCOUNT}:domain/imported",
        domain_endpoint=f"https://search-imported-abc.{REGION}.es.amazonaws.com",
    )
    follower = elasticsearch.Domain.from_domain_endpoint(
        stack, "ImportedFollower", f"https://search-follower-xyz.{REGION}.es.amazonaws.com"
    )
    imported = OutboundConnection(
        stack, "Imported", source=FOLLOWER_INFO, destination=imported_leader, connection_alias="imported"
    )
    rule = ReplicationRule(
        stack,
        "Rule",
        connection=imported,
        index_pattern="logs-*",
        leader_admin_role=admin,
        follower_admin_role=admin,
        follower=follower,
        rule_name="my_rule",
    )
    props = properties(rule)
    assert props[contract.LEADER][contract.ENDPOINT] == f"search-imported-abc.{REGION}.es.amazonaws.com"
    assert props[contract.FOLLOWER][contract.ENDPOINT] == f"search-follower-xyz.{REGION}.es.amazonaws.com"
    assert props[contract.RULE_NAME] == "my_rule"


# --- refusals -----------------------------------------------------------------------------------------------------
def build(kind: str, **overrides: Any) -> None:
    """One construct over a DomainInfo connection, with every needed prop and `overrides`."""
    stack = new_stack()
    connection = overrides.pop("connection", None) or info_connection(stack)
    admin = iam.Role.from_role_arn(stack, "Admin", f"arn:aws:iam::{ACCOUNT}:role/admin")
    endpoints = {"leader_endpoint": "leader.example", "follower_endpoint": "follower.example"}
    if kind == "search":
        props = {"index_patterns": ["logs-*"], "backend_roles": [EXTERNAL_ROLE], "destination_endpoint": "l.example"}
        RemoteSearchAccess(stack, "X", connection=connection, admin_role=admin, **{**props, **overrides})
    elif kind == "follow":
        roles = {"leader_admin_role": admin, "follower_admin_role": admin}
        FollowerIndex(stack, "X", connection=connection, **{"leader_index": "logs", **roles, **endpoints, **overrides})
    else:
        roles = {"leader_admin_role": admin, "follower_admin_role": admin}
        ReplicationRule(stack, "X", connection=connection, **{"index_pattern": "l*", **roles, **endpoints, **overrides})


@pytest.mark.parametrize(
    ("kind", "overrides", "field", "words"),
    [
        ("search", {"index_patterns": []}, "index_patterns", "at least one"),
        ("search", {"index_patterns": ["Logs"]}, "index_patterns", "lowercase"),
        ("search", {"index_patterns": ["_internal"]}, "index_patterns", "starting with"),
        ("search", {"index_patterns": ["a b"]}, "index_patterns", "' '"),
        ("search", {"index_patterns": ["."]}, "index_patterns", "'.' or '..'"),
        ("search", {"index_patterns": ["x" * 256]}, "index_patterns", "255 bytes"),
        ("search", {"backend_roles": [], "users": []}, "backend_roles", "no one"),
        ("search", {"source_endpoint": "s.example"}, "source_endpoint", "smoke_search_role"),
        ("follow", {"leader_index": "logs-*"}, "leader_index", "'*'"),
        ("follow", {"follower_index": "a#b"}, "follower_index", "'#'"),
        ("follow", {"leader_index": "+x"}, "leader_index", "starting with"),
        ("rule", {"index_pattern": "a|b"}, "index_pattern", "'|'"),
        ("rule", {"rule_name": "no spaces"}, "rule_name", "a-z, 0-9"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kind: str, overrides: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidProp) as error:
        build(kind, **overrides)
    assert error.value.field == field, str(error.value)
    assert words in str(error.value)


def test_the_smoke_search_role_must_be_mapped() -> None:
    stack = new_stack()
    searcher = iam.Role.from_role_arn(stack, "S", f"arn:aws:iam::{ACCOUNT}:role/other")
    with pytest.raises(InvalidProp) as error:
        build("search", smoke_search_role=searcher, source_endpoint="s.example")
    assert error.value.field == "smoke_search_role"
    assert "among backend_roles or users" in str(error.value)


def test_only_an_outbound_connection_of_this_app_with_a_literal_alias() -> None:
    stack = new_stack()
    imported = OutboundConnection.from_connection_id(stack, "Imported", "cc-0123456789", source=FOLLOWER_INFO)
    with pytest.raises(InvalidProp) as error:
        build("search", connection=imported)
    assert error.value.field == "connection" and "imported connection" in str(error.value)
    stack = new_stack()
    alias = cdk.CfnParameter(stack, "Alias").value_as_string
    connection = OutboundConnection(
        stack, "Conn", source=FOLLOWER_INFO, destination=LEADER_INFO, connection_alias=alias
    )
    with pytest.raises(InvalidProp) as error:
        build("follow", connection=connection)
    assert error.value.field == "connection" and "literal" in str(error.value)
    with pytest.raises(TypeError, match="connection must be an OutboundConnection"):
        build("rule", connection="cc-0123456789")


def test_replication_needs_a_direct_connection() -> None:
    stack = new_stack()
    connection = info_connection(stack, api=ConnectionApi.OPENSEARCH, connection_mode=ConnectionMode.VPC_ENDPOINT)
    with pytest.raises(InvalidProp) as error:
        build("rule", connection=connection)
    assert error.value.field == "connection" and "VPC_ENDPOINT" in str(error.value)


def test_replication_pulls_from_the_destination_into_the_source() -> None:
    stack = new_stack()
    connection = info_connection(stack)
    with pytest.raises(InvalidProp) as error:
        build("follow", connection=connection, follower=LEADER_INFO)
    assert error.value.field == "follower"
    assert "goes the other way" in str(error.value) and "Replication pulls" in str(error.value)
    other = DomainInfo(owner_id=ACCOUNT, domain_name="other", region=REGION)
    with pytest.raises(InvalidProp) as error:
        build("rule", connection=connection, leader=other)
    assert error.value.field == "leader" and "not the connection's destination" in str(error.value)
    build("rule", connection=connection, leader=LEADER_INFO, follower=FOLLOWER_INFO)


@pytest.mark.parametrize(
    ("follower_options", "leader_options", "words"),
    [
        ({}, {"version": opensearch.EngineVersion.OPENSEARCH_2_17}, "the leader at the same or a higher version"),
        ({"version": opensearch.EngineVersion.OPENSEARCH_1_0}, {}, "OpenSearch 1.1 or later"),
        ({}, {"version": opensearch.EngineVersion.ELASTICSEARCH_7_9}, "Elasticsearch 7.10 or later"),
        ({"n2n_off": True}, {}, "node-to-node encryption off"),
        ({}, {"fine_grained_access_control": None}, "fine-grained access control off"),
    ],
)
def test_replication_needs_what_both_domains_say(
    follower_options: dict[str, Any], leader_options: dict[str, Any], words: str
) -> None:
    stack = new_stack()
    domains = []
    for id_, given in (("Follower", follower_options), ("Leader", leader_options)):
        options = {"version": opensearch.EngineVersion.OPENSEARCH_2_19, **given}
        n2n_off = options.pop("n2n_off", False)
        domain = os_domain(stack, id_, **options)
        if n2n_off:  # the L2 refuses it with fine-grained access control; the L1 (an escape hatch) does not
            cfn = domain.node.default_child
            assert isinstance(cfn, opensearch.CfnDomain)
            cfn.node_to_node_encryption_options = opensearch.CfnDomain.NodeToNodeEncryptionOptionsProperty(
                enabled=False
            )
        domains.append(domain)
    connection = OutboundConnection(stack, "Conn", source=domains[0], destination=domains[1], connection_alias="leader")
    with pytest.raises(InvalidProp) as error:
        build("follow", connection=connection)
    assert error.value.field == "connection" and words in str(error.value), str(error.value)
    if "version" in words:
        assert "equal versions" in str(error.value)


def test_a_replicating_domain_has_at_most_20_connected_domains() -> None:
    stack = new_stack()
    connection = info_connection(stack)
    admin = iam.Role.from_role_arn(stack, "Admin", f"arn:aws:iam::{ACCOUNT}:role/admin")
    rule = ReplicationRule(
        stack,
        "Rule",
        connection=connection,
        index_pattern="logs-*",
        leader_admin_role=admin,
        follower_admin_role=admin,
        leader_endpoint="l.example",
        follower_endpoint="f.example",
    )
    for n in range(19):  # 20 domains connected to the follower: the leader and 19 more
        other = DomainInfo(owner_id=ACCOUNT, domain_name=f"other-{n}", region=REGION)
        OutboundConnection(stack, f"Out{n}", source=FOLLOWER_INFO, destination=other, connection_alias=f"o{n}x")
    assert rule.node.validate() == []
    OutboundConnection(
        stack,
        "In",
        source=DomainInfo(owner_id=ACCOUNT, domain_name="one-more", region=REGION),
        destination=FOLLOWER_INFO,
        connection_alias="inbound",
    )
    [message] = rule.node.validate()
    assert message.startswith("connection:") and "21 other domains" in message and "inbound and outbound" in message


def test_a_domain_in_a_vpc_needs_the_provider_in_a_vpc() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    follower = os_domain(stack, "Follower", opensearch.EngineVersion.OPENSEARCH_2_19)
    leader = os_domain(
        stack,
        "Leader",
        opensearch.EngineVersion.OPENSEARCH_2_19,
        vpc=vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        zone_awareness=opensearch.ZoneAwarenessConfig(enabled=False),
        capacity=opensearch.CapacityConfig(multi_az_with_standby_enabled=False),
    )
    connection = OutboundConnection(stack, "Conn", source=follower, destination=leader, connection_alias="leader")
    admin = iam.Role.from_role_arn(stack, "Admin", f"arn:aws:iam::{ACCOUNT}:role/admin")
    with pytest.raises(InvalidProp) as error:
        RemoteSearchAccess(stack, "Search", connection=connection, admin_role=admin, index_patterns=["x"], users=["u"])
    assert error.value.field == "connection" and "configure_provider(stack, vpc=...)" in str(error.value)

    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    provider = configure_provider(
        stack, vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    )
    leader = os_domain(
        stack,
        "Leader",
        opensearch.EngineVersion.OPENSEARCH_2_19,
        vpc=vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        zone_awareness=opensearch.ZoneAwarenessConfig(enabled=False),
        capacity=opensearch.CapacityConfig(multi_az_with_standby_enabled=False),
    )
    connection = OutboundConnection(stack, "Conn", source=FOLLOWER_INFO, destination=leader, connection_alias="leader")
    RemoteSearchAccess(stack, "Search", connection=connection, admin_role=admin, index_patterns=["x"], users=["u"])
    [group] = leader.connections.security_groups
    [function_group] = provider.function.connections.security_groups
    Template.from_stack(stack).has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "GroupId": stack.resolve(group.security_group_id),
            "SourceSecurityGroupId": stack.resolve(function_group.security_group_id),
        },
    )
