"""Every service call fits the time left: botocore's attempts x (connect + read timeout) + its backoff."""

from __future__ import annotations

import pytest

from cross_cluster_search.ccs_handler.clients import BotoApis
from cross_cluster_search.ccs_handler.errors import DeadlineExceeded
from cross_cluster_search.ccs_handler.timing import (
    CREATE_MAX_ATTEMPTS,
    MAX_BACKOFF_SECONDS,
    POLICIES,
    SHORTEST_CALL,
    Budget,
    CallPolicy,
    Clock,
    policy_for,
)


def test_worst_case_counts_every_attempt_and_the_capped_backoff() -> None:
    assert CallPolicy(1, 1, 1.5).worst_case_seconds() == 2.5
    assert CallPolicy(3, 2, 5).worst_case_seconds() == 3 * 7 + 1 + 2
    assert CallPolicy(8, 3, 10).worst_case_seconds() == 8 * 13 + 1 + 2 + 4 + 8 + 16 + MAX_BACKOFF_SECONDS * 2


@pytest.mark.parametrize("seconds_left", [2.5, 3, 7, 10, 35, 60, 174, 175, 900])
@pytest.mark.parametrize("create", [False, True])
def test_the_most_patient_policy_that_fits_is_chosen(seconds_left: float, create: bool) -> None:
    chosen = policy_for(seconds_left, create)
    assert chosen.worst_case_seconds() <= seconds_left
    if create:
        assert chosen.attempts <= CREATE_MAX_ATTEMPTS
    more_patient = [p for p in POLICIES if p.attempts > chosen.attempts and not create]
    assert all(p.worst_case_seconds() > seconds_left for p in more_patient)


def test_no_call_without_time_for_one_short_attempt() -> None:
    with pytest.raises(DeadlineExceeded, match=r"No time left for a service call \(2\.4 s"):
        policy_for(SHORTEST_CALL.worst_case_seconds() - 0.1)


class _Context:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_clients_carry_the_policy_of_the_moment() -> None:
    now = [0.0]
    clock = Clock(lambda: now[0], lambda _: None)
    apis = BotoApis("ELASTICSEARCH", "us-east-1", "eu-west-1", Budget(_Context(905.0), None, clock))
    patient = apis._client("source", "es", policy_for(apis._budget.left()))
    now[0] = 900.0 - 8.0
    hurried = apis._client("source", "es", policy_for(apis._budget.left()))
    assert patient is not hurried
    assert patient.meta.config.retries["total_max_attempts"] == POLICIES[0].attempts
    assert hurried.meta.config.retries["total_max_attempts"] == 2
    assert (hurried.meta.config.connect_timeout, hurried.meta.config.read_timeout) == (1, 2)
    assert apis._client("source", "es", policy_for(apis._budget.left())) is hurried  # one client per policy, reused


def test_create_makes_one_attempt_per_call_so_the_handler_sees_every_lost_answer() -> None:
    """botocore's retries would hide a 5xx (the service may have made the connection) behind a later answer,
    and count a throttled attempt (nothing made) the same way."""
    assert {policy_for(seconds, create=True).attempts for seconds in (10, 60, 900)} == {1}
    assert policy_for(900).attempts > 1
