"""The constructs behave like aws-cdk-lib's L2s (issue 20, items 1 and 2): Resources behind interfaces, imports by
id whose metrics work, a generic metric(), `node.default_child` as the CfnResource, the keyword `id`, and a removal
policy that means the same whichever CDK way sets it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template
from constructs import IConstruct

from cross_cluster_search import (
    DomainInfo,
    IInboundConnectionAccepter,
    InboundConnectionAccepter,
    IOutboundConnection,
    OutboundConnection,
)

ACCOUNT = "111111111111"
PARTNER = "222222222222"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
DESTINATION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1")
FAR = DomainInfo(owner_id=PARTNER, domain_name="far", region="eu-west-1")
OUTBOUND = "Custom::OutboundCrossClusterSearchConnection"
ACCEPTER = "Custom::InboundCrossClusterSearchConnectionAccepter"


def new_stack(app: cdk.App | None = None, id: str = "Test") -> cdk.Stack:
    app = app or cdk.App(context={"aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, id, env=cdk.Environment(account=ACCOUNT, region="us-east-1"))


def connect(stack: cdk.Stack, **kwargs: Any) -> OutboundConnection:
    values: dict[str, Any] = {"source": SOURCE, "destination": DESTINATION, "connection_alias": "logs"}
    values.update(kwargs)
    return OutboundConnection(stack, "Conn", **values)


def resource(stack: cdk.Stack, type_: str = OUTBOUND) -> dict[str, Any]:
    [found] = Template.from_stack(stack).find_resources(type_).values()
    return dict(found)


def synth_errors(stack: cdk.Stack) -> list[str]:
    try:
        stack.node.root.synth()  # type: ignore[attr-defined]
    except RuntimeError as error:
        return [line.strip() for line in str(error).splitlines()[1:] if line.strip().startswith("[")]
    return []


# --- item 1: an L2 like opensearch.Domain -----------------------------------------------------------------


def test_both_constructs_are_resources_and_take_the_keyword_id() -> None:
    stack = new_stack()
    connection = OutboundConnection(
        scope=stack, id="Conn", source=SOURCE, destination=DESTINATION, connection_alias="logs"
    )
    accepter = InboundConnectionAccepter(scope=stack, id="Accept", source=FAR, destination=SOURCE)
    for construct in (connection, accepter):
        assert isinstance(construct, cdk.Resource)
        assert cdk.Resource.is_resource(construct)
        assert construct.stack is stack
        assert construct.env.account == ACCOUNT
    outbound: IOutboundConnection = connection  # the interfaces type-check (mypy --strict runs on the tests' use)
    inbound: IInboundConnectionAccepter = accepter
    assert outbound.source == SOURCE and inbound.destination == SOURCE


def test_default_child_is_the_cfn_resource_and_overrides_reach_the_template() -> None:
    stack = new_stack()
    connection = connect(stack)
    cfn = connection.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    assert cfn.cfn_resource_type == OUTBOUND
    cfn.add_property_override("TimeoutSeconds", "300")
    assert resource(stack)["Properties"]["TimeoutSeconds"] == "300"
    # The deprecated `.resource` still leads to the same L1.
    assert connection.resource.node.default_child is cfn


def test_logical_ids_are_those_of_earlier_releases() -> None:
    """Becoming a Resource moved the L1 from Conn/Resource/Default to Conn/Resource: the same logical id, so an
    upgrade replaces no connection."""
    stack = new_stack()
    connect(stack)
    InboundConnectionAccepter(stack, "Accept", source=FAR, destination=SOURCE)
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert resources["Conn48E61EBD"]["Type"] == OUTBOUND
    assert resources["Accept13FB13C2"]["Type"] == ACCEPTER


def test_a_generic_metric_under_the_named_ones() -> None:
    stack = new_stack()
    connection = connect(stack, destination=FAR)
    ref = {"Ref": stack.get_logical_id(connection.node.default_child)}  # type: ignore[arg-type]
    generic = connection.metric("CrossClusterOutboundConnections", statistic="Minimum")
    named = connection.metric_connected_nodes()
    for metric in (generic, named):
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            "AWS/ES",
            "CrossClusterOutboundConnections",
            "Minimum",
        )
        assert stack.resolve(metric.dimensions) == {
            "ClientId": ACCOUNT,
            "DomainName": "logs-source",
            "ConnectionId": ref,
        }
    assert connection.metric("SomethingNew").statistic == "Average"  # cloudwatch's default, as Domain.metric
    inbound = connection.metric("CrossClusterInboundRequests", period=cdk.Duration.minutes(1))
    assert (inbound.account, inbound.region, inbound.period.to_minutes()) == (PARTNER, "eu-west-1", 1)
    extra = connection.metric_outbound_requests(dimensions_map={"Extra": "x"}, statistic="Maximum")
    assert extra.statistic == "Maximum" and stack.resolve(extra.dimensions)["Extra"] == "x"


def test_a_connection_made_elsewhere_can_be_alarmed_on() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = new_stack(app)
    imported = OutboundConnection.from_connection_id(stack, "Imported", "cc-0123456789ab", source=SOURCE)
    assert imported.connection_id == "cc-0123456789ab"
    assert cdk.Resource.is_resource(imported)
    imported.metric_connected_nodes().create_alarm(stack, "Lost", threshold=1, evaluation_periods=1)
    template = Template.from_stack(stack)
    template.resource_count_is(OUTBOUND, 0)  # nothing created
    template.resource_count_is("AWS::Lambda::Function", 0)
    [alarm] = template.find_resources("AWS::CloudWatch::Alarm").values()
    assert sorted(alarm["Properties"]["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "ClientId", "Value": ACCOUNT},
        {"Name": "ConnectionId", "Value": "cc-0123456789ab"},
        {"Name": "DomainName", "Value": "logs-source"},
    ]
    # Without a destination there is no inbound metric to give; with one there is.
    with pytest.raises(ValueError, match=r"CrossClusterInboundRequests .* has no destination: pass destination="):
        imported.metric_inbound_requests()
    full = OutboundConnection.from_connection_attributes(
        stack, "Full", connection_id="cc-0123456789ab", source=SOURCE, destination=FAR
    )
    assert (full.metric_inbound_requests().account, full.destination) == (PARTNER, FAR)


def test_an_imported_connection_lives_in_its_domains_account_and_region() -> None:
    stack = new_stack()
    imported = OutboundConnection.from_connection_id(stack, "Imported", "cc-0123456789ab", source=FAR)
    assert (imported.env.account, imported.env.region) == (PARTNER, "eu-west-1")
    accepted = InboundConnectionAccepter.from_connection_attributes(
        stack, "Accepted", connection_id="cc-0123456789ab", source=FAR, destination=SOURCE
    )
    metric = accepted.metric_inbound_requests()
    assert (metric.metric_name, metric.statistic, metric.account) == ("CrossClusterInboundRequests", "Sum", ACCOUNT)
    assert stack.resolve(metric.dimensions)["ConnectionId"] == "cc-0123456789ab"


@pytest.mark.parametrize(
    ("connection_id", "error", "message"),
    [
        ("CC-1", ValueError, r"^connection_id must be a connection id"),
        (12, TypeError, r"^connection_id must be a str"),
    ],
)
def test_an_import_checks_its_connection_id(connection_id: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        OutboundConnection.from_connection_id(new_stack(), "Imported", connection_id, source=SOURCE)


def test_an_import_takes_a_token_id() -> None:
    stack = new_stack()
    token = cdk.Fn.import_value("ConnectionId")
    imported = OutboundConnection.from_connection_id(stack, "Imported", token, source=SOURCE)
    assert stack.resolve(imported.metric_outbound_requests().dimensions)["ConnectionId"] == {
        "Fn::ImportValue": "ConnectionId"
    }


def test_metrics_go_to_a_dashboard_of_another_stack() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = new_stack(app)
    connection = connect(stack)
    dashboard_stack = new_stack(app, "Dashboards")
    cloudwatch.Dashboard(dashboard_stack, "Board").add_widgets(
        cloudwatch.GraphWidget(left=[connection.metric_connected_nodes()])
    )
    app.synth()  # a cross-stack reference of the connection id, as for any L2


# --- item 2: a removal policy set any CDK way means the same ------------------------------------------------


@jsii.implements(cdk.IAspect)
class _RetainEverything:
    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cdk.CfnResource):
            node.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def _prop_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    connect(stack, removal_policy=cdk.RemovalPolicy.RETAIN, **kwargs)


def _construct_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    connect(stack, **kwargs).apply_removal_policy(cdk.RemovalPolicy.RETAIN)


def _default_child_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    connection = connect(stack, **kwargs)
    connection.node.default_child.apply_removal_policy(cdk.RemovalPolicy.RETAIN)  # type: ignore[union-attr]


def _removal_policies_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    connect(stack, **kwargs)
    cdk.RemovalPolicies.of(stack).retain()


def _aspect_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    connect(stack, **kwargs)
    cdk.Aspects.of(stack).add(_RetainEverything())


def _override_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    connection = connect(stack, **kwargs)
    connection.node.default_child.add_override("UpdateReplacePolicy", "Retain")  # type: ignore[union-attr]


def _cfn_options_retain(stack: cdk.Stack, **kwargs: Any) -> None:
    cfn = connect(stack, **kwargs).node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    cfn.cfn_options.update_replace_policy = cdk.CfnDeletionPolicy.RETAIN


RETAIN_WAYS = [
    _prop_retain,
    _construct_retain,
    _default_child_retain,
    _removal_policies_retain,
    _aspect_retain,
    _override_retain,
    _cfn_options_retain,
]


@pytest.mark.parametrize("retain", RETAIN_WAYS)
def test_every_way_of_retaining_tells_the_handler(retain: Any) -> None:
    stack = new_stack()
    retain(stack)
    found = resource(stack)
    assert found["UpdateReplacePolicy"] == "Retain"
    assert found["Properties"]["Retain"] == "true"


def test_without_retain_the_handler_is_told_nothing() -> None:
    stack = new_stack()
    connect(stack)
    found = resource(stack)
    assert found["DeletionPolicy"] == "Delete"
    assert "Retain" not in found["Properties"]


def test_an_override_back_to_delete_counts_too() -> None:
    stack = new_stack()
    connection = connect(stack, removal_policy=cdk.RemovalPolicy.RETAIN)
    cfn = connection.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    cfn.add_override("UpdateReplacePolicy", "Delete")
    cfn.add_deletion_override("DeletionPolicy")
    found = resource(stack)
    assert "DeletionPolicy" not in found and found["UpdateReplacePolicy"] == "Delete"
    assert "Retain" not in found["Properties"]


@pytest.mark.parametrize("retain", RETAIN_WAYS[1:])  # the prop itself fails at construction (test_construct.py)
def test_deleting_first_with_a_policy_that_keeps_connections_fails_synth(retain: Any) -> None:
    stack = new_stack()
    retain(stack, replace_by_deleting_first=True)
    [error] = synth_errors(stack)
    assert error.startswith("[Test/Conn] removal_policy: replace_by_deleting_first cannot be used with a policy")
    assert "UpdateReplacePolicy Retain" in error


def test_the_retain_prop_with_deleting_first_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=r"^replace_by_deleting_first cannot be used with a RETAIN removal_policy"):
        connect(new_stack(), removal_policy=cdk.RemovalPolicy.RETAIN, replace_by_deleting_first=True)


def test_snapshot_is_refused_naming_removal_policy() -> None:
    with pytest.raises(ValueError, match=r"^removal_policy: CloudFormation refuses Snapshot on custom resources"):
        connect(new_stack(), removal_policy=cdk.RemovalPolicy.SNAPSHOT)
    with pytest.raises(ValueError, match=r"^removal_policy: CloudFormation refuses Snapshot"):
        InboundConnectionAccepter(
            new_stack(), "Accept", source=FAR, destination=SOURCE, removal_policy=cdk.RemovalPolicy.SNAPSHOT
        )
    for make in (
        lambda s: connect(s).apply_removal_policy(cdk.RemovalPolicy.SNAPSHOT),
        lambda s: cdk.RemovalPolicies.of(
            InboundConnectionAccepter(s, "Conn", source=FAR, destination=SOURCE)
        ).snapshot(),
    ):
        stack = new_stack()
        make(stack)
        errors = synth_errors(stack)
        assert errors and all(e.startswith("[Test/Conn] removal_policy: the connection's") for e in errors), errors
        assert "Snapshot, which CloudFormation refuses on custom resources" in errors[0]


def test_the_accepter_never_sends_a_retain_property() -> None:
    """The accepter's handler knows no Retain key: a retained accepter keeps only its policies."""
    stack = new_stack()
    InboundConnectionAccepter(stack, "Accept", source=FAR, destination=SOURCE)
    cdk.RemovalPolicies.of(stack).retain()
    found = resource(stack, ACCEPTER)
    assert found["DeletionPolicy"] == "Retain" and "Retain" not in found["Properties"]
