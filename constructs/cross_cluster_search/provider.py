"""The provider: one Lambda function per stack, shared by every connection resource in it, and its options.

The asset it runs is laid out in asset.py, its DependsOn trimmed in dependencies.py, the cdk-nag findings of its
wildcard statements acknowledged in nag.py.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import jsii
from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IValidation

from cross_cluster_search.asset import HANDLER, data_plane_layer_code, handler_code
from cross_cluster_search.ccs_handler import contract
from cross_cluster_search.dependencies import drop_depends_on_already_referenced
from cross_cluster_search.nag import acknowledge
from cross_cluster_search.tokens import unresolved

#: The newest Python runtime (cdk-nag AwsSolutions-L1); its boto3 has both connection APIs.
RUNTIME = lambda_.Runtime.PYTHON_3_14
_PROVIDER_ID = "CrossClusterSearchConnectionProvider"
#: Each stack's provider (its child _PROVIDER_ID), found without asking aws-cdk-lib.
_providers: weakref.WeakKeyDictionary[Stack, ConnectionProvider] = weakref.WeakKeyDictionary()


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
        if not unresolved(memory) and (
            isinstance(memory, bool) or not isinstance(memory, int) or not MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB
        ):
            raise ValueError(
                f"memory_size must be a whole number of MB from {MIN_MEMORY_MB} to {MAX_MEMORY_MB} (got {memory!r})"
            )


def allow(actions: Sequence[str], resource: str | Sequence[str]) -> dict[str, Any]:
    """An IAM policy statement allowing `actions` on `resource` (an ARN, "*", or several), as JSON: a policy
    document is passed to aws-cdk-lib whole (``document``), one call instead of one per statement."""
    resources = resource if isinstance(resource, str) else list(resource)
    return {"Effect": "Allow", "Action": list(actions), "Resource": resources}


def document(statements: Sequence[dict[str, Any]]) -> iam.PolicyDocument:
    """A policy document of ``allow`` statements, rendered by aws-cdk-lib as its PolicyStatements would be."""
    return iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": list(statements)})


@jsii.implements(IValidation)
class _SettledDependsOn:
    """At validation (once aws-cdk-lib has turned the L2's construct dependency into resource dependencies): the
    function without a DependsOn on its role, which its Role property already refers to (cfn-lint W3005). What
    else the function depends on stays (a DefaultPolicy a user's ``role.add_to_policy`` made, a VPC's routes)."""

    def __init__(self, function: lambda_.CfnFunction, role: CfnResource) -> None:
        self._function = function
        self._role = role

    def validate(self) -> list[str]:
        self._function.remove_resource_dependency(self._role)
        return []


class ConnectionProvider(Construct):
    """The stack's single provider function and its role, shared by every connection resource in the stack.

    ``ConnectionProvider.of(stack)`` returns it (created with default options on first use);
    ``configure_provider`` creates it with options. ``function``, ``role`` and ``log_group`` are the
    underlying CDK constructs.
    """

    def __init__(self, scope: Construct, id: str, *, options: ProviderOptions | None = None) -> None:
        super().__init__(scope, id)
        self.options = options or ProviderOptions()
        #: The longest wait any resource of the stack asked for (register): it sizes the function's timeout and
        #: its maximum event age, set on the L1s when it grows (no token to call back into Python at synthesis).
        self._longest_seconds = 0
        stack = scope if isinstance(scope, Stack) else Stack.of(self)
        self.log_group = logs.LogGroup(self, "Logs", retention=self.options.log_retention)
        # Only its own log group (the GetAtt Arn already ends in ':*', the group's streams).
        statements: list[dict[str, Any]] = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], self.log_group.log_group_arn)
        ]
        # The handler asks this stack which of its resources hold a connection (a renamed construct, a
        # repeated delivery) and whether it is rolling back (DescribeStacks). Before a deliberate adoption
        # (AdoptConnectionId) it asks which stack holds the connection (DescribeStackResources by physical id,
        # then that stack's full listing past its first 100 resources): stacks not known in advance.
        statements.append(allow(["cloudformation:ListStackResources", "cloudformation:DescribeStacks"], stack.stack_id))
        statements.append(allow(["cloudformation:DescribeStackResources", "cloudformation:ListStackResources"], "*"))
        reason = (
            "Before a deliberate adoption, DescribeStackResources by physical id and ListStackResources find the "
            "stack that holds the connection; that stack is not known in advance (read-only)"
        )
        if self.options.vpc is not None:
            statements.append(allow(VPC_ACTIONS, "*"))
            reason += (
                ". In a VPC, Lambda creates and removes the function's network interfaces, which no policy can "
                "name in advance (the EC2 actions of AWSLambdaVPCAccessExecutionRole)"
            )
        # The role's own permissions are an inline policy of the role: part of the role, so they exist before the
        # function (which refers to the role) without a DependsOn, in one resource instead of two.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Cross-cluster search connection provider",
            inline_policies={"ConnectionProvider": document(statements)},
        )
        cfn_role = acknowledge(self.role, "AwsSolutions-IAM5", "Resource::*", reason, fresh=True)
        assert cfn_role is not None  # an iam.Role's default child is its CfnRole
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=RUNTIME,
            handler=HANDLER,
            code=handler_code(),
            # Sized for no resource yet; register sets both from the longest wait asked for.
            timeout=Duration.seconds(contract.lambda_timeout_seconds(0)),
            memory_size=self.options.memory_size,
            vpc=self.options.vpc,
            vpc_subnets=self.options.vpc_subnets,
            security_groups=list(self.options.security_groups) if self.options.security_groups else None,
            description="Manages Amazon OpenSearch Service cross-cluster search connections (crhelper)",
            log_group=self.log_group,
            role=self.role,
        )
        self._cfn_function = cast(lambda_.CfnFunction, self.function.node.default_child)
        # CloudFormation invokes asynchronously; Lambda would retry a failed or timed-out invocation twice more,
        # after CloudFormation already has its answer or has rolled back. No retries, and no event older than the
        # stack's longest wait for an answer (sized in register, like the timeout). Lambda keeps asynchronous
        # events that met throttling or a 5xx in its queue up to that age, whatever the retry setting ("How Lambda
        # handles errors and retries with asynchronous invocation"): an older event is one no CloudFormation
        # resource of the stack can still be waiting for. What the L2's retry_attempts=0 and max_event_age made
        # until 0.8, at the same path (Handler/EventInvokeConfig/Resource), so the same logical id: a new one
        # would be created beside the old, whose cleanup Delete would reset the function to Lambda's defaults.
        self._cfn_invoke_config = lambda_.CfnEventInvokeConfig(
            Construct(self.function, "EventInvokeConfig"),
            "Resource",
            function_name=self.function.function_name,
            qualifier="$LATEST",
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=contract.service_timeout_seconds(0),
        )
        # Lambda's L2 makes the function depend on its role, which its Role property already refers to: its
        # DependsOn is settled at validation (one call back into Python per stack).
        self.node.add_validation(_SettledDependsOn(self._cfn_function, cfn_role))
        _providers[stack] = self

    @staticmethod
    def of(scope: Construct, stack: Stack | None = None) -> ConnectionProvider:
        """The provider of the scope's stack (`stack` when the caller knows it), created with default options on
        first use."""
        stack = stack or Stack.of(scope)
        existing = _providers.get(stack) or _provider_child(stack)
        return existing if existing is not None else ConnectionProvider(stack, _PROVIDER_ID)

    def use_data_plane(self) -> lambda_.LayerVersion:
        """The layer with the data plane's client (opensearch-py), added to the function the first time a
        data-plane resource of the stack asks: a stack of connections alone never carries it."""
        existing = self.node.try_find_child("DataPlaneLibraries")
        if existing is not None:
            return cast(lambda_.LayerVersion, existing)
        layer = lambda_.LayerVersion(
            self,
            "DataPlaneLibraries",
            code=data_plane_layer_code(),
            compatible_runtimes=[RUNTIME],
            description="opensearch-py and what it imports, for the cross-cluster search data plane",
        )
        self.function.add_layers(layer)
        return layer

    def register(
        self, owner: Construct, resource: CfnResource, timeout_seconds: int, statements: list[dict[str, Any]]
    ) -> iam.Policy:
        """Size the Lambda timeout for the resource and give it its own policy (under `owner`) of IAM policy
        statements (``allow``), which CloudFormation keeps until the resource's own Delete has run."""
        if timeout_seconds > self._longest_seconds:
            self._size_for(timeout_seconds)
        policy = iam.Policy(owner, "Policy", document=document(statements), roles=[self.role])
        cfn_policy = acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Resource::*",
            "IAM supports no resource-level permissions for describing, "
            "deleting or accepting cross-cluster connections; create is scoped to the source domain",
            fresh=True,
        )
        assert cfn_policy is not None  # an iam.Policy's default child is its CfnPolicy
        resource.add_resource_dependency(cfn_policy)
        drop_depends_on_already_referenced(resource)
        return policy

    def _size_for(self, seconds: int) -> None:
        """The function's timeout (contract.lambda_timeout_seconds) and maximum event age
        (contract.service_timeout_seconds) for the longest wait, now `seconds`."""
        self._longest_seconds = seconds
        self._cfn_function.timeout = contract.lambda_timeout_seconds(seconds)
        self._cfn_invoke_config.maximum_event_age_in_seconds = contract.service_timeout_seconds(seconds)

    @property
    def service_token(self) -> str:
        """The function ARN CloudFormation invokes."""
        return self.function.function_arn


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
    existing = _providers.get(stack) or _provider_child(stack)
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


def _provider_child(stack: Stack) -> ConnectionProvider | None:
    """The provider among the stack's children: a stack made in aws-cdk-lib's code (not in Python) is a new
    Python object each time it is asked for, so ``_providers`` does not know it."""
    return cast(ConnectionProvider | None, stack.node.try_find_child(_PROVIDER_ID))


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
