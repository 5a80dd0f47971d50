"""One contract between construct and handler: whatever valid props the construct gets, the handler parses
back exactly those values from the properties CloudFormation delivers (every scalar a string)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from profiles import examples

from ccs_offline.assembly import cfn_strings
from cross_cluster_search import (
    ConnectionApi,
    ConnectionMode,
    DomainInfo,
    InboundConnectionAccepter,
    OutboundConnection,
)
from cross_cluster_search.ccs_handler import contract
from cross_cluster_search.ccs_handler.properties import DomainRef, parse_accepter, parse_outbound

REGIONS = {
    "aws": ["us-east-1", "eu-west-1", "ap-southeast-7", "mx-central-1"],
    "aws-cn": ["cn-north-1", "cn-northwest-1"],
    "aws-us-gov": ["us-gov-west-1"],
    "aws-eusc": ["eusc-de-east-1"],
}
owners = st.from_regex(r"[0-9]{12}", fullmatch=True)
names = st.from_regex(r"[a-z][a-z0-9\-]{2,27}", fullmatch=True)


@st.composite
def domain_pairs(draw: st.DrawFn) -> tuple[str, DomainInfo, DomainInfo]:
    partition = draw(st.sampled_from(sorted(REGIONS)))
    source = DomainInfo(
        owner_id=draw(owners), domain_name=draw(names), region=draw(st.sampled_from(REGIONS[partition]))
    )
    same_owner = draw(st.booleans())
    destination = DomainInfo(
        owner_id=source.owner_id if same_owner else draw(owners),
        domain_name=draw(names.filter(lambda n: n != source.domain_name)),
        region=draw(st.sampled_from(REGIONS[partition])),
    )
    return partition, source, destination


def _properties(build: Any, account: str = "111111111111") -> dict[str, Any]:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Contract", env=cdk.Environment(account=account, region="us-east-1"))
    construct = build(stack)
    resource = Template.from_stack(stack).to_json()["Resources"][
        stack.get_logical_id(construct.resource.node.default_child)
    ]
    # As CloudFormation delivers them: every scalar a string, its own keys beside ours.
    return dict(cfn_strings(stack.resolve(resource["Properties"])))


def _ref(info: DomainInfo) -> DomainRef:
    return DomainRef(info.owner_id, info.domain_name, info.region)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=domain_pairs(),
    alias=st.from_regex(r"[a-zA-Z][a-zA-Z0-9_\-]{1,19}", fullmatch=True),
    accept=st.sampled_from([None, True, False]),
    timeout=st.integers(contract.MIN_TIMEOUT_SECONDS, contract.MAX_TIMEOUT_SECONDS),
    opensearch=st.booleans(),
    mode=st.sampled_from([None, *ConnectionMode]),
    skip=st.sampled_from([None, True, False]),
    role=st.booleans(),
    external_id=st.one_of(st.none(), st.from_regex(r"[\w+=,.@:/\-]{2,40}", fullmatch=True)),
)
def test_outbound_properties_parse_back_to_the_props(
    pair: tuple[str, DomainInfo, DomainInfo],
    alias: str,
    accept: bool | None,
    timeout: int,
    opensearch: bool,
    mode: ConnectionMode | None,
    skip: bool | None,
    role: bool,
    external_id: str | None,
) -> None:
    partition, source, destination = pair
    # Only the destination's owner can accept: accepting across accounts needs a role (refused at synth).
    assume(accept is not True or role or source.owner_id == destination.owner_id)
    role_arn = f"arn:{partition}:iam::{destination.owner_id}:role/accept" if role and accept is not False else None
    props: dict[str, Any] = {
        "source": source,
        "destination": destination,
        "connection_alias": alias,
        "accept_connection": accept,
        "timeout": cdk.Duration.seconds(timeout),
        "api": ConnectionApi.OPENSEARCH if opensearch else ConnectionApi.ELASTICSEARCH,
        "connection_mode": mode if opensearch else None,
        "skip_unavailable": skip if opensearch else None,
        "accept_role_arn": role_arn,
        "accept_role_external_id": external_id if role_arn else None,
    }
    properties = _properties(lambda stack: OutboundConnection(stack, "Conn", **props))
    assert set(properties) - contract.OUTBOUND_KEYS == set(contract.RESERVED_KEYS)

    spec = parse_outbound(properties)
    expected_accept = accept if accept is not None else (source.owner_id == destination.owner_id or bool(role_arn))
    skip_value = None if props["skip_unavailable"] is None else contract.SKIP_ENCODING[props["skip_unavailable"]]
    assert (spec.source, spec.destination, spec.alias) == (_ref(source), _ref(destination), alias)
    assert (spec.accept, spec.timeout_seconds, spec.api) == (expected_accept, timeout, props["api"].value)
    assert spec.connection_mode == (None if props["connection_mode"] is None else props["connection_mode"].value)
    assert spec.skip_unavailable == skip_value
    assert (spec.accept_role_arn, spec.accept_external_id) == (role_arn, props["accept_role_external_id"])
    assert int(properties["ServiceTimeout"]) == contract.service_timeout_seconds(timeout)


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=domain_pairs(),
    timeout=st.integers(contract.MIN_TIMEOUT_SECONDS, contract.MAX_TIMEOUT_SECONDS),
    opensearch=st.booleans(),
    alias=st.one_of(st.none(), st.from_regex(r"[a-zA-Z][a-zA-Z0-9_\-]{1,19}", fullmatch=True)),
    connection_id=st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9\-]{9,40}", fullmatch=True)),
)
def test_accepter_properties_parse_back_to_the_props(
    pair: tuple[str, DomainInfo, DomainInfo],
    timeout: int,
    opensearch: bool,
    alias: str | None,
    connection_id: str | None,
) -> None:
    _, source, destination = pair
    api = ConnectionApi.OPENSEARCH if opensearch else ConnectionApi.ELASTICSEARCH
    properties = _properties(
        lambda stack: InboundConnectionAccepter(
            stack,
            "Accepter",
            source=source,
            destination=destination,
            timeout=cdk.Duration.seconds(timeout),
            api=api,
            connection_alias=alias,
            connection_id=connection_id,
        ),
        account=destination.owner_id,  # an accepter runs in its destination's account (refused at synth otherwise)
    )
    spec = parse_accepter(properties)
    assert (spec.source, spec.destination, spec.timeout_seconds, spec.api) == (
        _ref(source),
        _ref(destination),
        timeout,
        api.value,
    )
    assert (spec.alias, spec.connection_id) == (alias, connection_id)


def test_the_time_budget_holds_together() -> None:
    """The relations contract.py asserts at import, and what the construct makes of them."""
    longest = contract.MAX_TIMEOUT_SECONDS
    assert contract.lambda_timeout_seconds(longest) <= contract.LAMBDA_MAX_SECONDS
    assert contract.service_timeout_seconds(longest) <= contract.SERVICE_TIMEOUT_MAX_SECONDS
    assert contract.CLEANUP_SECONDS < contract.CLEANUP_RESERVE_SECONDS
    assert contract.lambda_timeout_seconds(longest) - longest >= (
        contract.CLEANUP_RESERVE_SECONDS + contract.RESPONSE_RESERVE_SECONDS
    )
