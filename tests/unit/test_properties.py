"""Property parsing: CloudFormation's strings in, a typed spec or an error naming the field out."""

from __future__ import annotations

from typing import Any

import pytest

from cross_cluster_search.ccs_handler.properties import (
    PARTITION_REGIONS,
    InvalidInput,
    check_region,
    parse_accepter,
    parse_delete_target,
    parse_outbound,
    partition_of,
)

SOURCE = {"OwnerId": "111111111111", "DomainName": "logs-source", "Region": "us-east-1"}
DESTINATION = {"OwnerId": "111111111111", "DomainName": "logs-destination", "Region": "eu-west-1"}


def props(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:x",
        "SourceDomainInfo": dict(SOURCE),
        "DestinationDomainInfo": dict(DESTINATION),
        "ConnectionAlias": "logs",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_defaults_accept_same_account_and_wait_ten_minutes() -> None:
    spec = parse_outbound(props())
    assert spec.accept is True
    assert spec.timeout_seconds == 600
    assert spec.api == "ELASTICSEARCH"
    assert spec.source.region == "us-east-1" and spec.destination.region == "eu-west-1"


def test_auto_accept_is_off_across_accounts() -> None:
    other = dict(DESTINATION, OwnerId="222222222222")
    assert parse_outbound(props(DestinationDomainInfo=other)).accept is False
    assert parse_outbound(props(DestinationDomainInfo=other, AcceptConnection="true")).accept is True
    assert parse_outbound(props(AcceptConnection="false")).accept is False


def test_strings_become_typed_values() -> None:
    spec = parse_outbound(
        props(TimeoutSeconds="45", Api="OPENSEARCH", ConnectionMode="DIRECT", SkipUnavailable="ENABLED")
    )
    assert (spec.timeout_seconds, spec.connection_mode, spec.skip_unavailable) == (45, "DIRECT", "ENABLED")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"SourceDomainInfo": dict(SOURCE, DomainName="Logs")}, "SourceDomainInfo.DomainName"),
        ({"SourceDomainInfo": dict(SOURCE, DomainName="ab")}, "SourceDomainInfo.DomainName"),
        ({"SourceDomainInfo": dict(SOURCE, DomainName="a" * 29)}, "SourceDomainInfo.DomainName"),
        ({"DestinationDomainInfo": dict(DESTINATION, OwnerId="12345")}, "DestinationDomainInfo.OwnerId"),
        ({"DestinationDomainInfo": dict(DESTINATION, Region="moon")}, "DestinationDomainInfo.Region"),
        ({"DestinationDomainInfo": {"DomainName": "abc"}}, "DestinationDomainInfo.OwnerId"),
        ({"DestinationDomainInfo": dict(DESTINATION, Extra="1")}, "DestinationDomainInfo.Extra"),
        ({"DestinationDomainInfo": "logs-destination"}, "DestinationDomainInfo"),
        ({"DestinationDomainInfo": dict(SOURCE)}, "DestinationDomainInfo"),
        ({"ConnectionAlias": "a" * 21}, "ConnectionAlias"),
        ({"ConnectionAlias": "9lives"}, "ConnectionAlias"),
        ({"ConnectionAlias": None}, "ConnectionAlias"),
        ({"AcceptConnection": "yes"}, "AcceptConnection"),
        ({"TimeoutSeconds": "9"}, "TimeoutSeconds"),
        ({"TimeoutSeconds": "781"}, "TimeoutSeconds"),
        ({"TimeoutSeconds": "1e3"}, "TimeoutSeconds"),
        ({"TimeoutSeconds": "٣٠"}, "TimeoutSeconds"),
        ({"Api": "SOLR"}, "Api"),
        ({"ConnectionMode": "DIRECT"}, "ConnectionMode"),
        ({"Api": "OPENSEARCH", "SkipUnavailable": "MAYBE"}, "SkipUnavailable"),
        ({"AcceptRoleArn": "role/x"}, "AcceptRoleArn"),
        ({"AcceptRoleExternalId": "abc"}, "AcceptRoleExternalId"),
        ({"Surprise": "1"}, "ResourceProperties.Surprise"),
    ],
)
def test_each_bad_value_names_its_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_outbound(props(**overrides))
    assert raised.value.field == field
    assert str(raised.value).startswith(field + " ")
    assert len(str(raised.value)) <= 256


def test_opensearch_api_allows_longer_aliases() -> None:
    assert parse_outbound(props(Api="OPENSEARCH", ConnectionAlias="a" * 100)).alias == "a" * 100
    with pytest.raises(InvalidInput, match="2-100"):
        parse_outbound(props(Api="OPENSEARCH", ConnectionAlias="a" * 101))


def test_long_bad_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_outbound(props(ConnectionAlias="é" * 5000))
    assert len(str(raised.value)) < 200
    assert str(raised.value).isascii()


def test_accepter_alias_is_optional() -> None:
    spec = parse_accepter({"SourceDomainInfo": SOURCE, "DestinationDomainInfo": DESTINATION})
    assert spec.alias is None and spec.timeout_seconds == 600


def test_cloudformation_reserved_keys_are_not_errors() -> None:
    spec = parse_outbound(props(ServiceTimeout="750"))
    assert spec.alias == "logs"
    accepter = parse_accepter(
        {"ServiceToken": "x", "ServiceTimeout": "30", "SourceDomainInfo": SOURCE, "DestinationDomainInfo": DESTINATION}
    )
    assert accepter.destination.region == "eu-west-1"


def test_delete_target_reads_only_what_it_needs() -> None:
    target = parse_delete_target(props(Api="OPENSEARCH", TimeoutSeconds="120", Colour="blue"), "SourceDomainInfo", "x")
    assert (target.api, target.region, target.timeout_seconds) == ("OPENSEARCH", "us-east-1", 120)
    assert parse_delete_target(props(), "DestinationDomainInfo", "x").region == "eu-west-1"
    odd = parse_delete_target(
        {"Api": 3, "SourceDomainInfo": {"Region": "US EAST"}, "TimeoutSeconds": "9999"},
        "SourceDomainInfo",
        "ap-south-2",
    )
    assert (odd.api, odd.region, odd.timeout_seconds) == ("ELASTICSEARCH", "ap-south-2", 780)
    assert parse_delete_target("garbage", "SourceDomainInfo", "eu-north-1").region == "eu-north-1"


def test_accepter_connection_id_is_checked() -> None:
    base = {"SourceDomainInfo": SOURCE, "DestinationDomainInfo": DESTINATION}
    assert parse_accepter(dict(base, ConnectionId="cc-0123456789")).connection_id == "cc-0123456789"
    with pytest.raises(InvalidInput, match=r"^ConnectionId must be a connection id"):
        parse_accepter(dict(base, ConnectionId="CC-1"))


def _botocore_partitions() -> list[dict[str, Any]]:
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import botocore  # noqa: PLC0415

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return list(data["partitions"])


def test_region_table_is_botocores() -> None:
    assert {p["id"]: p["regionRegex"].strip("^$") for p in _botocore_partitions()} == PARTITION_REGIONS


def test_every_region_botocore_knows_is_accepted_in_its_partition() -> None:
    regions = [(p["id"], r) for p in _botocore_partitions() for r in p["regions"] if not r.endswith("-global")]
    assert ("aws-eusc", "eusc-de-east-1") in regions
    for partition, region in regions:
        assert check_region("Region", region) == region
        assert partition_of(region) == partition


def test_source_and_destination_share_a_partition() -> None:
    china = {"OwnerId": "111111111111", "DomainName": "logs-china", "Region": "cn-north-1"}
    with pytest.raises(InvalidInput, match=r"^DestinationDomainInfo.Region must be in the source's partition \(aws\)"):
        parse_outbound(props(DestinationDomainInfo=china))
