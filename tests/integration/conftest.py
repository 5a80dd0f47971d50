"""Integration fixtures: one bundled synthesis per session, a fresh emulator and local CloudFormation per test,
on the offline world's clock (ccs_offline/clock.py): WORLD_SCALE times faster than real time, except in tests
marked `real_time` (those that prove botocore's socket timeouts or crhelper's last-moment timer)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import coverage
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch

from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.clock import REAL_TIME, WorldClock
from ccs_offline.emulator import ConnectionStore, Delays
from ccs_offline.local_cloudformation import LocalCloudFormation
from ccs_offline.world import World, offline, seed_domains
from cross_cluster_search import ConnectionApi, DomainInfo, InboundConnectionAccepter, OutboundConnection

#: How many world seconds pass in a real one. The handler polls every world second at first and the
#: emulator's states last 0.1-0.2 world seconds, so each poll still sees a state move on.
WORLD_SCALE = 10.0
ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
SOURCE = DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1")
SAME_REGION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-local", region="us-east-1")
OTHER_REGION = DomainInfo(owner_id=ACCOUNT, domain_name="logs-remote", region="eu-west-1")
OTHER_OWNER = DomainInfo(owner_id=OTHER_ACCOUNT, domain_name="partner-logs", region="us-east-1")
ACCEPT_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/accept-connections"


@dataclass
class Assembly:
    stack: StackTemplate
    ids: dict[str, str]  #: construct id -> logical id of its custom resource


def _synthesize(outdir: Path) -> Assembly:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Offline", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    constructs: dict[str, OutboundConnection | InboundConnectionAccepter] = {
        "SameRegion": OutboundConnection(
            stack, "SameRegion", source=SOURCE, destination=SAME_REGION, connection_alias="same"
        ),
        "CrossRegion": OutboundConnection(
            stack, "CrossRegion", source=SOURCE, destination=OTHER_REGION, connection_alias="xregion"
        ),
        "CrossAccount": OutboundConnection(
            stack, "CrossAccount", source=SOURCE, destination=OTHER_OWNER, connection_alias="xaccount"
        ),
        "ViaRole": OutboundConnection(
            stack,
            "ViaRole",
            source=SOURCE,
            destination=OTHER_OWNER,
            connection_alias="viarole",
            accept_role_arn=ACCEPT_ROLE,
            accept_role_external_id="shared-secret",
        ),
        "OpenSearchApi": OutboundConnection(
            stack,
            "OpenSearchApi",
            source=SOURCE,
            destination=OTHER_REGION,
            connection_alias="opensearch-api",
            api=ConnectionApi.OPENSEARCH,
            skip_unavailable=True,
        ),
        "Accepter": InboundConnectionAccepter(
            stack, "Accepter", source=OTHER_OWNER, destination=SOURCE, timeout=cdk.Duration.seconds(10)
        ),
        "OpenSearchAccepter": InboundConnectionAccepter(
            stack,
            "OpenSearchAccepter",
            source=OTHER_OWNER,
            destination=SOURCE,
            timeout=cdk.Duration.seconds(10),
            api=ConnectionApi.OPENSEARCH,
        ),
    }
    app.synth()
    ids = {name: stack.get_logical_id(c.resource.node.default_child) for name, c in constructs.items()}  # type: ignore[arg-type]
    [template] = load_assembly(outdir)
    return Assembly(template, ids)


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    return _synthesize(tmp_path_factory.mktemp("cdk.out"))


_test_clock: WorldClock = REAL_TIME


@pytest.fixture(autouse=True)
def world_clock(request: pytest.FixtureRequest) -> WorldClock:
    """This test's world clock."""
    global _test_clock  # noqa: PLW0603 -- one test at a time per process; read through world_time()
    _test_clock = REAL_TIME if request.node.get_closest_marker("real_time") else WorldClock(WORLD_SCALE)
    return _test_clock


def world_time() -> WorldClock:
    """The running test's world clock (the `world_clock` fixture's)."""
    return _test_clock


def new_store(delays: Delays | None = None) -> ConnectionStore:
    """An emulator state on the running test's world clock."""
    clock = world_time()
    return ConnectionStore(delays or Delays(validating=0.2, provisioning=0.2, deleting=0.2), clock.now, clock.sleep)


def partner_request(world: World, alias: str = "partner", api: str = "es") -> str:
    """The other account's outbound connection to this account's domain, created through `api` ("es" or
    "opensearch"), as its own stack would."""
    source = {"OwnerId": OTHER_ACCOUNT, "DomainName": OTHER_OWNER.domain_name, "Region": OTHER_OWNER.region}
    destination = {"OwnerId": ACCOUNT, "DomainName": SOURCE.domain_name, "Region": SOURCE.region}
    if api == "es":
        client = world.emulator.client("es", OTHER_ACCOUNT, OTHER_OWNER.region)
        made = client.create_outbound_cross_cluster_search_connection(
            SourceDomainInfo=source, DestinationDomainInfo=destination, ConnectionAlias=alias
        )
        return str(made["CrossClusterSearchConnectionId"])
    client = world.emulator.client("opensearch", OTHER_ACCOUNT, OTHER_OWNER.region)
    made = client.create_outbound_connection(
        LocalDomainInfo={"AWSDomainInformation": source},
        RemoteDomainInfo={"AWSDomainInformation": destination},
        ConnectionAlias=alias,
    )
    return str(made["ConnectionId"])


def measured_into() -> Path | None:
    """The data file of the running coverage measurement, so the bundled handler's lines count too."""
    current = coverage.Coverage.current()
    return Path(current.config.data_file).absolute() if current else None


@pytest.fixture
def world(assembly: Assembly, request: pytest.FixtureRequest, world_clock: WorldClock) -> Iterator[World]:
    store = new_store(Delays(validating=0.2, provisioning=0.2, deleting=0.2, rejecting=0.1))
    seed_domains(store, assembly.stack)
    with offline(assembly.stack, store, coverage_data_file=measured_into(), clock=world_clock) as running_world:
        yield running_world
        if not request.node.get_closest_marker("leaves_connections"):
            left = [(c.connection_id, c.alias, c.status) for c in store.live()]
            assert left == [], f"connections left behind: {left}"


@pytest.fixture
def cfn(world: World) -> LocalCloudFormation:
    return world.cloudformation


def fgac_domain(stack: cdk.Stack, id_: str, domain_name: str, master: iam.IRole | None) -> opensearch.Domain:
    """An OpenSearch 2.19 domain that meets the prerequisites of search and replication, whose fine-grained
    access control master user is `master` (an IAM role the data plane calls as), or an internal user."""
    security = (
        opensearch.AdvancedSecurityOptions(master_user_arn=master.role_arn)
        if master is not None
        else opensearch.AdvancedSecurityOptions(master_user_name="admin")
    )
    return opensearch.Domain(
        stack,
        id_,
        version=opensearch.EngineVersion.OPENSEARCH_2_19,
        domain_name=domain_name,
        capacity=opensearch.CapacityConfig(
            data_nodes=1, data_node_instance_type="m6g.large.search", multi_az_with_standby_enabled=False
        ),
        fine_grained_access_control=security,
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )
