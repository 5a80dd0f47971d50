"""tokens.unresolved answers as aws-cdk-lib's Token.is_unresolved does, asking it only when Python cannot tell."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import Token

from cross_cluster_search.tokens import unresolved


def _values() -> list[object]:
    stack = cdk.Stack(cdk.App(), "Tokens")
    bucket_name = cdk.CfnParameter(stack, "Name").value_as_string
    return [
        None,
        True,
        "plain",
        "arn:aws:es:eu-west-1:111111111111:domain/logs",
        bucket_name,
        f"prefix-{bucket_name}-suffix",
        cdk.Aws.ACCOUNT_ID,
        stack.region,
        "${Token[not a token]}",
        "${Token[]}",
        "#{Token[TOKEN.1]}",
        cdk.Token.as_list(bucket_name)[0],
        42,
        cdk.Token.as_number(bucket_name),
    ]


@pytest.mark.parametrize("index", range(14))
def test_unresolved_agrees_with_aws_cdk_lib(index: int) -> None:
    value = _values()[index]
    assert unresolved(value) is bool(Token.is_unresolved(value))
