"""boto3 clients for each side of a connection: the right account and region, and retries that fit the time left.

A service call must never outlive the invocation: botocore retries a call up to `attempts` times, each
attempt bounded by its connect and read timeouts, with a backoff between attempts of at most
min(2 ** attempt, 20) seconds (botocore/retries/standard.py, `_MAX_BACKOFF`). Each call therefore gets the
most patient policy whose worst case fits the seconds left before the handler must answer; with no time left
for even one short attempt, the call is not made.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .connections import AccessDenied, DeadlineExceeded, ServiceUnreachable
from .contract import OPENSEARCH
from .dialects import ConnectionApi, describe_error, error_code

logger = logging.getLogger(__name__)

#: botocore's cap on one backoff pause in standard retry mode (botocore/retries/standard.py).
MAX_BACKOFF_SECONDS = 20
#: botocore counts LimitExceededException (the 20-connection limit, which no retry fixes) as throttling, and
#: its retries hide which answers were lost (a 5xx after which the service may have made the connection)
#: from throttled ones (nothing made): the create client makes one attempt per call, and connections.py
#: retries throttling, 5xx and time-outs itself, seeing each one, within the deadline.
CREATE_MAX_ATTEMPTS = 1
#: IAM is eventually consistent: a policy attached just before the first call may deny it for some seconds
#: (IAM User Guide, "Changes that I make are not always immediately visible"; aws/aws-cdk#37675). Denials
#: are waited out for at most this long from the invocation's first one, so a role that really lacks an
#: action still fails within about a minute, naming it.
IAM_PROPAGATION_SECONDS = 40.0
_DENIED_ACTION = re.compile(r"not authorized to perform: ([\w:*]+)")


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

    def config(self) -> Config:
        """The botocore configuration that enforces the policy."""
        return Config(
            # total_max_attempts counts every attempt; botocore's max_attempts would count retries only.
            retries={"mode": "standard", "total_max_attempts": self.attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            user_agent_extra="cross-cluster-search-construct",
        )


#: From most to least patient; a call uses the first whose worst case fits the time left.
POLICIES = (CallPolicy(8, 3, 10), CallPolicy(4, 2, 5), CallPolicy(2, 1, 2), CallPolicy(1, 1, 1.5))
SHORTEST_CALL = POLICIES[-1]


def policy_for(seconds_left: float, create: bool = False) -> CallPolicy:
    """The most patient policy that fits; DeadlineExceeded when not even one short attempt does."""
    for patient in POLICIES:
        attempts = min(patient.attempts, CREATE_MAX_ATTEMPTS) if create else patient.attempts
        policy = CallPolicy(attempts, patient.connect_timeout, patient.read_timeout)
        if policy.worst_case_seconds() <= seconds_left:
            return policy
    raise DeadlineExceeded(f"No time left for a service call ({seconds_left:.1f} s before the answer is due)")


class BotoApis:
    """Builds each side's ConnectionApi on first use; every call gets a client whose retries fit `time_left()`."""

    def __init__(
        self,
        api: str,
        source_region: str,
        destination_region: str,
        time_left: Callable[[], float],
        accept_role_arn: str | None = None,
        accept_external_id: str | None = None,
    ) -> None:
        self._service = "opensearch" if api == OPENSEARCH else "es"
        self._api = api
        self._regions = {"source": source_region, "destination": destination_region, "sts": destination_region}
        self._time_left = time_left
        self._accept_role_arn = accept_role_arn
        self._accept_external_id = accept_external_id
        self._sessions: dict[str, Any] = {}
        self._clients: dict[tuple[str, str, str, CallPolicy], Any] = {}
        self._apis: dict[str, ConnectionApi] = {}
        self._denied_since: float | None = None  #: the invocation's first AccessDeniedException
        self._last_policy: CallPolicy | None = None

    def _client(self, side: str, service: str, create: bool = False, region: str | None = None) -> Any:
        """A client of `service` for `side` (in its region unless `region` is given) whose retries fit now."""
        policy = policy_for(self._time_left(), create)
        self._last_policy = policy
        region = region or self._regions[side]
        key = (side, region, service, policy)
        if key not in self._clients:
            self._clients[key] = self._session(side).client(service, region_name=region, config=policy.config())
        return self._clients[key]

    def _connection_api(self, side: str, api: str | None = None) -> ConnectionApi:
        api = api or self._api
        service = "opensearch" if api == OPENSEARCH else "es"
        key = side if api == self._api else f"{side} {api}"
        if key not in self._apis:
            self._apis[key] = ConnectionApi(
                api=api,
                pick=lambda verb: self._client(side, service, create=verb == "create"),
                guard=self._patiently,
            )
        return self._apis[key]

    def destination_as(self, api: str) -> ConnectionApi:
        """The destination owner's API through `api` (ELASTICSEARCH or OPENSEARCH), whichever the resource
        names: a connection can only be accepted through the API that created it (aws/aws-sdk-js-v3#4453)."""
        return self._connection_api("destination", api)

    def _patiently(self, operation: str, request: dict[str, Any], send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """One service call: IAM denials waited out while a new policy may still be propagating; a call that got
        no answer reported with what it was for and what to do."""
        pause = 1.0
        while True:
            try:
                return send()
            except ClientError as error:
                if error_code(error) != "AccessDeniedException":
                    raise
                now = time.monotonic()
                self._denied_since = self._denied_since or now
                waited = now - self._denied_since
                if waited + pause > IAM_PROPAGATION_SECONDS or self._time_left() - pause < _LAST_CALL_SECONDS:
                    raise AccessDenied(_denied_reason(operation, request, error, waited)) from error
                logger.info(
                    "%s denied (IAM may still be applying a new policy); trying again in %.0f s", operation, pause
                )
                time.sleep(pause)
                pause = min(pause * 2, 8.0)
            except (ReadTimeoutError, BotoConnectionError) as error:
                raise ServiceUnreachable(_unanswered_reason(operation, request, error, self._last_policy)) from error

    def cloudformation(self, region: str) -> Any:
        """CloudFormation in the stack's region, with the Lambda's own credentials."""
        return self._client("own", "cloudformation", region=region)

    def source(self) -> ConnectionApi:
        """The source owner's API in the source region (the Lambda's own credentials)."""
        return self._connection_api("source")

    def destination(self) -> ConnectionApi:
        """The destination owner's API in the destination region (an assumed role when given)."""
        return self._connection_api("destination")

    def _session(self, side: str) -> Any:
        """The Lambda's own session for every side (one per invocation: creating one loads botocore's data),
        except the destination when a role is assumed to accept."""
        key = "assumed" if side == "destination" and self._accept_role_arn else "own"
        if key not in self._sessions:
            self._sessions[key] = self._assumed_session() if key == "assumed" else boto3.session.Session()
        return self._sessions[key]

    def _assumed_session(self) -> Any:
        request: dict[str, Any] = {
            "RoleArn": self._accept_role_arn,
            "RoleSessionName": "cross-cluster-search-accept",
            "DurationSeconds": 900,
        }
        if self._accept_external_id:
            request["ExternalId"] = self._accept_external_id
        credentials = self._client("sts", "sts").assume_role(**request)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )


_LAST_CALL_SECONDS = SHORTEST_CALL.worst_case_seconds() + 0.5


def _subject(request: dict[str, Any]) -> str:
    """Which connection a request is about, for a reason."""
    for key in ("CrossClusterSearchConnectionId", "ConnectionId"):
        if key in request:
            return f"connection {request[key]}"
    if "ConnectionAlias" in request:
        return f"connection '{request['ConnectionAlias']}'"
    values = {f["Name"].rsplit(".", 1)[-1]: f["Values"][0] for f in request.get("Filters", []) if f.get("Values")}
    ids = [v for k, v in values.items() if k.endswith("connection-id")]
    return f"connection {ids[0]}" if ids else f"connections of {values.get('domain-name', 'the domain')}"


def _denied_reason(operation: str, request: dict[str, Any], error: ClientError, waited: float) -> str:
    """Which action the role lacks (from IAM's message, else the operation's own), and how to fix it."""
    found = _DENIED_ACTION.search(str(error.response.get("Error", {}).get("Message", "")))
    action = found.group(1) if found else f"es:{operation}"
    other = f"es:{re.sub('CrossClusterSearch', '', operation)}"
    names = action if other == action else f"{action} (and {other})"
    return (
        f"Not allowed: {action} for {_subject(request)}, still denied after {waited:.0f} s (longer than a new "
        f"IAM policy takes to apply). Grant {names} to the role the call runs as. {describe_error(error)}"
    )


def _unanswered_reason(operation: str, request: dict[str, Any], error: Exception, policy: CallPolicy | None) -> str:
    """What got no answer, how long it was given, and what to do (short: a reason has 256 characters)."""
    what = "read timeout" if isinstance(error, ReadTimeoutError) else "could not connect"
    tries = f", {policy.attempts} attempt(s) of {policy.read_timeout:.0f} s" if policy else ""
    return (
        f"No answer to {operation} for {_subject(request)} ({what}{tries}): the service is slow or unreachable. "
        "Check the function's network path (VPC, NAT, endpoints), then retry the stack operation"
    )
