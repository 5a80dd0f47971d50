"""The Lambda service for one function: each event runs in a fresh process (a cold start) under AWS's runtime
interface client, behind a local Runtime API (runtime_api.py), with nothing importable but the asset and the
runtime's libraries; the invocation ends at its timeout.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccs_offline.assembly import ProviderFunction, partition_of
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
