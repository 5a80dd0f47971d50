"""Acknowledging the cdk-nag findings the library's own resources cause, with their reasons."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import Construct


def acknowledge(construct: Construct, rule: str, finding: str, reason: str) -> None:
    """Acknowledge a cdk-nag finding with its reason, in both forms cdk-nag reads: aws-cdk-lib's Validations
    acknowledgements (cdk-nag 3, with the id its report asks for: `AwsSolutions::AwsSolutions-IAM5[Resource::*]`)
    and the `cdk_nag` resource metadata (cdk-nag 2). Neither needs cdk-nag installed."""
    pack = rule.split("-", 1)[0]
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{pack}::{rule}[{finding}]", reason=reason))
    default_child = construct.node.default_child
    if isinstance(default_child, CfnResource):
        default_child.add_metadata(
            "cdk_nag", {"rules_to_suppress": [{"id": rule, "reason": reason, "applies_to": [finding]}]}
        )


__all__ = ["acknowledge"]
