"""The wheel is the product: built from this checkout and installed into a fresh virtualenv outside it (one
without pip, like `uv venv` makes), it synthesizes a user's app and runs a user's unit test with no network, no
package index and no Docker; the Lambda asset and its hash are the same in every directory and on every Python
version found here; the wheel carries the handler and no test tooling."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest

from cross_cluster_search import DomainInfo, InboundConnectionAccepter, OutboundConnection
from cross_cluster_search._version import __version__

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.wheel

USER_APP = """
import json, sys
import aws_cdk as cdk
from aws_cdk.assertions import Template
from cross_cluster_search import DomainInfo, InboundConnectionAccepter, OutboundConnection


def user_stack(app):
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
    return stack


app = cdk.App(outdir="cdk.out")
user_stack(app)
app.synth()
# A user's unit test: Template.from_stack, no context switching bundling off.
Template.from_stack(user_stack(cdk.App())).resource_count_is("AWS::Lambda::Function", 1)
import cross_cluster_search
print(json.dumps({"package": cross_cluster_search.__file__, "python": list(sys.version_info[:2])}))
"""


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "COV_", "PIP_"))}


def _offline_environ() -> dict[str, str]:
    """No package index (unreachable, no pip configuration, no find-links) and no Docker."""
    return {
        **_environ(),
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "CDK_DOCKER": "/nonexistent/docker",
    }


def _no_network() -> list[str]:
    """A command prefix that runs without any network (a new network namespace), where the machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "--net", "--"]
    return []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )
    [built] = out.glob("*.whl")
    return built


def user_venv(base_python: str, wheel: Path, where: Path) -> Path:
    """A fresh virtualenv with the wheel (and the versions this checkout is tested with), then without pip."""
    subprocess.run([base_python, "-m", "venv", str(where)], check=True, env=_environ())
    python = where / "bin" / "python"
    constraints = where / "constraints.txt"
    constraints.write_text(
        (ROOT / "requirements.txt").read_text().replace("-e .", "") + (ROOT / "lambda" / "requirements.txt").read_text()
    )
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", str(constraints)]
    subprocess.run([*install, str(wheel)], check=True, env={**_environ(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "pip"], check=True, env=_environ())
    return python


def synth_offline(python: Path, app_dir: Path) -> tuple[str, Path, dict[str, object]]:
    """Run the user's app with no network, index or Docker: its asset hash, asset directory and report."""
    app_dir.mkdir(parents=True)
    (app_dir / "app.py").write_text(USER_APP)
    result = subprocess.run(
        [*_no_network(), str(python), "app.py"],
        cwd=app_dir,
        env=_offline_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assets = json.loads((app_dir / "cdk.out" / "UserStack.assets.json").read_text())["files"]
    [(digest, entry)] = [(k, v) for k, v in assets.items() if v["source"]["path"].endswith(".zip")]
    assert entry["source"]["packaging"] == "file"  # the archive, uploaded as it is
    unpacked = app_dir / "unpacked"
    with zipfile.ZipFile(app_dir / "cdk.out" / entry["source"]["path"]) as archive:
        archive.extractall(unpacked)
    return digest, unpacked, report


def checkout_asset_hash(outdir: Path) -> str:
    """The asset hash of the same stack synthesized here, from the checkout (handler read from lambda/)."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "UserStack", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    logs = DomainInfo(owner_id="111111111111", domain_name="logs", region="eu-west-1")
    archive = DomainInfo(owner_id="111111111111", domain_name="archive", region="eu-central-1")
    partner = DomainInfo(owner_id="222222222222", domain_name="partner", region="eu-west-1")
    OutboundConnection(stack, "ToArchive", source=logs, destination=archive, connection_alias="archive")
    InboundConnectionAccepter(stack, "FromPartner", source=partner, destination=logs)
    app.synth()
    assets = json.loads((outdir / "UserStack.assets.json").read_text())["files"]
    [digest] = [k for k, v in assets.items() if v["source"]["path"].endswith(".zip")]
    return str(digest)


def other_pythons() -> list[str]:
    """Python interpreters of other minor versions on this machine (PATH, pyenv), one per version."""
    found: dict[str, str] = {}
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python3.{minor}") for minor in range(12, 16)]
    candidates += sorted(glob.glob(f"{pyenv}/versions/3.1[2-9]*/bin/python3"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        version = probe.stdout.strip()
        if probe.returncode == 0 and version != f"{sys.version_info[0]}.{sys.version_info[1]}":
            found.setdefault(version, candidate)
    return list(found.values())


def test_the_wheel_carries_the_handler_and_its_metadata_and_no_test_tooling(wheel: Path) -> None:
    assert wheel.name == f"cross_cluster_search-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    handler = {n.rsplit("/", 1)[1] for n in names if n.startswith("cross_cluster_search/ccs_handler/")}
    assert {"__init__.py", "index.py", "contract.py", "connections.py", "dialects.py", "clients.py"} <= handler
    assert {"properties.py", "request.py", "ownership.py", "timing.py", "requirements.txt"} <= handler
    assert "cross_cluster_search/py.typed" in names
    assert not any(n.startswith(("ccs_offline/", "tests/", "bench/")) for n in names), sorted(names)
    dist_info = f"cross_cluster_search-{__version__}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Keywords: aws-cdk,cdk-construct,opensearch" in metadata
    assert "Requires-Dist: aws-cdk-lib" in metadata
    assert "Requires-Dist: crhelper==2.0.12" in metadata  # the asset's crhelper comes from this install
    assert "# Cross-cluster search connections as code" in metadata  # the README is the description


def test_a_user_app_outside_the_repository_synthesizes_offline_from_the_installed_wheel(
    wheel: Path, tmp_path: Path
) -> None:
    python = user_venv(sys.executable, wheel, tmp_path / "venv")
    assert subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, check=False).returncode != 0
    digest, asset, report = synth_offline(python, tmp_path / "user-app")
    installed_at = Path(str(report["package"]))
    assert tmp_path / "venv" in installed_at.parents and ROOT not in installed_at.parents

    template = json.loads((tmp_path / "user-app" / "cdk.out" / "UserStack.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {
        "Custom::OutboundCrossClusterSearchConnection",
        "Custom::InboundCrossClusterSearchConnectionAccepter",
    } <= types
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Handler"] == "ccs_handler.index.handler"
    assert (asset / "ccs_handler" / "index.py").is_file() and (asset / "ccs_handler" / "contract.py").is_file()
    assert (asset / "crhelper" / "resource_helper.py").is_file()
    assert not [p for p in asset.rglob("*") if p.suffix == ".pyc" or p.name == "__pycache__"]

    # The same asset, byte for byte and by hash, from another directory and from the checkout's sources.
    elsewhere, other_asset, _ = synth_offline(python, tmp_path / "somewhere" / "else" / "entirely")
    assert elsewhere == digest
    contents = {p.relative_to(asset).as_posix(): p.read_bytes() for p in sorted(asset.rglob("*")) if p.is_file()}
    assert contents == {
        p.relative_to(other_asset).as_posix(): p.read_bytes() for p in sorted(other_asset.rglob("*")) if p.is_file()
    }
    assert checkout_asset_hash(tmp_path / "checkout-out") == digest


def test_the_asset_hash_is_the_same_on_another_python_version(wheel: Path, tmp_path: Path) -> None:
    others = other_pythons()
    if not others:
        pytest.skip("no Python of another minor version on this machine")
    expected = checkout_asset_hash(tmp_path / "checkout-out")
    for index, base in enumerate(others[:1]):  # one more version keeps the test's time in bounds
        python = user_venv(base, wheel, tmp_path / f"venv{index}")
        digest, _, report = synth_offline(python, tmp_path / f"app{index}")
        assert report["python"] != list(sys.version_info[:2])
        assert digest == expected, f"Python {report['python']}"
