"""Searches need the destination's access policy; broken connections show in the cross-cluster metrics."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk.assertions import Template

from cross_cluster_search import DomainInfo, InboundConnectionAccepter, OutboundConnection

ACCOUNT = "111111111111"
PARTNER = "222222222222"


def new_stack() -> cdk.Stack:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, "Test", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))


def os_domain(stack: cdk.Stack, id_: str, *, named: bool = True) -> opensearch.Domain:
    return opensearch.Domain(
        stack,
        id_,
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        domain_name=id_.lower() + "-domain" if named else None,
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )


def es_domain(stack: cdk.Stack, id_: str, **options: Any) -> elasticsearch.Domain:
    return elasticsearch.Domain(
        stack,
        id_,
        version=elasticsearch.ElasticsearchVersion.V7_10,
        domain_name=id_.lower() + "-domain",
        fine_grained_access_control=elasticsearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=elasticsearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
        **options,
    )


def domain_statements(template: Template, type_: str = "AWS::OpenSearchService::Domain") -> list[Any]:
    """The statements of the one domain of the template that has an AccessPolicies property."""
    policies = [r["Properties"].get("AccessPolicies") for r in template.find_resources(type_).values()]
    [policy] = [p for p in policies if p is not None]
    assert policy["Version"] == "2012-10-17"
    return list(policy["Statement"])


def access_policy_statements(template: Template, type_: str = "Custom::OpenSearchAccessPolicy") -> list[Any]:
    """The statements the L2's access-policy custom resource applies (its UpdateDomainConfig call)."""
    resources = template.find_resources(type_)
    assert len(resources) == 1, resources
    create = next(iter(resources.values()))["Properties"]["Create"]
    parts = create["Fn::Join"][1]
    # The call is JSON joined around tokens; the policy's statements are inside it, checked as text.
    return [part for part in parts if isinstance(part, (str, dict))]


def joined(parts: list[Any]) -> str:
    return "".join(part if isinstance(part, str) else str(part) for part in parts)


def test_a_destination_domain_construct_gets_the_search_statement_in_its_own_property() -> None:
    """A domain with a physical name and no access policy of aws-cdk-lib's: the statement is the domain's own
    AccessPolicies property (the domain's ARN built from its name: a GetAtt of itself would be circular)."""
    stack = new_stack()
    source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    OutboundConnection(stack, "Conn", source=source, destination=os_domain(stack, "Dst"), connection_alias="logs")
    OutboundConnection(stack, "Again", source=source, destination=stack.node.find_child("Dst"), connection_alias="l2")
    template = Template.from_stack(stack)
    partition = {"Ref": "AWS::Partition"}
    assert domain_statements(template) == [  # once for the account, however many connections
        {
            "Action": "es:ESCrossClusterGet",
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Join": ["", ["arn:", partition, f":iam::{PARTNER}:root"]]}},
            "Resource": {"Fn::Join": ["", ["arn:", partition, f":es:us-east-1:{ACCOUNT}:domain/dst-domain"]]},
        }
    ]
    template.resource_count_is("Custom::OpenSearchAccessPolicy", 0)
    template.resource_count_is("AWS::Lambda::Function", 1)  # the provider's: no access-policy function


def test_a_domain_whose_policy_aws_cdk_lib_keeps_gets_the_statement_there() -> None:
    """aws-cdk-lib's access-policy resource sets the domain's whole policy over the property: a domain with its
    own access_policies, or add_access_policies called after the connection, gets the statement through it."""
    for when in ("before", "after"):
        stack = new_stack()
        source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
        destination = os_domain(stack, "Dst")
        own = iam.PolicyStatement(
            actions=["es:ESHttpGet"], principals=[iam.AccountRootPrincipal()], resources=[f"{destination.domain_arn}/*"]
        )
        if when == "before":
            destination.add_access_policies(own)
        OutboundConnection(stack, "Conn", source=source, destination=destination, connection_alias="logs")
        if when == "after":
            destination.add_access_policies(own)
        template = Template.from_stack(stack)
        text = joined(access_policy_statements(template))
        assert "es:ESHttpGet" in text and "es:ESCrossClusterGet" in text and f":iam::{PARTNER}:root" in text, when
        [domain] = template.find_resources("AWS::OpenSearchService::Domain").values()
        assert "AccessPolicies" not in domain["Properties"], when  # nothing left for that resource to overwrite
        # The connection waits for that resource, as it did when it depended on the whole domain construct.
        [library_policy] = template.find_resources("Custom::OpenSearchAccessPolicy")
        [connection] = template.find_resources("Custom::OutboundCrossClusterSearchConnection").values()
        assert library_policy in connection["DependsOn"], when


def test_an_elasticsearch_domain_whose_policy_aws_cdk_lib_keeps_gets_the_statement_there() -> None:
    """aws-cdk-lib's Elasticsearch domain names that resource ESAccessPolicy (not AccessPolicy)."""
    stack = new_stack()
    own = iam.PolicyStatement(actions=["es:ESHttpGet"], principals=[iam.AccountRootPrincipal()], resources=["*"])
    destination = es_domain(stack, "Dst", access_policies=[own])
    source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    InboundConnectionAccepter(stack, "Accept", source=source, destination=destination)
    template = Template.from_stack(stack)
    text = joined(access_policy_statements(template, "Custom::ElasticsearchAccessPolicy"))
    assert "es:ESHttpGet" in text and "es:ESCrossClusterGet" in text and f":iam::{PARTNER}:root" in text
    [domain] = template.find_resources("AWS::Elasticsearch::Domain").values()
    assert "AccessPolicies" not in domain["Properties"]


def test_a_destination_without_a_physical_name_gets_the_statement_through_aws_cdk_lib() -> None:
    stack = new_stack()
    source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    destination = os_domain(stack, "Dst", named=False)
    OutboundConnection(stack, "Conn", source=source, destination=destination, connection_alias="logs")
    text = joined(access_policy_statements(Template.from_stack(stack)))
    assert '\\"Action\\":\\"es:ESCrossClusterGet\\"' in text
    assert '\\"AWS\\":\\"arn:' in text and f":iam::{PARTNER}:root" in text
    # The resource is the domain's ARN itself (...:domain/name), not its sub-resources (/*).
    destination_id = stack.get_logical_id(destination.node.default_child)  # type: ignore[arg-type]
    assert f"'Fn::GetAtt': ['{destination_id}', 'Arn']" in text
    assert "/*" not in text


def test_the_statement_can_be_left_out() -> None:
    stack = new_stack()
    OutboundConnection(
        stack,
        "Conn",
        source=os_domain(stack, "Src"),
        destination=os_domain(stack, "Dst"),
        connection_alias="logs",
        destination_access_policy=False,
    )
    Template.from_stack(stack).resource_count_is("Custom::OpenSearchAccessPolicy", 0)


def test_a_domain_info_destination_is_left_to_its_owner() -> None:
    stack = new_stack()
    destination = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    OutboundConnection(stack, "Conn", source=os_domain(stack, "Src"), destination=destination, connection_alias="logs")
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::OpenSearchAccessPolicy", 0)


def test_the_accepter_adds_it_to_this_accounts_elasticsearch_domain() -> None:
    stack = new_stack()
    destination = es_domain(stack, "Dst")
    source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    InboundConnectionAccepter(stack, "Accept", source=source, destination=destination)
    [statement] = domain_statements(Template.from_stack(stack), "AWS::Elasticsearch::Domain")
    assert statement["Action"] == "es:ESCrossClusterGet" and f":iam::{PARTNER}:root" in str(statement["Principal"])


def test_an_alarm_on_connection_loss_has_the_services_namespace_metric_and_dimensions() -> None:
    stack = new_stack()
    connection = OutboundConnection(
        stack, "Conn", source=os_domain(stack, "Src"), destination=os_domain(stack, "Dst"), connection_alias="logs"
    )
    connection.metric_connected_nodes(period=cdk.Duration.minutes(1)).create_alarm(
        stack,
        "Lost",
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
    )
    alarm = next(iter(Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()))["Properties"]
    connection_id = stack.get_logical_id(connection.resource.node.default_child)  # type: ignore[arg-type]
    source_id = stack.get_logical_id(connection.node.scope.node.find_child("Src").node.default_child)  # type: ignore[union-attr]
    assert alarm["Namespace"] == "AWS/ES"
    assert alarm["MetricName"] == "CrossClusterOutboundConnections"
    assert alarm["Statistic"] == "Minimum" and alarm["Period"] == 60
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert sorted(alarm["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "ClientId", "Value": ACCOUNT},
        {"Name": "ConnectionId", "Value": {"Ref": connection_id}},
        {"Name": "DomainName", "Value": {"Ref": source_id}},
    ]


def test_request_metrics_name_the_right_domain_account_and_region() -> None:
    stack = new_stack()
    destination = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="eu-west-1")
    connection = OutboundConnection(
        stack, "Conn", source=os_domain(stack, "Src"), destination=destination, connection_alias="logs"
    )
    outbound = connection.metric_outbound_requests()
    inbound = connection.metric_inbound_requests(statistic="Average", label="from logs")
    assert (outbound.namespace, outbound.metric_name, outbound.statistic) == (
        "AWS/ES",
        "CrossClusterOutboundRequests",
        "Sum",
    )
    assert (outbound.account, outbound.region) == (ACCOUNT, "us-east-1")
    assert (inbound.metric_name, inbound.statistic, inbound.label) == (
        "CrossClusterInboundRequests",
        "Average",
        "from logs",
    )
    # The destination's metrics live in the destination's account and region.
    assert (inbound.account, inbound.region) == (PARTNER, "eu-west-1")
    assert inbound.dimensions is not None
    assert stack.resolve(inbound.dimensions) == {
        "ClientId": PARTNER,
        "DomainName": "partner-logs",
        "ConnectionId": {"Ref": stack.get_logical_id(connection.resource.node.default_child)},  # type: ignore[arg-type]
    }


def test_the_accepter_offers_the_inbound_requests_of_its_domain() -> None:
    stack = new_stack()
    source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    destination = DomainInfo(owner_id=ACCOUNT, domain_name="local-logs", region="us-east-1")
    accepter = InboundConnectionAccepter(stack, "Accept", source=source, destination=destination)
    accepter.metric_inbound_requests(period=cdk.Duration.minutes(5)).create_alarm(
        stack, "NoSearches", threshold=0, evaluation_periods=3
    )
    alarm = next(iter(Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()))["Properties"]
    accepter_id = stack.get_logical_id(accepter.resource.node.default_child)  # type: ignore[arg-type]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/ES",
        "CrossClusterInboundRequests",
        "Sum",
    )
    assert sorted(alarm["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "ClientId", "Value": ACCOUNT},
        {"Name": "ConnectionId", "Value": {"Ref": accepter_id}},
        {"Name": "DomainName", "Value": "local-logs"},
    ]


def test_a_policy_set_again_after_the_connection_fails_synth_naming_the_prop() -> None:
    """The statement went into the domain's property; a user's later `CfnDomain.access_policies = ...` replaces
    the whole document, so searches would be refused: synthesis says so instead of deploying without it."""
    stack = new_stack()
    source = DomainInfo(owner_id=PARTNER, domain_name="partner-logs", region="us-east-1")
    destination = os_domain(stack, "Dst")
    OutboundConnection(stack, "Conn", source=source, destination=destination, connection_alias="logs")
    cfn = destination.node.default_child
    assert isinstance(cfn, opensearch.CfnDomain)
    before = cfn.access_policies
    cfn.access_policies = {"Version": "2012-10-17", "Statement": []}
    with pytest.raises(RuntimeError) as failed:
        stack.node.root.synth()  # type: ignore[attr-defined]
    assert (
        "[Test/Conn] destination_access_policy: the access policy of domain Test/Dst was set again after a "
        f"connection added es:ESCrossClusterGet for account {PARTNER} to it, and no longer has it"
    ) in str(failed.value)
    cfn.access_policies = before  # the control: as the connection left it, synthesis passes
    Template.from_stack(stack).resource_count_is("Custom::OutboundCrossClusterSearchConnection", 1)
