"""An offline world: the emulator, the ResponseURL server and a local CloudFormation for a stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccs_offline.assembly import StackTemplate
from ccs_offline.clock import REAL_TIME, WorldClock
from ccs_offline.cloudformation_api import CloudFormationApi, Stacks, cloudformation_api
from ccs_offline.emulator import ConnectionStore, Emulator, running
from ccs_offline.lambda_service import LambdaInvoker
from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.response_url import response_endpoint


@dataclass
class World:
    """Everything a local deployment needs, running."""

    emulator: Emulator
    cloudformation: LocalCloudFormation
    cloudformation_api: CloudFormationApi
    clock: WorldClock

    @property
    def store(self) -> ConnectionStore:
        return self.emulator.store


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
        props = stack.resolve(definition.properties)
        for key in ("SourceDomainInfo", "DestinationDomainInfo"):
            info = props.get(key)
            if isinstance(info, dict) and (info["OwnerId"], info["Region"], info["DomainName"]) not in store.domains:
                store.add_domain(info["OwnerId"], info["Region"], info["DomainName"])
                seeded.append(f"{info['DomainName']} (assumed existing, {info['OwnerId']}, {info['Region']})")
    return seeded


@contextmanager
def offline(
    stack: StackTemplate,
    store: ConnectionStore | None = None,
    coverage_data_file: Path | None = None,
    stacks: Stacks | None = None,
    clock: WorldClock = REAL_TIME,
) -> Iterator[World]:
    """Run the emulator and a local CloudFormation whose Lambda acts as the stack's account; `stacks` holds
    the account's other stacks (each `offline` adds its own). Everything keeps `clock`'s time: the store's
    too (made with `clock.now` and `clock.sleep`, or a new one here)."""
    store = store if store is not None else ConnectionStore(clock=clock.now, sleep=clock.sleep)
    with running(store) as emulator, response_endpoint(clock) as endpoint:
        key, secret = emulator.store.credentials_for(stack.account)
        environment = {**emulator.endpoint_env(), "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
        invoker = LambdaInvoker(endpoint, environment, coverage_data_file=coverage_data_file, clock=clock)
        cloudformation = LocalCloudFormation(stack, invoker)
        stacks = stacks if stacks is not None else Stacks()
        stacks.members.append(cloudformation)
        try:
            with cloudformation_api(stacks) as api:
                environment["AWS_ENDPOINT_URL_CLOUDFORMATION"] = api.url
                yield World(emulator, cloudformation, api, clock)
        finally:
            invoker.close()
