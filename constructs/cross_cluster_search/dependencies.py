"""DependsOn without the dependencies a resource's own references already enforce (cfn-lint W3005)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import jsii
from aws_cdk import CfnResource, IStableListProducer, Lazy, Stack


@jsii.implements(IStableListProducer)
class _DependsOnNotReferenced:
    """A resource's DependsOn without the resources its properties already refer to (`Ref`, `Fn::GetAtt`,
    `Fn::Sub`): CloudFormation orders those anyway, and cfn-lint warns about each (W3005). Every other
    dependency, e.g. on a connection's own IAM policy or on a domain the properties do not name, stays."""

    def __init__(self, resource: CfnResource) -> None:
        self.resource = resource

    def produce(self) -> list[str] | None:
        """The logical ids left, sorted as CDK renders DependsOn; None (no DependsOn) when none is left."""
        return depends_on_not_referenced(self.resource)


def depends_on_not_referenced(resource: CfnResource) -> list[str] | None:
    """The resource's DependsOn as its dependencies are now (complete once the app is prepared: at validation or
    synthesis), without those its properties refer to; None when none is left. Every access to a jsii object is a
    round trip to aws-cdk-lib: the properties and the logical ids are resolved in one call, and a dependency's
    stack is only asked when the resource's stack has dependencies on other stacks or is nested (only then can
    `obtain_dependencies` hold resources of other stacks; the resource's own DependsOn are in its stack)."""
    stack = Stack.of(resource)
    dependencies = [dependency for dependency in resource.obtain_dependencies() if isinstance(dependency, CfnResource)]
    if dependencies and (stack.nested or stack.dependencies):
        dependencies = [dependency for dependency in dependencies if Stack.of(dependency) is stack]
    # One call to aws-cdk-lib for the properties and the dependencies' logical ids together.
    properties, logical_ids = stack.resolve([resource._cfn_properties, [d.logical_id for d in dependencies]])
    referenced = set(_references(properties))
    left = {str(logical_id) for logical_id in logical_ids}
    return sorted(left - referenced) or None


def _references(value: object) -> Iterator[str]:
    """The logical ids a resolved CloudFormation value refers to."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner and isinstance(inner[0], str):
                yield inner[0]
            elif key == "Fn::Sub":
                template = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(template, str):
                    yield from (name.split(".", 1)[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", template))
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def drop_depends_on_already_referenced(resource: CfnResource) -> None:
    """Render the resource's DependsOn without the dependencies its own references already enforce: a token,
    read by aws-cdk-lib while it prepares the app (a call back into Python). A resource whose class sets
    ``needs_no_trimmed_depends_on`` gets no token (its DependsOn holds nothing its properties refer to)."""
    if getattr(resource, "needs_no_trimmed_depends_on", False):
        return
    resource.add_override("DependsOn", Lazy.list(_DependsOnNotReferenced(resource), omit_empty=True))


__all__ = ["depends_on_not_referenced", "drop_depends_on_already_referenced"]
