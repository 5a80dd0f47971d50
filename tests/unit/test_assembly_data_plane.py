"""What the data plane needs from the assembly and the emulator: IAM roles' ARNs and names, domain endpoints
that resolve to local domains (and only AWS-form endpoints stand in for them), and STS sessions the local
domains can tell apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from ccs_offline.assembly import StackTemplate
from ccs_offline.emulator import ConnectionStore, running

A = "111111111111"
REGION = "eu-west-1"


def stack(resources: dict[str, Any], region: str = REGION) -> StackTemplate:
    return StackTemplate("Data", {"Resources": resources}, Path("."), A, region)


ROLES = {
    "Named": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "search-admin"}},
    "Pathed": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "reader", "Path": "/team/"}},
    "Generated": {"Type": "AWS::IAM::Role", "Properties": {}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    "Domain": {"Type": "AWS::OpenSearchService::Domain", "Properties": {"DomainName": "logs"}},
}


def test_iam_roles_resolve_to_role_arns_and_functions_to_function_arns() -> None:
    template = stack(ROLES)
    assert template.resolve({"Fn::GetAtt": ["Named", "Arn"]}) == f"arn:aws:iam::{A}:role/search-admin"
    assert template.resolve({"Fn::GetAtt": "Pathed.Arn"}) == f"arn:aws:iam::{A}:role/team/reader"
    assert template.resolve({"Fn::GetAtt": ["Generated", "Arn"]}) == f"arn:aws:iam::{A}:role/Generated"
    assert template.resolve({"Ref": "Named"}) == "search-admin"
    assert template.resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == f"arn:aws:lambda:{REGION}:{A}:function:Fn"
    assert stack(ROLES, "cn-north-1").resolve({"Fn::GetAtt": ["Named", "Arn"]}).startswith("arn:aws-cn:iam::")
    with pytest.raises(ValueError, match=r"Queue\.Arn"):
        template.resolve({"Fn::GetAtt": ["Queue", "Arn"]})


def test_domain_endpoints_resolve_to_local_domains_and_only_aws_endpoints_stand_in() -> None:
    template = stack(ROLES)
    endpoint = {"Fn::GetAtt": ["Domain", "DomainEndpoint"]}
    assert template.resolve(endpoint) == f"search-logs.{REGION}.es.amazonaws.com"
    template.domain_endpoints = {"logs": "127.0.0.1:4443", "partner": "127.0.0.1:4444"}
    assert template.resolve(endpoint) == "127.0.0.1:4443"

    def domain(name: str, given: str) -> dict[str, Any]:
        return {"LeaderDomain": {"DomainName": name, "Region": REGION, "Endpoint": given, "AdminRoleArn": "x"}}

    aws = f"search-partner-abc123.{REGION}.es.amazonaws.com"
    assert template.resolve(domain("partner", aws))["LeaderDomain"]["Endpoint"] == "127.0.0.1:4444"
    assert template.resolve(domain("partner", f"https://vpc-partner-x.{REGION}.es.amazonaws.com"))["LeaderDomain"][
        "Endpoint"
    ] == ("127.0.0.1:4444")
    # Not an AWS domain endpoint of that region, or a domain the world does not run: as given.
    for name, given in (
        ("partner", "127.0.0.1:1"),
        ("partner", "search-partner.us-east-1.es.amazonaws.com"),
        ("other", aws),
    ):
        assert template.resolve(domain(name, given))["LeaderDomain"]["Endpoint"] == given


def test_each_assumed_session_is_its_own_and_is_announced() -> None:
    store = ConnectionStore()
    role = f"arn:aws:iam::{A}:role/search-admin"
    store.add_role(role, {A})
    announced: list[tuple[str, str, str, str]] = []
    store.assumed_role_listeners.append(lambda *session: announced.append(session))
    with running(store) as emulator:
        key, secret = store.credentials_for(A)
        sts = boto3.client(
            "sts", region_name=REGION, endpoint_url=emulator.url, aws_access_key_id=key, aws_secret_access_key=secret
        )
        sessions = [sts.assume_role(RoleArn=role, RoleSessionName="session")["Credentials"] for _ in range(3)]
    assert [(k, s, t, r) for k, s, t, r in announced] == [
        (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], role) for c in sessions
    ]
    assert len({c["AccessKeyId"] for c in sessions}) == len({c["SessionToken"] for c in sessions}) == 3
    # STS's temporary access keys begin ASIA (IAM User Guide, "IAM identifiers", unique ID prefixes).
    assert all(c["AccessKeyId"].startswith("ASIA") and store.credentials[c["AccessKeyId"]] == A for c in sessions)
