"""A Delete calls in a region botocore accepts: anything else falls back to the function's own region."""

from __future__ import annotations

import pytest

from cross_cluster_search.ccs_handler.properties import parse_delete_target


@pytest.mark.parametrize("region", ["9", "123", "eu-", "-eu", ""])
def test_a_region_botocore_refuses_falls_back(region: str) -> None:
    target = parse_delete_target({"SourceDomainInfo": {"Region": region}}, "SourceDomainInfo", "us-east-1")
    assert target.region == "us-east-1"


@pytest.mark.parametrize("region", ["eu-west-1", "a", "us-east-1x", "9a"])
def test_a_region_botocore_takes_is_kept(region: str) -> None:
    target = parse_delete_target({"SourceDomainInfo": {"Region": region}}, "SourceDomainInfo", "us-east-1")
    assert target.region == region
