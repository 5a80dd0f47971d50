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
from cross_cluster_search.ccs_handler.timing import Budget, Clock, system_clock


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


SIGNED = 1_796_000_000  # 2026-11-30T...Z
SIGV4 = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A...?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Date={date}&X-Amz-SignedHeaders=host&X-Amz-Expires=7199&X-Amz-Credential=AKIA%2F20261130%2Fus-east-1"
    "%2Fs3%2Faws4_request&X-Amz-Signature=abc"
)


def _sigv4(signed: float) -> str:
    return SIGV4.format(date=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed)))


def test_the_response_url_says_when_cloudformation_sent_the_request() -> None:
    assert request.response_url_times({"ResponseURL": _sigv4(SIGNED)}) == (SIGNED, SIGNED + 7199)
    sigv2 = f"https://bucket.s3.amazonaws.com/key?AWSAccessKeyId=AKIA&Expires={SIGNED}&Signature=x"
    assert request.response_url_times({"ResponseURL": sigv2}) == (None, SIGNED)
    assert request.response_url_times({"ResponseURL": "https://example.com/no-query"}) == (None, None)
    assert request.response_url_times({"ResponseURL": _sigv4(SIGNED).replace("X-Amz-Date=2", "X-Amz-Date=x")}) == (
        None,
        None,
    )


@pytest.mark.parametrize(
    ("event", "after", "late"),
    [
        ({"ServiceTimeout": "160"}, 159, False),
        ({"ServiceTimeout": "160"}, 161, True),
        ({}, 3599, False),  # no ServiceTimeout: CloudFormation waits one hour
        ({}, 3601, True),
    ],
)
def test_a_request_is_late_once_cloudformation_stopped_waiting(
    event: dict[str, object], after: float, late: bool
) -> None:
    event = dict(event, ResponseURL=_sigv4(SIGNED))
    reason = request.no_longer_awaited(event, SIGNED + after)
    assert (reason is not None) == late, reason
    if late:
        assert "waits" in str(reason) and "for an answer" in str(reason)


def test_an_expired_response_url_is_late_whatever_the_service_timeout() -> None:
    event = {"ResponseURL": _sigv4(SIGNED), "ServiceTimeout": "3600"}
    assert "ResponseURL expired" in str(request.no_longer_awaited(event, SIGNED + 7200))


def test_the_time_in_lambdas_queue_is_counted_against_the_service_timeout() -> None:
    wall = [SIGNED + 100.0]
    clock = Clock(lambda: 0.0, lambda _: None, lambda: wall[0])
    budget = Budget(Context(690), 160, clock, requested_at=SIGNED)
    assert budget.left() == pytest.approx(160 - 100 - SERVICE_TIMEOUT_MARGIN_SECONDS)
