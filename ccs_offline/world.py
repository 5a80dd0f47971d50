"""An offline world: the emulator, the ResponseURL server, local OpenSearch domains (the data plane) and a
local CloudFormation for a stack.

The data plane (opensearch_domain.py): every domain the template declares runs as a local HTTPS domain, and so
does every domain a data-plane resource names that the template does not declare. `Fn::GetAtt
<domain>.DomainEndpoint` resolves to the local domain's endpoint (assembly.py). The function reaches the
domains as the IAM roles it assumes through the emulator's STS: the emulator tells the local domains which role
each session it hands out stands for. A connection the emulator shows ACTIVE is a remote cluster of its source
domain under its alias, until it is not.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccs_offline.assembly import StackTemplate
from ccs_offline.clock import REAL_TIME, WorldClock
from ccs_offline.cloudformation_api import CloudFormationApi, Stacks, cloudformation_api
from ccs_offline.emulator import ConnectionStore, Emulator, running
from ccs_offline.lambda_service import LambdaInvoker
from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.opensearch_domain import LocalDomain, OpenSearchWorld, local_opensearch
from ccs_offline.response_url import response_endpoint

#: The data plane's resource types and property keys (lambda/contract.py, "the data plane's properties"),
#: written out here: the offline world reads templates, it does not import the handler.
DATA_PLANE_TYPES = (
    "Custom::CrossClusterSearchAccess",
    "Custom::CrossClusterFollowerIndex",
    "Custom::CrossClusterReplicationRule",
)
#: The keys of a data-plane resource that hold a domain {DomainName, Region, Endpoint, AdminRoleArn}.
DATA_PLANE_DOMAIN_KEYS = ("DestinationDomain", "LeaderDomain", "FollowerDomain")
SMOKE_SEARCH = "SmokeSearch"  #: {Endpoint, DomainName, Region, RoleArn}
#: The roles Amazon OpenSearch Service maps the fine-grained access control master user to (AWS developer guide,
#: "Fine-grained access control", "Master user": the master user's ARN is mapped to all_access and
#: security_manager).
MASTER_ROLES = ("all_access", "security_manager")


@dataclass
class World:
    """Everything a local deployment needs, running."""

    emulator: Emulator
    cloudformation: LocalCloudFormation
    cloudformation_api: CloudFormationApi
    clock: WorldClock
    opensearch: OpenSearchWorld  #: the local domains, by name (`opensearch.domains`)
    ca_bundle: str = ""  #: the PEM bundle the Lambda-like process trusts (ResponseURL's and the domains' CAs)
    data_plane: list[str] = field(default_factory=list)  #: what was set up for the data plane, in words
    _adopted: list[tuple[StackTemplate, dict[str, str]]] = field(default_factory=list)

    @property
    def store(self) -> ConnectionStore:
        return self.emulator.store

    def domain(self, name: str) -> LocalDomain:
        """The local domain of that name."""
        return self.opensearch.domains[name]

    def endpoints(self) -> dict[str, str]:
        """Domain name -> the local domain's endpoint ("127.0.0.1:PORT"), as templates resolve it."""
        return {name: local_endpoint(domain) for name, domain in self.opensearch.domains.items()}

    def adopt(self, template: StackTemplate) -> StackTemplate:
        """Make a new version of the stack's template (for `cloudformation.apply`) resolve against this world:
        its domains and data-plane domains run locally, their endpoints resolve to the local ones, its admin
        roles may be assumed. Undone when the world ends. The template, for chaining."""
        self.data_plane += seed_data_plane(self.opensearch, self.store, template)
        self._adopted.append((template, template.domain_endpoints))
        template.domain_endpoints = {**template.domain_endpoints, **self.endpoints()}
        return template

    def _release(self) -> None:
        for template, previous in reversed(self._adopted):
            template.domain_endpoints = previous
        self._adopted.clear()


def _enabled(options: Any) -> bool:
    """An `{Enabled: ...}` option of AWS::OpenSearchService::Domain / AWS::Elasticsearch::Domain: off when absent
    (the CloudFormation User Guide's default for AdvancedSecurityOptions and NodeToNodeEncryptionOptions)."""
    enabled = options.get("Enabled", False) if isinstance(options, dict) else False
    return enabled is True or enabled == "true"


def domain_settings(resource: dict[str, Any]) -> dict[str, Any]:
    """The settings cross-cluster search depends on, as a template's domain resource declares them."""
    props = resource.get("Properties", {})
    cluster = props.get("ClusterConfig") or props.get("ElasticsearchClusterConfig") or {}
    types = tuple(
        value for key in ("InstanceType", "DedicatedMasterType") if isinstance(value := cluster.get(key), str)
    )
    return {
        "fine_grained_access_control": _enabled(props.get("AdvancedSecurityOptions")),
        "node_to_node_encryption": _enabled(props.get("NodeToNodeEncryptionOptions")),
        "instance_types": types,
    }


def resolved(stack: StackTemplate, value: Any) -> Any:
    """`value` resolved before anything is deployed; None when it needs what a deployment makes (an attribute
    or physical id of a custom resource)."""
    try:
        return stack.resolve(value)
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def seed_domains(store: ConnectionStore, stack: StackTemplate) -> list[str]:
    """Seed the template's domains with their settings, and every other domain its connections name (assumed
    to exist, meeting the prerequisites)."""
    seeded = []
    for logical_id, (name, version) in stack.domain_names().items():
        settings = domain_settings(stack.resources[logical_id])
        store.add_domain(stack.account, stack.region, name, version, **settings)
        shown = ", ".join(
            f"{label} {'on' if settings[key] else 'OFF'}"
            for key, label in (("fine_grained_access_control", "FGAC"), ("node_to_node_encryption", "node-to-node"))
        )
        seeded.append(
            f"{name} ({version}, {shown}, {'/'.join(settings['instance_types']) or 'default instances'}, "
            f"{stack.account}, {stack.region})"
        )
    for definition in stack.custom_resources():
        for key in ("SourceDomainInfo", "DestinationDomainInfo"):
            info = resolved(stack, definition.properties.get(key))
            if isinstance(info, dict) and (info["OwnerId"], info["Region"], info["DomainName"]) not in store.domains:
                store.add_domain(info["OwnerId"], info["Region"], info["DomainName"])
                seeded.append(f"{info['DomainName']} (assumed existing, {info['OwnerId']}, {info['Region']})")
    return seeded


def data_plane_domains(stack: StackTemplate) -> list[tuple[str, str, dict[str, Any]]]:
    """(logical id, property key, resolved value) of every domain the template's data-plane resources name
    (DestinationDomain, LeaderDomain, FollowerDomain) and of every SmokeSearch; values that need a deployment
    to resolve are left out."""
    found = []
    for logical_id, resource in stack.resources.items():
        if resource.get("Type") not in DATA_PLANE_TYPES:
            continue
        props = resource.get("Properties", {})
        for key in (*DATA_PLANE_DOMAIN_KEYS, SMOKE_SEARCH):
            value = resolved(stack, props.get(key))
            if isinstance(value, dict) and isinstance(value.get("DomainName"), str):
                found.append((logical_id, key, value))
    return found


def master_user_arn(stack: StackTemplate, logical_id: str) -> str | None:
    """The IAM ARN of a template domain's fine-grained access control master user
    (AdvancedSecurityOptions.MasterUserOptions.MasterUserARN, CloudFormation User Guide); None when fine-grained
    access control is off or the master is an internal user (MasterUserName)."""
    props = stack.resources[logical_id].get("Properties", {})
    options = props.get("AdvancedSecurityOptions")
    if not _enabled(options):
        return None
    master = (options.get("MasterUserOptions") or {}).get("MasterUserARN")
    arn = resolved(stack, master) if master is not None else None
    return arn if isinstance(arn, str) and arn else None


def local_endpoint(domain: LocalDomain) -> str:
    """A local domain's endpoint as `Fn::GetAtt <domain>.DomainEndpoint` gives one: host (and port), no scheme."""
    return domain.endpoint.removeprefix("https://")


def seed_data_plane(opensearch: OpenSearchWorld, store: ConnectionStore, stack: StackTemplate) -> list[str]:
    """Run a local domain for each of the template's domains and each other domain its data-plane resources
    name (one per name; those already running are kept), map each master user, and let the stack's account
    assume each admin and smoke-search role. What was done, in words."""
    seeded = []
    for logical_id, (name, _version) in stack.domain_names().items():
        if name in opensearch.domains:
            continue
        domain = opensearch.add_domain(name, stack.region)
        master = master_user_arn(stack, logical_id)
        if master is not None:
            # The master user's ARN is mapped as a user and as a backend role: AWS maps an IAM master user's
            # ARN to all_access and security_manager ("Fine-grained access control"), and the security plugin
            # matches an IAM role's caller by either (opensearch_domain.Caller).
            for role in MASTER_ROLES:
                domain.map_role(role, users=(master,), backend_roles=(master,))
            who = f"master user {master} mapped to {' and '.join(MASTER_ROLES)}"
        else:
            # An internal master user (or no fine-grained access control): no IAM role is mapped to anything,
            # so an admin role the user did not map gets the security plugin's 403 (the harsher case).
            who = "no IAM role mapped (the master user is not an IAM ARN)"
        seeded.append(f"{name} (local OpenSearch at {local_endpoint(domain)}, {stack.region}): {who}")
    roles: set[str] = set()
    for _logical_id, key, value in data_plane_domains(stack):
        assumed = value.get("RoleArn" if key == SMOKE_SEARCH else "AdminRoleArn")
        if isinstance(assumed, str) and assumed:
            roles.add(assumed)
        name = value["DomainName"]
        if name in opensearch.domains or key == SMOKE_SEARCH:
            continue
        region = value.get("Region") if isinstance(value.get("Region"), str) else stack.region
        domain = opensearch.add_domain(name, str(region))
        # A domain the template does not declare is assumed to exist and meet the prerequisites (as
        # seed_domains assumes for connections): its admin role is mapped as its master user would be.
        admins = sorted(
            {
                str(other["AdminRoleArn"])
                for _, other_key, other in data_plane_domains(stack)
                if other_key != SMOKE_SEARCH and other["DomainName"] == name and other.get("AdminRoleArn")
            }
        )
        for role in MASTER_ROLES:
            domain.map_role(role, users=tuple(admins), backend_roles=tuple(admins))
        seeded.append(
            f"{name} (assumed existing, local OpenSearch at {local_endpoint(domain)}, {region}): admin role"
            f"{'s' if len(admins) != 1 else ''} {', '.join(admins) or 'none'} mapped to {' and '.join(MASTER_ROLES)}"
        )
    for role in sorted(roles):
        if role not in store.roles:
            # The construct adds the provider function's role to each admin role's trust policy; the emulator
            # models trust by account (ConnectionStore.add_role), so the stack's account may assume it.
            store.add_role(role, {stack.account})
            seeded.append(f"role {role} may be assumed by account {stack.account}")
    return seeded


def active_remotes(store: ConnectionStore, domain: LocalDomain) -> dict[str, str]:
    """{alias: destination domain name} of the domain's outbound connections the emulator shows ACTIVE now."""
    with store.lock:
        live = store.live()
    return {
        connection.alias: connection.destination["DomainName"]
        for connection in live
        if connection.status == "ACTIVE"
        and connection.source["DomainName"] == domain.name
        and connection.source["Region"] == domain.region
    }


@contextmanager
def _ca_bundle(*files: str) -> Iterator[str]:
    """One PEM file holding every CA in `files` (SSL_CERT_FILE names one file)."""
    with tempfile.NamedTemporaryFile("wb", prefix="ccs-ca-bundle-", suffix=".pem", delete=False) as handle:
        for name in files:
            handle.write(Path(name).read_bytes().rstrip(b"\n") + b"\n")
    try:
        yield handle.name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)


@contextmanager
def offline(
    stack: StackTemplate,
    store: ConnectionStore | None = None,
    coverage_data_file: Path | None = None,
    stacks: Stacks | None = None,
    clock: WorldClock = REAL_TIME,
    *,
    bootstrap_seconds: float = 30.0,
    autofollow_poll_seconds: float = 30.0,
) -> Iterator[World]:
    """Run the emulator, local OpenSearch domains and a local CloudFormation whose Lambda acts as the stack's
    account; `stacks` holds the account's other stacks (each `offline` adds its own). Everything keeps
    `clock`'s time: the store's too (made with `clock.now` and `clock.sleep`, or a new one here), and the
    domains' (a replication bootstraps for `bootstrap_seconds`; auto-follow rules poll every
    `autofollow_poll_seconds`). While the world runs, `stack.domain_endpoints` names the local domains."""
    store = store if store is not None else ConnectionStore(clock=clock.now, sleep=clock.sleep)
    with (
        running(store) as emulator,
        response_endpoint(clock) as endpoint,
        local_opensearch(clock.now, clock.sleep, bootstrap_seconds, autofollow_poll_seconds) as (opensearch, ca),
        _ca_bundle(endpoint.ca_file, ca) as bundle,
    ):
        register: Callable[[str, str, str, str], None] = opensearch.register
        store.assumed_role_listeners.append(register)
        opensearch.remotes_source = lambda domain: active_remotes(store, domain)
        key, secret = emulator.store.credentials_for(stack.account)
        environment = {**emulator.endpoint_env(), "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
        invoker = LambdaInvoker(
            endpoint, environment, coverage_data_file=coverage_data_file, clock=clock, ca_bundle=bundle
        )
        cloudformation = LocalCloudFormation(stack, invoker)
        stacks = stacks if stacks is not None else Stacks()
        stacks.members.append(cloudformation)
        world: World | None = None
        try:
            with cloudformation_api(stacks) as api:
                environment["AWS_ENDPOINT_URL_CLOUDFORMATION"] = api.url
                world = World(emulator, cloudformation, api, clock, opensearch, bundle)
                world.adopt(stack)
                yield world
        finally:
            if world is not None:
                world._release()
            store.assumed_role_listeners.remove(register)
            invoker.close()
