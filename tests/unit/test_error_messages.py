"""Errors that say what to do (issue 20, item 4): the alias's length and the API that allows longer ones, a
timeout in the unit it was given with its limits, and one public exception type for wrong values."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

import cross_cluster_search
from cross_cluster_search import (
    ConnectionApi,
    DomainInfo,
    InboundConnectionAccepter,
    InvalidInput,
    InvalidProp,
    OutboundConnection,
)

ACCOUNT = "111111111111"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
DESTINATION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1")


def refused(**kwargs: Any) -> str:
    values: dict[str, Any] = {"source": SOURCE, "destination": DESTINATION, "connection_alias": "logs", **kwargs}
    with pytest.raises(InvalidInput) as error:
        OutboundConnection(cdk.Stack(cdk.App(), "Test"), "Conn", **values)
    return str(error.value)


def test_a_long_alias_shows_its_length_and_the_api_that_allows_it() -> None:
    message = refused(connection_alias="a" * 25)
    assert "(got 'aaaaaaaaaaaaaaaaaaaaaaaaa', 25 characters)" in message
    assert message.endswith("; api=ConnectionApi.OPENSEARCH allows up to 100 characters")
    # With the OpenSearch API it is fine, and past 100 there is no API to suggest.
    OutboundConnection(
        cdk.Stack(cdk.App(), "Ok"),
        "Conn",
        source=SOURCE,
        destination=DESTINATION,
        connection_alias="a" * 25,
        api=ConnectionApi.OPENSEARCH,
    )
    assert "OPENSEARCH" not in refused(connection_alias="a" * 101, api=ConnectionApi.OPENSEARCH)
    assert "OPENSEARCH" not in refused(connection_alias="1abc")  # not a length problem


@pytest.mark.parametrize(
    ("timeout", "shown"),
    [
        (cdk.Duration.hours(2), "2 hours"),
        (cdk.Duration.minutes(14), "14 minutes"),
        (cdk.Duration.seconds(5), "5 seconds"),
        (cdk.Duration.millis(10500), "10 seconds 500 millis"),
    ],
)
def test_a_timeout_is_shown_in_its_own_unit_with_the_limits(timeout: cdk.Duration, shown: str) -> None:
    assert refused(timeout=timeout) == (
        f"timeout must be a whole number of seconds from 10 seconds to 13 minutes (got {shown}); "
        "for example Duration.minutes(10)"
    )


def test_every_wrong_value_is_one_public_exception_naming_the_prop() -> None:
    assert issubclass(InvalidProp, InvalidInput) and issubclass(InvalidInput, ValueError)
    assert {"InvalidInput", "InvalidProp"} <= set(cross_cluster_search.__all__)
    for kwargs, prop in (
        ({"connection_alias": "x"}, "connection_alias"),  # a rule shared with the handler
        ({"accept_role_external_id": "secret-value"}, "accept_role_external_id"),  # the construct's own
        ({"source": DomainInfo(owner_id="1", domain_name="logs", region="us-east-1")}, "source.owner_id"),
    ):
        with pytest.raises(InvalidInput) as error:
            OutboundConnection(
                cdk.Stack(cdk.App(), "Test"),
                "Conn",
                **{"source": SOURCE, "destination": DESTINATION, "connection_alias": "logs", **kwargs},
            )
        assert error.value.field == prop, (error.value.field, str(error.value))
    with pytest.raises(InvalidInput):
        InboundConnectionAccepter(
            cdk.Stack(cdk.App(), "Test"), "Accept", source=SOURCE, destination=DESTINATION, connection_id="X"
        )


def test_the_external_id_never_shows() -> None:
    message = refused(accept_role_arn="arn:aws:iam::222222222222:role/a", accept_role_external_id="s")
    assert message.endswith("(got a value of 1 characters, hidden)") and "'s'" not in message
