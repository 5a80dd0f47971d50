"""Starts AWS's Lambda runtime interface client (`awslambdaric`) the way the Python runtime's bootstrap does.

Run with `python -S` (stdlib only): PYTHONPATH holds the asset and the runtime's libraries (boto3 and
awslambdaric, as /var/runtime does on Lambda); AWS_LAMBDA_RUNTIME_API names the local Runtime API.
argv: HANDLER (module.function). When CCS_COVERAGE_FILE is set, the asset's own modules are measured
(coverage.py alone is importable then) and the data is saved when the driver ends the process (SIGTERM).
When CCS_WORLD_TIME_SCALE is set, the process keeps the offline world's time (clock.py): its `time` module
runs that many times faster, from CCS_WORLD_EPOCH, before anything else is imported.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType
from typing import SupportsIndex

ENV_SCALE = "CCS_WORLD_TIME_SCALE"
ENV_EPOCH = "CCS_WORLD_EPOCH"


def world_time(real: float, origin: float, scale: float) -> float:
    """The world's reading of a real clock that read `origin` when both agreed."""
    return origin + (real - origin) * scale


def keep_world_time(scale: float, epoch: float) -> None:
    """Speed up this process's clocks and sleeps `scale` times: time.time() agrees with the world's wall
    clock (the Runtime API's deadline is in it), time.monotonic() and time.sleep() with its pace."""
    real_time, real_time_ns, real_monotonic, real_sleep = time.time, time.time_ns, time.monotonic, time.sleep
    origin = real_monotonic()
    time.time = lambda: world_time(real_time(), epoch, scale)
    time.time_ns = lambda: int(world_time(real_time_ns() / 1e9, epoch, scale) * 1e9)
    time.monotonic = lambda: world_time(real_monotonic(), origin, scale)

    def sleep(seconds: float | SupportsIndex) -> None:
        real_sleep(float(seconds) / scale)

    time.sleep = sleep


def main() -> None:
    """Hand over to the runtime client, which loads the handler and loops on the Runtime API."""
    from awslambdaric.__main__ import main as run_client  # noqa: PLC0415 -- after coverage has started

    run_client([sys.argv[0], sys.argv[1]])


def measured() -> None:
    """Measure the asset's own modules (not its dependencies) until the driver ends the process."""
    import coverage  # noqa: PLC0415 -- importable only when the driver measures

    handler_package = os.path.join(os.getcwd(), os.environ["_HANDLER"].split(".", 1)[0])
    cov = coverage.Coverage(
        data_file=os.environ["CCS_COVERAGE_FILE"], data_suffix=True, source=[handler_package], config_file=False
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        cov.stop()
        cov.save()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    cov.start()
    main()


if __name__ == "__main__":
    if os.environ.get(ENV_SCALE):
        keep_world_time(float(os.environ[ENV_SCALE]), float(os.environ[ENV_EPOCH]))
    measured() if os.environ.get("CCS_COVERAGE_FILE") else main()
