"""A prop of the wrong type is a TypeError naming the prop and the type it takes, at construction."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest

from cross_cluster_search import ConnectionApi, DomainInfo, InboundConnectionAccepter, OutboundConnection
from cross_cluster_search.ccs_handler.properties import show

ACCOUNT = "111111111111"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
DESTINATION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1")


def new_stack() -> cdk.Stack:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    return cdk.Stack(app, "Test", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("source", "logs-source", "a DomainInfo or a domain"),
        ("destination", 42, "a DomainInfo or a domain"),
        ("connection_alias", 7, "a str"),
        ("accept_connection", "yes", "a bool or None"),
        ("accept_connection", 1, "a bool or None"),
        ("timeout", 600, "a Duration"),
        ("removal_policy", "RETAIN", "a RemovalPolicy"),
        ("api", "OPENSEARCH", "a ConnectionApi"),
        ("connection_mode", "DIRECT", "a ConnectionMode or None"),
        ("skip_unavailable", "yes", "a bool or None"),
        ("accept_role_arn", 123, "a str or None"),
        ("accept_role_external_id", ["x"], "a str or None"),
        ("destination_access_policy", "no", "a bool"),
    ],
)
def test_outbound_props_of_the_wrong_type(prop: str, value: Any, expected: str) -> None:
    props: dict[str, Any] = {
        "source": SOURCE,
        "destination": DESTINATION,
        "connection_alias": "logs",
        "api": ConnectionApi.OPENSEARCH,
    }
    props[prop] = value
    with pytest.raises(TypeError, match=rf"^{prop} must be {expected}.*\(got {re.escape(show(value))}\)(; .*)?$"):
        OutboundConnection(new_stack(), "Conn", **props)


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("connection_alias", 5, "a str or None"),
        ("connection_id", 5, "a str or None"),
        ("timeout", 30, "a Duration"),
        ("api", "ELASTICSEARCH", "a ConnectionApi"),
        ("removal_policy", None, "a RemovalPolicy"),
        ("destination_access_policy", None, "a bool"),
    ],
)
def test_accepter_props_of_the_wrong_type(prop: str, value: Any, expected: str) -> None:
    props: dict[str, Any] = {"source": SOURCE, "destination": DESTINATION, prop: value}
    with pytest.raises(TypeError, match=rf"^{prop} must be {expected}.* \(got {re.escape(show(value))}\)$"):
        InboundConnectionAccepter(new_stack(), "Accept", **props)


@pytest.mark.parametrize("field", ["owner_id", "domain_name", "region"])
def test_domain_info_fields_of_the_wrong_type(field: str) -> None:
    values: dict[str, Any] = {"owner_id": ACCOUNT, "domain_name": "logs", "region": "us-east-1", field: 12}
    with pytest.raises(TypeError, match=rf"^DomainInfo.{field} must be a str \(got int\)$"):
        DomainInfo(**values)


def test_skip_unavailable_yes_is_a_type_error_not_a_key_error() -> None:
    with pytest.raises(
        TypeError, match=r"^skip_unavailable must be a bool or None \(True, False, None\) \(got 'yes'\)$"
    ):
        OutboundConnection(
            new_stack(),
            "Conn",
            source=SOURCE,
            destination=DESTINATION,
            connection_alias="logs",
            api=ConnectionApi.OPENSEARCH,
            skip_unavailable="yes",  # type: ignore[arg-type]
        )


def test_a_type_error_shows_the_value_and_the_fix() -> None:
    with pytest.raises(TypeError) as error:
        OutboundConnection(
            new_stack(),
            "Conn",
            source=SOURCE,
            destination=DESTINATION,
            connection_alias="logs",
            api="opensearch",  # type: ignore[arg-type]
        )
    assert str(error.value) == "api must be a ConnectionApi such as ConnectionApi.OPENSEARCH (got 'opensearch')"
