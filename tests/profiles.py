"""How many examples the property tests generate: all of them in `make test` (CI), a tenth in the inner loop
(`make test-fast` sets CCS_TEST_PROFILE=dev)."""

from __future__ import annotations

import os

PROFILE = os.environ.get("CCS_TEST_PROFILE", "ci")


def examples(count: int) -> int:
    """`count` under the CI profile; a tenth of it, at least 3, under the dev profile."""
    return count if PROFILE == "ci" else max(3, count // 10)
