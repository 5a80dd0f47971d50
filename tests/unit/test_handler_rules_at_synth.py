"""Every concrete value the handler would refuse is refused when the app is built (issue 20, item 3).

The table below pairs each property the handler reads with a bad value and the construct props that would
produce it. For each row the test proves both halves: the handler's parser refuses the property (so the row is a
real handler rule), and the construct refuses the props at construction or at synthesis, naming the prop. The
table must cover every property key of the contract and every `check_*` rule function of the handler, found by
introspection: a new key or rule without a row fails here, so the two sides cannot drift apart.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_opensearchservice as opensearch

from cross_cluster_search import (
    ConnectionApi,
    ConnectionMode,
    DomainInfo,
    InboundConnectionAccepter,
    OutboundConnection,
)
from cross_cluster_search.ccs_handler import contract, properties
from cross_cluster_search.ccs_handler.properties import InvalidInput

ACCOUNT = "111111111111"
PARTNER = "222222222222"
ROLE = f"arn:aws:iam::{PARTNER}:role/accept"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
DESTINATION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1")
FAR = DomainInfo(owner_id=PARTNER, domain_name="far-logs", region="us-east-1")
OS = ConnectionApi.OPENSEARCH


def _domain(**changes: str) -> DomainInfo:
    values = {"owner_id": ACCOUNT, "domain_name": "logs-destination", "region": "us-east-1", **changes}
    return DomainInfo(**values)


@dataclass
class Row:
    """A handler rule: the property changes it refuses, and the construct props that would write them."""

    handler: dict[str, object]  #: property path (dotted) -> value; a path's first part is the property key
    props: dict[str, Any]  #: construct props on top of a valid connection
    names: str  #: the start of the construct's error
    kind: str = "outbound"
    base: dict[str, object] = field(default_factory=dict)  #: valid changes the row needs first (e.g. the API)


OUTBOUND_ROWS = [
    Row({"SourceDomainInfo.OwnerId": "123"}, {"source": _domain(owner_id="123")}, "source.owner_id"),
    Row({"SourceDomainInfo.DomainName": "Bad_Name"}, {"source": _domain(domain_name="Bad_Name")}, "source.domain_name"),
    Row({"SourceDomainInfo.Region": "mars"}, {"source": _domain(region="mars")}, "source.region"),
    Row({"DestinationDomainInfo.OwnerId": "12"}, {"destination": _domain(owner_id="12")}, "destination.owner_id"),
    Row(
        {"DestinationDomainInfo.DomainName": "x"}, {"destination": _domain(domain_name="x")}, "destination.domain_name"
    ),
    Row({"DestinationDomainInfo.Region": "9"}, {"destination": _domain(region="9")}, "destination.region"),
    Row(
        {"DestinationDomainInfo.Region": "cn-north-1"},
        {"destination": _domain(region="cn-north-1")},
        "destination.region must be in the source's partition (aws)",
    ),
    Row(
        {"DestinationDomainInfo.DomainName": "logs-source"},
        {"destination": _domain(domain_name="logs-source")},
        "source and destination are the same domain",
    ),
    Row({"ConnectionAlias": "x"}, {"connection_alias": "x"}, "connection_alias"),
    Row({"ConnectionAlias": "a" * 21}, {"connection_alias": "a" * 21}, "connection_alias"),
    Row(
        {"ConnectionAlias": "a" * 101},
        {"connection_alias": "a" * 101, "api": OS},
        "connection_alias",
        base={"Api": "OPENSEARCH"},
    ),
    Row({"AcceptConnection": "yes"}, {"accept_connection": "yes"}, "accept_connection"),
    Row({"TimeoutSeconds": "5"}, {"timeout": cdk.Duration.seconds(5)}, "timeout"),
    Row({"TimeoutSeconds": "7200"}, {"timeout": cdk.Duration.hours(2)}, "timeout"),
    Row({"Api": "opensearch"}, {"api": "opensearch"}, "api"),
    Row({"ConnectionMode": "DIRECT"}, {"connection_mode": ConnectionMode.DIRECT}, "connection_mode"),
    Row(
        {"ConnectionMode": "INDIRECT"},
        {"connection_mode": "INDIRECT", "api": OS},
        "connection_mode",
        base={"Api": "OPENSEARCH"},
    ),
    Row({"SkipUnavailable": "ENABLED"}, {"skip_unavailable": True}, "skip_unavailable"),
    Row(
        {"SkipUnavailable": "yes"},
        {"skip_unavailable": "yes", "api": OS},
        "skip_unavailable",
        base={"Api": "OPENSEARCH"},
    ),
    Row({"AcceptRoleArn": "accept-cross-cluster"}, {"accept_role_arn": "accept-cross-cluster"}, "accept_role_arn"),
    Row(
        {"AcceptRoleExternalId": "a"},
        {"accept_role_arn": ROLE, "accept_role_external_id": "a"},
        "accept_role_external_id",
        base={"AcceptRoleArn": ROLE},
    ),
    Row(
        {"AcceptRoleExternalId": "shared-secret"},
        {"accept_role_external_id": "shared-secret"},
        "accept_role_external_id",
    ),
    Row({"AdoptConnectionId": "X"}, {"adopt_connection_id": "X"}, "adopt_connection_id"),
    Row({"ReplaceByDeletingFirst": "yes"}, {"replace_by_deleting_first": "yes"}, "replace_by_deleting_first"),
]
ACCEPTER_ROWS = [
    Row({"SourceDomainInfo.OwnerId": "123"}, {"source": _domain(owner_id="123")}, "source.owner_id", "accepter"),
    Row({"DestinationDomainInfo.Region": "x"}, {"destination": _domain(region="x")}, "destination.region", "accepter"),
    Row({"ConnectionAlias": "!"}, {"connection_alias": "!"}, "connection_alias", "accepter"),
    Row({"TimeoutSeconds": "9"}, {"timeout": cdk.Duration.seconds(9)}, "timeout", "accepter"),
    Row({"Api": "ELASTICSEARCH "}, {"api": "ELASTICSEARCH"}, "api", "accepter"),
    Row({"ConnectionId": "X"}, {"connection_id": "X"}, "connection_id", "accepter"),
    Row({"AdoptConnectionId": "x-1"}, {"adopt_connection_id": "x-1"}, "adopt_connection_id", "accepter"),
]
#: Written by the construct from the synthesized removal policy ("true" or absent), never from a prop
#: (tests/unit/test_l2_shape.py proves every way of setting the policy).
DERIVED = {contract.RETAIN}


def _valid_properties(kind: str) -> dict[str, Any]:
    """The properties a valid connection writes, as the construct builds them."""
    if kind == "outbound":
        return contract.outbound_properties(
            source=SOURCE.as_properties(),
            destination=DESTINATION.as_properties(),
            alias="logs",
            accept=None,
            timeout_seconds=600,
            api="ELASTICSEARCH",
        )
    return contract.accepter_properties(
        source=FAR.as_properties(), destination=SOURCE.as_properties(), timeout_seconds=600, api="ELASTICSEARCH"
    )


def _apply(props: dict[str, Any], changes: dict[str, object]) -> dict[str, Any]:
    changed = copy.deepcopy(props)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = changed
        for part in parents:
            target = target[part]
        target[last] = value
    return changed


def _build(row: Row) -> list[str]:
    """The construct's errors for the row's props: the exception at construction, or synth's errors."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Test", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    try:
        if row.kind == "outbound":
            values = {"source": SOURCE, "destination": DESTINATION, "connection_alias": "logs", **row.props}
            OutboundConnection(stack, "Conn", **values)
        else:
            InboundConnectionAccepter(stack, "Conn", **{"source": FAR, "destination": SOURCE, **row.props})
    except (ValueError, TypeError) as error:
        return [str(error)]
    try:
        app.synth()
    except RuntimeError as error:
        lines = str(error).splitlines()[1:]
        return [line.strip().removeprefix("[Test/Conn] ") for line in lines if line.strip().startswith("[")]
    return []


def _parser(kind: str) -> Callable[[object], object]:
    return properties.parse_outbound if kind == "outbound" else properties.parse_accepter


@pytest.mark.parametrize("row", OUTBOUND_ROWS + ACCEPTER_ROWS, ids=lambda r: f"{r.kind}-{sorted(r.props)}")
def test_the_handler_refuses_it_and_so_does_the_construct(row: Row) -> None:
    valid = _apply(_valid_properties(row.kind), row.base)
    _parser(row.kind)(valid)  # the row's base is valid for the handler
    with pytest.raises(InvalidInput) as refused:
        _parser(row.kind)(_apply(valid, row.handler))
    assert refused.value.field.split(".")[0] in {path.split(".")[0] for path in row.handler}
    errors = _build(row)
    assert errors, f"the construct accepted {row.props}, which the handler refuses: {refused.value}"
    assert errors[0].startswith(row.names), errors


def test_the_table_covers_every_property_and_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind, rows, keys in (
        ("outbound", OUTBOUND_ROWS, contract.OUTBOUND_KEYS),
        ("accepter", ACCEPTER_ROWS, contract.ACCEPTER_KEYS),
    ):
        covered = {path.split(".")[0] for row in rows for path in row.handler}
        assert set(keys) - covered - DERIVED == set(), f"{kind} properties without a row"
    rules = {name for name, _ in inspect.getmembers(properties, inspect.isfunction) if name.startswith("check_")}
    assert len(rules) >= 9, rules
    refused_by: set[str] = set()
    for name in rules:
        original = getattr(properties, name)

        def spy(*args: Any, _original: Any = original, _name: str = name) -> Any:
            try:
                return _original(*args)
            except InvalidInput:
                refused_by.add(_name)
                raise

        monkeypatch.setattr(properties, name, spy)
    for row in OUTBOUND_ROWS + ACCEPTER_ROWS:
        with pytest.raises(InvalidInput):
            _parser(row.kind)(_apply(_apply(_valid_properties(row.kind), row.base), row.handler))
    assert rules - refused_by == set(), "handler rules no row exercises"


# --- refusals the handler would meet only mid-deploy ------------------------------------------------------


def test_accepting_another_accounts_connection_needs_its_role() -> None:
    with pytest.raises(ValueError, match=r"^accept_connection=True: only the destination's owner \(account 2+\)") as e:
        OutboundConnection(
            cdk.Stack(cdk.App(), "Test"),
            "Conn",
            source=SOURCE,
            destination=FAR,
            connection_alias="logs",
            accept_connection=True,
        )
    assert "accept_role_arn" in str(e.value) and "InboundConnectionAccepter" in str(e.value)
    # With the role, or leaving it pending, it is fine.
    stack = cdk.Stack(cdk.App(), "Ok")
    OutboundConnection(
        stack,
        "Role",
        source=SOURCE,
        destination=FAR,
        connection_alias="role",
        accept_connection=True,
        accept_role_arn=ROLE,
    )
    OutboundConnection(
        stack, "Pending", source=SOURCE, destination=FAR, connection_alias="pending", accept_connection=False
    )


def test_an_accepter_lives_in_its_destinations_account() -> None:
    stack = cdk.Stack(cdk.App(), "Partner", env=cdk.Environment(account=PARTNER, region="us-east-1"))
    with pytest.raises(
        ValueError, match=r"^destination.owner_id: an InboundConnectionAccepter accepts with its own"
    ) as e:
        InboundConnectionAccepter(stack, "Accept", source=FAR, destination=SOURCE)
    assert f"account {ACCOUNT} (env=Environment(account='{ACCOUNT}'" in str(e.value)
    # An environment-agnostic stack cannot be told apart at synth: the handler checks it.
    InboundConnectionAccepter(cdk.Stack(cdk.App(), "Agnostic"), "Accept", source=FAR, destination=SOURCE)


def _domain_construct(stack: cdk.Stack, id: str, **kwargs: Any) -> opensearch.Domain:
    return opensearch.Domain(
        stack,
        id,
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        node_to_node_encryption=True,
        enforce_https=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(
            master_user_arn=f"arn:aws:iam::{ACCOUNT}:role/a"
        ),
        **kwargs,
    )


def test_a_domain_of_another_region_needs_a_physical_name() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    here = cdk.Stack(app, "Here", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    there = cdk.Stack(app, "There", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    unnamed = _domain_construct(there, "Unnamed")
    with pytest.raises(
        ValueError, match=r"^destination: domain There/Unnamed is in another environment \(region eu-west-1"
    ) as e:
        OutboundConnection(here, "Conn", source=SOURCE, destination=unnamed, connection_alias="logs")
    assert "set domain_name='...' on the domain" in str(e.value)
    named = _domain_construct(there, "Named", domain_name="archive")
    connection = OutboundConnection(here, "Named", source=SOURCE, destination=named, connection_alias="archive")
    assert connection.destination.region == "eu-west-1"
    app.synth()
