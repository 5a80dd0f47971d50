"""The destination's access policy: searches through a connection need ``es:ESCrossClusterGet`` for the source's
account on the destination domain's ARN (``…:domain/<name>``, not ``/*``; AWS guide, "Cross-cluster search",
permissions).

A domain construct of the app with a physical name gets the statement in its own ``AccessPolicies`` property:
CloudFormation applies it with the domain, and nothing more is synthesized. aws-cdk-lib's ``Domain`` keeps
statements of its ``access_policies`` prop and of ``add_access_policies`` in a custom resource of its own
(``Custom::OpenSearchAccessPolicy``, an AwsCustomResource function) that sets the domain's *whole* policy with
``UpdateDomainConfig``, over what the property holds. So a domain with that resource (now, or by synthesis:
``settle``) or without a physical name (its ARN would refer to itself) gets the statement through
``add_access_policies`` instead, as before.
"""

from __future__ import annotations

import weakref
from typing import Any, cast

from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from constructs import IConstruct

from cross_cluster_search.domain_info import DomainInfo, default_child_of, stack_environment, stack_of
from cross_cluster_search.tokens import unresolved

SEARCH_ACTION = "es:ESCrossClusterGet"
#: The id aws-cdk-lib gives a domain's access-policy custom resource (``addAccessPolicies`` in
#: aws-opensearchservice/lib/domain.ts and aws-elasticsearch/lib/domain.ts).
LIBRARY_POLICY_IDS = {opensearch.Domain: "AccessPolicy", elasticsearch.Domain: "ESAccessPolicy"}
_VERSION = "2012-10-17"

Domain = opensearch.Domain | elasticsearch.Domain
_CfnDomain = opensearch.CfnDomain | elasticsearch.CfnDomain

#: What this library put into a domain's AccessPolicies property, by domain: (source account, statement) pairs.
_in_property: weakref.WeakKeyDictionary[Domain, list[tuple[str, dict[str, Any]]]] = weakref.WeakKeyDictionary()
#: aws-cdk-lib's access-policy resources that ``settle`` moved statements to, by domain.
_moved_to: weakref.WeakKeyDictionary[Domain, IConstruct | None] = weakref.WeakKeyDictionary()


def grant_search(domain: Domain, destination: DomainInfo, source_account: str) -> IConstruct | None:
    """Allow `source_account` to search `domain` (described by `destination`) through cross-cluster connections.
    Returns aws-cdk-lib's access-policy resource when the statement went there (the connection waits for it, as
    it did when it depended on the whole domain construct); None when it is in the domain's own property."""
    cfn = cast(_CfnDomain, default_child_of(domain))
    name, policy = cfn.domain_name, cfn.access_policies
    statements = _statements(policy)
    if name is None or unresolved(name) or statements is None or library_policy(domain) is not None:
        domain.add_access_policies(_library_statement(domain, source_account))
        return library_policy(domain)
    partition = stack_environment(stack_of(domain))[2]
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{source_account}:root"},
        "Action": SEARCH_ACTION,
        "Resource": f"arn:{partition}:es:{destination.region}:{destination.owner_id}:domain/{name}",
    }
    if statement not in statements:
        cfn.access_policies = {"Version": _VERSION, **(policy or {}), "Statement": [*statements, statement]}
        _in_property.setdefault(domain, []).append((source_account, statement))
    return None


def settle(domain: Domain) -> tuple[list[str], IConstruct | None]:
    """At validation: when the domain got aws-cdk-lib's access-policy resource after a statement was put in its
    property (``add_access_policies`` called after the connection), that resource would overwrite the property;
    move this library's statements to it. A property set again since (``CfnDomain.access_policies = ...``
    after the connection) has lost them: an error saying so. Returns the errors, and aws-cdk-lib's resource
    the statements went to, if they did (for every connection to the domain)."""
    moved = _in_property.pop(domain, None)
    if not moved:
        return [], _moved_to.get(domain)
    if library_policy(domain) is None:
        _in_property[domain] = moved
        present = _statements(cast(_CfnDomain, default_child_of(domain)).access_policies) or []
        lost = [account for account, statement in moved if statement not in present]
        return [
            f"destination_access_policy: the access policy of domain {domain.node.path} was set again after a "
            f"connection added es:ESCrossClusterGet for account {_shown(account)} to it, and no longer has it: set "
            "the domain's access policy before the connection (or with access_policies), or use "
            "destination_access_policy=False and add the statement yourself"
            for account in dict.fromkeys(lost)
        ], None
    cfn = cast(_CfnDomain, default_child_of(domain))
    ours = [statement for _, statement in moved]
    left = [s for s in (_statements(cfn.access_policies) or []) if s not in ours]
    cfn.access_policies = dict(cfn.access_policies, Statement=left) if left else None
    for account in dict.fromkeys(account for account, _ in moved):
        domain.add_access_policies(_library_statement(domain, account))
    moved_to = _moved_to[domain] = library_policy(domain)
    return [], moved_to


def _shown(account: str) -> str:
    return "<the source's account>" if unresolved(account) else account


def library_policy(domain: Domain) -> IConstruct | None:
    """aws-cdk-lib's access-policy custom resource of the domain, if it has one."""
    service = opensearch.Domain if isinstance(domain, opensearch.Domain) else elasticsearch.Domain
    return domain.node.try_find_child(LIBRARY_POLICY_IDS[service])


def _library_statement(domain: Domain, source_account: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=[SEARCH_ACTION], principals=[iam.AccountPrincipal(source_account)], resources=[domain.domain_arn]
    )


def _statements(policy: object) -> list[Any] | None:
    """A policy document's statements, or None when it is not a document this library can add to (a token)."""
    if policy is None:
        return []
    if isinstance(policy, dict) and isinstance(policy.get("Statement", []), list):
        return list(policy.get("Statement", []))
    return None


__all__ = ["SEARCH_ACTION", "grant_search", "settle"]
