"""The removal policy a connection resource synthesizes with, however it was set.

The ``removal_policy`` prop, ``apply_removal_policy`` (on the construct or its default child),
``RemovalPolicies.of(scope)``, an Aspect, ``cfn_options`` or an ``add_override`` of ``DeletionPolicy`` /
``UpdateReplacePolicy`` all end in the resource's DeletionPolicy and UpdateReplacePolicy. This module reads
those at synthesis, so the synth-time checks and the handler (through the ``Retain`` property) see the policy
the template holds.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import CfnDeletionPolicy, CfnResource, IStableStringProducer, Lazy
from constructs import IValidation

from cross_cluster_search.tokens import unresolved

DELETION_POLICY = "DeletionPolicy"
UPDATE_REPLACE_POLICY = "UpdateReplacePolicy"
#: Policies that keep the connection (CloudFormation's names, as the template holds them).
_KEEPING = frozenset({"Retain", "RetainExceptOnCreate"})
SNAPSHOT = "Snapshot"


class ConnectionCfnResource(CfnResource):
    """The connection's CloudFormation resource (``node.default_child``): a ``CfnResource`` that also notes the
    overrides of its DeletionPolicy and UpdateReplacePolicy, which aws-cdk-lib keeps where Python cannot read."""

    def __init__(self, scope: Any, id: str, *, type: str, properties: dict[str, Any]) -> None:
        super().__init__(scope, id, type=type, properties=properties)
        self._policy_overrides: dict[str, object] = {}
        #: aws-cdk-lib's options object of this resource (one object for its life; its policies are read from it).
        self._options = self.cfn_options

    def add_override(self, path: str, value: Any) -> None:
        """Like ``CfnResource.add_override``; an override of a policy counts for the checks and the handler."""
        super().add_override(path, value)
        if path in (DELETION_POLICY, UPDATE_REPLACE_POLICY):
            self._policy_overrides[path] = value

    def add_deletion_override(self, path: str) -> None:
        """Like ``CfnResource.add_deletion_override``; a removed policy is CloudFormation's default (Delete)."""
        super().add_deletion_override(path)
        if path in (DELETION_POLICY, UPDATE_REPLACE_POLICY):
            self._policy_overrides[path] = None

    def synthesized_policy(self, attribute: str) -> object:
        """The DeletionPolicy or UpdateReplacePolicy the template holds (None: absent, CloudFormation's Delete)."""
        if attribute in self._policy_overrides:
            return self._policy_overrides[attribute]
        option = self._options.deletion_policy if attribute == DELETION_POLICY else self._options.update_replace_policy
        return None if option is None else _policy_name(option)

    def keeps_connections(self) -> bool:
        """Whether either policy keeps the connection (Retain, or RetainExceptOnCreate for deletion)."""
        return any(self.synthesized_policy(a) in _KEEPING for a in (DELETION_POLICY, UPDATE_REPLACE_POLICY))


def _policy_name(option: CfnDeletionPolicy) -> str:
    """CloudFormation's name of a policy: CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE -> 'RetainExceptOnCreate'."""
    return "".join(part.capitalize() for part in option.name.split("_"))


@jsii.implements(IStableStringProducer)
class RetainFlag:
    """The ``Retain`` property: "true" when the synthesized policies keep the connection; absent otherwise."""

    def __init__(self, resource: ConnectionCfnResource) -> None:
        self._resource = resource

    def produce(self) -> str | None:
        """Read when the template is synthesized, after Aspects (``RemovalPolicies``) ran."""
        return "true" if self._resource.keeps_connections() else None


def retain_flag(resource: ConnectionCfnResource) -> str:
    """A token for the ``Retain`` property, read when the template is synthesized."""
    return Lazy.string(RetainFlag(resource))


@jsii.implements(IValidation)
class RemovalPolicyCheck:
    """At synthesis: no Snapshot (CloudFormation refuses it on custom resources), and no
    ``replace_by_deleting_first`` with a policy that keeps connections, whichever way the policy was set."""

    def __init__(self, resource: ConnectionCfnResource, *, replace_by_deleting_first: bool) -> None:
        self._resource = resource
        self._replace_by_deleting_first = replace_by_deleting_first

    def validate(self) -> list[str]:
        # Each policy read is a call to aws-cdk-lib: read both once.
        policies = {a: self._resource.synthesized_policy(a) for a in (DELETION_POLICY, UPDATE_REPLACE_POLICY)}
        errors = []
        for attribute, value in policies.items():
            if value == SNAPSHOT:
                errors.append(
                    f"removal_policy: the connection's {attribute} is Snapshot, which CloudFormation refuses on "
                    "custom resources; use RemovalPolicy.DESTROY or RemovalPolicy.RETAIN"
                )
        if self._replace_by_deleting_first and any(value in _KEEPING for value in policies.values()):
            shown = ", ".join(f"{a} {value}" for a, value in policies.items() if not unresolved(value))
            errors.append(
                f"removal_policy: replace_by_deleting_first cannot be used with a policy that keeps connections "
                f"({shown}): RETAIN keeps the old connection through a replacement, deleting it first would not; "
                "remove replace_by_deleting_first (change connection_alias with the destination instead) or use "
                "RemovalPolicy.DESTROY"
            )
        return errors


__all__ = ["ConnectionCfnResource", "RemovalPolicyCheck", "retain_flag"]
