"""The offline Lambda: AWS's runtime interface client behind the local Runtime API, in an isolated process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccs_offline.assembly import ProviderFunction
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


def function(tmp_path: Path, body: str = HANDLER, timeout: float = 20) -> ProviderFunction:
    (tmp_path / "index.py").write_text(body)
    return ProviderFunction("Provider", "index.handler", timeout, {}, tmp_path, "python3.14")


def test_the_real_runtime_client_delivers_the_event_and_context(tmp_path: Path, endpoint: ResponseEndpoint) -> None:
    invoked = LambdaInvoker(endpoint, {}).invoke(function(tmp_path), {"hello": "world"}, ("111111111111", "eu-west-1"))
    assert invoked.error is None, invoked.logs
    assert invoked.result is not None
    result = json.loads(invoked.result)
    assert result["event"] == {"hello": "world"}
    assert 15_000 < result["remaining_ms"] <= 20_000
    assert result["arn"] == "arn:aws:lambda:eu-west-1:111111111111:function:Provider"
    assert result["runtime_client"] and result["isolated"]
    assert result["execution_env"] == "AWS_Lambda_python3.14"
    assert invoked.init_seconds is not None and not invoked.timed_out


def test_a_handler_error_is_reported_in_the_runtime_clients_format(tmp_path: Path, endpoint: ResponseEndpoint) -> None:
    invoked = LambdaInvoker(endpoint, {}).invoke(function(tmp_path), {"fail": True}, ("111111111111", "us-east-1"))
    assert invoked.error is not None
    assert invoked.error["errorType"] == "ValueError"
    assert invoked.error["errorMessage"] == "asked to fail"


def test_an_import_error_is_an_init_error(tmp_path: Path, endpoint: ResponseEndpoint) -> None:
    invoked = LambdaInvoker(endpoint, {}).invoke(
        function(tmp_path, "import crhelper_is_not_here\n"), {}, ("111111111111", "us-east-1")
    )
    assert invoked.error is not None
    assert "ImportModuleError" in invoked.error["errorType"], invoked.error


def test_the_invocation_ends_at_its_timeout(tmp_path: Path, endpoint: ResponseEndpoint) -> None:
    slow = "import time\n\ndef handler(event, context):\n    time.sleep(60)\n"
    invoked = LambdaInvoker(endpoint, {}).invoke(function(tmp_path, slow, timeout=2), {}, ("111111111111", "us-east-1"))
    assert invoked.timed_out
    assert invoked.result is None and invoked.error is None
