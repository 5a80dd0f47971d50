"""The data plane's input rules (lambda/data_properties.py): every property the handler would refuse is named
with the rule it breaks, and what the construct writes parses back to what it meant."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cross_cluster_search.ccs_handler import contract
from cross_cluster_search.ccs_handler.data_properties import (
    check_endpoint,
    check_index,
    parse_replication,
    parse_search_access,
)
from cross_cluster_search.ccs_handler.properties import InvalidInput

ADMIN = "arn:aws:iam::111111111111:role/search-admin"
READER = "arn:aws:iam::222222222222:role/log-reader"


def domain(name: str, role: str = ADMIN, endpoint: str = "search-x.eu-west-1.es.amazonaws.com") -> dict[str, str]:
    return contract.data_plane_domain(name, "eu-west-1", endpoint, role)


def search_props(**changes: Any) -> dict[str, Any]:
    props = contract.search_access_properties(
        destination=domain("leader"),
        role_name="cdk_ccs_search_Stack1Access2",
        index_patterns=["logs-*"],
        users=[],
        backend_roles=[READER],
        timeout_seconds=300,
    )
    props.update(changes)
    return props


def follower_props(**changes: Any) -> dict[str, Any]:
    props = contract.replication_properties(
        leader=domain("leader"),
        follower=domain("follower"),
        role_name="cdk_ccs_repl_Stack1Follow2",
        alias="demo",
        timeout_seconds=600,
        leader_index="logs-2026",
    )
    props.update(changes)
    return props


@pytest.mark.parametrize(
    ("value", "pattern", "rule"),
    [
        ("Logs", True, "in lowercase"),
        ("logs 2026", True, "without ' '"),
        ("logs,metrics", True, "without ','"),
        ("logs-*", False, "without '\\*'"),
        ("_internal", True, "not starting with '_', '-' or '\\+'"),
        ("..", True, "not '.' or '..'"),
        ("a" * 256, False, "at most 255 bytes"),
        ("", True, "non-empty"),
        (7, False, "non-empty string"),
    ],
)
def test_index_names_and_patterns_follow_opensearch_naming(value: object, pattern: bool, rule: str) -> None:
    with pytest.raises(InvalidInput, match=rule) as raised:
        check_index("LeaderIndex", value, pattern=pattern)
    assert str(raised.value).startswith("LeaderIndex ")


def test_valid_names_and_patterns_pass() -> None:
    assert check_index("IndexPattern", "logs-*", pattern=True) == "logs-*"
    assert check_index("LeaderIndex", "logs-2026.12", pattern=False) == "logs-2026.12"


@pytest.mark.parametrize(
    "value", ["search-x.eu-west-1.es.amazonaws.com", "127.0.0.1:8443", "https://vpc-x.eu-west-1.es.amazonaws.com"]
)
def test_endpoints_that_reach_a_domain(value: str) -> None:
    assert check_endpoint("Endpoint", value) == value


@pytest.mark.parametrize("value", ["", "http://search-x", "https://search-x/_search", "host:notaport", None])
def test_endpoints_that_do_not(value: object) -> None:
    with pytest.raises(InvalidInput, match="HTTPS endpoint"):
        check_endpoint("Endpoint", value)


def test_search_access_parses_what_the_construct_writes() -> None:
    spec = parse_search_access(search_props())
    assert spec.destination.name == "leader" and spec.destination.admin_role_arn == ADMIN
    assert spec.index_patterns == ("logs-*",) and spec.backend_roles == (READER,) and spec.users == ()
    assert spec.smoke_search is None and spec.timeout_seconds == 300


def test_a_smoke_search_needs_its_alias_and_searches_the_first_pattern() -> None:
    smoke = {"DomainName": "follower", "Region": "eu-west-1", "Endpoint": "search-f.x", "RoleArn": READER}
    spec = parse_search_access(search_props(SmokeSearch=smoke, ConnectionAlias="demo"))
    assert spec.smoke_search is not None
    assert (spec.smoke_search.alias, spec.smoke_search.pattern) == ("demo", "logs-*")
    assert spec.smoke_search.domain.admin_role_arn == READER
    with pytest.raises(InvalidInput, match=r"^ConnectionAlias "):
        parse_search_access(search_props(SmokeSearch=smoke))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"BackendRoles": [], "Users": []}, "BackendRoles"),
        ({"IndexPatterns": []}, "IndexPatterns"),
        ({"IndexPatterns": ["Logs"]}, "IndexPatterns[0]"),
        ({"RoleName": "all_access"}, "RoleName"),
        ({"BackendRoles": [" padded"]}, "BackendRoles[0]"),
        ({"DestinationDomain": domain("leader", role="search-admin")}, "DestinationDomain.AdminRoleArn"),
        ({"DestinationDomain": domain("leader", endpoint="http://x")}, "DestinationDomain.Endpoint"),
        ({"Extra": "1"}, "ResourceProperties.Extra"),
    ],
)
def test_search_access_refusals_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_search_access(search_props(**changes))
    assert raised.value.field == field


def test_a_follower_index_defaults_to_the_leaders_name_and_owns_two_roles() -> None:
    spec = parse_replication(follower_props(), rule=False)
    assert (spec.leader_index, spec.follower_index, spec.stop_on_delete) == ("logs-2026", "logs-2026", False)
    assert spec.physical_id == "eu-west-1/follower/logs-2026"
    assert re.fullmatch(r"cdk_ccs_repl_Stack1Follow2_[0-9a-f]{8}_leader", spec.leader_role)
    assert spec.follower_role == spec.leader_role.replace("_leader", "_follower")
    # Another follower index (a replacement) never shares a role with the one it replaces.
    other = parse_replication(follower_props(FollowerIndex="logs-2026-copy"), rule=False)
    assert other.leader_role != spec.leader_role and other.physical_id == "eu-west-1/follower/logs-2026-copy"
    stopping = parse_replication(follower_props(FollowerIndex="copy", StopReplicationOnDelete="true"), rule=False)
    assert (stopping.follower_index, stopping.stop_on_delete) == ("copy", True)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"LeaderIndex": "logs-*"}, "LeaderIndex"),
        ({"FollowerDomain": domain("leader")}, "FollowerDomain"),
        ({"StopReplicationOnDelete": "yes"}, "StopReplicationOnDelete"),
        ({"ConnectionAlias": "1bad"}, "ConnectionAlias"),
        ({"RuleName": "rule"}, "ResourceProperties.RuleName"),
    ],
)
def test_follower_index_refusals_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_replication(follower_props(**changes), rule=False)
    assert raised.value.field == field


def test_a_rule_takes_a_pattern_and_a_name() -> None:
    props = contract.replication_properties(
        leader=domain("leader"),
        follower=domain("follower"),
        role_name="cdk_ccs_repl_Rule",
        alias="demo",
        timeout_seconds=600,
        rule_name="logs-rule",
        index_pattern="logs-*",
    )
    spec = parse_replication(props, rule=True)
    assert (spec.rule_name, spec.pattern, spec.leader_index) == ("logs-rule", "logs-*", None)
    assert spec.physical_id == "eu-west-1/follower/demo/logs-rule"
    # A new pattern gets roles of its own: what the old one started keeps running as the old roles.
    wider = parse_replication({**props, "IndexPattern": "logs-2*"}, rule=True)
    assert wider.physical_id == spec.physical_id and wider.leader_role != spec.leader_role
    with pytest.raises(InvalidInput, match=r"^RuleName "):
        parse_replication({**props, "RuleName": "Logs Rule"}, rule=True)
    with pytest.raises(InvalidInput, match=r"^IndexPattern "):
        parse_replication({**props, "IndexPattern": "Logs-*"}, rule=True)
