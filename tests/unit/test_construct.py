"""The construct's template: resource, properties, dependencies, provider, IAM, synth-time validation."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk.assertions import Template

from cross_cluster_search import (
    ConnectionApi,
    ConnectionMode,
    DomainInfo,
    InboundConnectionAccepter,
    OutboundConnection,
)
from cross_cluster_search.ccs_handler.properties import parse_domain

ACCOUNT = "111111111111"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
DESTINATION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="eu-west-1")
OTHER_ACCOUNT = DomainInfo(owner_id="222222222222", domain_name="logs-destination", region="us-east-1")


def new_stack(env: cdk.Environment | None = None) -> cdk.Stack:
    # Bundling is skipped for every stack here; test_bundling.py bundles for real.
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, "Test", env=env or cdk.Environment(account=ACCOUNT, region="us-east-1"))


def connect(stack: cdk.Stack, id_: str = "Conn", **kwargs: Any) -> OutboundConnection:
    values: dict[str, Any] = {"source": SOURCE, "destination": DESTINATION, "connection_alias": "logs"}
    values.update(kwargs)
    return OutboundConnection(stack, id_, **values)


def connection_policies(template: Template) -> dict[str, Any]:
    """The per-connection policies (the role's DefaultPolicy holds only its log permissions)."""
    return {k: v for k, v in template.find_resources("AWS::IAM::Policy").items() if "DefaultPolicy" not in k}


def only(template: Template, type_: str) -> dict[str, Any]:
    resources = connection_policies(template) if type_ == "AWS::IAM::Policy" else template.find_resources(type_)
    assert len(resources) == 1, resources
    return next(iter(resources.values()))


def test_resource_type_and_properties_mirror_the_api_request() -> None:
    stack = new_stack()
    connect(stack, timeout=cdk.Duration.minutes(5))
    resource = only(Template.from_stack(stack), "Custom::OutboundCrossClusterSearchConnection")
    props = resource["Properties"]
    assert props["SourceDomainInfo"] == {"OwnerId": ACCOUNT, "DomainName": "logs-source", "Region": "us-east-1"}
    assert props["DestinationDomainInfo"] == {
        "OwnerId": ACCOUNT,
        "DomainName": "logs-destination",
        "Region": "eu-west-1",
    }
    assert props["ConnectionAlias"] == "logs"
    assert props["AcceptConnection"] == "true"
    assert props["TimeoutSeconds"] == "300"
    assert props["Api"] == "ELASTICSEARCH"
    assert props["ServiceTimeout"] == "450"
    assert resource["DeletionPolicy"] == "Delete"


def test_accept_defaults_follow_the_owner_accounts() -> None:
    stack = new_stack()
    connect(stack, "Other", destination=OTHER_ACCOUNT)
    connect(
        stack,
        "Tokens",
        source=DomainInfo(owner_id=cdk.Aws.ACCOUNT_ID, domain_name="a-src", region="us-east-1"),
        destination=DomainInfo(owner_id="333333333333", domain_name="a-dst", region="us-east-1"),
    )
    connect(
        stack,
        "Forced",
        destination=OTHER_ACCOUNT,
        connection_alias="forced",
        accept_connection=True,
        accept_role_arn="arn:aws:iam::222222222222:role/accept",  # only the destination's owner accepts
    )
    template = Template.from_stack(stack)
    values = sorted(
        r["Properties"]["AcceptConnection"]
        for r in template.find_resources("Custom::OutboundCrossClusterSearchConnection").values()
    )
    assert values == ["auto", "false", "true"]


def test_attributes_are_ref_and_getatt() -> None:
    stack = new_stack()
    connection = connect(stack)
    cdk.CfnOutput(stack, "Id", value=connection.connection_id)
    cdk.CfnOutput(stack, "Status", value=connection.connection_status)
    cdk.CfnOutput(stack, "Alias", value=connection.connection_alias)
    cdk.CfnOutput(stack, "Endpoint", value=connection.endpoint)
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    logical_id = stack.get_logical_id(connection.resource.node.default_child)  # type: ignore[arg-type]
    assert outputs["Id"]["Value"] == {"Ref": logical_id}
    assert outputs["Status"]["Value"] == {"Fn::GetAtt": [logical_id, "ConnectionStatus"]}
    assert outputs["Alias"]["Value"] == {"Fn::GetAtt": [logical_id, "ConnectionAlias"]}
    assert outputs["Endpoint"]["Value"] == {"Fn::GetAtt": [logical_id, "Endpoint"]}


def test_one_provider_function_for_many_connections_with_the_longest_timeout() -> None:
    stack = new_stack()
    for index in range(3):
        connect(stack, f"Conn{index}", connection_alias=f"logs{index}", timeout=cdk.Duration.seconds(60 * (index + 1)))
    template = Template.from_stack(stack)
    function = only(template, "AWS::Lambda::Function")
    assert function["Properties"]["Runtime"] == "python3.14"
    assert function["Properties"]["Handler"] == "ccs_handler.index.handler"
    assert function["Properties"]["Timeout"] == 180 + 90
    template.resource_count_is("Custom::OutboundCrossClusterSearchConnection", 3)
    assert len(connection_policies(template)) == 3
    template.resource_count_is("AWS::IAM::Role", 1)


def test_iam_is_exact_least_privilege_per_connection() -> None:
    stack = new_stack()
    connect(stack)
    policy = only(Template.from_stack(stack), "AWS::IAM::Policy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_resource: dict[str, list[str]] = {}
    for statement in statements:
        key = statement["Resource"] if isinstance(statement["Resource"], str) else "source"
        by_resource[key] = sorted(by_resource.get(key, []) + statement["Action"])
    assert by_resource["source"] == ["es:CreateOutboundConnection", "es:CreateOutboundCrossClusterSearchConnection"]
    assert by_resource["*"] == sorted(
        [
            "es:AcceptInboundConnection",
            "es:AcceptInboundCrossClusterSearchConnection",
            "es:DeleteOutboundConnection",
            "es:DeleteOutboundCrossClusterSearchConnection",
            "es:DescribeOutboundConnections",
            "es:DescribeOutboundCrossClusterSearchConnections",
        ]
    )
    source_statement = next(s for s in statements if not isinstance(s["Resource"], str))
    joined = cdk.Stack.of(stack).resolve(source_statement["Resource"])
    assert "domain/logs-source" in str(joined) and ":es:us-east-1:111111111111:" in str(joined)
    for statement in statements:
        assert all(not action.endswith("*") for action in statement["Action"])
    # The provider role's own permissions: an inline policy of the role (no DefaultPolicy resource).
    [role_policy] = only(Template.from_stack(stack), "AWS::IAM::Role")["Properties"]["Policies"]
    log_statement, stack_statement, holder_statement = role_policy["PolicyDocument"]["Statement"]
    assert log_statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert log_statement["Resource"]["Fn::GetAtt"][1] == "Arn"
    # Ownership proofs and the rollback check read this stack's resources and status.
    assert stack_statement["Action"] == ["cloudformation:ListStackResources", "cloudformation:DescribeStacks"]
    assert stack_statement["Resource"] == {"Ref": "AWS::StackId"}
    # Before a deliberate adoption: which stack holds a connection (unknown in advance, read-only).
    assert holder_statement["Action"] == ["cloudformation:DescribeStackResources", "cloudformation:ListStackResources"]
    assert holder_statement["Resource"] == "*"


def test_no_accept_permission_without_accept_and_assume_role_with_a_role() -> None:
    stack = new_stack()
    connect(stack, "NoAccept", destination=OTHER_ACCOUNT)
    role = "arn:aws:iam::222222222222:role/accept"
    connect(
        stack,
        "Role",
        destination=OTHER_ACCOUNT,
        connection_alias="viarole",
        accept_role_arn=role,
        accept_role_external_id="ext-id",
    )
    template = Template.from_stack(stack)
    documents = {
        k: v["Properties"]["PolicyDocument"]["Statement"]
        for k, v in template.find_resources("AWS::IAM::Policy").items()
    }
    no_accept = next(v for k, v in documents.items() if k.startswith("NoAccept"))
    assert not any("Accept" in a for s in no_accept for a in s["Action"])
    with_role = next(v for k, v in documents.items() if k.startswith("Role"))
    assert {"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": role} in with_role
    actions = [a for s in with_role for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert not any(a.startswith("es:Accept") for a in actions)


def test_connection_depends_on_its_policy_and_on_domain_constructs() -> None:
    stack = new_stack()
    source = opensearch.Domain(
        stack,
        "Src",
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        domain_name="src-domain",
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )
    destination = elasticsearch.Domain(
        stack,
        "Dst",
        version=elasticsearch.ElasticsearchVersion.V7_10,
        domain_name="dst-domain",
        fine_grained_access_control=elasticsearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=elasticsearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )
    connect(stack, source=source, destination=destination)
    template = Template.from_stack(stack)
    resource = only(template, "Custom::OutboundCrossClusterSearchConnection")
    depends = resource["DependsOn"]
    source_id = stack.get_logical_id(source.node.default_child)  # type: ignore[arg-type]
    destination_id = stack.get_logical_id(destination.node.default_child)  # type: ignore[arg-type]
    # The properties' Refs order the domains first; a DependsOn on them too is what cfn-lint W3005 flags.
    assert source_id not in depends and destination_id not in depends
    assert resource["Properties"]["DestinationDomainInfo"]["DomainName"] == {"Ref": destination_id}
    assert any(d.startswith("ConnPolicy") for d in depends)
    assert resource["Properties"]["SourceDomainInfo"] == {
        "OwnerId": ACCOUNT,
        "DomainName": {"Ref": source_id},
        "Region": "us-east-1",
    }


def test_environment_agnostic_stack_uses_pseudo_parameters() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Agnostic")
    domain = opensearch.Domain(stack, "Src", version=opensearch.EngineVersion.OPENSEARCH_2_19)
    info = DomainInfo.from_domain(domain)
    assert stack.resolve(info.owner_id) == {"Ref": "AWS::AccountId"}
    assert stack.resolve(info.region) == {"Ref": "AWS::Region"}


def test_imported_domain_takes_owner_and_region_from_its_arn() -> None:
    stack = new_stack()
    imported = opensearch.Domain.from_domain_attributes(
        stack,
        "Imported",
        domain_arn="arn:aws:es:eu-west-1:222222222222:domain/remote-logs",
        domain_endpoint="https://search-remote-logs.eu-west-1.es.amazonaws.com",
    )
    info = DomainInfo.from_domain(imported)
    assert (info.owner_id, info.domain_name, info.region) == ("222222222222", "remote-logs", "eu-west-1")


def test_opensearch_api_options_and_retain() -> None:
    stack = new_stack()
    connect(
        stack,
        api=ConnectionApi.OPENSEARCH,
        connection_mode=ConnectionMode.VPC_ENDPOINT,
        skip_unavailable=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        connection_alias="a-long-alias-for-opensearch-api",
    )
    resource = only(Template.from_stack(stack), "Custom::OutboundCrossClusterSearchConnection")
    assert resource["Properties"]["Api"] == "OPENSEARCH"
    assert resource["Properties"]["ConnectionMode"] == "VPC_ENDPOINT"
    assert resource["Properties"]["SkipUnavailable"] == "ENABLED"
    assert resource["DeletionPolicy"] == "Retain"


def test_accepter_shares_the_provider() -> None:
    stack = new_stack()
    connect(stack)
    accepter = InboundConnectionAccepter(stack, "Accept", source=OTHER_ACCOUNT, destination=SOURCE)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::Function", 1)
    resource = only(template, "Custom::InboundCrossClusterSearchConnectionAccepter")
    assert "ConnectionAlias" not in resource["Properties"]
    assert accepter.connection_id is not None
    policies = connection_policies(template)
    accepter_policy = next(v for k, v in policies.items() if k.startswith("AcceptPolicy"))
    assert accepter_policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": [
                f"es:{verb}Inbound{kind}Connection{plural}"
                for verb, plural in (("Describe", "s"), ("Accept", ""), ("Delete", ""))
                for kind in ("", "CrossClusterSearch")
            ],
            "Effect": "Allow",
            "Resource": "*",
        }
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source": DomainInfo(owner_id=ACCOUNT, domain_name="Bad_Name", region="us-east-1")}, "source.domain_name"),
        ({"source": DomainInfo(owner_id="123", domain_name="good-name", region="us-east-1")}, "source.owner_id"),
        ({"destination": DomainInfo(owner_id=ACCOUNT, domain_name="good-name", region="mars")}, "destination.region"),
        ({"connection_alias": "x"}, "connection_alias"),
        ({"connection_alias": "a" * 21}, "connection_alias"),
        ({"timeout": cdk.Duration.seconds(5)}, "timeout"),
        ({"timeout": cdk.Duration.minutes(20)}, "timeout"),
        ({"connection_mode": ConnectionMode.DIRECT}, "connection_mode"),
        ({"accept_role_external_id": "abc"}, "accept_role_external_id"),
        ({"accept_connection": False, "accept_role_arn": "arn:aws:iam::222222222222:role/a"}, "accept_role_arn"),
        ({"source": "logs-source"}, "source"),
    ],
)
def test_bad_props_fail_at_synth_time_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises((ValueError, TypeError), match=f"^{field}"):
        connect(new_stack(), **kwargs)


def test_tokens_are_left_to_the_handler() -> None:
    stack = new_stack()
    parameter = cdk.CfnParameter(stack, "Alias").value_as_string
    connect(
        stack,
        connection_alias=parameter,
        destination=DomainInfo(owner_id=cdk.Aws.ACCOUNT_ID, domain_name=cdk.Fn.ref("Name"), region=cdk.Aws.REGION),
    )
    Template.from_stack(stack).resource_count_is("Custom::OutboundCrossClusterSearchConnection", 1)


def test_accepter_can_retain_the_inbound_connection_and_validates_its_props() -> None:
    stack = new_stack()
    InboundConnectionAccepter(
        stack,
        "Keep",
        source=OTHER_ACCOUNT,
        destination=SOURCE,
        connection_alias="partner",
        removal_policy=cdk.RemovalPolicy.RETAIN,
        timeout=cdk.Duration.seconds(30),
    )
    resource = only(Template.from_stack(stack), "Custom::InboundCrossClusterSearchConnectionAccepter")
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["Properties"]["ConnectionAlias"] == "partner"
    assert resource["Properties"]["TimeoutSeconds"] == "30"
    with pytest.raises(ValueError, match=r"^connection_alias"):
        InboundConnectionAccepter(new_stack(), "Bad", source=OTHER_ACCOUNT, destination=SOURCE, connection_alias="!")


def test_provider_gets_no_asynchronous_retries_and_no_stale_events() -> None:
    """CloudFormation invokes asynchronously; a retried invocation would act after CloudFormation moved on."""
    stack = new_stack()
    connect(stack, timeout=cdk.Duration.minutes(13))
    template = Template.from_stack(stack)
    config = only(template, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config["MaximumRetryAttempts"] == 0
    resource = only(template, "Custom::OutboundCrossClusterSearchConnection")["Properties"]
    # No event outlives the longest time CloudFormation waits for any of the stack's resources.
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600
    assert config["MaximumEventAgeInSeconds"] >= int(resource["ServiceTimeout"])


def test_the_maximum_event_age_is_the_stacks_longest_service_timeout() -> None:
    """Issue 19: a stack whose resources time out after 60 s keeps no event for 930 s (a late copy of a Create
    that its stack gave up on long ago must not reach the handler)."""
    for minutes in ([1], [1, 4], [13, 1]):
        stack = new_stack()
        for index, timeout in enumerate(minutes):
            connect(stack, f"Conn{index}", connection_alias=f"logs{index}", timeout=cdk.Duration.minutes(timeout))
        template = Template.from_stack(stack)
        config = only(template, "AWS::Lambda::EventInvokeConfig")["Properties"]
        waits = [
            int(r["Properties"]["ServiceTimeout"])
            for r in template.find_resources("Custom::OutboundCrossClusterSearchConnection").values()
        ]
        assert config["MaximumEventAgeInSeconds"] == max(waits), (minutes, config, waits)


def test_a_domain_has_one_encoding_in_the_template_and_in_the_handlers_requests() -> None:
    """DomainInfo (construct) and DomainRef (handler) share the contract's codec: what the template holds parses
    back to the DomainRef whose API structure is that same mapping."""
    stack = new_stack()
    connect(stack)
    props = only(Template.from_stack(stack), "Custom::OutboundCrossClusterSearchConnection")["Properties"]
    for key, info in (("SourceDomainInfo", SOURCE), ("DestinationDomainInfo", DESTINATION)):
        assert props[key] == info.as_properties()
        assert parse_domain(key, props[key]).as_api() == props[key]
