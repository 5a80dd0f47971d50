#!/usr/bin/env python3
"""Sample app: two domains ready for cross-cluster search and replication, connected with auto-accept; the
source side's LogReader role may search the destination's logs-* through the connection (checked by a smoke
search at deploy time), and the source follows the destination's index logs-2026 (the connection's source is
the follower, its destination the leader). One IAM role, SearchAdmin, is both domains' fine-grained access
control master user: the provider function assumes it to call their REST API.

Without the context keys below the app creates both domains; the data plane (search access and replication)
needs domains of the app, whose endpoints and admin role it knows.

Context keys (all optional) connect existing domains instead of creating new ones:
  -c source_domain=NAME            existing source domain in this stack's account and region
  -c destination_domain=NAME       existing destination domain
  -c destination_region=REGION     destination region (default: the stack's region)
  -c destination_account=ACCOUNT   destination account (default: the stack's account; another
                                   account is not auto-accepted)
  -c connection_alias=ALIAS        connection alias (default: demo)
"""

from __future__ import annotations

import os

# jsii warns on every run that Node 20 is past its end of life; the CDK still works on it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct, IConstruct

from cross_cluster_search import (
    DomainInfo,
    FollowerIndex,
    OutboundConnection,
    RemoteSearchAccess,
    acknowledge_access_policy_function,
)

#: Why the demo domains deviate from cdk-nag's AwsSolutions rules (a production stack would not).
DEMO_DOMAIN_EXCEPTIONS = {
    "AwsSolutions-OS1": "Demo domains use public endpoints so the sample needs no VPC; access is HTTPS-only with "
    "fine-grained access control",
    "AwsSolutions-OS3": "Fine-grained access control authenticates every request; an IP allowlist would tie the "
    "sample to one network",
    "AwsSolutions-OS4": "A single-node demo domain keeps the sample cheap; production domains want three dedicated "
    "master nodes",
    "AwsSolutions-OS5": "The access policy lets requests reach the domain, where fine-grained access control "
    "rejects unsigned and anonymous ones",
    "AwsSolutions-OS7": "A single-node demo domain cannot use zone awareness; production domains want two or three "
    "zones",
    **{
        f"AwsSolutions-OS9[LogExport::{log}]": "Slow-log publishing needs a log resource policy custom resource; "
        "left out of the minimal demo"
        for log in ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS")
    },
}
SECRET_EXCEPTION = {
    "AwsSolutions-SMG4": "The demo domain's master user secret is generated once; rotating it would also need a "
    "rotation function outside the sample's scope",
}


def nag_exceptions(resource: IConstruct | None, reasons: dict[str, str]) -> None:
    """Record why a resource deviates from cdk-nag rules: as aws-cdk-lib's Validations acknowledgements
    (cdk-nag 3) and in the `cdk_nag` metadata format (cdk-nag 2)."""
    if isinstance(resource, cdk.CfnResource):
        rules = []
        for finding, reason in reasons.items():  # "Rule" or "Rule[Finding]"
            cdk.Validations.of(resource).acknowledge(cdk.Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason))
            rule, _, applies_to = finding.partition("[")
            rules.append({"id": rule, "reason": reason, **({"applies_to": [applies_to[:-1]]} if applies_to else {})})
        resource.add_metadata("cdk_nag", {"rules_to_suppress": rules})


def demo_domain(scope: Construct, id_: str, domain_name: str, admin: iam.IRole) -> opensearch.Domain:
    """A small domain that meets cross-cluster search's and replication's prerequisites, with `admin` as its
    fine-grained access control master user."""
    domain = opensearch.Domain(
        scope,
        id_,
        domain_name=domain_name,
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        capacity=opensearch.CapacityConfig(
            data_nodes=1, data_node_instance_type="m6g.large.search", multi_az_with_standby_enabled=False
        ),
        ebs=opensearch.EbsOptions(volume_size=10),
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=admin.role_arn),
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    nag_exceptions(domain.node.default_child, DEMO_DOMAIN_EXCEPTIONS)
    if domain.master_user_password is not None:
        nag_exceptions(domain.node.find_child("MasterUser").node.default_child, SECRET_EXCEPTION)
    return domain


class CrossClusterSearchDemo(cdk.Stack):
    """Declares (or references) a source and a destination domain and connects them."""

    def __init__(self, scope: Construct, id_: str, **kwargs: object) -> None:
        super().__init__(scope, id_, **kwargs)  # type: ignore[arg-type]
        context = self.node.try_get_context
        alias = context("connection_alias") or "demo"
        source: DomainInfo | opensearch.IDomain
        destination: DomainInfo | opensearch.IDomain
        if context("source_domain") and context("destination_domain"):
            source = DomainInfo(owner_id=self.account, domain_name=context("source_domain"), region=self.region)
            destination = DomainInfo(
                owner_id=context("destination_account") or self.account,
                domain_name=context("destination_domain"),
                region=context("destination_region") or self.region,
            )
            connection = OutboundConnection(
                self, "Connection", source=source, destination=destination, connection_alias=alias
            )
        else:
            # Your own roles would do: any role that each domain's fine-grained access control maps to all_access
            # or security_manager, and the principals of your source side that search.
            admin = iam.Role(self, "SearchAdmin", assumed_by=iam.AccountRootPrincipal())
            reader = iam.Role(self, "LogReader", assumed_by=iam.AccountRootPrincipal())
            source = demo_domain(self, "SourceDomain", "ccs-demo-source", admin)
            destination = demo_domain(self, "DestinationDomain", "ccs-demo-destination", admin)
            connection = OutboundConnection(
                self, "Connection", source=source, destination=destination, connection_alias=alias
            )
            RemoteSearchAccess(
                self,
                "LogSearch",
                connection=connection,
                admin_role=admin,
                index_patterns=["logs-*"],
                backend_roles=[reader.role_arn],
                smoke_search_role=reader,
            )
            FollowerIndex(
                self,
                "LogReplica",
                connection=connection,
                leader_index="logs-2026",
                leader_admin_role=admin,
                follower_admin_role=admin,
                stop_replication_on_delete=True,
            )
        # aws-cdk-lib's access-policy function, which the destination's es:ESCrossClusterGet statement brings
        acknowledge_access_policy_function(self)
        cdk.CfnOutput(self, "ConnectionId", value=connection.connection_id)
        cdk.CfnOutput(self, "ConnectionStatus", value=connection.connection_status)


if __name__ == "__main__":
    app = cdk.App()
    CrossClusterSearchDemo(app, "CrossClusterSearchDemo")
    app.synth()
