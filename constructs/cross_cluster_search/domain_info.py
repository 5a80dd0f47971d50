"""DomainInfo: a domain as the connection API names it (owner account, name, region)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Arn, ArnFormat, Stack, Token
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from cross_cluster_search._handler.contract import domain_properties
from cross_cluster_search._handler.properties import check_domain_name, check_owner_id, check_region

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
        object.__setattr__(self, "owner_id", owner_id)
        object.__setattr__(self, "domain_name", domain_name)
        object.__setattr__(self, "region", region)

    @staticmethod
    def from_domain(domain: AnyDomain) -> DomainInfo:
        """Owner and region come from the ARN of an imported domain, otherwise from the domain's stack
        (the `Aws.ACCOUNT_ID`/`Aws.REGION` tokens for environment-agnostic stacks)."""
        if Token.is_unresolved(domain.domain_arn):
            return DomainInfo(owner_id=domain.env.account, domain_name=domain.domain_name, region=domain.env.region)
        arn = Arn.split(domain.domain_arn, ArnFormat.SLASH_RESOURCE_NAME)
        return DomainInfo(owner_id=str(arn.account), domain_name=domain.domain_name, region=str(arn.region))

    def validate(self, field: str) -> None:
        """Check every concrete value; unresolved tokens are left to the handler."""
        for check, name, value in (
            (check_owner_id, "owner_id", self.owner_id),
            (check_domain_name, "domain_name", self.domain_name),
            (check_region, "region", self.region),
        ):
            if not Token.is_unresolved(value):
                check(f"{field}.{name}", value)

    def arn(self, scope: Construct) -> str:
        """The domain's ARN, for IAM statements."""
        return Stack.of(scope).format_arn(
            service="es",
            resource="domain",
            resource_name=self.domain_name,
            region=self.region,
            account=self.owner_id,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def as_properties(self) -> dict[str, str]:
        """The API's DomainInformation structure, as a custom resource property."""
        return domain_properties(self.owner_id, self.domain_name, self.region)


def resolve_domain(value: DomainInfo | AnyDomain, field: str) -> tuple[DomainInfo, Construct | None]:
    """A DomainInfo for either input, and the construct to depend on when it is one."""
    if isinstance(value, DomainInfo):
        return value, None
    if isinstance(value, Construct) and hasattr(value, "domain_name") and hasattr(value, "env"):
        return DomainInfo.from_domain(value), value
    raise TypeError(f"{field} must be a DomainInfo or a domain construct (got {type(value).__name__})")


__all__ = ["AnyDomain", "DomainInfo", "resolve_domain"]
