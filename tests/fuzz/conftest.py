"""Report how many fuzzed events were tried, in pytest's closing summary."""

from __future__ import annotations

import sys

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    module = sys.modules.get("test_fuzz_events")
    if module is not None:
        counts = module.counts
        terminalreporter.write_line(
            f"fuzzed CloudFormation events tried: {sum(counts.values())} "
            f"(bad field values {counts['properties']}, missing/extra/unknown keys {counts['envelope']}, "
            f"valid {counts['valid']})"
        )
