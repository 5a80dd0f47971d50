"""Time, in one place: the invocation's clock, when its answer is due (Budget), how long a wait may last
(Deadline), how often it looks again (poll), and how long one service call may take (CallPolicy).

Every module that waits takes the invocation's one `Clock`; nothing else reads or sleeps on the machine's
time. A service call must never outlive the invocation: botocore retries a call up to `attempts` times, each
attempt bounded by its connect and read timeouts, with a backoff between attempts of at most
min(2 ** attempt, 20) seconds (botocore/retries/standard.py, `_MAX_BACKOFF`); each call gets the most patient
policy whose worst case fits the seconds left (clients.py builds botocore's Config from it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .contract import CLEANUP_RESERVE_SECONDS, RESPONSE_RESERVE_SECONDS, SERVICE_TIMEOUT_MARGIN_SECONDS
from .errors import DeadlineExceeded


def _epoch_seconds() -> float:
    return time.time()


@dataclass(frozen=True)
class Clock:
    """Seconds on a monotonic clock, a way to pass them, and the time of day (epoch seconds, to compare with
    times CloudFormation wrote). One per invocation, passed to all that wait."""

    now: Callable[[], float]
    sleep: Callable[[float], None]
    wall: Callable[[], float] = _epoch_seconds


def system_clock() -> Clock:
    """The machine's clock, as the time module gives it when the invocation starts."""
    return Clock(time.monotonic, time.sleep, time.time)


# --- one service call --------------------------------------------------------------------------
#: botocore's cap on one backoff pause in standard retry mode (botocore/retries/standard.py).
MAX_BACKOFF_SECONDS = 20


@dataclass(frozen=True)
class CallPolicy:
    """How long one service call may take at most: attempts, each bounded by connect + read timeouts."""

    attempts: int
    connect_timeout: float
    read_timeout: float

    def worst_case_seconds(self) -> float:
        """Every attempt timing out, with the longest backoff between attempts."""
        pauses = sum(min(2.0**attempt, MAX_BACKOFF_SECONDS) for attempt in range(self.attempts - 1))
        return self.attempts * (self.connect_timeout + self.read_timeout) + pauses


#: From most to least patient; a call uses the first whose worst case fits the time left.
POLICIES = (CallPolicy(8, 3, 10), CallPolicy(4, 2, 5), CallPolicy(2, 1, 2), CallPolicy(1, 1, 1.5))
SHORTEST_CALL = POLICIES[-1]
#: Seconds a last short service call may take: its worst case, plus margin.
LAST_CALL_SECONDS = SHORTEST_CALL.worst_case_seconds() + 0.5
#: botocore counts LimitExceededException (the 20-connection limit, which no retry fixes; create and accept
#: both answer it) as throttling, and its retries hide which answers were lost (a 5xx after which the service
#: may have acted) from throttled ones (nothing done): create and accept calls make one attempt, and
#: connections.py retries throttling, 5xx and time-outs itself, seeing each one, within the deadline.
CREATE_MAX_ATTEMPTS = 1


def policy_for(seconds_left: float, create: bool = False) -> CallPolicy:
    """The most patient policy that fits (one attempt for a create or accept call); DeadlineExceeded when not
    even one short attempt does."""
    for patient in POLICIES:
        attempts = min(patient.attempts, CREATE_MAX_ATTEMPTS) if create else patient.attempts
        policy = CallPolicy(attempts, patient.connect_timeout, patient.read_timeout)
        if policy.worst_case_seconds() <= seconds_left:
            return policy
    raise DeadlineExceeded(f"No time left for a service call ({seconds_left:.1f} s before the answer is due)")


# --- waiting -------------------------------------------------------------------------------------
@dataclass
class Deadline:
    """A point in time after which waiting stops; never later than `limit` (on `clock`), the moment the
    invocation must have answered."""

    seconds: float
    clock: Clock = field(default_factory=system_clock)
    limit: float | None = None
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.now()

    def remaining(self) -> float:
        """Seconds left, never negative."""
        end = self.started + self.seconds
        return max(0.0, (end if self.limit is None else min(end, self.limit)) - self.clock.now())

    def fresh(self, seconds: float) -> Deadline:
        """A new deadline `seconds` from now on the same clock and limit (for cleanup after this one failed)."""
        return Deadline(seconds, self.clock, self.limit)

    def sleep(self, seconds: float) -> None:
        """Pass `seconds` on the deadline's clock."""
        self.clock.sleep(seconds)

    def now(self) -> float:
        """The deadline's clock now."""
        return self.clock.now()


def poll_interval(elapsed: float) -> float:
    """Seconds until the next look: every second at first, then every 5% of the time waited so far
    (so a wait ends at most ~5% after the service is done), at most 20 s apart."""
    return min(20.0, max(1.0, 0.05 * elapsed))


T = TypeVar("T")


def poll(
    seen: T, look: Callable[[], T], waiting: Callable[[T], bool], deadline: Deadline, timed_out: Callable[[T], str]
) -> T:
    """Starting from what was `seen`, look again every `poll_interval` while `waiting` holds for it;
    DeadlineExceeded with `timed_out(last seen)` when the deadline comes first."""
    waited_from = deadline.now()
    while waiting(seen):
        left = deadline.remaining()
        if left <= 0:
            raise DeadlineExceeded(f"Timed out after {deadline.seconds:.0f} s: {timed_out(seen)}")
        deadline.sleep(min(poll_interval(deadline.now() - waited_from), left))
        seen = look()
    return seen


# --- the invocation ------------------------------------------------------------------------------
class LambdaContext(Protocol):
    """The part of Lambda's context object the budget reads."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until Lambda ends the invocation."""


class Budget:
    """The invocation's time: when the answer is due, and how long waiting may last before that. The answer is
    due before the Lambda ends and before the resource's own ServiceTimeout: the function's timeout is sized
    for the stack's longest resource, so a short resource's CloudFormation gives up long before the Lambda
    would end. ServiceTimeout counts from CloudFormation's request: from `requested_at` (epoch seconds, when
    the event says: the time in Lambda's queue counts too), else from this invocation's start.
    SERVICE_TIMEOUT_MARGIN_SECONDS of it are kept back for the answer's way back (and the queue, unknown)."""

    def __init__(
        self,
        context: LambdaContext | Any,
        service_timeout: float | None,
        clock: Clock,
        requested_at: float | None = None,
    ) -> None:
        self.clock = clock
        now = clock.now()
        remaining = context.get_remaining_time_in_millis() / 1000
        self.limit: float = now + remaining - RESPONSE_RESERVE_SECONDS
        if service_timeout is not None:
            waited = 0.0 if requested_at is None else max(0.0, clock.wall() - requested_at)
            self.limit = min(self.limit, now - waited + service_timeout - SERVICE_TIMEOUT_MARGIN_SECONDS)

    def left(self) -> float:
        """Seconds until the answer is due."""
        return self.limit - self.clock.now()

    def deadline(self, timeout_seconds: int, reserve: float = CLEANUP_RESERVE_SECONDS) -> Deadline:
        """Wait at most `timeout_seconds`, keeping `reserve` for cleanup; waiting ends early enough for one
        last short service call (the status to report) before the answer is due."""
        return Deadline(
            max(0.0, min(float(timeout_seconds), self.left() - reserve)),
            self.clock,
            limit=self.limit - LAST_CALL_SECONDS,
        )
