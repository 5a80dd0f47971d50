"""The removal policy a connection resource synthesizes with, however it was set.

The ``removal_policy`` prop, ``apply_removal_policy`` (on the construct or its default child),
``RemovalPolicies.of(scope)``, an Aspect, ``cfn_options`` or an ``add_override`` of ``DeletionPolicy`` /
``UpdateReplacePolicy`` all end in the resource's DeletionPolicy and UpdateReplacePolicy. This module reads
those at synthesis, so the synth-time checks and the handler (through the ``Retain`` property) see the policy
the template holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import CfnDeletionPolicy, CfnResource
from constructs import IValidation

from cross_cluster_search.ccs_handler.contract import RETAIN
from cross_cluster_search.tokens import unresolved

DELETION_POLICY = "DeletionPolicy"
UPDATE_REPLACE_POLICY = "UpdateReplacePolicy"
#: Policies that keep the connection (CloudFormation's names, as the template holds them).
_KEEPING = frozenset({"Retain", "RetainExceptOnCreate"})
SNAPSHOT = "Snapshot"


class ConnectionCfnResource(CfnResource):
    """The connection's CloudFormation resource (``node.default_child``): a ``CfnResource`` that also notes the
    overrides of its DeletionPolicy and UpdateReplacePolicy, which aws-cdk-lib keeps where Python cannot read.
    Its DependsOn needs no trimming: the connection constructs make it depend on its own IAM policy and on domain
    constructs of other stacks only (those of its stack are named by a `Ref` in its properties)."""

    #: ``drop_depends_on_already_referenced`` leaves its DependsOn as it is.
    needs_no_trimmed_depends_on = True

    def __init__(self, scope: Any, id: str, *, type: str, properties: dict[str, Any]) -> None:
        super().__init__(scope, id, type=type, properties=properties)
        self._policy_overrides: dict[str, object] = {}
        #: aws-cdk-lib's options object of this resource (one object for its life; its policies are read from it).
        self._options = self.cfn_options
        #: Whether the ``Retain`` property is this resource's (``retain_flag``, outbound connections).
        self.retain_flagged = False
        #: Whether the last validation wrote ``Retain`` "true".
        self.retain_written = False

    def add_override(self, path: str, value: Any) -> None:
        """Like ``CfnResource.add_override``; an override of a policy counts for the checks and the handler."""
        super().add_override(path, value)
        if path in (DELETION_POLICY, UPDATE_REPLACE_POLICY):
            self._policy_overrides[path] = value

    def add_property_override(self, property_path: str, value: Any) -> None:
        """Like ``CfnResource.add_property_override`` (aws-cdk-lib's is ``add_override('Properties.<path>')``),
        kept in Python: aws-cdk-lib's own would call back into ``add_override`` above, one more round trip."""
        self.add_override(f"Properties.{property_path}", value)

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


def _retain_value(keeps: bool) -> str | None:
    """The ``Retain`` property: "true" when the synthesized policies keep the connection; absent otherwise."""
    return "true" if keeps else None


def retain_flag(resource: ConnectionCfnResource) -> None:
    """Give the resource the ``Retain`` property, which ``RemovalPolicyCheck`` sets at validation from the
    policies the template holds then (after Aspects): "true", or absent (nothing to write, no call to
    aws-cdk-lib) when they do not keep the connection. A token would be read by aws-cdk-lib while it prepares the
    app, a call back into Python that reads the policies a second time."""
    resource.retain_flagged = True


@jsii.implements(IValidation)
class RemovalPolicyCheck:
    """At synthesis: no Snapshot (CloudFormation refuses it on custom resources), and no
    ``replace_by_deleting_first`` with a policy that keeps connections, whichever way the policy was set.

    Validation runs after Aspects, once the policies are final: the policies it reads also set the ``Retain``
    property (outbound connections, see ``retain_flag``), a value in the template then: nothing calls back into
    Python while aws-cdk-lib prepares and synthesizes the app. An app synthesized without validation
    (``skip_validation``) has no ``Retain`` property. `settle` runs first (the destination's access policy)."""

    def __init__(
        self,
        resource: ConnectionCfnResource,
        *,
        replace_by_deleting_first: bool,
        settle: Callable[[], list[str]] | None = None,
    ) -> None:
        self._resource = resource
        self._replace_by_deleting_first = replace_by_deleting_first
        #: What else the connection settles once the tree is final (its destination's access policy).
        self._settle = settle

    def validate(self) -> list[str]:
        settled = self._settle() if self._settle is not None else []
        # Each policy read is a call to aws-cdk-lib: read both once.
        policies = {a: self._resource.synthesized_policy(a) for a in (DELETION_POLICY, UPDATE_REPLACE_POLICY)}
        if self._resource.retain_flagged:
            keeps = any(value in _KEEPING for value in policies.values())
            if keeps or self._resource.retain_written:  # written before: an app synthesized again
                self._resource.add_property_override(RETAIN, _retain_value(keeps))
                self._resource.retain_written = keeps
        errors = list(settled)
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
