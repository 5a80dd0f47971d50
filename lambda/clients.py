"""boto3 clients for each side of a connection: the right account and region, retries that fit the time
left (timing.py's CallPolicy), and IAM's propagation waited out on the invocation's clock.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .contract import OPENSEARCH
from .dialects import ConnectionOperations, describe_error, error_code
from .errors import AccessDenied, ServiceUnreachable
from .timing import LAST_CALL_SECONDS, Budget, CallPolicy, policy_for

logger = logging.getLogger(__name__)

#: IAM is eventually consistent: a policy attached just before the first call may deny it for some seconds
#: (IAM User Guide, "Changes that I make are not always immediately visible"; aws/aws-cdk#37675). Denials
#: are waited out for at most this long from the invocation's first one, so a role that really lacks an
#: action still fails within about a minute, naming it.
IAM_PROPAGATION_SECONDS = 40.0
_DENIED_ACTION = re.compile(r"not authorized to perform: ([\w:*]+)")


def botocore_config(policy: CallPolicy) -> Config:
    """The botocore configuration that enforces the policy."""
    return Config(
        # total_max_attempts counts every attempt; botocore's max_attempts would count retries only.
        retries={"mode": "standard", "total_max_attempts": policy.attempts},
        connect_timeout=policy.connect_timeout,
        read_timeout=policy.read_timeout,
        user_agent_extra="cross-cluster-search-construct",
    )


@functools.cache
def own_session() -> Any:
    """The function's own boto3 session, made once per warm function (making one loads botocore's data and
    resolves the credentials Lambda gives the environment, which stay the same for its lifetime)."""
    return boto3.session.Session()


class BotoApis:
    """Builds each side's ConnectionOperations on first use; every call gets a client whose retries fit the
    budget's time left, on the budget's clock."""

    def __init__(
        self,
        api: str,
        source_region: str,
        destination_region: str,
        budget: Budget,
        accept_role_arn: str | None = None,
        accept_external_id: str | None = None,
    ) -> None:
        self._api = api
        self._regions = {"source": source_region, "destination": destination_region, "sts": destination_region}
        self._budget = budget
        self._accept_role_arn = accept_role_arn
        self._accept_external_id = accept_external_id
        self._assumed: Any = None
        self._clients: dict[tuple[str, str, str, CallPolicy], Any] = {}
        self._operations: dict[tuple[str, str], ConnectionOperations] = {}
        self._denied_since: float | None = None  #: the invocation's first AccessDeniedException

    def _client(self, side: str, service: str, policy: CallPolicy, region: str | None = None) -> Any:
        """A client of `service` for `side` (in its region unless `region` is given) with `policy`'s retries."""
        region = region or self._regions[side]
        key = (side, region, service, policy)
        if key not in self._clients:
            self._clients[key] = self._session(side).client(service, region_name=region, config=botocore_config(policy))
        return self._clients[key]

    def _operations_for(self, side: str, api: str | None = None) -> ConnectionOperations:
        api = api or self._api
        if (side, api) not in self._operations:
            service = "opensearch" if api == OPENSEARCH else "es"

            def call(verb: str, method: str, request: dict[str, Any]) -> dict[str, Any]:
                # Create and accept make one attempt (timing.CREATE_MAX_ATTEMPTS): botocore would retry
                # LimitExceededException as throttling; connections.py retries what is worth it.
                return self._patiently(side, service, method, request, create=verb in ("create", "accept"))

            self._operations[(side, api)] = ConnectionOperations(call, api)
        return self._operations[(side, api)]

    def destination_as(self, api: str) -> ConnectionOperations:
        """The destination owner's API through `api` (ELASTICSEARCH or OPENSEARCH), whichever the resource
        names: a connection can only be accepted through the API that created it (aws/aws-sdk-js-v3#4453)."""
        return self._operations_for("destination", api)

    def _patiently(
        self, side: str, service: str, method: str, request: dict[str, Any], create: bool = False
    ) -> dict[str, Any]:
        """One service call with the most patient retries that fit: IAM denials waited out while a new policy
        may still be propagating; a call that got no answer reported with what it was for and what to do."""
        operation = "".join(part.capitalize() for part in method.split("_"))
        clock = self._budget.clock
        pause = 1.0
        while True:
            policy = policy_for(self._budget.left(), create)
            try:
                response: dict[str, Any] = getattr(self._client(side, service, policy), method)(**request)
                return response
            except ClientError as error:
                if error_code(error) != "AccessDeniedException":
                    raise
                now = clock.now()
                self._denied_since = self._denied_since or now
                waited = now - self._denied_since
                if waited + pause > IAM_PROPAGATION_SECONDS or self._budget.left() - pause < LAST_CALL_SECONDS:
                    raise AccessDenied(_denied_reason(operation, request, error, waited)) from error
                logger.info(
                    "%s denied (IAM may still be applying a new policy); trying again in %.0f s", operation, pause
                )
                clock.sleep(pause)
                pause = min(pause * 2, 8.0)
            except (ReadTimeoutError, BotoConnectionError) as error:
                raise ServiceUnreachable(_unanswered_reason(operation, request, error, policy)) from error

    def cloudformation(self, region: str) -> Any:
        """CloudFormation in the stack's region, with the Lambda's own credentials."""
        return self._client("own", "cloudformation", policy_for(self._budget.left()), region=region)

    def source(self) -> ConnectionOperations:
        """The source owner's API in the source region (the Lambda's own credentials)."""
        return self._operations_for("source")

    def destination(self) -> ConnectionOperations:
        """The destination owner's API in the destination region (an assumed role when given)."""
        return self._operations_for("destination")

    def _session(self, side: str) -> Any:
        """The function's own session for every side, except the destination when a role is assumed to accept."""
        if side != "destination" or not self._accept_role_arn:
            return own_session()
        if self._assumed is None:
            self._assumed = self._assumed_session()
        return self._assumed

    def _assumed_session(self) -> Any:
        request: dict[str, Any] = {
            "RoleArn": self._accept_role_arn,
            "RoleSessionName": "cross-cluster-search-accept",
            "DurationSeconds": 900,
        }
        if self._accept_external_id:
            request["ExternalId"] = self._accept_external_id
        sts = self._client("sts", "sts", policy_for(self._budget.left()))
        credentials = sts.assume_role(**request)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )


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


def _unanswered_reason(operation: str, request: dict[str, Any], error: Exception, policy: CallPolicy) -> str:
    """What got no answer, how long it was given, and what to do (short: a reason has 256 characters)."""
    what = "read timeout" if isinstance(error, ReadTimeoutError) else "could not connect"
    tries = f", {policy.attempts} attempt(s) of {policy.read_timeout:.0f} s"
    return (
        f"No answer to {operation} for {_subject(request)} ({what}{tries}): the service is slow or unreachable. "
        "Check the function's network path (VPC, NAT, endpoints), then retry the stack operation"
    )
