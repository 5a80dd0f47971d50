"""Releases users can tell apart: one CHANGELOG section per version, newest first, the newest being
`__version__`; `make dist` builds a wheel and an sdist and checks both with `twine check`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import cross_cluster_search

ROOT = Path(__file__).resolve().parents[2]
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()


def release_headings() -> list[str]:
    return re.findall(r"^## (\S+)", CHANGELOG, flags=re.MULTILINE)


def as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_every_section_is_one_released_version_newest_first() -> None:
    headings = release_headings()
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", h) for h in headings), headings  # no "Unreleased"
    assert len(set(headings)) == len(headings)
    assert [as_tuple(h) for h in headings] == sorted((as_tuple(h) for h in headings), reverse=True)


def test_the_newest_release_is_the_packages_version() -> None:
    assert release_headings()[0] == cross_cluster_search.__version__


def test_make_dist_builds_both_distributions_and_checks_them_with_twine() -> None:
    plan = subprocess.run(["make", "-n", "-B", "dist"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert re.search(r"-m build --outdir dist \.$", plan, flags=re.MULTILINE), plan  # sdist, then wheel from it
    assert re.search(r"-m twine check --strict dist/\*$", plan, flags=re.MULTILINE), plan
