"""The wheel is the product: built from this checkout, installed into a fresh virtualenv outside it, it
synthesizes a user's app with both constructs and local bundling; it carries the handler and no test tooling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from cross_cluster_search._version import __version__

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.wheel

USER_APP = """
import aws_cdk as cdk
from cross_cluster_search import DomainInfo, InboundConnectionAccepter, OutboundConnection

app = cdk.App(outdir="cdk.out")
stack = cdk.Stack(app, "UserStack", env=cdk.Environment(account="111111111111", region="eu-west-1"))
logs = DomainInfo(owner_id="111111111111", domain_name="logs", region="eu-west-1")
OutboundConnection(
    stack, "ToArchive", source=logs,
    destination=DomainInfo(owner_id="111111111111", domain_name="archive", region="eu-central-1"),
    connection_alias="archive",
)
InboundConnectionAccepter(
    stack, "FromPartner", source=DomainInfo(owner_id="222222222222", domain_name="partner", region="eu-west-1"),
    destination=logs,
)
app.synth()
import cross_cluster_search
print(cross_cluster_search.__file__)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )
    [built] = out.glob("*.whl")
    return built


def test_the_wheel_carries_the_handler_and_its_metadata_and_no_test_tooling(wheel: Path) -> None:
    assert wheel.name == f"cross_cluster_search-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    handler = {n.rsplit("/", 1)[1] for n in names if n.startswith("cross_cluster_search/_handler/")}
    assert {"__init__.py", "index.py", "contract.py", "connections.py", "dialects.py", "clients.py"} <= handler
    assert {"properties.py", "envelope.py", "stack.py", "requirements.txt"} <= handler
    assert "cross_cluster_search/py.typed" in names
    assert not any(n.startswith(("ccs_offline/", "tests/", "bench/")) for n in names), sorted(names)
    dist_info = f"cross_cluster_search-{__version__}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Keywords: aws-cdk,cdk-construct,opensearch" in metadata
    assert "Requires-Dist: aws-cdk-lib" in metadata
    assert "# Cross-cluster search connections as code" in metadata  # the README is the description


def test_a_user_app_outside_the_repository_synthesizes_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    constraints = tmp_path / "constraints.txt"  # the versions this checkout is tested with (from pip's cache)
    constraints.write_text((ROOT / "requirements.txt").read_text().replace("-e .", ""))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "COV_"))}
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(constraints),
            str(wheel),
        ],
        check=True,
        env=environ,
    )
    app_dir = tmp_path / "user-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(USER_APP)
    result = subprocess.run(
        [str(python), "app.py"], cwd=app_dir, env=environ, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    installed_at = Path(result.stdout.strip().splitlines()[-1])
    assert env_dir in installed_at.parents and ROOT not in installed_at.parents

    template = json.loads((app_dir / "cdk.out" / "UserStack.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "Custom::OutboundCrossClusterSearchConnection",
        "Custom::InboundCrossClusterSearchConnectionAccepter",
    } <= types
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Handler"] == "ccs_handler.index.handler"
    assets = json.loads((app_dir / "cdk.out" / "UserStack.assets.json").read_text())["files"]
    [asset] = [
        app_dir / "cdk.out" / e["source"]["path"] for e in assets.values() if e["source"].get("packaging") == "zip"
    ]
    assert (asset / "ccs_handler" / "index.py").is_file() and (asset / "ccs_handler" / "contract.py").is_file()
    assert (asset / "crhelper" / "resource_helper.py").is_file()
