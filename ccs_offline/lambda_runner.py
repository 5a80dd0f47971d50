"""Runs one Lambda invocation the way the Python runtime does (stdlib only: started with `python -S`).

argv: HANDLER (module.function) TIMEOUT_SECONDS. The event arrives as JSON on stdin. The asset
directory and the runtime's boto3 come through PYTHONPATH; nothing else is importable.
"""

from __future__ import annotations

import importlib
import json
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


def main() -> None:
    """Import the handler (cold start), call it once with the event from stdin."""
    handler_path, timeout = sys.argv[1], float(sys.argv[2])
    event = json.load(sys.stdin)
    context = LambdaContext(timeout, "local-provider")
    module_name, function_name = handler_path.rsplit(".", 1)
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), function_name)
    sys.stderr.write(f"RUNNER import_seconds={time.perf_counter() - started:.4f}\n")
    handler(event, context)


if __name__ == "__main__":
    main()
