"""`make deploy-local`: the sample app's lifecycle against the emulator and local OpenSearch domains, offline.

The connection is created, updated in place, replaced and deleted; the data plane (search access, follower
index, replication rule) is created and deleted, and in between shown as the domains hold it: the security
roles and mappings the deploy made, each follower index's replication and documents, and a cross-cluster search
as the smoke-search role.

Usage: python -m ccs_offline.deploy [CDK_OUT]
"""

from __future__ import annotations

import copy
import fnmatch
import json
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.emulator import ConnectionStore, Delays
from ccs_offline.local_cloudformation import Response
from ccs_offline.opensearch_domain import JSON, LocalDomain
from ccs_offline.world import World, offline, resolved, seed_domains

CONNECTION_TYPES = (
    "Custom::OutboundCrossClusterSearchConnection",
    "Custom::InboundCrossClusterSearchConnectionAccepter",
)
SEARCH_ACCESS = "Custom::CrossClusterSearchAccess"
FOLLOWER_INDEX = "Custom::CrossClusterFollowerIndex"
REPLICATION_RULE = "Custom::CrossClusterReplicationRule"
#: The index the offline leader holds when nothing names one (the sample app's).
DEMO_INDEX = "logs-2026"
DEMO_DOCUMENT: JSON = {"@timestamp": "2026-01-01T00:00:00Z", "message": "hello from the offline leader"}
#: How long a replication copies the leader's shards in the offline world (no source gives a figure).
BOOTSTRAP_SECONDS = 5.0
#: How long the report waits (world seconds) for a follower index to reach SYNCING after its Create answered.
SYNCING_WAIT_SECONDS = 120.0
Snapshot = dict[str, tuple[dict[str, JSON], dict[str, JSON]]]  #: domain name -> (roles, role mappings)
_MAPPING_LISTS = ("users", "backend_roles", "and_backend_roles", "hosts")


def _show(step: str, responses: list[Response]) -> None:
    """Print each response CloudFormation received during a step (cleanup Deletes included)."""
    for response in responses:
        detail = f" reason={response.reason!r}" if response.reason else ""
        print(
            f"  {step:<8} {response.request_type:<6} {response.logical_id}: {response.status} "
            f"physical id={response.physical_id} in {response.latency:.2f} s{detail}"
        )


# --- the leader's data, before the deploy -------------------------------------------------------------------
def leader_indices(stack: StackTemplate) -> dict[str, set[str]]:
    """Domain name -> the indices the data plane expects it to hold already, from the properties as they resolve
    before the deploy: each FollowerIndex's LeaderIndex on its LeaderDomain; on a search access's
    DestinationDomain and a replication rule's LeaderDomain, an index their patterns match (DEMO_INDEX when it
    does, else the first pattern with its `*` filled in)."""
    wanted: dict[str, set[str]] = {}
    for resource in stack.resources.values():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == FOLLOWER_INDEX:
            domain, names = resolved(stack, props.get("LeaderDomain")), [resolved(stack, props.get("LeaderIndex"))]
        elif kind == SEARCH_ACCESS:
            domain, patterns = (
                resolved(stack, props.get("DestinationDomain")),
                resolved(stack, props.get("IndexPatterns")),
            )
            names = [_matching(patterns if isinstance(patterns, list) else [])]
        elif kind == REPLICATION_RULE:
            domain, pattern = resolved(stack, props.get("LeaderDomain")), resolved(stack, props.get("IndexPattern"))
            names = [_matching([pattern] if isinstance(pattern, str) else [])]
        else:
            continue
        if isinstance(domain, dict) and isinstance(domain.get("DomainName"), str):
            wanted.setdefault(domain["DomainName"], set()).update(n for n in names if isinstance(n, str) and n)
    return wanted


def _matching(patterns: list[Any]) -> str | None:
    texts = [str(p) for p in patterns if isinstance(p, str) and p]
    if not texts or any(fnmatch.fnmatchcase(DEMO_INDEX, p) for p in texts):
        return DEMO_INDEX
    return texts[0].replace("*", "2026")


def seed_leaders(world: World, stack: StackTemplate) -> list[str]:
    """Give each leader the indices the data plane expects (one document each, unless it has some already), as
    the user's leader domain would hold them. What it holds, in words."""
    said = []
    for name, indices in sorted(leader_indices(stack).items()):
        domain = world.opensearch.domains.get(name)
        if domain is None:
            continue
        for index in sorted(indices):
            if not domain.documents(index):
                domain.index(index, "1", DEMO_DOCUMENT)
            count = len(domain.documents(index))
            said.append(
                f"the offline leader domain {name} already holds index {index} with {count} "
                f"document{'s' if count != 1 else ''}, as your leader would"
            )
    return said


# --- what the domains hold -----------------------------------------------------------------------------------
def snapshot(world: World) -> Snapshot:
    """Every local domain's security roles and role mappings now."""
    with world.opensearch.lock:
        return {
            name: (copy.deepcopy(domain.roles), copy.deepcopy(domain.mappings))
            for name, domain in world.opensearch.domains.items()
        }


def security_changes(before: Snapshot, domain: LocalDomain) -> list[str]:
    """The domain's roles and mapping entries that are not in `before` (new or changed), in words."""
    roles, mappings = before.get(domain.name, ({}, {}))
    said = []
    with domain.world.lock:
        for name, role in sorted(domain.roles.items()):
            if roles.get(name) != role:
                said.append(f"role {name}: {_describe_role(role)}")
        for name, mapping in sorted(domain.mappings.items()):
            old = mappings.get(name, {})
            added = {
                key: [v for v in mapping.get(key, []) if v not in old.get(key, [])]
                for key in _MAPPING_LISTS
                if mapping.get(key)
            }
            shown = ", ".join(f"{key} {values}" for key, values in added.items() if values)
            if shown:
                said.append(f"role mapping {name}: {shown}")
    return said


def _describe_role(role: JSON) -> str:
    parts = [
        f"{', '.join(p.get('allowed_actions', []))} on {', '.join(p.get('index_patterns', []))}"
        for p in role.get("index_permissions", [])
    ]
    if role.get("cluster_permissions"):
        parts.append(f"cluster {', '.join(role['cluster_permissions'])}")
    return "; ".join(parts) or "no permissions"


# --- the domains' REST API, as a role ------------------------------------------------------------------------
def assume(world: World, account: str, role_arn: str, region: str) -> Credentials:
    """A session of `role_arn` from the emulator's STS in `region`, as the handler gets its own (the local
    domains know whom it stands for)."""
    sts = world.emulator.client("sts", account, region)
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName="deploy-local")["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])


def signed_request(
    world: World, endpoint: str, region: str, credentials: Credentials, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """One request to a domain's REST API (a JSON `body` unless None), signed SigV4 for `es` in `region` (AWS
    developer guide, "Signing HTTP requests to Amazon OpenSearch Service"), over TLS verified against the
    world's CA bundle: (status, the JSON answer)."""
    url = f"https://{endpoint.removeprefix('https://').rstrip('/')}{path}"
    data = b"" if body is None else json.dumps(body).encode()
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, "es", region).add_auth(request)
    prepared = urllib.request.Request(url, data=data or None, method=method, headers=dict(request.headers.items()))
    context = ssl.create_default_context(cafile=world.ca_bundle)
    try:
        with urllib.request.urlopen(prepared, context=context, timeout=10) as answer:
            return int(answer.status), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"null")


def replication_report(world: World, account: str, props: dict[str, Any]) -> tuple[str, bool]:
    """A follower index's replication as its follower's admin role reads `_status` (waiting on the world's clock
    until SYNCING, FAILED or SYNCING_WAIT_SECONDS), and its documents: (words, whether it is SYNCING)."""
    follower = props["FollowerDomain"]
    index = str(props.get("FollowerIndex") or props.get("LeaderIndex"))
    credentials = assume(world, account, str(follower["AdminRoleArn"]), str(follower["Region"]))
    ends = world.clock.now() + SYNCING_WAIT_SECONDS
    while True:
        status, answer = signed_request(
            world,
            follower["Endpoint"],
            follower["Region"],
            credentials,
            "GET",
            f"/_plugins/_replication/{index}/_status",
        )
        state = str(answer.get("status")) if isinstance(answer, dict) else f"HTTP {status}"
        if state in ("SYNCING", "FAILED", "PAUSED") or status != 200 or world.clock.now() >= ends:
            break
        world.clock.sleep(1.0)
    domain = world.opensearch.domains.get(str(follower["DomainName"]))
    count = len(domain.documents(index)) if domain is not None else 0
    source = f"{answer.get('leader_alias')}:{answer.get('leader_index')}" if isinstance(answer, dict) else "?"
    reason = f" ({answer.get('reason')})" if isinstance(answer, dict) and state != "SYNCING" else ""
    words = (
        f"follower index {index} on {follower['DomainName']}: replication {state}{reason} from {source}, "
        f"{count} document{'s' if count != 1 else ''}"
    )
    return words, state == "SYNCING" and count > 0


def search_report(world: World, account: str, props: dict[str, Any]) -> tuple[str, bool]:
    """The cross-cluster search a search access's smoke search names (ConnectionAlias:IndexPatterns[0] on the
    source domain, as its RoleArn), with its first hit: (words, whether there was a hit)."""
    smoke = props["SmokeSearch"]
    patterns = props.get("IndexPatterns") or [DEMO_INDEX]
    target = f"{props.get('ConnectionAlias')}:{patterns[0]}"
    credentials = assume(world, account, str(smoke["RoleArn"]), str(smoke["Region"]))
    status, answer = signed_request(world, smoke["Endpoint"], smoke["Region"], credentials, "GET", f"/{target}/_search")
    hits = answer.get("hits", {}).get("hits", []) if isinstance(answer, dict) and status == 200 else []
    where = f"cross-cluster search {target} on {smoke['DomainName']} as {smoke['RoleArn']}"
    if not hits:
        return f"{where}: no hit (HTTP {status}: {json.dumps(answer)[:300]})", False
    first = hits[0]
    total = answer["hits"]["total"]["value"]
    shown = f"{first['_index']}/{first['_id']} {json.dumps(first['_source'])}"
    return f"{where}: {total} hit{'s' if total != 1 else ''}, {shown}", True


def data_plane_report(world: World, stack: StackTemplate, before: Snapshot) -> int:
    """Print what the deploy made on the domains, the follower indices and the smoke searches; the failures."""
    failures = 0
    for name, domain in sorted(world.opensearch.domains.items()):
        changes = security_changes(before, domain)
        print(f"  on {name}: " + ("; ".join(changes) if changes else "no security roles or mappings made"))
    for logical_id, held in list(world.cloudformation.deployed.items()):
        kind = stack.resources.get(logical_id, {}).get("Type")
        try:
            if kind == FOLLOWER_INDEX:
                words, ok = replication_report(world, stack.account, held.properties)
            elif kind == SEARCH_ACCESS and isinstance(held.properties.get("SmokeSearch"), dict):
                words, ok = search_report(world, stack.account, held.properties)
            else:
                continue
        except (KeyError, TypeError, ValueError, OSError) as error:
            words, ok = f"could not be read: {error!r}", False
        print(f"  {logical_id}: {words}")
        failures += not ok
    return failures


def leftovers(world: World, stack: StackTemplate, before: Snapshot) -> int:
    """After the delete: print what the deploy left on the domains; a failure for each leftover when every
    follower index stops its replication on delete (otherwise its roles stay by design)."""
    stops = all(
        str(resource.get("Properties", {}).get("StopReplicationOnDelete", "")).lower() == "true"
        for resource in stack.resources.values()
        if resource.get("Type") == FOLLOWER_INDEX
    )
    left = [
        (name, change) for name, d in sorted(world.opensearch.domains.items()) for change in security_changes(before, d)
    ]
    running = [
        f"{name}: {index} still follows {r.leader_alias}:{r.leader_index}"
        for name, d in sorted(world.opensearch.domains.items())
        for index, r in sorted(d.replications.items())
    ]
    for name, change in left:
        print(f"  left on {name}: {change}")
    for line in running:
        print(f"  replication left: {line}")
    if not left and not running:
        print("  Security roles, mappings and replications the deploy made that are left: none")
    return len(left) + len(running) if stops else 0


def main(argv: list[str]) -> int:
    """Deploy, show outputs and the data plane, update in place, replace, delete; exit 1 if anything is off."""
    cdk_out = Path(argv[1] if len(argv) > 1 else "cdk.out")
    failures = 0
    for stack in load_assembly(cdk_out):
        resources = [d.logical_id for d in stack.custom_resources()]
        if not resources:
            continue
        store = ConnectionStore(Delays(validating=1.0, provisioning=1.0, deleting=1.0))
        print(
            f"Stack {stack.name} (account {stack.account}, the offline world's, not yours; region {stack.region}): "
            "offline emulator and local OpenSearch domains, the bundled handler under AWS's Lambda runtime "
            "interface client"
        )
        for line in seed_domains(store, stack):
            print(f"  domain   {line}")
        with offline(stack, store, bootstrap_seconds=BOOTSTRAP_SECONDS) as world:
            for line in world.data_plane:
                print(f"  data     {line}")
            for line in seed_leaders(world, stack):
                print(f"  {line}")
            before = snapshot(world)
            cfn = world.cloudformation
            created = cfn.deploy()
            _show("create", cfn.history)
            failures += sum(not r.ok for r in created)
            print("  Outputs:", ", ".join(f"{k}={v}" for k, v in cfn.outputs().items()))
            if any(stack.resources[d]["Type"] not in CONNECTION_TYPES for d in resources):
                failures += data_plane_report(world, stack, before)
            for logical_id in list(cfn.deployed):
                if stack.resources[logical_id]["Type"] not in CONNECTION_TYPES:
                    continue
                held = cfn.deployed[logical_id]
                old_timeout = held.properties.get("TimeoutSeconds", "600")
                timeout = str(int(old_timeout) - 60)
                in_place = cfn.update(logical_id, {"TimeoutSeconds": timeout})
                print(
                    f"  in-place update of {logical_id}: TimeoutSeconds {old_timeout} -> {timeout}, same connection "
                    f"{in_place.physical_id}: {in_place.status} in {in_place.latency:.2f} s"
                )
                old_alias = held.properties.get("ConnectionAlias", "demo")
                seen = len(cfn.history)
                replaced = cfn.update(logical_id, {"ConnectionAlias": old_alias + "-v2"})
                print(
                    f"  replacement of {logical_id}: ConnectionAlias {old_alias} -> {old_alias}-v2 needs a new "
                    f"connection, {replaced.physical_id}: {replaced.status} in {replaced.latency:.2f} s"
                )
                for cleanup in cfn.history[seen + 1 :]:
                    print(
                        f"  CloudFormation's cleanup Delete of the old connection {cleanup.physical_id}: "
                        f"{cleanup.status} in {cleanup.latency:.2f} s"
                    )
                failures += (not in_place.ok) + (not replaced.ok)
                failures += in_place.physical_id != held.physical_id
            print("  Outputs:", ", ".join(f"{k}={v}" for k, v in cfn.outputs().items()))
            deleted = cfn.destroy()
            _show("delete", deleted)
            failures += sum(not r.ok for r in deleted)
            failures += leftovers(world, stack, before)
            left = world.store.live()
            print(f"  Connections left that are not DELETED: {len(left)}; API calls: {len(world.store.calls)}")
            failures += len(left)
    print("OK: the lifecycle ran cleanly" if failures == 0 else f"FAILED: {failures} problem(s)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
