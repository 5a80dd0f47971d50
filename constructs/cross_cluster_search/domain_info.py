"""DomainInfo: a domain as the connection API names it (owner account, name, region)."""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct, IConstruct

from cross_cluster_search.ccs_handler.contract import domain_properties
from cross_cluster_search.ccs_handler.properties import (
    check_domain_name,
    check_owner_id,
    check_region,
    show,
)
from cross_cluster_search.tokens import unresolved

#: A domain construct of either service (new or imported).
AnyDomain = opensearch.IDomain | elasticsearch.IDomain


@dataclass(frozen=True)
class DomainInfo:
    """A domain as the connection API names it; any value may be a token (checked by the handler then).

    :param owner_id: the 12-digit account id that owns the domain.
    :param domain_name: the domain's name (3-28 characters: a lowercase letter, then a-z, 0-9 or '-').
    :param region: the domain's region, in any AWS partition (e.g. ``eu-west-1``, ``cn-north-1``).
    """

    owner_id: str
    domain_name: str
    region: str

    def __init__(self, *, owner_id: str, domain_name: str, region: str) -> None:
        for name, value in (("owner_id", owner_id), ("domain_name", domain_name), ("region", region)):
            if not isinstance(value, str):
                raise TypeError(f"DomainInfo.{name} must be a str (got {type(value).__name__})")
        object.__setattr__(self, "owner_id", owner_id)
        object.__setattr__(self, "domain_name", domain_name)
        object.__setattr__(self, "region", region)

    @staticmethod
    def from_domain(domain: AnyDomain) -> DomainInfo:
        """The domain as the API names it, for a domain construct of the app or an imported domain.

        A domain construct of the app: its name, and its stack's account and region (the `Aws.ACCOUNT_ID` /
        `Aws.REGION` tokens in environment-agnostic stacks). An imported domain: the account, region and name of
        its ARN (`from_domain_attributes`). `from_domain_endpoint` only guesses the ARN: CDK takes the stack's
        account and region and a name that still carries the endpoint's `search-`/`vpc-` prefix, so there the
        name and region come from the endpoint (`search-<name>-<id>.<region>.es.amazonaws.com`) and the account is
        the stack's.
        """
        if isinstance(domain, (opensearch.Domain, elasticsearch.Domain)):
            # A domain construct of the app: its ARN and endpoint are always its own resource's tokens (nothing
            # to read there), so only the name and the stack's account and region are asked of aws-cdk-lib.
            stack = _stacks[domain] = domain.stack
            account, region, _ = stack_environment(stack)
            return DomainInfo(owner_id=account, domain_name=domain.domain_name, region=region)
        arn = _arn_parts(domain.domain_arn)
        endpoint = _endpoint_parts(domain.domain_endpoint)
        name = domain.domain_name
        # Domain.from_domain_endpoint: CDK's name is its own reading of the endpoint, its ARN the stack's guess.
        guessed = endpoint is not None and name == _cdk_endpoint_guess(domain.domain_endpoint)
        if arn is not None and not guessed:
            return DomainInfo(owner_id=arn[0], domain_name=arn[2], region=arn[1])
        env = domain.env
        if endpoint is not None and (guessed or unresolved(name)):
            owner_id = arn[0] if arn is not None else env.account
            return DomainInfo(owner_id=owner_id, domain_name=endpoint[0], region=endpoint[1])
        return DomainInfo(owner_id=env.account, domain_name=name, region=env.region)

    def validate(self, field: str) -> None:
        """Check every concrete value; unresolved tokens are left to the handler."""
        for check, name, value in (
            (check_owner_id, "owner_id", self.owner_id),
            (check_domain_name, "domain_name", self.domain_name),
            (check_region, "region", self.region),
        ):
            if not unresolved(value):
                check(f"{field}.{name}", value)

    def arn(self, scope: Construct) -> str:
        """The domain's ARN, for IAM statements of `scope`'s stack (as its ``format_arn`` makes it, with its
        partition: ``AWS::Partition``, or the literal with ``@aws-cdk/core:enablePartitionLiterals``)."""
        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        return f"arn:{stack_environment(stack)[2]}:es:{self.region}:{self.owner_id}:domain/{self.domain_name}"

    def as_properties(self) -> dict[str, str]:
        """The API's DomainInformation structure, as a custom resource property."""
        return domain_properties(self.owner_id, self.domain_name, self.region)


#: Each stack's account, region and partition, asked of aws-cdk-lib once (a domain construct's are its stack's).
_environments: weakref.WeakKeyDictionary[Stack, tuple[str, str, str]] = weakref.WeakKeyDictionary()


#: Constructs' stacks and domain constructs' CloudFormation resources, asked of aws-cdk-lib once each (neither
#: changes once the construct exists).
_stacks: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_resources: weakref.WeakKeyDictionary[IConstruct, IConstruct | None] = weakref.WeakKeyDictionary()


def stack_of(construct: IConstruct) -> Stack:
    """``Stack.of(construct)``, asked once per construct."""
    known = _stacks.get(construct)
    if known is None:
        known = _stacks[construct] = Stack.of(construct)
    return known


def default_child_of(construct: IConstruct) -> IConstruct | None:
    """``construct.node.default_child``, asked once per construct (a domain's CfnDomain)."""
    if construct not in _resources:
        _resources[construct] = construct.node.default_child
    return _resources[construct]


def stack_environment(stack: Stack) -> tuple[str, str, str]:
    """The stack's account, region and partition (tokens in an environment-agnostic stack)."""
    known = _environments.get(stack)
    if known is None:
        known = _environments[stack] = (stack.account, stack.region, stack.partition)
    return known


def is_domain(value: object) -> bool:
    """A domain construct or an imported domain (a jsii proxy of `IDomain`, not a Construct): duck-typed."""
    if isinstance(value, (opensearch.Domain, elasticsearch.Domain)):  # without asking aws-cdk-lib
        return True
    return all(hasattr(value, name) for name in ("domain_arn", "domain_name", "domain_endpoint", "env", "node"))


def resolve_domain(value: DomainInfo | AnyDomain, field: str) -> tuple[DomainInfo, Construct | None]:
    """A DomainInfo for either input, and the domain construct of the app to depend on when it is one (an
    imported domain has no resource to depend on)."""
    if isinstance(value, DomainInfo):
        return value, None
    if is_domain(value):
        construct = value if isinstance(value, Construct) else None
        return DomainInfo.from_domain(value), construct
    scalar = isinstance(value, (str, int, float)) or value is None
    shown = show(value) if scalar else type(value).__name__
    hint = (
        f"; for a domain you do not manage in CDK: DomainInfo(owner_id=..., domain_name={value!r}, region=...)"
        if isinstance(value, str)
        else ""
    )
    raise TypeError(
        f"{field} must be a DomainInfo or a domain (aws_opensearchservice / aws_elasticsearch Domain, new or "
        f"imported) (got {shown}){hint}"
    )


#: A domain ARN, arn:<partition>:es:<region>:<account>:domain/<name>; the partition may be a token.
_DOMAIN_ARN = re.compile(r"arn:[^:]+:es:(?P<region>[^:]+):(?P<account>[^:]+):domain/(?P<name>[^/]+)")
#: A domain endpoint: search-<name>-<id>.<region>.es.<suffix> (vpc-... inside a VPC), with or without https://.
_ENDPOINT = re.compile(
    r"(?:https?://)?(?:search|vpc)-(?P<name>[a-z][a-z0-9\-]*)-[a-z0-9]+\.(?P<region>[a-z0-9\-]+)\.es\.[a-z0-9.\-]+/?"
)


def _arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(account, region, name) of a domain ARN whose account, region and name are concrete; else None."""
    if not isinstance(arn, str):
        return None
    match = _DOMAIN_ARN.fullmatch(arn)
    if match is None or any(unresolved(match[key]) for key in ("region", "account", "name")):
        return None
    return match["account"], match["region"], match["name"]


def _endpoint_parts(endpoint: Any) -> tuple[str, str] | None:
    """(name, region) of a concrete domain endpoint; else None."""
    if not isinstance(endpoint, str) or unresolved(endpoint):
        return None
    match = _ENDPOINT.fullmatch(endpoint)
    return None if match is None else (match["name"], match["region"])


def _cdk_endpoint_guess(endpoint: str) -> str:
    """The name aws-cdk-lib's `from_domain_endpoint` takes from an endpoint (its `extractNameFromEndpoint`): the
    host's first label without its last '-' part, prefix kept (`search-logs-abc...` -> `search-logs`)."""
    label = re.sub(r"^https?://", "", endpoint).split("/")[0].split(".")[0]
    return label.rsplit("-", 1)[0]


__all__ = ["AnyDomain", "DomainInfo", "is_domain", "resolve_domain"]
