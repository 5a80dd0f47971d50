"""An offline world: the emulator, the ResponseURL server and a local CloudFormation for a stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ccs_offline.assembly import StackTemplate
from ccs_offline.cloudformation_api import CloudFormationApi, Stacks, cloudformation_api
from ccs_offline.driver import LocalCloudFormation
from ccs_offline.emulator import ConnectionStore, Emulator, running
from ccs_offline.lambda_service import LambdaInvoker
from ccs_offline.response_url import response_endpoint


@dataclass
class World:
    """Everything a local deployment needs, running."""

    emulator: Emulator
    cloudformation: LocalCloudFormation
    cloudformation_api: CloudFormationApi

    @property
    def store(self) -> ConnectionStore:
        return self.emulator.store


def seed_domains(store: ConnectionStore, stack: StackTemplate) -> list[str]:
    """Seed the template's domains, and every other domain its connections name (assumed to exist)."""
    seeded = []
    for name, version in stack.domain_names().values():
        store.add_domain(stack.account, stack.region, name, version)
        seeded.append(f"{name} ({version}, {stack.account}, {stack.region})")
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
) -> Iterator[World]:
    """Run the emulator and a local CloudFormation whose Lambda acts as the stack's account; `stacks` holds
    the account's other stacks (each `offline` adds its own)."""
    with running(store) as emulator, response_endpoint() as endpoint:
        key, secret = emulator.store.credentials_for(stack.account)
        environment = {**emulator.endpoint_env(), "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
        invoker = LambdaInvoker(endpoint, environment, coverage_data_file=coverage_data_file)
        cloudformation = LocalCloudFormation(stack, invoker)
        stacks = stacks if stacks is not None else Stacks()
        stacks.members.append(cloudformation)
        with cloudformation_api(stacks) as api:
            environment["AWS_ENDPOINT_URL_CLOUDFORMATION"] = api.url
            yield World(emulator, cloudformation, api)
