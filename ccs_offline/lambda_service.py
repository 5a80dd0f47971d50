"""The Lambda service for one world's functions: each event runs in an execution environment (a process under
AWS's runtime interface client, behind a local Runtime API, with nothing importable but the asset and the
runtime's libraries). As Lambda does, an environment that answered stays warm and takes the function's next
event, with what its modules kept (crhelper's `helper`, the boto3 session); overlapping events get
environments of their own; an invocation that times out ends its environment. `cold_start()` ends the warm
ones ("Lambda execution environments", AWS Lambda Developer Guide).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccs_offline.assembly import ProviderFunction, partition_of
from ccs_offline.clock import REAL_TIME, WorldClock
from ccs_offline.response_url import ResponseEndpoint
from ccs_offline.runtime_api import Invocation, RuntimeApiServer

RUNTIME_DIR = Path(sys.prefix) / "lambda-runtime"
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")


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
class _Environment:
    """One execution environment: the runtime client's process, its Runtime API and its output."""

    process: subprocess.Popen[bytes]
    server: RuntimeApiServer
    output: Path  #: the process's stdout and stderr, appended to
    started: float  #: perf_counter at the process's start

    def logs_from(self, offset: int) -> str:
        with self.output.open("rb") as written:
            written.seek(offset)
            return written.read().decode(errors="replace")

    def end(self) -> None:
        """End it as Lambda ends an environment: SIGTERM, then SIGKILL."""
        _stop(self.process)
        self.server.__exit__()
        self.output.unlink(missing_ok=True)


@dataclass
class LambdaInvoker:
    """Invokes provider functions under AWS's runtime client, behind a local Runtime API, reusing warm
    environments. The processes see only the asset and the runtime's libraries, and the world's clock."""

    endpoint: ResponseEndpoint
    environment: dict[str, str]  #: endpoint URLs and credentials, as Lambda's execution environment gives them
    runtime_dir: Path = RUNTIME_DIR
    coverage_data_file: Path | None = None  #: measure the handler's lines into this coverage.py data file
    clock: WorldClock = REAL_TIME
    #: The PEM bundle the process trusts (SSL_CERT_FILE): the ResponseURL's CA and any other local HTTPS
    #: stand-in's (the local OpenSearch domains'); the ResponseURL's CA alone when None.
    ca_bundle: str | None = None
    _idle: dict[tuple[str, ...], list[_Environment]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(
        self,
        function: ProviderFunction,
        event: dict[str, Any],
        account_region: tuple[str, str],
        timeout: float | None = None,
    ) -> Invoked:
        """Run the handler with the event until it answers the Runtime API or its timeout ends it (world
        seconds; `timeout` overrides the function's: an invocation that starts with only that much left)."""
        if not (self.runtime_dir / "awslambdaric").is_dir():
            raise RuntimeError(f"No Lambda runtime libraries in {self.runtime_dir}: run `make setup` first")
        account, region = account_region
        seconds = function.timeout if timeout is None else timeout
        key = (function.logical_id, str(function.asset_dir), function.handler, account, region)
        with self._lock:
            idle = self._idle.get(key, [])
            environment = idle.pop() if idle else None
        cold = environment is None
        if environment is None:
            environment = self._start(function, region)
        invocation = Invocation(
            event=event,
            request_id=str(uuid.uuid4()),
            deadline_ms=int((self.clock.wall() + seconds) * 1000),
            function_arn=f"arn:{partition_of(region)[0]}:lambda:{region}:{account}:function:{function.logical_id}",
        )
        offset = environment.output.stat().st_size
        started = time.perf_counter()
        environment.server.submit(invocation)
        ends = started + self.clock.real(seconds)
        process = environment.process
        server = environment.server
        while (
            not invocation.done.is_set()
            and server.init_error is None
            and process.poll() is None
            and time.perf_counter() < ends
        ):
            invocation.done.wait(0.02)
        timed_out = not invocation.done.is_set() and process.poll() is None
        answered = invocation.done.is_set() and process.poll() is None
        if not answered:
            _stop(process)  # a timed-out or crashed invocation ends its environment
        logs = environment.logs_from(offset)
        if answered:
            with self._lock:
                self._idle.setdefault(key, []).append(environment)
        else:
            environment.end()
        fetched = invocation.fetched_at
        init_from = environment.started if cold else started
        return Invoked(
            logs=logs,
            init_seconds=None if fetched is None or not cold else fetched - init_from,
            error=invocation.error or environment.server.init_error,
            timed_out=timed_out,
            result=invocation.result,
        )

    def _start(self, function: ProviderFunction, region: str) -> _Environment:
        # The function's code (LAMBDA_TASK_ROOT), each layer's python/ (/opt/python), then the runtime's libraries.
        layers = [str(layer / "python") for layer in function.layer_dirs]
        paths = [str(function.asset_dir), *layers, str(self.runtime_dir)]
        measure = {}
        if self.coverage_data_file is not None:
            paths.append(_coverage_only_dir())
            measure["CCS_COVERAGE_FILE"] = str(self.coverage_data_file)
        server = RuntimeApiServer().__enter__()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",  # each invocation's logs are read while the environment lives on
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
            "SSL_CERT_FILE": self.ca_bundle or self.endpoint.ca_file,
            **function.environment,
            **self.environment,
            **self.clock.environment(),
            **measure,
        }
        handle, name = tempfile.mkstemp(prefix="ccs-lambda-", suffix=".log")
        os.close(handle)
        started = time.perf_counter()
        with open(name, "ab") as output:  # appended to: reading it never moves where the process writes
            process = subprocess.Popen(
                [sys.executable, "-S", str(BOOTSTRAP), function.handler],
                stdin=subprocess.DEVNULL,  # never the caller's (pytest-xdist's workers talk over theirs)
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=function.asset_dir,
            )
        return _Environment(process, server, Path(name), started)

    def cold_start(self) -> None:
        """End every warm environment: the next event starts a new one."""
        with self._lock:
            warm = [environment for environments in self._idle.values() for environment in environments]
            self._idle.clear()
        for environment in warm:
            environment.end()

    close = cold_start


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the process as Lambda ends an environment: SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
