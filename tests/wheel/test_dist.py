"""`make dist` for real: a wheel and an sdist of `__version__` that pass `twine check --strict`, the wheel with
the handler subpackage (built from the sdist, so the sdist is complete)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

import cross_cluster_search

pytestmark = pytest.mark.wheel
ROOT = Path(__file__).resolve().parents[2]


def test_make_dist_builds_a_wheel_and_an_sdist_that_pass_twine_check() -> None:
    done = subprocess.run(["make", "dist"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    version = cross_cluster_search.__version__
    built = sorted(p.name for p in (ROOT / "dist").iterdir())
    assert built == [f"cross_cluster_search-{version}-py3-none-any.whl", f"cross_cluster_search-{version}.tar.gz"]
    assert done.stdout.count("PASSED") == 2, done.stdout
    with zipfile.ZipFile(ROOT / "dist" / built[0]) as wheel:
        assert "cross_cluster_search/ccs_handler/index.py" in wheel.namelist()
