"""The provider: one Lambda function per stack, shared by every connection resource in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import (
    Acknowledgment,
    BundlingOptions,
    CfnResource,
    Duration,
    ILocalBundling,
    IStableNumberProducer,
    Lazy,
    Stack,
    SymlinkFollowMode,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cross_cluster_search._handler import contract

#: The handler's source: the packaged `cross_cluster_search._handler` (the repository's `lambda/` folder).
HANDLER_DIR = Path(str(resources.files("cross_cluster_search._handler")))
#: The handler modules' package name inside the Lambda asset, and the function's handler.
ASSET_PACKAGE = "ccs_handler"
HANDLER = f"{ASSET_PACKAGE}.index.handler"
#: The newest Python runtime (cdk-nag AwsSolutions-L1); its boto3 has both connection APIs.
RUNTIME = lambda_.Runtime.PYTHON_3_14
_PROVIDER_ID = "CrossClusterSearchConnectionProvider"
_PIP_TARGET = [
    "--platform",
    "manylinux2014_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    RUNTIME.name.removeprefix("python"),
]


def _copy_handler(output_dir: Path) -> None:
    package = output_dir / ASSET_PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    for source in HANDLER_DIR.glob("*.py"):
        shutil.copyfile(source, package / source.name)


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """Bundles without Docker: pip installs the handler's requirements for the Lambda runtime, then copies the
    handler modules in as the `ccs_handler` package."""

    def try_bundle(self, output_dir: str, *, image: object = None, **_: object) -> bool:  # noqa: ARG002
        """Return True when the asset was bundled here; False lets CDK fall back to Docker."""
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--only-binary=:all:",
            *_PIP_TARGET,
            "--target",
            output_dir,
            "--requirement",
            str(HANDLER_DIR / "requirements.txt"),
        ]
        if subprocess.run(command, check=False).returncode != 0:
            return False
        _copy_handler(Path(output_dir))
        return True


def handler_code() -> lambda_.Code:
    """The Lambda asset: the handler modules plus crhelper, bundled locally (Docker only as fallback)."""
    return lambda_.Code.from_asset(
        str(HANDLER_DIR),
        exclude=["__pycache__", "*.pyc"],
        follow_symlinks=SymlinkFollowMode.ALWAYS,
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            command=[
                "bash",
                "-c",
                f"pip install -r requirements.txt -t /asset-output && mkdir -p /asset-output/{ASSET_PACKAGE} "
                f"&& cp *.py /asset-output/{ASSET_PACKAGE}/",
            ],
            local=LocalPipBundling(),
        ),
    )


@jsii.implements(IStableNumberProducer)
class _LongestTimeout:
    """Produces the Lambda timeout from the longest wait any resource of the stack asked for."""

    def __init__(self) -> None:
        self.seconds = 0

    def produce(self) -> float:
        """Lambda timeout in seconds (contract.lambda_timeout_seconds)."""
        return contract.lambda_timeout_seconds(self.seconds)


class ConnectionProvider(Construct):
    """The stack's single provider function and its role."""

    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        self._longest = _LongestTimeout()
        log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Cross-cluster search connection provider",
        )
        # Only its own log group (the GetAtt Arn already ends in ':*', the group's streams).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        # The handler asks this stack which of its resources hold a connection (a renamed construct, a
        # repeated delivery) and whether it is rolling back (DescribeStacks). Before a deliberate adoption
        # (AdoptConnectionId) it asks which stack holds the connection (DescribeStackResources by physical id,
        # then that stack's full listing past its first 100 resources): stacks not known in advance.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:ListStackResources", "cloudformation:DescribeStacks"],
                resources=[Stack.of(self).stack_id],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStackResources", "cloudformation:ListStackResources"],
                resources=["*"],
            )
        )
        acknowledge(
            cast(Construct, self.role.node.find_child("DefaultPolicy")),
            "AwsSolutions-IAM5",
            "Resource::*",
            "Before a deliberate adoption, DescribeStackResources by physical id and ListStackResources find the "
            "stack that holds the connection; that stack is not known in advance (read-only)",
        )
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=RUNTIME,
            handler=HANDLER,
            code=handler_code(),
            timeout=Duration.seconds(contract.lambda_timeout_seconds(contract.MAX_TIMEOUT_SECONDS)),
            memory_size=256,
            description="Manages Amazon OpenSearch Service cross-cluster search connections (crhelper)",
            log_group=log_group,
            role=self.role,
            # CloudFormation invokes asynchronously; Lambda would retry a failed or timed-out invocation twice
            # more, after CloudFormation already has its answer or has rolled back. No retries, and no event
            # older than CloudFormation's longest wait for an answer.
            retry_attempts=0,
            max_event_age=Duration.seconds(contract.service_timeout_seconds(contract.MAX_TIMEOUT_SECONDS)),
        )
        cfn_function = cast(lambda_.CfnFunction, self.function.node.default_child)
        cfn_function.timeout = Lazy.number(self._longest)

    @staticmethod
    def of(scope: Construct) -> ConnectionProvider:
        """The provider of the scope's stack, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(_PROVIDER_ID)
        return cast(ConnectionProvider, existing) if existing else ConnectionProvider(stack, _PROVIDER_ID)

    def register(
        self, owner: Construct, resource: Construct, timeout_seconds: int, statements: list[iam.PolicyStatement]
    ) -> iam.Policy:
        """Size the Lambda timeout for the resource and give it its own policy (under `owner`),
        which CloudFormation keeps until the resource's own Delete has run."""
        self._longest.seconds = max(self._longest.seconds, timeout_seconds)
        policy = iam.Policy(owner, "Policy", statements=statements, roles=[self.role])
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Resource::*",
            "IAM supports no resource-level permissions for describing, "
            "deleting or accepting cross-cluster connections; create is scoped to the source domain",
        )
        resource.node.add_dependency(policy)
        return policy

    @property
    def service_token(self) -> str:
        """The function ARN CloudFormation invokes."""
        return self.function.function_arn


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
