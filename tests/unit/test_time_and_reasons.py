"""The time budget's ServiceTimeout bound and the reasons CloudFormation is told (issue 14)."""

from __future__ import annotations

import time

import pytest

from cross_cluster_search.ccs_handler import reasons, request
from cross_cluster_search.ccs_handler.contract import (
    EXTERNAL_ID,
    RESPONSE_RESERVE_SECONDS,
    SERVICE_TIMEOUT_MARGIN_SECONDS,
)
from cross_cluster_search.ccs_handler.properties import InvalidInput, parse_outbound
from cross_cluster_search.ccs_handler.timing import Budget, system_clock


class Context:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


@pytest.mark.parametrize(
    ("event", "left"),
    [
        (
            {"ServiceTimeout": "160", "ResourceProperties": {"ServiceTimeout": "160"}},
            160 - SERVICE_TIMEOUT_MARGIN_SECONDS,
        ),
        ({"ResourceProperties": {"ServiceTimeout": "160"}}, 160 - SERVICE_TIMEOUT_MARGIN_SECONDS),
        ({"ServiceTimeout": "3600"}, 690 - RESPONSE_RESERVE_SECONDS),
        ({"ServiceTimeout": "soon"}, 690 - RESPONSE_RESERVE_SECONDS),
        ({}, 690 - RESPONSE_RESERVE_SECONDS),
    ],
)
def test_the_answer_is_due_before_the_lambda_ends_and_before_the_service_timeout(
    event: dict[str, object], left: float
) -> None:
    budget = Budget(Context(690), request.service_timeout(event), system_clock())
    assert left - 1 < budget.left() <= left
    assert budget.limit <= time.monotonic() + left


def test_a_long_reason_keeps_its_start_and_hides_the_external_id() -> None:
    event = {"ResourceProperties": {EXTERNAL_ID: "shared-secret"}}
    text = "SourceDomainInfo.DomainName is wrong: " + "x" * 300 + " shared-secret"
    reason = reasons.reason(text, event)
    assert reason.startswith("SourceDomainInfo.DomainName is wrong: ")
    assert len(reason) <= reasons.MAX_REASON
    assert "shared-secret" not in reasons.reason("refused for shared-secret", event)


def test_an_invalid_external_id_is_reported_without_its_value() -> None:
    properties = {
        "SourceDomainInfo": {"OwnerId": "111111111111", "DomainName": "logs-source", "Region": "us-east-1"},
        "DestinationDomainInfo": {"OwnerId": "222222222222", "DomainName": "partner", "Region": "us-east-1"},
        "ConnectionAlias": "logs",
        "AcceptRoleArn": "arn:aws:iam::222222222222:role/accept",
        "AcceptRoleExternalId": "secret value with spaces",
    }
    with pytest.raises(InvalidInput) as raised:
        parse_outbound(properties)
    assert str(raised.value).startswith("AcceptRoleExternalId must be")
    assert "secret" not in str(raised.value)
