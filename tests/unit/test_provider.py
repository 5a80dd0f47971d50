"""The stack's one provider function as users fit it into their accounts: VPC, subnets, security groups, log
retention and memory, set once per stack; permissions boundaries and tags reach it; help() reads right."""

from __future__ import annotations

import inspect
import json
import pydoc
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

import cross_cluster_search
from cross_cluster_search import (
    ConnectionProvider,
    DomainInfo,
    InboundConnectionAccepter,
    OutboundConnection,
    configure_provider,
)
from cross_cluster_search._version import __version__

ACCOUNT = "111111111111"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
DESTINATION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1")


def new_stack(app: cdk.App | None = None) -> cdk.Stack:
    app = app or cdk.App(context={"aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, "Test", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))


def connect(stack: cdk.Stack, id_: str = "Conn") -> OutboundConnection:
    return OutboundConnection(stack, id_, source=SOURCE, destination=DESTINATION, connection_alias=id_.lower())


def only(template: Template, type_: str) -> dict[str, Any]:
    [resource] = template.find_resources(type_).values()
    return dict(resource)


def role_statements(template: Template) -> list[dict[str, Any]]:
    """The provider role's own statements: its one inline policy."""
    [policy] = only(template, "AWS::IAM::Role")["Properties"]["Policies"]
    return list(policy["PolicyDocument"]["Statement"])


def test_a_vpc_provider_with_its_subnets_security_groups_memory_and_log_retention() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    group = ec2.SecurityGroup(stack, "ProviderSg", vpc=vpc)
    provider = configure_provider(
        stack,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[group],
        log_retention=logs.RetentionDays.ONE_WEEK,
        memory_size=512,
    )
    connect(stack)
    InboundConnectionAccepter(stack, "Accept", source=DESTINATION, destination=SOURCE)
    assert ConnectionProvider.of(stack) is provider
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::Function", 1)
    function = only(template, "AWS::Lambda::Function")
    props = function["Properties"]
    assert props["MemorySize"] == 512
    assert props["VpcConfig"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [stack.resolve(group.node.default_child.logical_id), "GroupId"]}
    ]  # type: ignore[union-attr]
    private = {stack.resolve(s.subnet_id)["Ref"] for s in vpc.private_subnets}
    assert {s["Ref"] for s in props["VpcConfig"]["SubnetIds"]} == private
    assert only(template, "AWS::Logs::LogGroup")["Properties"]["RetentionInDays"] == 7
    # Lambda creates the network interfaces with the role: the permissions exist before the function.
    [vpc_statement] = [s for s in role_statements(template) if "ec2:CreateNetworkInterface" in s["Action"]]
    assert sorted(vpc_statement["Action"]) == sorted(
        [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ]
    )
    # ... as an inline policy of the role the function refers to (GetAtt), so no DependsOn is needed for it;
    # the function still waits for the VPC's route to the internet (aws-cdk-lib's dependency, kept).
    role_id = next(iter(template.find_resources("AWS::IAM::Role")))
    assert props["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert role_id not in function["DependsOn"] and function["DependsOn"]


def test_the_provider_keeps_the_logical_ids_of_0_8_so_an_upgrade_replaces_nothing() -> None:
    """CloudFormation replaces a resource whose logical id changes: a second EventInvokeConfig beside the old one,
    whose cleanup Delete would reset the function to Lambda's defaults (2 retries, 6 hours), or a second log
    group. The ids below are 0.8.0's (construct paths unchanged; only the role's DefaultPolicy is gone)."""
    stack = new_stack()
    connect(stack)
    ids = {
        logical_id
        for logical_id, resource in Template.from_stack(stack).to_json()["Resources"].items()
        if logical_id.startswith("CrossClusterSearchConnectionProvider")
    }
    assert ids == {
        "CrossClusterSearchConnectionProviderLogsD84D06CA",
        "CrossClusterSearchConnectionProviderRole89F40D01",
        "CrossClusterSearchConnectionProviderHandlerBE7A0638",
        "CrossClusterSearchConnectionProviderHandlerEventInvokeConfig7DD3B16B",
    }


def test_the_defaults_put_the_function_outside_any_vpc_with_256_mb_and_a_month_of_logs() -> None:
    stack = new_stack()
    connect(stack)
    template = Template.from_stack(stack)
    props = only(template, "AWS::Lambda::Function")["Properties"]
    assert "VpcConfig" not in props
    assert props["MemorySize"] == 256
    assert only(template, "AWS::Logs::LogGroup")["Properties"]["RetentionInDays"] == 30
    assert not [s for s in role_statements(template) if "ec2:CreateNetworkInterface" in s["Action"]]


def test_a_vpc_provider_has_no_unacknowledged_cdk_nag_findings(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": []})
    stack = new_stack(app)
    configure_provider(stack, vpc=ec2.Vpc(stack, "Vpc", max_azs=2, flow_logs={"All": ec2.FlowLogOptions()}))
    connect(stack)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    [report] = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_options_are_set_once_per_stack_and_a_conflict_names_the_option() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    provider = configure_provider(stack, vpc=vpc, memory_size=512)
    assert configure_provider(stack, vpc=vpc, memory_size=512) is provider  # the same values again: fine
    assert configure_provider(stack) is provider
    with pytest.raises(ValueError, match=r"^memory_size: the connection provider of stack 'Test' already has 512"):
        configure_provider(stack, memory_size=1024)
    with pytest.raises(ValueError, match=r"^vpc: .*already has Vpc Test/Vpc"):
        configure_provider(stack, vpc=ec2.Vpc(stack, "OtherVpc", max_azs=1))

    late = new_stack()
    connect(late)  # the first connection created the provider with the defaults
    with pytest.raises(ValueError, match=r"^log_retention: .*configure_provider before the stack's first connection"):
        configure_provider(late, log_retention=logs.RetentionDays.ONE_YEAR)
    configure_provider(late, memory_size=256)  # the default it has: fine


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memory_size": 64}, r"^memory_size must be a whole number of MB from 128 to 10240 \(got 64\)"),
        ({"memory_size": 20_000}, r"^memory_size must be"),
        ({"memory_size": 512.5}, r"^memory_size must be"),
        ({"memory_size": True}, r"^memory_size must be"),
        ({"log_retention": 30}, r"^log_retention must be an aws_logs.RetentionDays"),
        ({"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)}, r"^vpc_subnets needs vpc"),
    ],
)
def test_bad_options_fail_naming_the_option(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        configure_provider(new_stack(), **kwargs)


def test_security_groups_need_a_vpc() -> None:
    stack = new_stack()
    group = ec2.SecurityGroup(stack, "Sg", vpc=ec2.Vpc(stack, "Vpc", max_azs=1))
    with pytest.raises(ValueError, match=r"^security_groups needs vpc"):
        configure_provider(stack, security_groups=[group])


def test_permissions_boundary_and_tags_reach_the_role_and_the_function() -> None:
    stack = new_stack()
    connect(stack)
    boundary = iam.ManagedPolicy.from_managed_policy_name(stack, "Boundary", "org-boundary")
    iam.PermissionsBoundary.of(stack).apply(boundary)
    cdk.Tags.of(stack).add("team", "search")
    template = Template.from_stack(stack)
    role = only(template, "AWS::IAM::Role")["Properties"]
    assert stack.resolve(role["PermissionsBoundary"]) == stack.resolve(boundary.managed_policy_arn)
    assert {"Key": "team", "Value": "search"} in role["Tags"]
    function = only(template, "AWS::Lambda::Function")["Properties"]
    assert {"Key": "team", "Value": "search"} in function["Tags"]
    assert {"Key": "team", "Value": "search"} in only(template, "AWS::Logs::LogGroup")["Properties"]["Tags"]


def test_help_shows_the_real_parameters_and_defaults() -> None:
    for construct in (OutboundConnection, InboundConnectionAccepter):
        signature = inspect.signature(construct)
        names = list(signature.parameters)
        assert names[:3] == ["scope", "id", "source"], names
        assert signature.parameters["timeout"].default is None
        text = pydoc.plain(pydoc.render_doc(construct))
        assert f"{construct.__name__}(scope: constructs.Construct, id: str, *, source:" in text
        assert "object at 0x" not in text
        assert ":default: - 10 minutes" in text
    assert list(inspect.signature(ConnectionProvider).parameters) == ["scope", "id", "options"]


def test_the_package_has_its_version() -> None:
    assert cross_cluster_search.__version__ == __version__
    assert "__version__" in cross_cluster_search.__all__
