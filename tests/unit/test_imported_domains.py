"""Imported domains (jsii proxies of IDomain, not Constructs) as source and destination of both constructs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cross_cluster_search import DomainInfo, InboundConnectionAccepter, OutboundConnection

ACCOUNT = "111111111111"
LOCAL = DomainInfo(owner_id=ACCOUNT, domain_name="local-logs", region="us-east-1")
ENDPOINT = "https://search-my-logs-abcdefghijklmnopqrstuvwxyz.eu-west-1.es.amazonaws.com"
VPC_ENDPOINT = "https://vpc-old-logs-abcdefghijklmnopqrstuvwxyz.eu-west-2.es.amazonaws.com"


def new_stack(env: cdk.Environment | None = cdk.Environment(account=ACCOUNT, region="us-east-1")) -> cdk.Stack:
    return cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "Test", env=env)


def from_attributes(stack: cdk.Stack) -> Any:
    return opensearch.Domain.from_domain_attributes(
        stack,
        "Imported",
        domain_arn="arn:aws:es:eu-west-1:222222222222:domain/remote-logs",
        domain_endpoint="https://search-remote-logs-abcdefghijklmnopqrstuvwxyz.eu-west-1.es.amazonaws.com",
    )


def from_endpoint(stack: cdk.Stack) -> Any:
    return opensearch.Domain.from_domain_endpoint(stack, "Imported", ENDPOINT)


def es_from_endpoint(stack: cdk.Stack) -> Any:
    return elasticsearch.Domain.from_domain_endpoint(stack, "Imported", VPC_ENDPOINT)


#: Each imported form, and the domain the API must be given: the ARN's account, region and name; from an
#: endpoint, the name and region the endpoint carries and (a guess, as CDK's) the stack's account.
FORMS: list[tuple[Callable[[cdk.Stack], Any], dict[str, str]]] = [
    (from_attributes, {"OwnerId": "222222222222", "DomainName": "remote-logs", "Region": "eu-west-1"}),
    (from_endpoint, {"OwnerId": ACCOUNT, "DomainName": "my-logs", "Region": "eu-west-1"}),
    (es_from_endpoint, {"OwnerId": ACCOUNT, "DomainName": "old-logs", "Region": "eu-west-2"}),
]


@pytest.mark.parametrize(("imported", "expected"), FORMS)
@pytest.mark.parametrize("side", ["source", "destination"])
def test_each_imported_form_works_in_the_outbound_connection(
    imported: Callable[[cdk.Stack], Any], expected: dict[str, str], side: str
) -> None:
    stack = new_stack()
    domain = imported(stack)
    other = "destination" if side == "source" else "source"
    OutboundConnection(stack, "Conn", **{side: domain, other: LOCAL}, connection_alias="logs")
    template = Template.from_stack(stack)
    resource = next(iter(template.find_resources("Custom::OutboundCrossClusterSearchConnection").values()))
    key = "SourceDomainInfo" if side == "source" else "DestinationDomainInfo"
    assert resource["Properties"][key] == expected
    assert not any(d.startswith("Imported") for d in resource.get("DependsOn", []))
    # Nothing to change in another owner's domain: no access policy resource.
    template.resource_count_is("Custom::OpenSearchAccessPolicy", 0)


@pytest.mark.parametrize(("imported", "expected"), FORMS)
@pytest.mark.parametrize("side", ["source", "destination"])
def test_each_imported_form_works_in_the_accepter(
    imported: Callable[[cdk.Stack], Any], expected: dict[str, str], side: str
) -> None:
    # The accepter lives in its destination's account: the partner's (the stack's) when the import is the source,
    # the import's when it is the destination.
    owner = ACCOUNT if side == "source" else expected["OwnerId"]
    stack = new_stack(env=cdk.Environment(account=owner, region="us-east-1"))
    domain = imported(stack)
    other = "destination" if side == "source" else "source"
    partner = DomainInfo(owner_id=ACCOUNT, domain_name="partner", region="us-east-1")
    InboundConnectionAccepter(stack, "Accept", **{side: domain, other: partner})
    template = Template.from_stack(stack)
    resource = next(iter(template.find_resources("Custom::InboundCrossClusterSearchConnectionAccepter").values()))
    key = "SourceDomainInfo" if side == "source" else "DestinationDomainInfo"
    assert resource["Properties"][key] == expected


def test_an_endpoint_import_in_an_environment_agnostic_stack_keeps_name_and_region_of_the_endpoint() -> None:
    stack = new_stack(env=None)
    info = DomainInfo.from_domain(opensearch.Domain.from_domain_endpoint(stack, "Imported", ENDPOINT))
    assert (info.domain_name, info.region) == ("my-logs", "eu-west-1")
    assert stack.resolve(info.owner_id) == {"Ref": "AWS::AccountId"}


def test_an_import_by_a_token_arn_falls_back_to_the_stack_and_the_endpoint() -> None:
    stack = new_stack()
    imported = opensearch.Domain.from_domain_attributes(
        stack, "Imported", domain_arn=cdk.Fn.import_value("LogsArn"), domain_endpoint=ENDPOINT
    )
    info = DomainInfo.from_domain(imported)
    assert (info.owner_id, info.domain_name, info.region) == (ACCOUNT, "my-logs", "eu-west-1")


def test_what_is_not_a_domain_is_a_type_error_naming_the_prop() -> None:
    with pytest.raises(TypeError, match=r"^destination must be a DomainInfo or a domain .*\(got Bucket\)"):
        stack = new_stack()
        OutboundConnection(stack, "Conn", source=LOCAL, destination=s3.Bucket(stack, "B"), connection_alias="x1")
