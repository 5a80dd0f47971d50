"""The provider: one Lambda function per stack, shared by every connection resource in it."""

from __future__ import annotations

import atexit
import base64
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import metadata, resources
from pathlib import Path, PurePosixPath
from typing import Any, cast

import jsii
from aws_cdk import (
    Acknowledgment,
    AssetHashType,
    CfnResource,
    Duration,
    IStableListProducer,
    IStableNumberProducer,
    Lazy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cross_cluster_search.ccs_handler import contract

#: The handler's source: the packaged `cross_cluster_search.ccs_handler` (the repository's `lambda/` folder).
HANDLER_DIR = Path(str(resources.files("cross_cluster_search.ccs_handler")))
#: The handler modules' package name inside the Lambda asset, and the function's handler.
ASSET_PACKAGE = "ccs_handler"
HANDLER = f"{ASSET_PACKAGE}.index.handler"
#: The newest Python runtime (cdk-nag AwsSolutions-L1); its boto3 has both connection APIs.
RUNTIME = lambda_.Runtime.PYTHON_3_14
_PROVIDER_ID = "CrossClusterSearchConnectionProvider"
#: The handler's one dependency, copied into the asset from its installed distribution (pyproject.toml pins
#: it, so every machine copies the same files); boto3 comes from the Lambda runtime.
CRHELPER = "crhelper"
#: crhelper's licence and notice (Apache-2.0) travel with it, under THIRD-PARTY-LICENSES/crhelper/. Nothing
#: else from its .dist-info: METADATA, RECORD, INSTALLER and REQUESTED differ with the installer (pip, uv) and
#: with how the wheel was built.
_LICENSE_FILES = ("LICENSE", "NOTICE")
#: Changes whenever the way the asset is laid out changes (part of the asset hash).
_ASSET_FORMAT = "cross-cluster-search-asset/1"


class AssetError(RuntimeError):
    """The Lambda asset cannot be built from the installed packages."""


def _record_digest(file: metadata.PackagePath) -> bytes | None:
    """The sha256 digest the distribution's RECORD gives for the file, if any."""
    if file.hash is None or file.hash.mode != "sha256":
        return None
    value = file.hash.value
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def asset_files() -> dict[str, bytes]:
    """The asset's files by their relative POSIX path: the handler modules as the `ccs_handler` package and
    crhelper's package files from its installed distribution, each checked against the distribution's RECORD.
    No bytecode, no installer metadata: the same bytes on every machine, Python version and directory."""
    files = {f"{ASSET_PACKAGE}/{source.name}": source.read_bytes() for source in HANDLER_DIR.glob("*.py")}
    try:
        dist = metadata.distribution(CRHELPER)
    except metadata.PackageNotFoundError as error:
        raise AssetError(f"{CRHELPER} is not installed: pip install 'cross-cluster-search' installs it") from error
    for file in dist.files or []:
        parts = PurePosixPath(file.as_posix()).parts
        licence = parts[0].endswith(".dist-info") and parts[-1] in _LICENSE_FILES
        if not licence and (parts[0] != CRHELPER or "__pycache__" in parts or file.suffix == ".pyc"):
            continue
        content = Path(str(file.locate())).read_bytes()
        expected = _record_digest(file)
        if expected is None or hashlib.sha256(content).digest() != expected:
            raise AssetError(f"{CRHELPER}'s installed file {file} does not match its RECORD: reinstall {CRHELPER}")
        name = f"THIRD-PARTY-LICENSES/{CRHELPER}/{parts[-1]}" if licence else "/".join(parts)
        files[name] = content
    if f"{CRHELPER}/resource_helper.py" not in files:
        raise AssetError(f"{CRHELPER}'s installed distribution lists no {CRHELPER}/resource_helper.py")
    return dict(sorted(files.items()))


def asset_hash(files: dict[str, bytes]) -> str:
    """sha256 over the asset's sorted paths and contents (nothing else: no times, modes or locations)."""
    digest = hashlib.sha256(_ASSET_FORMAT.encode())
    for name, content in sorted(files.items()):
        digest.update(b"\0" + name.encode() + b"\0" + str(len(content)).encode() + b"\0" + content)
    return digest.hexdigest()


@cache
def staged_asset() -> tuple[Path, str]:
    """The asset laid out once per process in a temporary directory (CDK copies it into the cloud assembly),
    and its hash."""
    files = asset_files()
    root = Path(tempfile.mkdtemp(prefix="ccs-asset-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for name, content in files.items():
        target = root.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o644)  # whatever the umask: Lambda reads the code as another user
    for directory in (root, *(p for p in root.rglob("*") if p.is_dir())):
        directory.chmod(0o755)
    return root, asset_hash(files)


def handler_code() -> lambda_.Code:
    """The Lambda asset: the handler modules plus crhelper, from the installed packages (no pip, no Docker,
    no network at synth time)."""
    root, digest = staged_asset()
    return lambda_.Code.from_asset(str(root), asset_hash=digest, asset_hash_type=AssetHashType.CUSTOM)


@jsii.implements(IStableNumberProducer)
class _LongestTimeout:
    """Produces the Lambda timeout from the longest wait any resource of the stack asked for."""

    def __init__(self) -> None:
        self.seconds = 0

    def produce(self) -> float:
        """Lambda timeout in seconds (contract.lambda_timeout_seconds)."""
        return contract.lambda_timeout_seconds(self.seconds)


#: AWSLambdaVPCAccessExecutionRole's EC2 actions (AWS managed policy reference, v3), granted inline so the role
#: carries no AWS managed policy (cdk-nag AwsSolutions-IAM4). Lambda needs them on the execution role to
#: create and remove the function's network interfaces; DescribeNetworkInterfaces only works on "*" (AWS Lambda
#: developer guide, "Giving Lambda functions access to resources in an Amazon VPC", execution role permissions).
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
#: Lambda's memory limits in MB (Lambda quotas: 128 MB to 10,240 MB).
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240


@dataclass(frozen=True)
class ProviderOptions:
    """How the stack's one provider function is set up (see ``configure_provider``).

    :param vpc: the VPC to place the function in. :default: - not in a VPC
    :param vpc_subnets: where in ``vpc`` (private subnets with a route to the APIs the handler calls).
        :default: - the VPC's private subnets (CDK's default for functions)
    :param security_groups: the function's security groups (outbound HTTPS needed).
        :default: - CDK creates one that allows all outbound traffic
    :param log_retention: how long the function's log group keeps its logs. :default: - one month
    :param memory_size: the function's memory in MB (128-10240). :default: - 256
    """

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: tuple[ec2.ISecurityGroup, ...] | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    memory_size: int = 256

    def __post_init__(self) -> None:
        if self.vpc_subnets is not None and self.vpc is None:
            raise ValueError("vpc_subnets needs vpc")
        if self.security_groups is not None and self.vpc is None:
            raise ValueError("security_groups needs vpc")
        if not isinstance(self.log_retention, logs.RetentionDays):
            raise TypeError(f"log_retention must be an aws_logs.RetentionDays (got {self.log_retention!r})")
        memory = self.memory_size
        if not Token.is_unresolved(memory) and (
            isinstance(memory, bool) or not isinstance(memory, int) or not MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB
        ):
            raise ValueError(
                f"memory_size must be a whole number of MB from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} (got {memory!r})"
            )


class ConnectionProvider(Construct):
    """The stack's single provider function and its role, shared by every connection resource in the stack.

    ``ConnectionProvider.of(stack)`` returns it (created with default options on first use);
    ``configure_provider`` creates it with options. ``function``, ``role`` and ``log_group`` are the
    underlying CDK constructs.
    """

    def __init__(self, scope: Construct, id_: str, *, options: ProviderOptions | None = None) -> None:
        super().__init__(scope, id_)
        self.options = options or ProviderOptions()
        self._longest = _LongestTimeout()
        self.log_group = logs.LogGroup(self, "Logs", retention=self.options.log_retention)
        log_group = self.log_group
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
        reason = (
            "Before a deliberate adoption, DescribeStackResources by physical id and ListStackResources find the "
            "stack that holds the connection; that stack is not known in advance (read-only)"
        )
        if self.options.vpc is not None:
            self.role.add_to_policy(iam.PolicyStatement(actions=VPC_ACTIONS, resources=["*"]))
            reason += (
                ". In a VPC, Lambda creates and removes the function's network interfaces, which no policy can "
                "name in advance (the EC2 actions of AWSLambdaVPCAccessExecutionRole)"
            )
        acknowledge(
            cast(Construct, self.role.node.find_child("DefaultPolicy")), "AwsSolutions-IAM5", "Resource::*", reason
        )
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=RUNTIME,
            handler=HANDLER,
            code=handler_code(),
            timeout=Duration.seconds(contract.lambda_timeout_seconds(contract.MAX_TIMEOUT_SECONDS)),
            memory_size=self.options.memory_size,
            vpc=self.options.vpc,
            vpc_subnets=self.options.vpc_subnets,
            security_groups=list(self.options.security_groups) if self.options.security_groups else None,
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
        # Lambda's L2 makes the function depend on its role, which its Role property already refers to.
        drop_depends_on_already_referenced(cfn_function)

    @staticmethod
    def of(scope: Construct) -> ConnectionProvider:
        """The provider of the scope's stack, created with default options on first use."""
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
        drop_depends_on_already_referenced(cast(CfnResource, resource.node.default_child))
        return policy

    @property
    def service_token(self) -> str:
        """The function ARN CloudFormation invokes."""
        return self.function.function_arn


@jsii.implements(IStableListProducer)
class _DependsOnNotReferenced:
    """A resource's DependsOn without the resources its properties already refer to (`Ref`, `Fn::GetAtt`,
    `Fn::Sub`): CloudFormation orders those anyway, and cfn-lint warns about each (W3005). Every other
    dependency, e.g. on a connection's own IAM policy or on a domain the properties do not name, stays."""

    def __init__(self, resource: CfnResource) -> None:
        self.resource = resource

    def produce(self) -> list[str] | None:
        """The logical ids left, sorted as CDK renders DependsOn; None (no DependsOn) when none is left."""
        stack = Stack.of(self.resource)
        referenced = set(_references(stack.resolve(self.resource._cfn_properties)))
        left = {
            str(stack.resolve(dependency.logical_id))
            for dependency in self.resource.obtain_dependencies()
            if isinstance(dependency, CfnResource) and Stack.of(dependency) is stack
        }
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
    """Render the resource's DependsOn without the dependencies its own references already enforce."""
    resource.add_override("DependsOn", Lazy.list(_DependsOnNotReferenced(resource), omit_empty=True))


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


def configure_provider(
    scope: Construct,
    *,
    vpc: ec2.IVpc | None = None,
    vpc_subnets: ec2.SubnetSelection | None = None,
    security_groups: Sequence[ec2.ISecurityGroup] | None = None,
    log_retention: logs.RetentionDays | None = None,
    memory_size: int | None = None,
) -> ConnectionProvider:
    """Set up the one provider function of the scope's stack; call it before the stack's first connection.

    Every connection construct in the stack shares this function. Calling it again with the same values is
    fine; a different value for an option the provider already has (from an earlier call, or the defaults a
    connection created it with) fails naming the option.

    :param scope: any construct in the stack.
    :param vpc: the VPC to place the function in; it then needs a route (NAT or VPC endpoints) to the
        ES/OpenSearch API, CloudFormation, STS (with ``accept_role_arn``) and S3 (the response URL).
        :default: - not in a VPC
    :param vpc_subnets: where in ``vpc``. :default: - the VPC's private subnets
    :param security_groups: the function's security groups. :default: - one that allows all outbound traffic
    :param log_retention: the function's log retention. :default: - ``RetentionDays.ONE_MONTH``
    :param memory_size: the function's memory in MB (128-10240). :default: - 256
    :returns: the stack's provider (``function``, ``role`` and ``log_group`` are its CDK constructs).
    """
    defaults = ProviderOptions()
    requested = {
        "vpc": vpc,
        "vpc_subnets": vpc_subnets,
        "security_groups": tuple(security_groups) if security_groups is not None else None,
        "log_retention": log_retention,
        "memory_size": memory_size,
    }
    given: dict[str, Any] = {name: value for name, value in requested.items() if value is not None}
    options = replace(defaults, **given)  # validates
    stack = Stack.of(scope)
    existing = cast(ConnectionProvider | None, stack.node.try_find_child(_PROVIDER_ID))
    if existing is None:
        return ConnectionProvider(stack, _PROVIDER_ID, options=options)
    for name, value in given.items():
        current = getattr(existing.options, name)
        if not _same(current, value):
            raise ValueError(
                f"{name}: the connection provider of stack {stack.stack_name!r} already has {_show(current)}, "
                f"not {_show(value)}; configure it once (configure_provider before the stack's first connection)"
            )
    return existing


def _same(left: object, right: object) -> bool:
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    return left is right or left == right


def _show(value: object) -> str:
    if value is None:
        return "none"
    node = getattr(value, "node", None)
    if node is not None:
        return f"{type(value).__name__} {node.path}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return repr(value)
