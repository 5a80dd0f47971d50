"""boto3 clients for each side of a connection: the right account, region and retry policy."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from connections import ConnectionApi
from properties import OPENSEARCH

#: Throttling and transient 5xx errors are retried by botocore with backoff, not surfaced.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="cross-cluster-search-construct",
)
#: botocore counts LimitExceededException (the 20-connection limit, which no retry fixes) as throttling;
#: fewer attempts on create make that fail in seconds instead of a minute, and still absorb throttling.
CREATE_RETRY_CONFIG = RETRY_CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 3}))


class BotoApis:
    """Builds each side's ConnectionApi on first use."""

    def __init__(
        self,
        api: str,
        source_region: str,
        destination_region: str,
        accept_role_arn: str | None = None,
        accept_external_id: str | None = None,
    ) -> None:
        self._service = "opensearch" if api == OPENSEARCH else "es"
        self._api = api
        self._source_region = source_region
        self._destination_region = destination_region
        self._accept_role_arn = accept_role_arn
        self._accept_external_id = accept_external_id

    def _client(self, session: Any, region: str, config: Config = RETRY_CONFIG) -> Any:
        return session.client(self._service, region_name=region, config=config)

    @cached_property
    def _source(self) -> ConnectionApi:
        session = boto3.session.Session()
        return ConnectionApi(
            self._client(session, self._source_region),
            self._api,
            create_client=self._client(session, self._source_region, CREATE_RETRY_CONFIG),
        )

    @cached_property
    def _destination(self) -> ConnectionApi:
        return ConnectionApi(self._client(self._destination_session(), self._destination_region), self._api)

    def source(self) -> ConnectionApi:
        """The source owner's API in the source region (the Lambda's own credentials)."""
        return self._source

    def destination(self) -> ConnectionApi:
        """The destination owner's API in the destination region (an assumed role when given)."""
        return self._destination

    def _destination_session(self) -> Any:
        if self._accept_role_arn is None:
            return boto3.session.Session()
        request: dict[str, Any] = {
            "RoleArn": self._accept_role_arn,
            "RoleSessionName": "cross-cluster-search-accept",
            "DurationSeconds": 900,
        }
        if self._accept_external_id:
            request["ExternalId"] = self._accept_external_id
        sts = boto3.session.Session().client("sts", region_name=self._destination_region, config=RETRY_CONFIG)
        credentials = sts.assume_role(**request)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
