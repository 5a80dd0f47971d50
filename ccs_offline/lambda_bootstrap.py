"""Starts AWS's Lambda runtime interface client (`awslambdaric`) the way the Python runtime's bootstrap does.

Run with `python -S` (stdlib only): PYTHONPATH holds the asset and the runtime's libraries (boto3 and
awslambdaric, as /var/runtime does on Lambda); AWS_LAMBDA_RUNTIME_API names the local Runtime API.
argv: HANDLER (module.function). When CCS_COVERAGE_FILE is set, the asset's own modules are measured
(coverage.py alone is importable then) and the data is saved when the driver ends the process (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


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
    measured() if os.environ.get("CCS_COVERAGE_FILE") else main()
