"""The Lambda asset comes from the installed packages: handler modules plus crhelper and opensearch-py with
what it imports, the same bytes and hash everywhere, built without pip, Docker or network (the wheel test
repeats this outside the checkout)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cross_cluster_search import DomainInfo, OutboundConnection
from cross_cluster_search import asset as lambda_asset

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111111111111"


def synth_asset(outdir: Path, context: dict[str, Any] | None = None) -> tuple[str, Path]:
    """A user's app with two connections, synthesized as `cdk synth` would (no bundling switch): the asset's
    hash and its contents, unpacked from the .zip archive in the cloud assembly (which Lambda takes as it is)."""
    app = cdk.App(outdir=str(outdir), context=context)
    stack = cdk.Stack(app, "Bundled", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    for index in range(2):
        OutboundConnection(
            stack,
            f"Conn{index}",
            connection_alias=f"logs{index}",
            source=DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1"),
            destination=DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1"),
        )
    app.synth()
    assets = json.loads((outdir / "Bundled.assets.json").read_text())["files"]
    [(digest, entry)] = [(k, v) for k, v in assets.items() if not v["source"]["path"].endswith(".json")]
    assert entry["source"]["packaging"] == "file"  # uploaded as it is: a zip archive, not a directory to zip
    return digest, unpacked(outdir / entry["source"]["path"], outdir / "unpacked")


def unpacked(archive: Path, target: Path) -> Path:
    """The archive's files under `target`, after checking every member is a regular file readable by Lambda's
    user (rw-r--r--) whatever the umask of the machine that synthesized it."""
    with zipfile.ZipFile(archive) as zipped:
        assert {oct(m.external_attr >> 16) for m in zipped.infolist()} == {"0o100644"}
        zipped.extractall(target)
    return target


def test_asset_holds_the_handler_crhelper_and_its_licence_and_nothing_from_an_installer(tmp_path: Path) -> None:
    _, asset = synth_asset(tmp_path)
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file())
    handler = {name.split("/", 1)[1] for name in files if name.startswith("ccs_handler/")}
    assert {"__init__.py", "index.py", "contract.py", "connections.py", "dialects.py", "properties.py"} <= handler
    assert "crhelper/resource_helper.py" in files and "crhelper/__init__.py" in files
    assert {"THIRD-PARTY-LICENSES/crhelper/LICENSE", "THIRD-PARTY-LICENSES/crhelper/NOTICE"} <= set(files)
    # No bytecode, no installer metadata (RECORD/INSTALLER differ between pip and uv), no boto3.
    assert not [n for n in files if n.endswith(".pyc") or "__pycache__" in n or ".dist-info" in n], files
    assert not any(n.startswith(("boto3/", "botocore/", "urllib3/", "dateutil/")) for n in files)
    # A stack of connections alone carries no data-plane client: not in the code, and no layer.
    assert not any(n.startswith(("opensearchpy/", "requests/", "python/")) for n in files)
    size = sum(p.stat().st_size for p in asset.rglob("*") if p.is_file())
    assert size < 300_000  # the handler modules and crhelper
    # The copies are crhelper's installed files, byte for byte.
    installed = Path(str(metadata.distribution("crhelper").locate_file("crhelper/resource_helper.py")))
    assert (asset / "crhelper" / "resource_helper.py").read_bytes() == installed.read_bytes()


def test_synthesis_starts_no_process_and_skipping_bundling_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unit tests that switch bundling off (`aws:cdk:bundling-stacks: []`) test the asset that deploys."""
    skipped, _ = synth_asset(tmp_path / "skipped", {"aws:cdk:bundling-stacks": []})

    def no_process(*args: object, **_: object) -> None:
        raise AssertionError(f"synthesis started a process: {args}")

    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    lambda_asset.staged_asset.cache_clear()  # lay the asset out again, with processes forbidden
    full, asset = synth_asset(tmp_path / "full")
    assert full == skipped
    assert (asset / "crhelper" / "resource_helper.py").is_file()


def test_user_unit_test_with_template_from_stack_sees_the_function() -> None:
    stack = cdk.Stack(cdk.App(), "UserTest")
    OutboundConnection(
        stack,
        "Conn",
        connection_alias="logs",
        source=DomainInfo(owner_id=ACCOUNT, domain_name="logs-source", region="us-east-1"),
        destination=DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1"),
    )
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {"Handler": lambda_asset.HANDLER})


def test_the_hash_is_over_paths_and_contents_only() -> None:
    files = lambda_asset.asset_files()
    digest = lambda_asset.asset_hash(files)
    assert lambda_asset.asset_hash(dict(reversed(list(files.items())))) == digest
    changed = dict(files, **{"ccs_handler/index.py": files["ccs_handler/index.py"] + b"\n"})
    assert lambda_asset.asset_hash(changed) != digest
    moved = {name.replace("ccs_handler/", "handler/"): content for name, content in files.items()}
    assert lambda_asset.asset_hash(moved) != digest
    _, staged_hash = lambda_asset.staged_asset()
    assert staged_hash == digest


def _fake_crhelper(site: Path, content: bytes, recorded: bytes) -> metadata.Distribution:
    """An installed crhelper whose RECORD gives `recorded`'s digest for a file holding `content`."""
    (site / "crhelper").mkdir(parents=True)
    (site / "crhelper" / "resource_helper.py").write_bytes(content)
    dist_info = site / "crhelper-2.0.12.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: crhelper\nVersion: 2.0.12\n")
    digest = base64.urlsafe_b64encode(hashlib.sha256(recorded).digest()).rstrip(b"=").decode()
    (dist_info / "RECORD").write_text(f"crhelper/resource_helper.py,sha256={digest},{len(recorded)}\n")
    return metadata.PathDistribution(dist_info)


def _only_crhelper_faked(monkeypatch: pytest.MonkeyPatch, fake: metadata.Distribution) -> None:
    real = metadata.distribution
    monkeypatch.setattr(lambda_asset.metadata, "distribution", lambda name: fake if name == "crhelper" else real(name))


def test_a_crhelper_file_changed_after_install_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _only_crhelper_faked(monkeypatch, _fake_crhelper(tmp_path, b"# edited\n", b"# as released\n"))
    with pytest.raises(lambda_asset.AssetError, match=r"crhelper/resource_helper.py does not match its RECORD"):
        lambda_asset.asset_files()
    _only_crhelper_faked(monkeypatch, _fake_crhelper(tmp_path / "intact", b"# as released\n", b"# as released\n"))
    assert lambda_asset.asset_files()["crhelper/resource_helper.py"] == b"# as released\n"


def test_without_crhelper_installed_the_error_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(lambda_asset.metadata, "distribution", missing)
    with pytest.raises(lambda_asset.AssetError, match=r"^crhelper is not installed"):
        lambda_asset.asset_files()


def test_the_wheel_pins_the_crhelper_and_opensearch_py_the_handler_is_tested_with() -> None:
    """One crhelper and one opensearch-py for every machine: the wheel's pins are the handler's requirements,
    and what is installed; every distribution the asset copies is pinned to its installed version."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = [
        line.strip()
        for line in (ROOT / "lambda" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in ("crhelper", "opensearch-py"):
        [pin] = [d for d in dependencies if d.startswith(name)]
        assert re.fullmatch(rf"{name}==[0-9.]+", pin)
        assert pin in requirements
    assert sorted(requirements) == sorted(f"{d}=={metadata.version(d)}" for d in lambda_asset.DISTRIBUTIONS)


def in_lambda_runtime(code: str, *paths: Path) -> str:
    """Run `code` with only `paths` and the Lambda runtime's libraries importable (no site-packages of this
    machine, no bytecode written into the staged assets); its stdout."""
    runtime = Path(sys.prefix) / "lambda-runtime"
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={
            "PYTHONPATH": ":".join(str(path) for path in (*paths, runtime)),
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_data_plane_imports_with_only_the_asset_and_lambdas_runtime_libraries(tmp_path: Path) -> None:
    """What Lambda has: the code, the layer's python/ (/opt/python) and the runtime's boto3, botocore, urllib3,
    python-dateutil (no site-packages of this machine): the data plane's modules and opensearch-py import."""
    root = unpacked(lambda_asset.staged_asset()[0], tmp_path / "code")
    layer = unpacked(lambda_asset.staged_layer()[0], tmp_path / "layer")
    code = (
        "import sys, warnings; warnings.simplefilter('error');"
        "import ccs_handler.data_resources, ccs_handler.index;"
        "from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection;"
        "import opensearchpy.connection.base as base; print(base.Connection.default_ca_certs());"
        "assert not [p for p in sys.path if 'site-packages' in p], sys.path"
    )
    # TLS to the domains verifies against certifi's bundle.
    assert in_lambda_runtime(code, root, layer / "python").endswith("certifi/cacert.pem")


def test_a_connection_request_does_not_load_the_data_plane(tmp_path: Path) -> None:
    """opensearch-py loads only for the data plane's resources: a connection's cold start stays as it was."""
    root = unpacked(lambda_asset.staged_asset()[0], tmp_path)
    code = "import sys, ccs_handler.index; print(sorted(m for m in sys.modules if 'opensearch' in m or 'data_' in m))"
    assert in_lambda_runtime(code, root) == "[]"


def test_the_data_plane_layer_holds_opensearch_py_and_what_it_imports_under_python(tmp_path: Path) -> None:
    layer, digest = lambda_asset.staged_layer()
    root = unpacked(layer, tmp_path)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    for package in ("opensearchpy", "requests", "certifi", "idna", "charset_normalizer", "events"):
        assert f"python/{package}/__init__.py" in files, package
    assert "python/certifi/cacert.pem" in files
    # No compiled extension (built for this machine's Python, not Lambda's), no bytecode, no installer metadata.
    assert not [n for n in files if n.endswith((".so", ".pyd", ".pyc")) or ".dist-info" in n]
    for distribution in lambda_asset.DATA_PLANE_DISTRIBUTIONS:
        assert any(n.startswith(f"THIRD-PARTY-LICENSES/{distribution}/") for n in files), distribution
    assert digest == lambda_asset.asset_hash(lambda_asset.layer_files())


def test_only_a_stack_with_a_data_plane_resource_gets_the_layer() -> None:
    from aws_cdk import aws_iam as iam  # noqa: PLC0415

    from cross_cluster_search import RemoteSearchAccess  # noqa: PLC0415

    app = cdk.App()
    plain = cdk.Stack(app, "Plain", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    data = cdk.Stack(app, "Data", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    for stack in (plain, data):
        OutboundConnection(
            stack,
            "Conn",
            connection_alias="logs",
            source=DomainInfo(owner_id=ACCOUNT, domain_name=f"{stack.stack_name.lower()}-source", region="us-east-1"),
            destination=DomainInfo(owner_id=ACCOUNT, domain_name="logs-destination", region="us-east-1"),
        )
    admin = iam.Role.from_role_arn(data, "Admin", f"arn:aws:iam::{ACCOUNT}:role/admin")
    connection = data.node.find_child("Conn")
    for index in range(2):
        RemoteSearchAccess(
            data,
            f"Search{index}",
            connection=connection,  # type: ignore[arg-type]
            admin_role=admin,
            index_patterns=["logs-*"],
            backend_roles=[f"arn:aws:iam::{ACCOUNT}:role/reader"],
            destination_endpoint="search-logs-destination.us-east-1.es.amazonaws.com",
        )
    Template.from_stack(plain).resource_count_is("AWS::Lambda::LayerVersion", 0)
    with_layer = Template.from_stack(data)
    with_layer.resource_count_is("AWS::Lambda::LayerVersion", 1)  # one per stack, however many resources
    [layer_id] = with_layer.find_resources("AWS::Lambda::LayerVersion")
    with_layer.has_resource_properties("AWS::Lambda::Function", {"Layers": [{"Ref": layer_id}]})
