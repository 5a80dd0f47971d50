"""cdk-nag 3 (AwsSolutions) finds nothing unexplained, in the sample app and in a user's app with every construct
and option; cfn-lint finds no errors."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint

import cross_cluster_search.nag
from app import CrossClusterSearchDemo
from cross_cluster_search import (
    ConnectionApi,
    ConnectionMode,
    DomainInfo,
    InboundConnectionAccepter,
    OutboundConnection,
)

ACCOUNT = "111111111111"
LOGS = DomainInfo(owner_id=ACCOUNT, domain_name="logs", region="eu-west-1")
LOGS_ARCHIVE = DomainInfo(owner_id=ACCOUNT, domain_name="archive", region="eu-west-1")
ROOT = Path(__file__).resolve().parents[2]


def nag_report(app: cdk.App, outdir: Path) -> dict[str, Any]:
    """Synthesize with cdk-nag 3 as a validation plugin and read its report (synth fails on errors)."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error), error
    [report] = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    return dict(report)


def user_app(outdir: Path) -> cdk.App:
    """A user's stack with both constructs and every option."""
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "UserStack", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    OutboundConnection(
        stack,
        "Full",
        source=LOGS,
        destination=DomainInfo(owner_id="222222222222", domain_name="partner", region="eu-central-1"),
        connection_alias="partner-logs",
        accept_connection=True,
        timeout=cdk.Duration.minutes(13),
        removal_policy=cdk.RemovalPolicy.RETAIN,
        api=ConnectionApi.OPENSEARCH,
        connection_mode=ConnectionMode.VPC_ENDPOINT,
        skip_unavailable=True,
        accept_role_arn="arn:aws:iam::222222222222:role/accept",
        accept_role_external_id="shared-secret",
    )
    OutboundConnection(
        stack,
        "Plain",
        source=LOGS,
        destination=DomainInfo(owner_id=ACCOUNT, domain_name="archive", region="eu-west-1"),
        connection_alias="archive",
    )
    OutboundConnection(
        stack,
        "Pending",
        source=LOGS,
        destination=DomainInfo(owner_id="333333333333", domain_name="other", region="eu-west-1"),
        connection_alias="other",
        accept_connection=False,
    )
    InboundConnectionAccepter(
        stack,
        "Accepter",
        source=DomainInfo(owner_id="444444444444", domain_name="requester", region="eu-west-1"),
        destination=LOGS,
        connection_alias="incoming",
        timeout=cdk.Duration.seconds(30),
        removal_policy=cdk.RemovalPolicy.RETAIN,
        api=ConnectionApi.OPENSEARCH,
        connection_id="cc-0123456789",
    )
    return app


def test_a_users_app_with_every_construct_and_option_has_no_findings(tmp_path: Path) -> None:
    report = nag_report(user_app(tmp_path), tmp_path)
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    acknowledged = report["suppressedViolations"]
    assert acknowledged, "the library's wildcard resources are acknowledged, not absent"
    for finding in acknowledged:
        assert finding["acknowledgedId"] == "AwsSolutions::AwsSolutions-IAM5[Resource::*]"
        assert len(finding["reason"]) >= 60, finding["reason"]


def test_without_the_acknowledgements_cdk_nag_3_reports_the_wildcards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: cdk-nag 3 reads no v2 metadata, so the Validations acknowledgements are what silences it."""
    monkeypatch.setattr(cross_cluster_search.nag, "Validations", _NoAcknowledgements)  # v2 metadata only
    report = nag_report(user_app(tmp_path), tmp_path)
    assert report["conclusion"] == "failure"
    assert {v["ruleName"] for v in report["violations"]} == {"AwsSolutions-IAM5[Resource::*]"}


class _NoAcknowledgements:
    @staticmethod
    def of(_: Any) -> Any:
        return _NoAcknowledgements()

    def acknowledge(self, *_: Any) -> None:
        """Records nothing."""


@pytest.mark.parametrize(
    "context", [{}, {"source_domain": "logs", "destination_domain": "archive", "destination_region": "eu-west-1"}]
)
def test_the_sample_app_has_no_unacknowledged_findings(tmp_path: Path, context: dict[str, str]) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": [], **context})
    CrossClusterSearchDemo(app, "Demo")
    report = nag_report(app, tmp_path)
    assert report["violations"] == [], [v["ruleName"] for v in report["violations"]]
    assert all(len(s["reason"]) >= 30 for s in report["suppressedViolations"])


def test_every_v2_suppression_gives_a_specific_reason() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = CrossClusterSearchDemo(app, "Demo")
    reasons = [
        r["reason"]
        for resource in cdk.assertions.Template.from_stack(stack).to_json()["Resources"].values()
        for r in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert reasons and all(len(reason) >= 30 for reason in reasons)


def test_cfn_lint_finds_no_errors(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": []})
    CrossClusterSearchDemo(app, "Demo")
    app.synth()
    template = (tmp_path / "Demo.template.json").read_text()
    matches = lint(template, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []
    # No DependsOn that a Ref or GetAtt already enforces (the connection on its domains, the function on its
    # role); the connection still depends on its own policy, which nothing of it refers to.
    # aws-cdk-lib's own AwsCustomResource function behind the domain's Custom::OpenSearchAccessPolicy (its
    # fixed singleton id) depends on its role; that is the CDK's, not this library's.
    cdk_own = "AWS679f53fac002430cb0da5b7982bd2287"
    assert [str(m) for m in matches if m.rule.id == "W3005" and cdk_own not in str(m)] == []
    resources = json.loads(template)["Resources"]
    [connection] = [r for r in resources.values() if r["Type"] == "Custom::OutboundCrossClusterSearchConnection"]
    assert any(resources[d]["Type"] == "AWS::IAM::Policy" for d in connection["DependsOn"])


def test_a_dependency_no_property_refers_to_is_kept(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "UserStack", env=cdk.Environment(account=ACCOUNT, region="eu-west-1"))
    topic = cdk.CfnResource(stack, "Topic", type="AWS::SNS::Topic")
    connection = OutboundConnection(stack, "Plain", source=LOGS, destination=LOGS_ARCHIVE, connection_alias="archive")
    connection.node.add_dependency(topic)
    resources = cdk.assertions.Template.from_stack(stack).to_json()["Resources"]
    [resource] = [r for r in resources.values() if r["Type"] == "Custom::OutboundCrossClusterSearchConnection"]
    assert "Topic" in resource["DependsOn"]


def test_cdk_json_sets_every_flag_the_installed_aws_cdk_lib_recommends() -> None:
    """`cdk synth` then prints no "N feature flags are not configured" notice to a newcomer."""
    [tarball] = (Path(cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        recommended = json.load(member)
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert {flag: context.get(flag) for flag in recommended} == recommended


def test_building_the_wheel_installs_no_test_toolchain() -> None:
    """`make dist` builds in its own minimal environment (pip's build isolation: setuptools only)."""
    plan = subprocess.run(["make", "-n", "-B", "dist"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "-m build --outdir dist" in plan
    assert "requirements-dev.txt" not in plan and "npm ci" not in plan, plan


def _domains_stack_app(
    outdir: Path, *, acknowledged: bool, own_policy: bool = False
) -> tuple[cdk.App, cdk.Stack, cdk.Stack]:
    """A user's app: the domains in one stack, the connection in another; the user's own domain findings
    acknowledged as the sample app does, the library's through the documented helper when `acknowledged`.
    `own_policy`: the archive has an access policy of the user's (kept by aws-cdk-lib's access-policy function)."""
    from aws_cdk import aws_iam as iam  # noqa: PLC0415
    from aws_cdk import aws_opensearchservice as opensearch  # noqa: PLC0415

    from app import DEMO_DOMAIN_EXCEPTIONS, SECRET_EXCEPTION, nag_exceptions  # noqa: PLC0415
    from cross_cluster_search import acknowledge_access_policy_function  # noqa: PLC0415

    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    env = cdk.Environment(account=ACCOUNT, region="eu-west-1")
    domains = cdk.Stack(app, "Domains", env=env)
    found = []
    for id_, name in (("Logs", "logs"), ("Archive", "archive")):
        domain = opensearch.Domain(
            domains,
            id_,
            domain_name=name,
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(data_nodes=1, multi_az_with_standby_enabled=False),
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name="admin"),
            node_to_node_encryption=True,
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            enforce_https=True,
        )
        nag_exceptions(domain.node.default_child, DEMO_DOMAIN_EXCEPTIONS)
        nag_exceptions(domain.node.find_child("MasterUser").node.default_child, SECRET_EXCEPTION)
        found.append(domain)
    if own_policy:
        reader = iam.AccountRootPrincipal()
        found[1].add_access_policies(
            iam.PolicyStatement(actions=["es:ESHttpGet"], principals=[reader], resources=[f"{found[1].domain_arn}/*"])
        )
    search = cdk.Stack(app, "Search", env=env)
    OutboundConnection(search, "LogsToArchive", source=found[0], destination=found[1], connection_alias="archive")
    if acknowledged:
        expected = [f"Domains/{ACCESS_POLICY_FUNCTION}/ServiceRole"] if own_policy else []
        assert acknowledge_access_policy_function(app) == expected
    return app, domains, search


ACCESS_POLICY_FUNCTION = cross_cluster_search.nag.ACCESS_POLICY_FUNCTION_ID


def test_the_access_policy_lands_in_the_domains_stack_not_the_connections(tmp_path: Path) -> None:
    for own_policy in (False, True):
        _, domains, search = _domains_stack_app(tmp_path / str(own_policy), acknowledged=False, own_policy=own_policy)
        in_domains = cdk.assertions.Template.from_stack(domains).to_json()["Resources"]
        in_search = cdk.assertions.Template.from_stack(search).to_json()["Resources"]
        [archive] = [r for r in in_domains.values() if r["Properties"].get("DomainName") == "archive"]
        policies = [r for r in in_domains.values() if r["Type"] == "Custom::OpenSearchAccessPolicy"]
        if own_policy:  # in aws-cdk-lib's access-policy resource, whose function is beside the domain
            [policy] = policies
            assert "es:ESCrossClusterGet" in json.dumps(policy["Properties"])
            assert ACCESS_POLICY_FUNCTION in "".join(in_domains)
        else:  # in the domain's own property, and nothing else
            assert "es:ESCrossClusterGet" in json.dumps(archive["Properties"]["AccessPolicies"])
            assert not policies and ACCESS_POLICY_FUNCTION not in "".join(in_domains)
        assert not [r for r in in_search.values() if r["Type"] == "Custom::OpenSearchAccessPolicy"]
        assert ACCESS_POLICY_FUNCTION not in "".join(in_search) and "ESCrossClusterGet" not in json.dumps(in_search)
        assert [r["Type"] for r in in_search.values()].count("Custom::OutboundCrossClusterSearchConnection") == 1


def test_cdk_nag_reports_the_access_policy_function_until_the_documented_acknowledgement(tmp_path: Path) -> None:
    """A user's multi-stack app: a clean run as it is; with a destination whose access policy aws-cdk-lib keeps,
    the one finding left without the helper is AwsSolutions-IAM4 on aws-cdk-lib's access-policy function (in the
    domains' stack); with it, a clean run."""
    app, _, _ = _domains_stack_app(tmp_path / "plain", acknowledged=False)
    report = nag_report(app, tmp_path / "plain")
    assert report["conclusion"] == "success" and report["violations"] == []
    app, _, _ = _domains_stack_app(tmp_path / "without", acknowledged=False, own_policy=True)
    report = nag_report(app, tmp_path / "without")
    found = {(v["ruleName"], c["constructPath"]) for v in report["violations"] for c in v["violatingConstructs"]}
    assert found == {
        (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            f"Domains/{ACCESS_POLICY_FUNCTION}/ServiceRole/Resource",
        )
    }
    app, _, _ = _domains_stack_app(tmp_path / "with", acknowledged=True, own_policy=True)
    report = nag_report(app, tmp_path / "with")
    assert report["conclusion"] == "success"
    assert report["violations"] == []
