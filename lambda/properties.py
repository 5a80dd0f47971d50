"""Rules for the connection's inputs, and parsing of the custom resource properties.

CloudFormation passes every property value as a string ("true", "600"). This module depends on nothing but
the contract, so the construct library loads it too and both sides share one set of rules and one wording
of the errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .contract import (
    ACCEPT,
    ACCEPT_ENCODING,
    ACCEPTER_KEYS,
    ADOPT_CONNECTION_ID,
    ALIAS,
    API,
    APIS,
    CONNECTION_ID,
    CONNECTION_MODES,
    DEFAULT_ACCEPT,
    DEFAULT_API,
    DEFAULT_TIMEOUT_SECONDS,
    DESTINATION,
    DOMAIN_NAME,
    ELASTICSEARCH,
    EXTERNAL_ID,
    FLAG_ENCODING,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    MODE,
    OPENSEARCH,
    OUTBOUND_KEYS,
    OWNER_ID,
    REGION,
    REPLACE_DELETING_FIRST,
    RESERVED_KEYS,
    RETAIN,
    ROLE_ARN,
    SKIP_ENCODING,
    SKIP_UNAVAILABLE,
    SOURCE,
    TIMEOUT,
    domain_properties,
)

ACCEPT_MODES = tuple(ACCEPT_ENCODING.values())
SKIP_VALUES = tuple(SKIP_ENCODING.values())

_DOMAIN_NAME = re.compile(r"[a-z][a-z0-9\-]{2,27}")
_OWNER_ID = re.compile(r"[0-9]{12}")
#: Partition -> the regions it holds, as botocore's data/partitions.json defines them (`regionRegex`);
#: tests/unit/test_properties.py keeps this table equal to the installed botocore's.
PARTITION_REGIONS = {
    "aws": r"(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+",
    "aws-cn": r"cn\-\w+\-\d+",
    "aws-eusc": r"eusc\-(de)\-\w+\-\d+",
    "aws-iso": r"us\-iso\-\w+\-\d+",
    "aws-iso-b": r"us\-isob\-\w+\-\d+",
    "aws-iso-e": r"eu\-isoe\-\w+\-\d+",
    "aws-iso-f": r"us\-isof\-\w+\-\d+",
    "aws-us-gov": r"us\-gov\-\w+\-\d+",
}
_REGION_SHAPE = re.compile(r"[a-z][a-z0-9\-]{4,29}")  # the opensearch model's Region shape: 5-30 characters
_ALIAS = re.compile(r"[a-zA-Z][a-zA-Z0-9\-_]+")
_ALIAS_MAX = {ELASTICSEARCH: 20, OPENSEARCH: 100}
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::[0-9]{12}:role/[\w+=,.@\-/]{1,512}")
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/\-]{2,1224}")
_CONNECTION_ID = re.compile(r"[a-z][a-z0-9\-]{9,255}")  # the opensearch model's ConnectionId shape
_SHOWN_CHARS = 40


class InvalidInput(ValueError):
    """An input broke a rule; the message names the field, the rule and the value."""

    def __init__(self, field: str, rule: str, value: object) -> None:
        self.field = field
        self.rule = rule
        # A secret (the external id) is never shown, not even in part: only its length.
        shown = f"a value of {len(str(value))} characters, hidden" if field == EXTERNAL_ID else show(value)
        super().__init__(f"{field} {rule} (got {shown})")


def show(value: object) -> str:
    """A short, printable rendering of a bad value for error messages."""
    text = repr(value).encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _require(ok: bool, field: str, rule: str, value: object) -> None:
    if not ok:
        raise InvalidInput(field, rule, value)


def _require_match(field: str, value: object, pattern: re.Pattern[str], rule: str) -> str:
    """`value` as a str when it is one that `pattern` matches whole; otherwise InvalidInput with `rule`."""
    _require(isinstance(value, str) and pattern.fullmatch(value) is not None, field, rule, value)
    return str(value)


def check_domain_name(field: str, value: object) -> str:
    """Domain names are 3-28 characters: a lowercase letter, then a-z, 0-9 or '-'."""
    return _require_match(
        field, value, _DOMAIN_NAME, "must be 3-28 characters: a lowercase letter, then a-z, 0-9 or '-'"
    )


def check_owner_id(field: str, value: object) -> str:
    """Owner ids are 12-digit AWS account ids."""
    return _require_match(field, value, _OWNER_ID, "must be a 12-digit AWS account id")


def partition_of(region: str) -> str | None:
    """The partition whose regions include `region` (e.g. 'aws-cn' for 'cn-north-1'), or None."""
    if _REGION_SHAPE.fullmatch(region) is None:
        return None
    return next((p for p, pattern in PARTITION_REGIONS.items() if re.fullmatch(pattern, region, re.ASCII)), None)


def check_region(field: str, value: object) -> str:
    """A region of any AWS partition: 'us-east-1', 'cn-north-1', 'us-gov-west-1', 'eusc-de-east-1', ..."""
    _require(
        isinstance(value, str) and partition_of(value) is not None,
        field,
        "must be an AWS region such as 'us-east-1'",
        value,
    )
    return str(value)


def check_alias(field: str, value: object, api: str = ELASTICSEARCH) -> str:
    """Aliases are 2 to 20 (Elasticsearch API) or 100 (OpenSearch API) characters."""
    limit = _ALIAS_MAX[api]
    _require(
        isinstance(value, str) and len(value) <= limit and _ALIAS.fullmatch(value) is not None,
        field,
        f"must be 2-{limit} characters: a letter, then letters, digits, '-' or '_'",
        value,
    )
    return str(value)


def whole_seconds(value: object) -> int | None:
    """A number of seconds as CloudFormation passes it (a string of ASCII digits), or None."""
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def check_timeout_seconds(field: str, value: object) -> int:
    """Timeouts are whole seconds within the bounds the time budget allows (contract.py)."""
    rule = f"must be a whole number of seconds from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}"
    seconds = whole_seconds(value)
    _require(seconds is not None and MIN_TIMEOUT_SECONDS <= seconds <= MAX_TIMEOUT_SECONDS, field, rule, value)
    return int(str(seconds))


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    """The value must be one of a fixed set of strings."""
    _require(value in choices, field, "must be one of " + ", ".join(choices), value)
    return str(value)


def check_role_arn(field: str, value: object) -> str:
    """An IAM role ARN."""
    return _require_match(
        field, value, _ROLE_ARN, "must be an IAM role ARN such as 'arn:aws:iam::123456789012:role/name'"
    )


def check_external_id(field: str, value: object) -> str:
    """An STS external id: 2-1224 characters of [\\w+=,.@:/-]."""
    return _require_match(field, value, _EXTERNAL_ID, "must be 2-1224 characters of letters, digits and +=,.@:/-_")


def check_connection_id(field: str, value: object) -> str:
    """A connection id: 10-256 characters, a lowercase letter, then a-z, 0-9 or '-'."""
    return _require_match(
        field,
        value,
        _CONNECTION_ID,
        "must be a connection id: 10-256 characters, a lowercase letter, then a-z, 0-9 or '-'",
    )


@dataclass(frozen=True)
class DomainRef:
    """A domain as the API names it: owner account, domain name, region."""

    owner_id: str
    domain_name: str
    region: str

    def as_api(self) -> dict[str, str]:
        """The API's DomainInformation structure (the contract's one codec, as the construct writes it)."""
        return domain_properties(self.owner_id, self.domain_name, self.region)


@dataclass(frozen=True)
class OutboundSpec:
    """What an OutboundConnection resource asks for."""

    source: DomainRef
    destination: DomainRef
    alias: str
    accept: bool
    timeout_seconds: int
    api: str = DEFAULT_API
    connection_mode: str | None = None
    skip_unavailable: str | None = None  #: ENABLED or DISABLED
    accept_role_arn: str | None = None
    accept_external_id: str | None = None
    adopt_connection_id: str | None = None  #: an existing connection to take over deliberately
    replace_by_deleting_first: bool = False  #: a replacement keeping source and alias may delete first
    retain: bool = False  #: Retain policies: no replacement deletes a connection


@dataclass(frozen=True)
class AccepterSpec:
    """What an InboundConnectionAccepter resource asks for."""

    source: DomainRef
    destination: DomainRef
    alias: str | None
    timeout_seconds: int
    api: str = DEFAULT_API
    connection_id: str | None = None  #: the one request to accept (required when there could be several)
    adopt_connection_id: str | None = None  #: an accepted inbound connection to take over deliberately


def _check_keys(properties: object, allowed: frozenset[str], required: set[str]) -> Mapping[str, Any]:
    _require(isinstance(properties, Mapping), "ResourceProperties", "must be an object", properties)
    assert isinstance(properties, Mapping)
    for key in properties:
        _require(
            key in allowed or key in RESERVED_KEYS,
            f"ResourceProperties.{key}" if isinstance(key, str) else "ResourceProperties",
            "is not a supported property",
            key,
        )
    for key in sorted(required):
        _require(key in properties, key, "is required", None)
    return properties


def parse_domain(field: str, value: object) -> DomainRef:
    """A DomainInformation property: {OwnerId, DomainName, Region}, all required."""
    _require(isinstance(value, Mapping), field, "must be an object with OwnerId, DomainName, Region", value)
    assert isinstance(value, Mapping)
    for key in value:
        _require(key in (OWNER_ID, DOMAIN_NAME, REGION), f"{field}.{key}", "is not a supported key", key)
    return DomainRef(
        owner_id=check_owner_id(f"{field}.{OWNER_ID}", value.get(OWNER_ID)),
        domain_name=check_domain_name(f"{field}.{DOMAIN_NAME}", value.get(DOMAIN_NAME)),
        region=check_region(f"{field}.{REGION}", value.get(REGION)),
    )


def _domain_pair(props: Mapping[str, Any]) -> tuple[DomainRef, DomainRef]:
    source = parse_domain(SOURCE, props[SOURCE])
    destination = parse_domain(DESTINATION, props[DESTINATION])
    _require(destination != source, DESTINATION, f"must differ from {SOURCE}", destination.domain_name)
    _require(
        partition_of(destination.region) == partition_of(source.region),
        f"{DESTINATION}.{REGION}",
        f"must be in the source's partition ({partition_of(source.region)})",
        destination.region,
    )
    return source, destination


def _optional(properties: Mapping[str, Any], key: str) -> object | None:
    value = properties.get(key)
    return None if value in (None, "") else value


def _timeout(props: Mapping[str, Any]) -> int:
    return check_timeout_seconds(TIMEOUT, props.get(TIMEOUT, str(DEFAULT_TIMEOUT_SECONDS)))


def _flag(props: Mapping[str, Any], key: str) -> bool:
    return check_choice(key, props.get(key, FLAG_ENCODING[False]), tuple(FLAG_ENCODING.values())) == "true"


def _adopt_id(props: Mapping[str, Any]) -> str | None:
    value = _optional(props, ADOPT_CONNECTION_ID)
    return None if value is None else check_connection_id(ADOPT_CONNECTION_ID, value)


def parse_outbound(properties: object) -> OutboundSpec:
    """Validate an OutboundConnection's properties; raise InvalidInput naming the field."""
    props = _check_keys(properties, OUTBOUND_KEYS, {SOURCE, DESTINATION, ALIAS})
    api = check_choice(API, props.get(API, DEFAULT_API), APIS)
    source, destination = _domain_pair(props)
    accept_mode = check_choice(ACCEPT, props.get(ACCEPT, DEFAULT_ACCEPT), ACCEPT_MODES)
    mode = _optional(props, MODE)
    skip = _optional(props, SKIP_UNAVAILABLE)
    role = _optional(props, ROLE_ARN)
    external_id = _optional(props, EXTERNAL_ID)
    if api == ELASTICSEARCH:
        for key, value in ((MODE, mode), (SKIP_UNAVAILABLE, skip)):
            _require(value is None, key, f"needs {API} {OPENSEARCH}", value)
    _require(external_id is None or role is not None, EXTERNAL_ID, f"needs {ROLE_ARN}", external_id)
    return OutboundSpec(
        source=source,
        destination=destination,
        alias=check_alias(ALIAS, props[ALIAS], api),
        accept=accept_mode == ACCEPT_ENCODING[True]
        or (accept_mode == DEFAULT_ACCEPT and destination.owner_id == source.owner_id),
        timeout_seconds=_timeout(props),
        api=api,
        connection_mode=None if mode is None else check_choice(MODE, mode, CONNECTION_MODES),
        skip_unavailable=None if skip is None else check_choice(SKIP_UNAVAILABLE, skip, SKIP_VALUES),
        accept_role_arn=None if role is None else check_role_arn(ROLE_ARN, role),
        accept_external_id=None if external_id is None else check_external_id(EXTERNAL_ID, external_id),
        adopt_connection_id=_adopt_id(props),
        replace_by_deleting_first=_flag(props, REPLACE_DELETING_FIRST),
        retain=_flag(props, RETAIN),
    )


def parse_accepter(properties: object) -> AccepterSpec:
    """Validate an InboundConnectionAccepter's properties; raise InvalidInput naming the field."""
    props = _check_keys(properties, ACCEPTER_KEYS, {SOURCE, DESTINATION})
    api = check_choice(API, props.get(API, DEFAULT_API), APIS)
    alias = _optional(props, ALIAS)
    connection_id = _optional(props, CONNECTION_ID)
    source, destination = _domain_pair(props)
    return AccepterSpec(
        source=source,
        destination=destination,
        alias=None if alias is None else check_alias(ALIAS, alias, api),
        timeout_seconds=_timeout(props),
        api=api,
        connection_id=None if connection_id is None else check_connection_id(CONNECTION_ID, connection_id),
        adopt_connection_id=_adopt_id(props),
    )


#: A region botocore takes (its `validate_region_name`: a host label, not all digits, no '-' at either end).
_LOOSE_REGION = re.compile(r"(?![0-9]+$)[a-z0-9](?:[a-z0-9\-]{0,48}[a-z0-9])?")


@dataclass(frozen=True)
class DeleteTarget:
    """Only what a Delete needs to reach a connection: the API, the region to call in, and a time bound."""

    api: str
    region: str
    timeout_seconds: int


def parse_delete_target(properties: object, side: str, fallback_region: str) -> DeleteTarget:
    """A lenient reading for Delete: properties an older or newer construct wrote (unknown keys, values a
    later rule refuses) must never make a Delete fail. `side` is the domain whose region is called
    (SourceDomainInfo for outbound connections, DestinationDomainInfo for the accepter); an unusable region
    falls back to the function's own, an unknown API to Elasticsearch (both APIs reach every connection)."""
    props: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    api = props.get(API)
    info = props.get(side)
    region = info.get(REGION) if isinstance(info, Mapping) else None
    seconds = whole_seconds(props.get(TIMEOUT))
    seconds = DEFAULT_TIMEOUT_SECONDS if seconds is None else seconds
    return DeleteTarget(
        api=api if api in APIS else ELASTICSEARCH,
        region=region if isinstance(region, str) and _LOOSE_REGION.fullmatch(region) else fallback_region,
        timeout_seconds=min(MAX_TIMEOUT_SECONDS, max(MIN_TIMEOUT_SECONDS, seconds)),
    )
