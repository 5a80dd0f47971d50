"""Acknowledging the cdk-nag findings the library's own resources cause, with their reasons."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(
    construct: IConstruct, rule: str, finding: str, reason: str, *, fresh: bool = False
) -> CfnResource | None:
    """Acknowledge a cdk-nag finding with its reason, in both forms cdk-nag reads: aws-cdk-lib's Validations
    acknowledgements (cdk-nag 3, with the id its report asks for: `AwsSolutions::AwsSolutions-IAM5[Resource::*]`)
    and the `cdk_nag` resource metadata (cdk-nag 2). Neither needs cdk-nag installed. `fresh`: the construct was
    just made here, so it has no acknowledgement to keep (one call to aws-cdk-lib fewer). Returns the construct's
    CloudFormation resource."""
    pack = rule.split("-", 1)[0]
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{pack}::{rule}[{finding}]", reason=reason))
    default_child = construct.node.default_child
    if not isinstance(default_child, CfnResource):
        return None
    # Several findings on one resource: keep the ones acknowledged before (add_metadata replaces the key).
    existing = None if fresh else default_child.get_metadata("cdk_nag")
    rules = list(existing.get("rules_to_suppress", [])) if isinstance(existing, dict) else []
    entry = {"id": rule, "reason": reason, "applies_to": [finding]}
    if entry not in rules:
        rules.append(entry)
    default_child.add_metadata("cdk_nag", {"rules_to_suppress": rules})
    return default_child


#: The id of aws-cdk-lib's access-policy function: a singleton AwsCustomResource function in the domain's stack
#: that applies statements added with ``Domain.add_access_policies`` (the destination's ``es:ESCrossClusterGet``).
ACCESS_POLICY_FUNCTION_ID = "AWS679f53fac002430cb0da5b7982bd2287"
#: What cdk-nag's AwsSolutions pack reports on that function's role, and why it is acceptable.
ACCESS_POLICY_FUNCTION_FINDING = (
    "AwsSolutions-IAM4",
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "aws-cdk-lib's access-policy function (AwsCustomResource behind Domain.add_access_policies) writes only its own "
    "logs with the AWS managed basic execution policy; its API permission is a separate, exact policy",
)


def acknowledge_access_policy_function(scope: IConstruct) -> list[str]:
    """Acknowledge, with its reason, the cdk-nag finding that the destination's access policy brings: aws-cdk-lib
    runs ``Domain.add_access_policies`` through its own AwsCustomResource function, whose role has the AWS managed
    ``AWSLambdaBasicExecutionRole`` (``AwsSolutions-IAM4``). That function lives in the stack of the destination
    domain, which may be another stack than the connection's.

    Call it once the app's stacks are built (it looks at every stack under ``scope``: pass the app, a stage or a
    stack). Neither cdk-nag 3 nor 2 needs to be installed for it.

    :param scope: the app, a stage or a stack.
    :returns: the paths of the functions' roles it acknowledged (empty when no stack under ``scope`` has one).
    """
    rule, finding, reason = ACCESS_POLICY_FUNCTION_FINDING
    acknowledged = []
    for construct in [scope, *scope.node.find_all()]:
        if not isinstance(construct, Stack):
            continue
        function = construct.node.try_find_child(ACCESS_POLICY_FUNCTION_ID)
        role = function.node.try_find_child("ServiceRole") if function is not None else None
        if role is not None:
            acknowledge(role, rule, finding, reason)
            acknowledged.append(role.node.path)
    return acknowledged


__all__ = ["ACCESS_POLICY_FUNCTION_ID", "acknowledge", "acknowledge_access_policy_function"]
