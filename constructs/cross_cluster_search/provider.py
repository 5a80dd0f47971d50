"""The provider: one Lambda function per stack, shared by every connection resource in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import BundlingOptions, CfnResource, Duration, ILocalBundling, IStableNumberProducer, Lazy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cross_cluster_search._properties import MAX_TIMEOUT_SECONDS

#: The handler's source: the repository's `lambda/` folder (a keyword, so never imported as a package).
HANDLER_DIR = Path(__file__).resolve().parent.parent.parent / "lambda"
#: The newest Python runtime (cdk-nag AwsSolutions-L1); its boto3 has both connection APIs.
RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Seconds the handler keeps back for cleanup and its response (see lambda/index.py), plus slack.
HANDLER_RESERVE_SECONDS = 90
#: How long CloudFormation waits beyond the Lambda's own limit before it gives up on a response.
SERVICE_TIMEOUT_SLACK_SECONDS = 60
_PROVIDER_ID = "CrossClusterSearchConnectionProvider"
_PIP_TARGET = [
    "--platform",
    "manylinux2014_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    RUNTIME.name.removeprefix("python"),
]


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """Bundles without Docker: pip installs lambda/requirements.txt for the Lambda runtime, then copies the handler."""

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
        for source in HANDLER_DIR.glob("*.py"):
            shutil.copy2(source, Path(output_dir) / source.name)
        return True


def handler_code() -> lambda_.Code:
    """The Lambda asset: the handler modules plus crhelper, bundled locally (Docker only as fallback)."""
    return lambda_.Code.from_asset(
        str(HANDLER_DIR),
        exclude=["__pycache__", "*.pyc"],
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            command=["bash", "-c", "pip install -r requirements.txt -t /asset-output && cp *.py /asset-output"],
            local=LocalPipBundling(),
        ),
    )


@jsii.implements(IStableNumberProducer)
class _LongestTimeout:
    """Produces the Lambda timeout from the longest wait any resource of the stack asked for."""

    def __init__(self) -> None:
        self.seconds = 0

    def produce(self) -> float:
        """Lambda timeout in seconds: longest wait plus the handler's reserve, at most 15 minutes."""
        return min(900, self.seconds + HANDLER_RESERVE_SECONDS)


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
        # Before a Delete the handler asks whether another resource of this stack now holds the connection
        # (a renamed construct): only this stack's resources. Before adopting an existing connection it asks
        # which stack holds it (DescribeStackResources by physical id), which names no stack in advance.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["cloudformation:ListStackResources"], resources=[Stack.of(self).stack_id])
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["cloudformation:DescribeStackResources"], resources=["*"]))
        suppress(
            self.role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5",
            "DescribeStackResources by physical id finds the stack that holds a connection before it is adopted; "
            "that stack is not known in advance (read-only)",
            ["Resource::*"],
        )
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=RUNTIME,
            handler="index.handler",
            code=handler_code(),
            timeout=Duration.seconds(MAX_TIMEOUT_SECONDS + HANDLER_RESERVE_SECONDS),
            memory_size=256,
            description="Manages Amazon OpenSearch Service cross-cluster search connections (crhelper)",
            log_group=log_group,
            role=self.role,
            # CloudFormation invokes asynchronously; Lambda would retry a failed or timed-out invocation twice
            # more, after CloudFormation already has its answer or has rolled back. No retries, and no event
            # older than CloudFormation's longest wait for an answer.
            retry_attempts=0,
            max_event_age=service_timeout(MAX_TIMEOUT_SECONDS),
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
        suppress(
            policy,
            "AwsSolutions-IAM5",
            "IAM supports no resource-level permissions for describing, "
            "deleting or accepting cross-cluster connections; create is scoped to the source domain",
            ["Resource::*"],
        )
        resource.node.add_dependency(policy)
        return policy

    @property
    def service_token(self) -> str:
        """The function ARN CloudFormation invokes."""
        return self.function.function_arn


def suppress(construct: Construct, rule: str, reason: str, applies_to: list[str]) -> None:
    """Record a cdk-nag suppression (its documented metadata format; no dependency on cdk-nag)."""
    default_child = construct.node.default_child
    target = default_child if isinstance(default_child, CfnResource) else None
    if target is not None:
        target.add_metadata(
            "cdk_nag", {"rules_to_suppress": [{"id": rule, "reason": reason, "applies_to": applies_to}]}
        )


def service_timeout(timeout_seconds: int) -> Duration:
    """How long CloudFormation waits for a response: the handler's longest run plus slack."""
    return Duration.seconds(timeout_seconds + HANDLER_RESERVE_SECONDS + SERVICE_TIMEOUT_SLACK_SECONDS)
