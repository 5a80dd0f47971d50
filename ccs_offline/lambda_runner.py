"""Runs one Lambda invocation the way the Python runtime does (stdlib only: started with `python -S`).

argv: HANDLER (module.function) TIMEOUT_SECONDS. The event arrives as JSON on stdin. The asset
directory and the runtime's boto3 come through PYTHONPATH; nothing else is importable (except
coverage.py alone, when CCS_COVERAGE_FILE asks for the handler's lines to be measured).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import uuid


class LambdaContext:
    """The parts of the Lambda context object that handlers use."""

    def __init__(self, timeout_seconds: float, function_name: str) -> None:
        self._deadline = time.monotonic() + timeout_seconds
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation is stopped."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(handler_path: str, timeout: float) -> None:
    """Import the handler (cold start), call it once with the event from stdin."""
    event = json.load(sys.stdin)
    context = LambdaContext(timeout, "local-provider")
    module_name, function_name = handler_path.rsplit(".", 1)
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), function_name)
    sys.stderr.write(f"RUNNER import_seconds={time.perf_counter() - started:.4f}\n")
    handler(event, context)


def main() -> None:
    """Invoke once; measure the asset's own modules (not its dependencies) when asked to."""
    handler_path, timeout = sys.argv[1], float(sys.argv[2])
    data_file = os.environ.get("CCS_COVERAGE_FILE")
    if not data_file:
        invoke(handler_path, timeout)
        return
    import coverage  # noqa: PLC0415 -- importable only when the driver measures (see CCS_COVERAGE_FILE)

    asset_dir = os.getcwd()
    measured = coverage.Coverage(
        data_file=data_file,
        data_suffix=True,
        source=[asset_dir],
        omit=[os.path.join(asset_dir, "*", "*")],
        config_file=False,
    )
    measured.start()
    try:
        invoke(handler_path, timeout)
    finally:
        measured.stop()
        measured.save()


if __name__ == "__main__":
    main()
