"""Benchmarks of what users wait for, through the offline driver and emulator (a script, not a test).

    .venv/bin/python bench/run.py [--quick] [--out docs/benchmarks.md]

1. Create/Delete latency versus the service's own transition time (1, 5, 30 s), with a naive peer.
2. Synthesis time and template size for 1, 10 and 50 connections in one stack.
3. Load: 20 concurrent creates on one source domain under a per-account request rate, then a 21st.
4. Cold start: handler import in the Lambda-like process beside a bare crhelper import; asset size.
5. What a connection adds to a user's app: `python app.py` synthesis with one connection vs the same app without
   it, and a user's unit test (stack + `Template.from_stack`) with vs without it. Nothing skips bundling here.
6. What a connection costs a synth, as ratios in one run (targets: <= 1.15x and <= 2x): `cdk synth` of an app with
   two L2 domains and one connection vs the same app without it (and without the import), and in one Python
   process the 2nd-4th `Template.from_stack` of new stacks with a connection vs without.
7. The data plane: from an ACTIVE connection to a SYNCING follower index, beyond the service's own bootstrap time,
   and the REST calls it takes (bench/data_plane.py).

    .venv/bin/python bench/run.py --synth-cost-only    # section 6 alone, printed
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # ccs_offline lives in the repository, not in the wheel
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from bench.data_plane import bench_data_plane  # noqa: E402
from ccs_offline.assembly import ProviderFunction, StackTemplate, load_assembly  # noqa: E402
from ccs_offline.emulator import ConnectionStore, Delays  # noqa: E402
from ccs_offline.local_cloudformation import LocalCloudFormation, Response  # noqa: E402
from ccs_offline.world import offline, seed_domains  # noqa: E402

ACCOUNT = "111111111111"
NAIVE_HANDLER = """
import boto3
from crhelper import CfnResource

helper = CfnResource()  # crhelper's defaults: DEBUG logging, 120 s sleep on Delete
es = boto3.client("es")


@helper.create
def create(event, context):
    p = event["ResourceProperties"]
    return es.create_outbound_cross_cluster_search_connection(
        SourceDomainInfo=p["SourceDomainInfo"], DestinationDomainInfo=p["DestinationDomainInfo"],
        ConnectionAlias=p["ConnectionAlias"])["CrossClusterSearchConnectionId"]


@helper.delete
def delete(event, context):
    es.delete_outbound_cross_cluster_search_connection(CrossClusterSearchConnectionId=event["PhysicalResourceId"])


def handler(event, context):
    helper(event, context)
"""


def spread(values: list[float]) -> str:
    """Median and range of repeated measurements."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def synthesize(outdir: Path, connections: int, *, bundle: bool = True, destinations: int = 1) -> StackTemplate:
    """A stack with `connections` OutboundConnections, at most 20 per source and per destination domain (AWS's
    limits, which synthesis checks), synthesized to `outdir`."""
    context: dict[str, object] = {} if bundle else {"aws:cdk:bundling-stacks": []}
    script = f"""
import os, aws_cdk as cdk
from cross_cluster_search import DomainInfo, OutboundConnection
app = cdk.App(outdir={str(outdir)!r}, context={context!r})
stack = cdk.Stack(app, "Bench", env=cdk.Environment(account="{ACCOUNT}", region="us-east-1"))
for i in range({connections}):
    source = DomainInfo(owner_id="{ACCOUNT}", domain_name=f"bench-source-{{i // 20}}", region="us-east-1")
    destination = DomainInfo(owner_id="{ACCOUNT}", domain_name=f"bench-dest-{{i % {destinations}:02d}}-{{i // 20}}",
                             region="us-east-1")
    OutboundConnection(stack, f"C{{i:02d}}", source=source, destination=destination,
                       connection_alias=f"c{{i:02d}}", accept_connection=False, timeout=cdk.Duration.minutes(2))
app.synth()
"""
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)
    [stack] = load_assembly(outdir, ACCOUNT, "us-east-1")
    return stack


@contextmanager
def world_for(stack: StackTemplate, delays: Delays) -> Iterator[tuple[ConnectionStore, LocalCloudFormation]]:
    store = ConnectionStore(delays)
    seed_domains(store, stack)
    with offline(stack, store) as world:
        yield store, world.cloudformation


def describes_during(store: ConnectionStore, started: float, ended: float) -> int:
    return sum(1 for c in store.calls if started <= c.at <= ended and c.operation.startswith("Describe"))


def timed(store: ConnectionStore, action: Callable[[], Response]) -> tuple[Response, int]:
    started = store.clock()
    response = action()
    return response, describes_during(store, started, store.clock())


def naive_function(asset_dir: Path, template: ProviderFunction) -> ProviderFunction:
    """The plain crhelper handler most users would write, bundled beside the same crhelper."""
    naive_dir = Path(tempfile.mkdtemp(prefix="naive-asset-"))
    shutil.copytree(asset_dir / "crhelper", naive_dir / "crhelper")
    (naive_dir / "index.py").write_text(NAIVE_HANDLER)
    return replace(template, asset_dir=naive_dir, logical_id="NaiveHandler", handler="index.handler")


def bench_latency(stack: StackTemplate, service_times: list[float], repeats: int, naive_delete: bool) -> list[str]:
    logical_id = stack.custom_resources()[0].logical_id
    rows = [
        "| handler | service time (s) | Create response (s) | Create overhead (s) | describes/s (Create) "
        "| Delete response (s) | Delete overhead (s) | describes/s (Delete) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for service_time in service_times:
        delays = Delays(validating=service_time, provisioning=service_time, deleting=service_time)
        create, delete, c_rate, d_rate = [], [], [], []
        for _ in range(repeats):
            with world_for(stack, delays) as (store, cfn):
                created, c_calls = timed(store, lambda: cfn.create(logical_id))
                deleted, d_calls = timed(store, lambda: cfn.delete(logical_id))
                assert created.ok and deleted.ok, (created.reason, deleted.reason)
                create.append(created.latency)
                delete.append(deleted.latency)
                c_rate.append(c_calls / created.latency)
                d_rate.append(d_calls / deleted.latency)
        rows.append(
            f"| this construct | {service_time:g} | {spread(create)} | "
            f"{spread([c - service_time for c in create])} | {spread(c_rate)} | {spread(delete)} | "
            f"{spread([d - service_time for d in delete])} | {spread(d_rate)} |"
        )
        print(rows[-1], flush=True)
        with world_for(stack, delays) as (store, cfn):
            definition = cfn.definition(logical_id)
            naive = replace(definition, function=naive_function(definition.function.asset_dir, definition.function))
            event = cfn.event("Create", naive, cfn.properties(definition))
            created = cfn.send(naive, event)
            status_at_answer = store.status_of(created.physical_id)
            delete_cell = "as above: crhelper's 120 s sleep, whatever the service time"
            if naive_delete and service_time == service_times[0]:
                deleted = cfn.send(naive, cfn.event("Delete", naive, event["ResourceProperties"], created.physical_id))
                delete_cell = f"{deleted.latency:.2f} | {deleted.latency - service_time:.2f} | 0"
            else:
                delete_cell += " | - | -"
                time.sleep(service_time + 0.5)
                cfn.send(definition, cfn.event("Delete", definition, event["ResourceProperties"], created.physical_id))
        rows.append(
            f"| naive crhelper peer | {service_time:g} | {created.latency:.2f} | "
            f"{created.latency - service_time:.2f} (answers while {status_at_answer}) | 0 | {delete_cell} |"
        )
        print(rows[-1], flush=True)
    return rows


def bench_scale(repeats: int) -> list[str]:
    rows = [
        "| connections | synth time (s) | template size (bytes) | Lambda functions | custom resources |",
        "|---|---|---|---|---|",
    ]
    base = None
    for count in (1, 10, 50):
        times, size, functions, resources = [], 0, 0, 0
        for _ in range(repeats):
            outdir = Path(tempfile.mkdtemp(prefix="bench-synth-"))
            started = time.perf_counter()
            stack = synthesize(outdir, count, bundle=False)
            times.append(time.perf_counter() - started)
            size = (outdir / "Bench.template.json").stat().st_size
            types = [r["Type"] for r in stack.resources.values()]
            functions = types.count("AWS::Lambda::Function")
            resources = types.count("Custom::OutboundCrossClusterSearchConnection")
            shutil.rmtree(outdir)
        base = base or statistics.median(times)
        rows.append(
            f"| {count} | {spread(times)} (x{statistics.median(times) / base:.2f}) | {size} | {functions} "
            f"| {resources} |"
        )
        print(rows[-1], flush=True)
    return rows


USER_APP = f"""
import sys, time
started = time.perf_counter()
import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cross_cluster_search import DomainInfo, OutboundConnection
imported = time.perf_counter()
app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "UserApp", env=cdk.Environment(account="{ACCOUNT}", region="us-east-1"))
sns.Topic(stack, "Alerts")
if sys.argv[2] == "with":
    OutboundConnection(
        stack, "Connection", connection_alias="archive",
        source=DomainInfo(owner_id="{ACCOUNT}", domain_name="logs", region="us-east-1"),
        destination=DomainInfo(owner_id="{ACCOUNT}", domain_name="archive", region="us-east-1"),
    )
if sys.argv[3] == "synth":
    app.synth()
else:  # a user's unit test body: build the stack, read its template
    Template.from_stack(stack).resource_count_is("AWS::SNS::Topic", 1)
print(time.perf_counter() - imported)
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_user_app(repeats: int) -> list[str]:
    """`python app.py` into a fresh cdk.out, and a unit test's body, with and without one connection: wall
    time, CPU time of the process and its children (jsii's node, any pip), and in-process time after imports."""
    script = Path(tempfile.mkdtemp(prefix="bench-user-")) / "app.py"
    script.write_text(USER_APP)
    figures: dict[tuple[str, str], tuple[list[float], list[float], list[float]]] = {}
    for _ in range(repeats):  # alternating, in the same run
        for mode in ("synth", "test"):
            for variant in ("without", "with"):
                outdir = Path(tempfile.mkdtemp(prefix="bench-user-out-"))
                started, cpu = time.perf_counter(), _children_cpu()
                out = subprocess.run(
                    [sys.executable, str(script), str(outdir), variant, mode],
                    cwd=script.parent,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall, cpus, body = figures.setdefault((mode, variant), ([], [], []))
                wall.append(time.perf_counter() - started)
                cpus.append(_children_cpu() - cpu)
                body.append(float(out.stdout.strip().splitlines()[-1]))
                shutil.rmtree(outdir)
    rows = [
        "| user's app (an SNS topic) | wall time (s) | CPU time, process + children (s) | after imports (s) |",
        "|---|---|---|---|",
    ]
    labels = {
        ("synth", "without"): "`python app.py` (synth to a fresh cdk.out), without a connection",
        ("synth", "with"): "`python app.py` (synth to a fresh cdk.out), with one connection",
        ("test", "without"): "unit test: stack + `Template.from_stack`, without a connection",
        ("test", "with"): "unit test: stack + `Template.from_stack`, with one connection",
    }
    for key, label in labels.items():
        wall, cpus, body = figures[key]
        rows.append(f"| {label} | {spread(wall)} | {spread(cpus)} | {spread(body)} |")
        print(rows[-1], flush=True)
    for mode in ("synth", "test"):
        extra = [
            statistics.median(figures[(mode, "with")][i]) - statistics.median(figures[(mode, "without")][i])
            for i in range(3)
        ]
        rows.append(
            f"| what the connection adds ({mode}, medians) | {extra[0]:+.2f} | {extra[1]:+.2f} | {extra[2]:+.2f} |"
        )
        print(rows[-1], flush=True)
    from cross_cluster_search import asset  # noqa: PLC0415 - the asset step alone, in this process

    layouts = []
    for _ in range(repeats):
        asset.staged_asset.cache_clear()
        started = time.perf_counter()
        asset.staged_asset()
        layouts.append((time.perf_counter() - started) * 1000)
    rows += ["", f"Laying out the Lambda asset from the installed packages, once per process: {spread(layouts)} ms."]
    print(rows[-1], flush=True)
    return rows


DOMAINS_APP = """
import os, sys, time
import aws_cdk as cdk
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk.assertions import Template

VARIANT = sys.argv[1]
if VARIANT == "with":
    from cross_cluster_search import OutboundConnection


def domain(scope, id_, name):
    return opensearch.Domain(
        scope, id_, domain_name=name, version=opensearch.EngineVersion.OPENSEARCH_2_19,
        capacity=opensearch.CapacityConfig(
            data_nodes=1, data_node_instance_type="m6g.large.search", multi_az_with_standby_enabled=False
        ),
        ebs=opensearch.EbsOptions(volume_size=10),
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )


# The floor: what any Lambda-backed custom resource costs with aws-cdk-lib's own L2s and nothing else (the same
# .zip asset, a Function with its role and log group, a CustomResource; no IAM for the APIs, no checks).
def plain_custom_resource(stack, logs, archive):
    from aws_cdk import CustomResource, Duration, aws_lambda as lambda_
    from cross_cluster_search.asset import HANDLER, handler_code
    function = lambda_.Function(
        stack, "Plain", runtime=lambda_.Runtime.PYTHON_3_14, handler=HANDLER, code=handler_code(),
        timeout=Duration.minutes(10), retry_attempts=0,
    )
    CustomResource(
        stack, "PlainConnection", service_token=function.function_arn, resource_type="Custom::Plain",
        properties={"Source": logs.domain_name, "Destination": archive.domain_name, "Alias": "archive"},
    )


def search_stack(app, variant):
    stack = cdk.Stack(app, "Search", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    logs, archive = domain(stack, "Logs", "logs"), domain(stack, "Archive", "archive")
    if variant == "with":
        OutboundConnection(stack, "LogsToArchive", source=logs, destination=archive, connection_alias="archive")
    elif variant == "floor":
        plain_custom_resource(stack, logs, archive)
    return stack


if sys.argv[2] == "synth":  # the app `cdk synth` runs
    app = cdk.App()
    search_stack(app, VARIANT)
    app.synth()
else:  # a unit test file: new stacks, alternately without, with the floor and with the connection, in one process
    from cross_cluster_search import OutboundConnection
    for _ in range(int(sys.argv[3])):
        for variant in ("without", "floor", "with"):
            started = time.perf_counter()
            Template.from_stack(search_stack(cdk.App(), variant)).resource_count_is("AWS::OpenSearchService::Domain", 2)
            print(variant, time.perf_counter() - started, flush=True)
"""


VARIANTS = ("without", "floor", "with")


def bench_synth_cost(repeats: int) -> list[str]:
    """Ratios in one run: `cdk synth` with vs without the connection (wall and CPU of the CLI and its children,
    alternating), and in one process the 2nd-4th `Template.from_stack` of new stacks with vs without. Beside them
    the floor: the same app with a plain aws-cdk-lib custom resource (Function + CustomResource, nothing else)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    (workdir / "app.py").write_text(DOMAINS_APP)
    cdk_cli = ROOT / "node_modules" / ".bin" / "cdk"
    synth: dict[str, tuple[list[float], list[float]]] = {variant: ([], []) for variant in VARIANTS}
    for _ in range(repeats):
        for variant in VARIANTS:
            outdir = workdir / f"cdk.out.{variant}"
            shutil.rmtree(outdir, ignore_errors=True)
            started, cpu = time.perf_counter(), _children_cpu()
            subprocess.run(
                [
                    str(cdk_cli),
                    "synth",
                    "--quiet",
                    "--no-notices",
                    "--no-version-reporting",
                    "-o",
                    str(outdir),
                    "--app",
                    f"{sys.executable} app.py {variant} synth",
                ],
                cwd=workdir,
                check=True,
                capture_output=True,
            )
            synth[variant][0].append(time.perf_counter() - started)
            synth[variant][1].append(_children_cpu() - cpu)
    tests: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(3 * repeats):  # a few seconds each: more processes, steadier medians on shared cores
        out = subprocess.run(
            [sys.executable, "app.py", "-", "test", "4"], cwd=workdir, check=True, capture_output=True, text=True
        ).stdout.split()
        pairs = list(zip(out[::2], (float(v) for v in out[1::2]), strict=True))
        for variant in VARIANTS:
            tests[variant] += [t for v, t in pairs if v == variant][1:]  # the 2nd-4th of each in the process

    def ratio(values: dict[str, list[float]], variant: str) -> str:
        return f"{statistics.median(values[variant]) / statistics.median(values['without']):.2f}x"

    walls = {variant: synth[variant][0] for variant in VARIANTS}
    cpus = {variant: synth[variant][1] for variant in VARIANTS}
    rows = [
        "| measured | without the connection (s) | with one connection (s) | ratio | target | floor: plain "
        "aws-cdk-lib custom resource (s) | its ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, values, target in (
        ("`cdk synth`, wall", walls, "<= 1.15x"),
        ("`cdk synth`, CPU of the CLI, Python and jsii's node", cpus, "<= 1.15x"),
        ("2nd-4th `Template.from_stack` of a new stack in one process", tests, "<= 2x"),
    ):
        rows.append(
            f"| {label} | {spread(values['without'])} | {spread(values['with'])} | {ratio(values, 'with')} | "
            f"{target} | {spread(values['floor'])} | {ratio(values, 'floor')} |"
        )
    for row in rows:
        print(row, flush=True)
    shutil.rmtree(workdir)
    return rows


def bench_load(workdir: Path, rate: float) -> list[str]:
    stack = synthesize(workdir / "load", 20, destinations=21)
    # A 21st connection from the same source, which the app's own synthesis refuses: as if declared elsewhere.
    resources = stack.template["Resources"]
    last = next(k for k in resources if k.startswith("C19") and resources[k]["Type"].startswith("Custom::"))
    extra = json.loads(json.dumps(resources[last]).replace("bench-dest-19", "bench-dest-20").replace('"c19"', '"c20"'))
    resources["C20Extra"] = extra
    ids = [d.logical_id for d in stack.custom_resources()]
    delays = Delays(validating=2.0, provisioning=1.0, deleting=2.0)
    with world_for(stack, delays) as (store, cfn):
        store.faults.rate_per_second = rate
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(cfn.create, ids[:20]))
        total = time.perf_counter() - started
        calls = len(store.calls)
        throttles = sum(1 for c in store.calls if c.error == "ThrottlingException")
        ok = sum(r.ok for r in responses)
        extra = cfn.create(ids[20])
        live_after_21st = len(store.live())
        failures = sorted({r.reason for r in responses if not r.ok})
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(cfn.delete, [i for i in ids[:20] if i in cfn.deployed]))
        left = len(store.live())
    return [
        f"- 20 concurrent Creates on one source domain, emulator limited to {rate:g} requests/s per account: "
        f"**{ok}/20 SUCCESS** in {total:.1f} s total (slowest {max(r.latency for r in responses):.1f} s), "
        f"{calls} API calls, {throttles} throttled requests absorbed by botocore's retries."
        + (f" Failures: {failures}" if failures else ""),
        f"- The 21st: **{extra.status}** in {extra.latency:.2f} s — “{extra.reason}”; connections live "
        f"afterwards: {live_after_21st} (the 20), after deleting all: {left}.",
    ]


def bench_cold_start(asset_dir: Path, repeats: int) -> list[str]:
    bare_dir = Path(tempfile.mkdtemp(prefix="bare-crhelper-"))
    shutil.copytree(asset_dir / "crhelper", bare_dir / "crhelper")
    (bare_dir / "bare.py").write_text("from crhelper import CfnResource\n\nhelper = CfnResource()\n")
    runtime = Path(sys.prefix) / "lambda-runtime"
    probe = "import sys, time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    handler_times, bare_times = [], []
    env = {
        "PATH": os.environ["PATH"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for _ in range(repeats):  # side by side, alternating, in the same run
        for module, directory, sink in (
            ("ccs_handler.index", asset_dir, handler_times),
            ("bare", bare_dir, bare_times),
        ):
            env["PYTHONPATH"] = os.pathsep.join([str(directory), str(runtime)])
            out = subprocess.run(
                [sys.executable, "-S", "-c", probe.format(module=module)],
                env=env,
                cwd=directory,
                capture_output=True,
                text=True,
                check=True,
            )
            sink.append(float(out.stdout.strip()) * 1000)
    size = sum(p.stat().st_size for p in asset_dir.rglob("*") if p.is_file())
    extra = [h - b for h, b in zip(handler_times, bare_times, strict=True)]
    return [
        "| import in the Lambda-like process (ms) | median (range) |",
        "|---|---|",
        f"| handler (`ccs_handler.index`: crhelper + the handler modules) | {spread(handler_times)} |",
        f"| bare crhelper import + `CfnResource()` | {spread(bare_times)} |",
        f"| difference, per run | {spread(extra)} |",
        "",
        f"Asset size: {size} bytes ({size / 1024:.0f} KiB) unzipped.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="service times 1 and 5 s only, fewer repeats")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--user-app-only", action="store_true", help="section 5 only, printed, not written")
    parser.add_argument("--synth-cost-only", action="store_true", help="section 6 only, printed, not written")
    parser.add_argument("--data-plane-only", action="store_true", help="section 7 only, printed, not written")
    args = parser.parse_args()
    if args.user_app_only:
        bench_user_app(2 if args.quick else 5)
        return
    if args.synth_cost_only:
        bench_synth_cost(3 if args.quick else 5)
        return
    if args.data_plane_only:
        print("\n".join(bench_data_plane([5.0, 30.0], 1 if args.quick else 3)))
        return
    service_times = [1.0, 5.0] if args.quick else [1.0, 5.0, 30.0]
    repeats = 2 if args.quick else 3
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    stack = synthesize(workdir / "one", 1)
    asset_dir = stack.custom_resources()[0].function.asset_dir

    sections = {
        "1. Create and Delete latency versus the service's transition time": bench_latency(
            stack, service_times, repeats, naive_delete=not args.quick
        ),
        "2. Scale: one stack, many connections (synthesis without bundling, median of runs)": bench_scale(repeats),
        "3. Load: the 20 connections a source domain allows, at once": bench_load(workdir, rate=5),
        "4. Cold start and asset size": bench_cold_start(asset_dir, 10 if args.quick else 20),
        "5. What a connection adds to a user's app (synthesis and unit test, nothing skipped)": bench_user_app(
            2 if args.quick else 5
        ),
        "6. What a connection costs a synth (ratios in one run)": bench_synth_cost(3 if args.quick else 5),
        "7. The data plane: from an ACTIVE connection to SYNCING, and a search that answers": bench_data_plane(
            [5.0, 30.0], 1 if args.quick else 3
        ),
    }
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `bench/run.py` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores), through the "
        "offline driver (each invocation a fresh Lambda-like process) and the emulator. Figures are "
        f"median (min-max) over {repeats} runs unless noted. Overhead = response time - the service's own "
        "transition time.",
        "",
    ]
    for title, body in sections.items():
        lines += [f"## {title}", "", *body, ""]
    Path(args.out).write_text("\n".join(lines))
    print(json.dumps({"written": args.out}))


if __name__ == "__main__":
    main()
