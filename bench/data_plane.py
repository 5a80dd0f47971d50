"""Section 7 of bench/run.py: from an ACTIVE connection to a SYNCING follower index, and a search that answers.

The sample app (app.py: two domains, a connection, a RemoteSearchAccess with a smoke search, a FollowerIndex)
is synthesized once and deployed offline for each replication bootstrap time the emulator is given (the
service's own time). Reported per run: the FollowerIndex's Create response time, that time beyond the
bootstrap (what the library adds: assuming the admin roles, two roles and their mappings, the start, the
polling), the search access's Create time, and the REST calls each made.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ccs_offline.assembly import StackTemplate, load_assembly
from ccs_offline.clock import WorldClock
from ccs_offline.deploy import seed_leaders
from ccs_offline.emulator import ConnectionStore, Delays
from ccs_offline.world import offline, seed_domains

ROOT = Path(__file__).resolve().parent.parent
FOLLOWER_INDEX = "Custom::CrossClusterFollowerIndex"
SEARCH_ACCESS = "Custom::CrossClusterSearchAccess"


def _sample_app(outdir: Path) -> StackTemplate:
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    [stack] = [s for s in load_assembly(outdir) if s.custom_resources()]
    return stack


def _one_run(stack: StackTemplate, bootstrap: float) -> dict[str, float]:
    clock = WorldClock(1.0)  # real time: the handler's own CPU (process start, imports, TLS) counts as it would
    store = ConnectionStore(Delays(validating=1.0, provisioning=1.0, deleting=1.0), clock.now, clock.sleep)
    seed_domains(store, stack)
    with offline(stack, store, clock=clock, bootstrap_seconds=bootstrap) as world:
        seed_leaders(world, stack)
        kinds = {d.logical_id: d.resource_type for d in stack.custom_resources()}
        before = sum(len(d.exchanges) for d in world.opensearch.domains.values())
        created = world.cloudformation.deploy()
        calls = sum(len(d.exchanges) for d in world.opensearch.domains.values()) - before
        assert all(r.ok for r in created), [r.reason for r in created if not r.ok]
        by_kind = {kinds[r.logical_id]: r for r in created if r.request_type == "Create"}
        follower, search = by_kind[FOLLOWER_INDEX], by_kind[SEARCH_ACCESS]
        world.cloudformation.destroy()
    return {  # Response.latency is in the world's seconds already
        "follower": follower.latency,
        "beyond": follower.latency - bootstrap,
        "search": search.latency,
        "calls": float(calls),
    }


def bench_data_plane(bootstraps: list[float], repeats: int) -> list[str]:
    """Markdown lines: one row per bootstrap time, median (min-max) over `repeats` runs, world seconds."""
    stack = _sample_app(Path(tempfile.mkdtemp(prefix="bench-data-plane-")))
    rows = [
        "| replication bootstrap (the service's own time, s) | FollowerIndex Create (s) | beyond the bootstrap (s) "
        "| RemoteSearchAccess Create incl. smoke search (s) | REST calls to the domains (whole deploy) |",
        "|---|---|---|---|---|",
    ]
    for bootstrap in bootstraps:
        runs = [_one_run(stack, bootstrap) for _ in range(repeats)]

        def spread(key: str, runs: list[dict[str, float]] = runs) -> str:
            values = [run[key] for run in runs]
            return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"

        rows.append(
            f"| {bootstrap:.0f} | {spread('follower')} | {spread('beyond')} | {spread('search')} | "
            f"{statistics.median(run['calls'] for run in runs):.0f} |"
        )
    rows += [
        "",
        "Real time (the offline world is not sped up here, so the Lambda-like process's start, imports and TLS count "
        "as they would). The Create "
        "starts once the connection is ACTIVE (the resource depends on it). Beyond the bootstrap: assuming the "
        "two admin roles through STS, one role and one mapping on each domain, the start, and polling `_status` "
        "(the handler's poll interval bounds how late it sees SYNCING).",
    ]
    return rows


if __name__ == "__main__":
    print("\n".join(bench_data_plane([5.0, 30.0], 1)))
