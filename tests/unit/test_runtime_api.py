"""The offline Lambda: AWS's runtime interface client behind the local Runtime API, in an isolated process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccs_offline.assembly import ProviderFunction
from ccs_offline.clock import WorldClock
from ccs_offline.lambda_service import LambdaInvoker
from ccs_offline.response_url import ResponseEndpoint, response_endpoint

HANDLER = """
import json, os, sys

def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    try:
        import pytest  # the test tooling must not be importable in the Lambda-like process
        isolated = False
    except ImportError:
        isolated = True
    return {
        "event": event,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "runtime_client": "awslambdaric" in sys.modules,
        "isolated": isolated,
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
    }
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ResponseEndpoint]:
    with response_endpoint() as running:
        yield running


@pytest.fixture
def lambda_service(endpoint: ResponseEndpoint) -> Iterator[LambdaInvoker]:
    invoker = LambdaInvoker(endpoint, {})
    yield invoker
    invoker.close()


def function(tmp_path: Path, body: str = HANDLER, timeout: float = 20) -> ProviderFunction:
    (tmp_path / "index.py").write_text(body)
    return ProviderFunction("Provider", "index.handler", timeout, {}, tmp_path, "python3.14")


def test_the_real_runtime_client_delivers_the_event_and_context(tmp_path: Path, lambda_service: LambdaInvoker) -> None:
    invoked = lambda_service.invoke(function(tmp_path), {"hello": "world"}, ("111111111111", "eu-west-1"))
    assert invoked.error is None, invoked.logs
    assert invoked.result is not None
    result = json.loads(invoked.result)
    assert result["event"] == {"hello": "world"}
    assert 15_000 < result["remaining_ms"] <= 20_000
    assert result["arn"] == "arn:aws:lambda:eu-west-1:111111111111:function:Provider"
    assert result["runtime_client"] and result["isolated"]
    assert result["execution_env"] == "AWS_Lambda_python3.14"
    assert invoked.init_seconds is not None and not invoked.timed_out


def test_a_handler_error_is_reported_in_the_runtime_clients_format(
    tmp_path: Path, lambda_service: LambdaInvoker
) -> None:
    invoked = lambda_service.invoke(function(tmp_path), {"fail": True}, ("111111111111", "us-east-1"))
    assert invoked.error is not None
    assert invoked.error["errorType"] == "ValueError"
    assert invoked.error["errorMessage"] == "asked to fail"


def test_an_import_error_is_an_init_error(tmp_path: Path, lambda_service: LambdaInvoker) -> None:
    invoked = lambda_service.invoke(
        function(tmp_path, "import crhelper_is_not_here\n"), {}, ("111111111111", "us-east-1")
    )
    assert invoked.error is not None
    assert "ImportModuleError" in invoked.error["errorType"], invoked.error


def test_the_invocation_ends_at_its_timeout(tmp_path: Path, lambda_service: LambdaInvoker) -> None:
    slow = "import time\n\ndef handler(event, context):\n    time.sleep(60)\n"
    invoked = lambda_service.invoke(function(tmp_path, slow, timeout=2), {}, ("111111111111", "us-east-1"))
    assert invoked.timed_out
    assert invoked.result is None and invoked.error is None


def test_a_warm_environment_takes_the_next_event_until_a_cold_start(
    tmp_path: Path, lambda_service: LambdaInvoker
) -> None:
    """As Lambda does: the process that answered takes the function's next event, with what its modules kept."""
    body = (
        "import os\nseen = []\n\ndef handler(event, context):\n"
        "    seen.append(event)\n    return [os.getpid(), len(seen)]\n"
    )
    provider = function(tmp_path, body)
    where = ("111111111111", "us-east-1")
    first, second = (json.loads(lambda_service.invoke(provider, {"n": n}, where).result or b"") for n in (1, 2))
    assert first[0] == second[0] and (first[1], second[1]) == (1, 2)
    lambda_service.cold_start()
    third = json.loads(lambda_service.invoke(provider, {"n": 3}, where).result or b"")
    assert third[0] != first[0] and third[1] == 1


def test_the_lambda_like_process_keeps_the_worlds_time(tmp_path: Path, endpoint: ResponseEndpoint) -> None:
    """At 10x, 20 world seconds of timeout are 2 real seconds, and time.sleep(5) in the handler takes 0.5 s."""
    body = (
        "import time\n\ndef handler(event, context):\n    start = time.monotonic()\n    time.sleep(5)\n"
        "    return [time.monotonic() - start, context.get_remaining_time_in_millis()]\n"
    )
    invoker = LambdaInvoker(endpoint, {}, clock=WorldClock(10.0))
    try:
        started = time.perf_counter()
        invoked = invoker.invoke(function(tmp_path, body, timeout=20), {}, ("111111111111", "us-east-1"))
        real = time.perf_counter() - started
    finally:
        invoker.close()
    slept, remaining_ms = json.loads(invoked.result or b"")
    assert 5 <= slept < 8  # world seconds, on the handler's own clock
    assert 0 < remaining_ms <= 15_000  # 20 s of world time, minus the sleep
    assert real < 2.0, f"{real:.1f} real seconds"
