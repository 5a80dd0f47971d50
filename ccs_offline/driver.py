"""A local stand-in for CloudFormation's custom resource handling, driving the bundled Lambda asset.

It reads `cdk.out`, resolves the intrinsics the templates use, turns property values into strings
as CloudFormation does, invokes the provider's handler in a separate Lambda-like process (nothing
but the asset and boto3 importable) and receives crhelper's response on a local HTTPS ResponseURL.
It then checks each response as CloudFormation would and runs the follow-up requests CloudFormation
sends: the cleanup Delete after a replacement, the rollback Delete after a failed Create, the
rollback Update after a failed Update.
"""

from __future__ import annotations

import functools
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore
import trustme

from ccs_offline.cloudformation_api import StackResource
from ccs_offline.runtime_api import Invocation, RuntimeApiServer

RUNTIME_DIR = Path(sys.prefix) / "lambda-runtime"
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID = 1024
DOMAIN_TYPES = ("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain")


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return list(data["partitions"])


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, from botocore's data/partitions.json."""
    for partition in _partitions():
        if region in partition["regions"] or re.fullmatch(partition["regionRegex"].strip("^$"), region):
            return str(partition["id"]), str(partition["outputs"]["dnsSuffix"])
    return "aws", "amazonaws.com"


class ProtocolViolation(AssertionError):
    """The handler answered in a way CloudFormation would reject."""


# --- the ResponseURL server -------------------------------------------------------------------
class _ResponseHandler(BaseHTTPRequestHandler):
    server: _ResponseServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.bodies.setdefault(self.path, []).append((time.perf_counter(), body))
            self.server.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _ResponseServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ResponseHandler)
        self.bodies: dict[str, list[tuple[float, bytes]]] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)


@dataclass
class ResponseEndpoint:
    """The HTTPS server that plays CloudFormation's pre-signed ResponseURL."""

    server: _ResponseServer
    ca_file: str

    def new_url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/response/{uuid.uuid4().hex}"

    def bodies(self, url: str) -> list[tuple[float, bytes]]:
        path = "/" + url.split("/", 3)[3]
        with self.server.lock:
            return list(self.server.bodies.get(path, []))


@contextmanager
def response_endpoint() -> Iterator[ResponseEndpoint]:
    """An HTTPS ResponseURL server with a throwaway CA that the Lambda-like process trusts."""
    ca = trustme.CA()
    server = _ResponseServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="response-url", daemon=True)
    thread.start()
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
        handle.write(ca.cert_pem.bytes())
    try:
        yield ResponseEndpoint(server, handle.name)
    finally:
        server.shutdown()
        server.server_close()
        os.unlink(handle.name)


# --- the cloud assembly -----------------------------------------------------------------------
@dataclass(frozen=True)
class ProviderFunction:
    """A Lambda function as the template declares it, with its asset directory."""

    logical_id: str
    handler: str
    timeout: float
    environment: dict[str, str]
    asset_dir: Path
    runtime: str = "python3.14"


@dataclass(frozen=True)
class CustomResourceDef:
    """A custom resource of the template, with the function behind its ServiceToken."""

    logical_id: str
    resource_type: str
    properties: dict[str, Any]
    function: ProviderFunction
    depends_on: tuple[str, ...]
    service_timeout: float


@dataclass
class StackTemplate:
    """One synthesized stack and what the driver needs from it."""

    name: str
    template: dict[str, Any]
    assembly_dir: Path
    account: str
    region: str
    artifact_id: str = ""

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template.get("Resources", {}))

    def domain_names(self) -> dict[str, tuple[str, str]]:
        """Logical id -> (domain name, engine version) of every domain the template declares."""
        found = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] in DOMAIN_TYPES:
                props = resource.get("Properties", {})
                name = props.get("DomainName") or (self.name[:14] + "-" + logical_id[:13]).lower()
                version = props.get("EngineVersion") or "Elasticsearch_" + props.get("ElasticsearchVersion", "7.10")
                found[logical_id] = (name, version)
        return found

    def function(self, logical_id: str) -> ProviderFunction:
        resource = self.resources[logical_id]
        props = resource["Properties"]
        asset = resource.get("Metadata", {}).get("aws:asset:path") or self._asset_from_manifest(props)
        if not asset:
            raise ValueError(f"Function {logical_id} has no local asset to run")
        return ProviderFunction(
            logical_id=logical_id,
            handler=props["Handler"],
            timeout=float(props.get("Timeout", 3)),
            environment={k: str(self.resolve(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            asset_dir=self.assembly_dir / asset,
            runtime=str(props.get("Runtime", "python3.14")),
        )

    def _asset_from_manifest(self, props: dict[str, Any]) -> str | None:
        """The asset directory behind Code.S3Key, from the stack's assets manifest."""
        key = str(props.get("Code", {}).get("S3Key", ""))
        manifest = self.assembly_dir / f"{self.artifact_id}.assets.json"
        if not key.endswith(".zip") or not manifest.is_file():
            return None
        entry = json.loads(manifest.read_text()).get("files", {}).get(key.removesuffix(".zip"))
        return str(entry["source"]["path"]) if entry else None

    def custom_resources(self) -> list[CustomResourceDef]:
        """Custom resources in an order that respects DependsOn and references between them."""
        defs = {}
        for logical_id, resource in self.resources.items():
            if (
                not resource["Type"].startswith("Custom::")
                and resource["Type"] != "AWS::CloudFormation::CustomResource"
            ):
                continue
            props = dict(resource.get("Properties", {}))
            token = props["ServiceToken"]
            function_id = token["Fn::GetAtt"][0] if isinstance(token, dict) and "Fn::GetAtt" in token else None
            if function_id is None:
                raise ValueError(f"{logical_id}: only ServiceTokens of functions in the template are supported")
            depends = resource.get("DependsOn", [])
            defs[logical_id] = CustomResourceDef(
                logical_id,
                resource["Type"],
                props,
                self.function(function_id),
                tuple([depends] if isinstance(depends, str) else depends),
                float(props.get("ServiceTimeout", 3600)),
            )
        ordered: list[CustomResourceDef] = []
        while len(ordered) < len(defs):
            ready = [
                d
                for d in defs.values()
                if d not in ordered and all(dep not in defs or defs[dep] in ordered for dep in d.depends_on)
            ]
            if not ready:
                raise ValueError("Circular dependency between custom resources")
            ordered.extend(ready)
        return ordered

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition[0],
            "AWS::URLSuffix": self.partition[1],
            "AWS::StackName": self.name,
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": "",
        }

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition[0]}:cloudformation:{self.region}:{self.account}:stack/{self.name}/{uuid.UUID(int=1)}"
        )

    @property
    def partition(self) -> tuple[str, str]:
        """The stack region's partition and DNS suffix (what AWS::Partition and AWS::URLSuffix resolve to)."""
        return partition_of(self.region)

    def resolve(
        self,
        value: Any,
        physical_ids: dict[str, str] | None = None,
        attributes: dict[str, dict[str, Any]] | None = None,
    ) -> Any:
        """Resolve the intrinsics synthesized templates use: Ref, GetAtt, Join, Select, Split, Sub."""
        physical_ids = physical_ids or {}
        attributes = attributes or {}
        domains = self.domain_names()
        pseudo = self.pseudo()

        def ref(name: str) -> Any:
            if name in pseudo:
                return pseudo[name]
            if name in domains:
                return domains[name][0]
            if name in physical_ids:
                return physical_ids[name]
            parameter = self.template.get("Parameters", {}).get(name)
            if parameter is not None and "Default" in parameter:
                return parameter["Default"]
            raise ValueError(f"Cannot resolve Ref {name}")

        def get_att(name: str, attribute: str) -> Any:
            if name in domains:
                domain = domains[name][0]
                arn = f"arn:{self.partition[0]}:es:{self.region}:{self.account}:domain/{domain}"
                return {
                    "Arn": arn,
                    "DomainArn": arn,
                    "DomainEndpoint": f"search-{domain}.{self.region}.es.{self.partition[1]}",
                }[attribute]
            if name in attributes and attribute in attributes[name]:
                return attributes[name][attribute]
            if attribute == "Arn":
                return f"arn:{self.partition[0]}:lambda:{self.region}:{self.account}:function:{name}"
            raise ValueError(f"Cannot resolve Fn::GetAtt {name}.{attribute}")

        def walk(node: Any) -> Any:
            if isinstance(node, list):
                return [walk(item) for item in node]
            if not isinstance(node, dict):
                return node
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref":
                    return ref(arg)
                if key == "Fn::GetAtt":
                    name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                    return get_att(name, attribute)
                if key == "Fn::Join":
                    return str(arg[0]).join(str(walk(part)) for part in walk(arg[1]))
                if key == "Fn::Select":
                    return walk(arg[1])[int(walk(arg[0]))]
                if key == "Fn::Split":
                    return str(walk(arg[1])).split(arg[0])
                if key == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    for name, replacement in pseudo.items():
                        text = text.replace("${" + name + "}", replacement)
                    return text
            return {key: walk(item) for key, item in node.items()}

        return walk(value)


def load_assembly(cdk_out: Path, account: str = "111111111111", region: str = "us-east-1") -> list[StackTemplate]:
    """Every stack of a cloud assembly; environment-agnostic stacks get the given account and region."""
    cdk_out = cdk_out.resolve()
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        env = artifact.get("environment", "aws://unknown-account/unknown-region").split("/")
        stacks.append(
            StackTemplate(
                name=artifact.get("properties", {}).get("stackName", name),
                template=template,
                assembly_dir=cdk_out,
                account=account if env[2].startswith("unknown") else env[2],
                region=region if env[3].startswith("unknown") else env[3],
                artifact_id=name,
            )
        )
    return stacks


def cfn_strings(value: Any) -> Any:
    """CloudFormation hands custom resources every scalar as a string: True -> "true", 600 -> "600"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [cfn_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: cfn_strings(item) for key, item in value.items()}
    return value


# --- invoking the handler ---------------------------------------------------------------------
@dataclass
class Response:
    """One custom resource response, checked as CloudFormation checks it."""

    request_type: str
    logical_id: str
    status: str
    physical_id: str
    reason: str
    data: dict[str, Any]
    latency: float
    size: int
    init_seconds: float | None = None
    logs: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


@functools.cache
def _coverage_only_dir() -> str:
    """A directory where coverage.py is importable and nothing else is (so the asset stays isolated)."""
    import coverage  # noqa: PLC0415 -- only the tests measure coverage; deploy-local does not need it

    directory = Path(tempfile.mkdtemp(prefix="ccs-coverage-"))
    (directory / "coverage").symlink_to(Path(coverage.__file__).parent, target_is_directory=True)
    return str(directory)


@dataclass
class Invoked:
    """What one invocation of the function did, as the Lambda service would see it."""

    logs: str
    init_seconds: float | None  #: process start to the runtime client's first `next` (Lambda's Init Duration)
    error: dict[str, Any] | None  #: the runtime client's /error or /init/error report
    timed_out: bool
    result: bytes | None = None  #: what the handler returned, as the runtime client posted it


@dataclass
class LambdaInvoker:
    """Invokes a provider function per event under AWS's runtime client, behind a local Runtime API
    (a cold start each time). The process sees only the asset and the runtime's libraries."""

    endpoint: ResponseEndpoint
    environment: dict[str, str]  #: endpoint URLs and credentials, as Lambda's execution environment gives them
    runtime_dir: Path = RUNTIME_DIR
    coverage_data_file: Path | None = None  #: measure the handler's lines into this coverage.py data file

    def invoke(
        self,
        function: ProviderFunction,
        event: dict[str, Any],
        account_region: tuple[str, str],
        timeout: float | None = None,
    ) -> Invoked:
        """Run the handler with the event until it answers the Runtime API or its timeout ends it."""
        if not (self.runtime_dir / "awslambdaric").is_dir():
            raise RuntimeError(f"No Lambda runtime libraries in {self.runtime_dir}: run `make setup` first")
        account, region = account_region
        seconds = function.timeout if timeout is None else timeout
        paths = [str(function.asset_dir), str(self.runtime_dir)]
        measure = {}
        if self.coverage_data_file is not None:
            paths.append(_coverage_only_dir())
            measure["CCS_COVERAGE_FILE"] = str(self.coverage_data_file)
        invocation = Invocation(
            event=event,
            request_id=str(uuid.uuid4()),
            deadline_ms=int((time.time() + seconds) * 1000),
            function_arn=f"arn:{partition_of(region)[0]}:lambda:{region}:{account}:function:{function.logical_id}",
        )
        with RuntimeApiServer(invocation) as server, tempfile.TemporaryFile() as output:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": os.pathsep.join(paths),
                "PYTHONDONTWRITEBYTECODE": "1",
                "AWS_LAMBDA_RUNTIME_API": server.address,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
                "_HANDLER": function.handler,
                "LAMBDA_TASK_ROOT": str(function.asset_dir),
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                "AWS_EC2_METADATA_DISABLED": "true",
                "SSL_CERT_FILE": self.endpoint.ca_file,
                **function.environment,
                **self.environment,
                **measure,
            }
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-S", str(BOOTSTRAP), function.handler],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=function.asset_dir,
            )
            ends = started + seconds
            while not invocation.done.is_set() and process.poll() is None and time.perf_counter() < ends:
                invocation.done.wait(0.02)
            timed_out = not invocation.done.is_set() and process.poll() is None
            _stop(process)
            output.seek(0)
            logs = output.read().decode(errors="replace")
        fetched = invocation.fetched_at
        return Invoked(
            logs=logs,
            init_seconds=None if fetched is None else fetched - started,
            error=invocation.error or invocation.init_error,
            timed_out=timed_out,
            result=invocation.result,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the process as Lambda ends an environment: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Deployed:
    """A custom resource as the local CloudFormation knows it after its last successful request."""

    physical_id: str
    properties: dict[str, Any]
    data: dict[str, Any]


@dataclass
class LocalCloudFormation:
    """Create, update and delete one stack's custom resources as CloudFormation would."""

    stack: StackTemplate
    invoker: LambdaInvoker
    deployed: dict[str, Deployed] = field(default_factory=dict)
    history: list[Response] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  #: every event delivered, in order
    statuses: dict[str, str] = field(default_factory=dict)  #: logical id -> status, for ListStackResources
    lock: threading.Lock = field(default_factory=threading.Lock)

    def definition(self, logical_id: str) -> CustomResourceDef:
        return next(d for d in self.stack.custom_resources() if d.logical_id == logical_id)

    def properties(self, definition: CustomResourceDef, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The resolved, stringified properties CloudFormation would send."""
        raw = dict(definition.properties, **(overrides or {}))  # ServiceToken and ServiceTimeout stay in
        physical = {k: v.physical_id for k, v in self.deployed.items()}
        attributes = {k: v.data for k, v in self.deployed.items()}
        return dict(cfn_strings(self.stack.resolve(raw, physical, attributes)))

    def event(
        self,
        request_type: str,
        definition: CustomResourceDef,
        properties: dict[str, Any],
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A custom resource request as CloudFormation sends it: its reserved keys (ServiceToken, ServiceTimeout)
        stay inside ResourceProperties and OldResourceProperties as strings, and both are also at the top level
        (tests/reference/cloudformation_events.json names the sources)."""
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": self.invoker.endpoint.new_url(),
            "StackId": self.stack.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": definition.logical_id,
            "ResourceType": definition.resource_type,
            "ResourceProperties": properties,
        }
        if "ServiceTimeout" in properties:
            event["ServiceTimeout"] = properties["ServiceTimeout"]
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = old_properties
        return event

    def send(self, definition: CustomResourceDef, event: dict[str, Any], timeout: float | None = None) -> Response:
        """Invoke the handler, wait for its response, and check it as CloudFormation would. `timeout` overrides
        the function's (an invocation that starts with only that much time left)."""
        with self.lock:
            self.sent.append(event)
        started = time.perf_counter()
        invoked = self.invoker.invoke(definition.function, event, (self.stack.account, self.stack.region), timeout)
        responses = self._responses(definition, event, started, invoked)
        return responses[0]

    def deliver_copies(self, event: dict[str, Any], copies: int = 2, overlap: bool = True) -> list[Response]:
        """Deliver one event several times (same RequestId and ResponseURL), as asynchronous invocation may:
        at the same moment (`overlap`) or one after the other. Every answer, in the order it arrived."""
        definition = self.definition(event["LogicalResourceId"])
        started = time.perf_counter()
        where = (self.stack.account, self.stack.region)
        invoked: list[Invoked] = []

        def run() -> None:
            result = self.invoker.invoke(definition.function, event, where)
            with self.lock:
                invoked.append(result)
                self.sent.append(event)

        if overlap:
            threads = [threading.Thread(target=run) for _ in range(copies)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:
            for _ in range(copies):
                run()
        return self._responses(definition, event, started, invoked[-1])

    def _responses(
        self, definition: CustomResourceDef, event: dict[str, Any], started: float, invoked: Invoked
    ) -> list[Response]:
        bodies = self.invoker.endpoint.bodies(event["ResponseURL"])
        if not bodies:
            raise ProtocolViolation(
                f"{event['RequestType']} {definition.logical_id}: no response before the Lambda ended "
                f"(CloudFormation would wait {definition.service_timeout:.0f} s)\n{invoked.logs[-2000:]}"
            )
        results = []
        for arrived, body in bodies:
            response = self._check(event, body)
            results.append(
                Response(
                    event["RequestType"],
                    definition.logical_id,
                    response["Status"],
                    response["PhysicalResourceId"],
                    response.get("Reason", ""),
                    response.get("Data") or {},
                    arrived - started,
                    len(body),
                    invoked.init_seconds,
                    invoked.logs,
                )
            )
        with self.lock:
            self.history.append(results[0])  # CloudFormation acts on the first answer
        return results

    @staticmethod
    def _check(event: dict[str, Any], body: bytes) -> dict[str, Any]:
        where = f"{event['RequestType']} {event['LogicalResourceId']}"
        if len(body) > MAX_RESPONSE_BYTES:
            raise ProtocolViolation(f"{where}: response of {len(body)} bytes exceeds {MAX_RESPONSE_BYTES}")
        response = json.loads(body)
        if response.get("Status") not in ("SUCCESS", "FAILED"):
            raise ProtocolViolation(f"{where}: Status {response.get('Status')!r}")
        for key in ("StackId", "RequestId", "LogicalResourceId"):
            if response.get(key) != event[key]:
                raise ProtocolViolation(f"{where}: {key} {response.get(key)!r} does not echo the request")
        physical_id = response.get("PhysicalResourceId")
        if not isinstance(physical_id, str) or not physical_id or len(physical_id.encode()) > MAX_PHYSICAL_ID:
            raise ProtocolViolation(f"{where}: invalid PhysicalResourceId {physical_id!r}")
        if event["RequestType"] == "Delete" and physical_id != event["PhysicalResourceId"]:
            raise ProtocolViolation(f"{where}: Delete changed the physical id")
        if response["Status"] == "FAILED" and not response.get("Reason"):
            raise ProtocolViolation(f"{where}: FAILED without a Reason")
        return dict(response)

    # --- the operations CloudFormation performs -----------------------------------------------
    def _status(self, logical_id: str, status: str | None) -> None:
        """A resource's status as ListStackResources shows it (None: no longer in the stack)."""
        with self.lock:
            if status is None:
                self.statuses.pop(logical_id, None)
            else:
                self.statuses[logical_id] = status

    def create(self, logical_id: str, overrides: dict[str, Any] | None = None) -> Response:
        """Create; after FAILED, the rollback Delete carries the FAILED response's physical id."""
        definition = self.definition(logical_id)
        properties = self.properties(definition, overrides)
        self._status(logical_id, "CREATE_IN_PROGRESS")
        response = self.send(definition, self.event("Create", definition, properties))
        if response.ok:
            self.deployed[logical_id] = Deployed(response.physical_id, properties, response.data)
            self._status(logical_id, "CREATE_COMPLETE")
        else:
            self._status(logical_id, "DELETE_IN_PROGRESS")
            self.send(definition, self.event("Delete", definition, properties, response.physical_id))
            self._status(logical_id, None)
        return response

    def update(self, logical_id: str, overrides: dict[str, Any] | None = None) -> Response:
        """Update; a new physical id gets the old one deleted, a failure gets a rollback Update."""
        definition = self.definition(logical_id)
        current = self.deployed[logical_id]
        properties = self.properties(definition, overrides)
        self._status(logical_id, "UPDATE_IN_PROGRESS")
        event = self.event("Update", definition, properties, current.physical_id, current.properties)
        response = self.send(definition, event)
        if not response.ok:
            self._status(logical_id, "UPDATE_ROLLBACK_IN_PROGRESS")
            rollback = self.send(
                definition, self.event("Update", definition, current.properties, current.physical_id, properties)
            )
            if rollback.ok:  # the rolled-back resource may have a new id (e.g. recreated after a delete-first)
                self.deployed[logical_id] = Deployed(rollback.physical_id, current.properties, rollback.data)
            self._status(logical_id, "UPDATE_COMPLETE")
            return response
        self.deployed[logical_id] = Deployed(response.physical_id, properties, response.data)
        self._status(logical_id, "UPDATE_COMPLETE")
        if response.physical_id != current.physical_id:
            self.send(definition, self.event("Delete", definition, current.properties, current.physical_id))
        return response

    def delete(self, logical_id: str, definition: CustomResourceDef | None = None) -> Response:
        """Delete a deployed resource (`definition`: from the template it was deployed with)."""
        definition = definition or self.definition(logical_id)
        current = self.deployed[logical_id]
        self._status(logical_id, "DELETE_IN_PROGRESS")
        response = self.send(definition, self.event("Delete", definition, current.properties, current.physical_id))
        if response.ok:
            del self.deployed[logical_id]
            self._status(logical_id, None)
        else:
            self._status(logical_id, "DELETE_FAILED")
        return response

    def apply(self, template: StackTemplate) -> list[Response]:
        """Deploy a new version of the stack's template: Create what is new, Update what changed, then, in
        the cleanup phase, Delete what the new template no longer has (e.g. a renamed construct's old
        logical id), as a stack update does."""
        before = {d.logical_id: d for d in self.stack.custom_resources()}
        self.stack = template
        responses = []
        for definition in template.custom_resources():
            logical_id = definition.logical_id
            if logical_id not in self.deployed:
                responses.append(self.create(logical_id))
            elif self.properties(definition) != self.deployed[logical_id].properties:
                responses.append(self.update(logical_id))
            if not responses or responses[-1].ok:
                continue
            return responses
        kept = {d.logical_id for d in template.custom_resources()}
        for logical_id in reversed([k for k in before if k in self.deployed and k not in kept]):
            responses.append(self.delete(logical_id, before[logical_id]))
        return responses

    @property
    def stack_name(self) -> str:
        return self.stack.name

    @property
    def stack_id(self) -> str:
        return self.stack.stack_id

    def stack_resources(self) -> list[StackResource]:
        """The stack's resources as the CloudFormation API reports them (cloudformation_api.StackView)."""
        custom = {d.logical_id: d.resource_type for d in self.stack.custom_resources()}
        with self.lock:
            resources = [
                StackResource(
                    logical_id,
                    self.deployed[logical_id].physical_id if logical_id in self.deployed else None,
                    custom.get(logical_id, "Custom::Unknown"),
                    status,
                )
                for logical_id, status in self.statuses.items()
            ]
        others = [
            StackResource(logical_id, f"{self.stack.name}-{logical_id}", resource["Type"], "CREATE_COMPLETE")
            for logical_id, resource in self.stack.resources.items()
            if logical_id not in custom
        ]
        return others + resources

    def deploy(self) -> list[Response]:
        """Create every custom resource in dependency order; stop at the first failure."""
        responses = []
        for definition in self.stack.custom_resources():
            response = self.create(definition.logical_id)
            responses.append(response)
            if not response.ok:
                break
        return responses

    def destroy(self) -> list[Response]:
        """Delete every deployed custom resource in reverse dependency order."""
        order = [d.logical_id for d in self.stack.custom_resources() if d.logical_id in self.deployed]
        return [self.delete(logical_id) for logical_id in reversed(order)]

    def outputs(self) -> dict[str, Any]:
        """The stack outputs, resolved against the deployed resources."""
        physical = {k: v.physical_id for k, v in self.deployed.items()}
        attributes = {k: v.data for k, v in self.deployed.items()}
        return {
            name: self.stack.resolve(output["Value"], physical, attributes)
            for name, output in self.stack.template.get("Outputs", {}).items()
        }
