"""One real synthesis with local bundling (no Docker): the asset holds the handler and crhelper."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from cross_cluster_search import DomainInfo, OutboundConnection

pytestmark = pytest.mark.bundling


def test_asset_holds_the_handler_and_crhelper_and_nothing_from_the_build(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bundled", env=cdk.Environment(account="111111111111", region="us-east-1"))
    for index in range(2):
        OutboundConnection(
            stack,
            f"Conn{index}",
            connection_alias=f"logs{index}",
            source=DomainInfo(owner_id="111111111111", domain_name="logs-source", region="us-east-1"),
            destination=DomainInfo(owner_id="111111111111", domain_name="logs-destination", region="us-east-1"),
        )
    app.synth()

    assets = json.loads((tmp_path / "Bundled.assets.json").read_text())["files"]
    asset_dirs = [
        tmp_path / entry["source"]["path"] for entry in assets.values() if entry["source"].get("packaging") == "zip"
    ]
    assert len(asset_dirs) == 1
    asset = asset_dirs[0]
    names = {p.name for p in asset.iterdir()}
    assert {"ccs_handler", "crhelper"} <= names
    handler = {p.name for p in (asset / "ccs_handler").iterdir()}
    assert {"__init__.py", "index.py", "contract.py", "connections.py", "dialects.py", "properties.py"} <= handler
    assert (asset / "crhelper" / "resource_helper.py").is_file()
    assert not any(name in names for name in ("boto3", "botocore", "__pycache__"))
    size = sum(p.stat().st_size for p in asset.rglob("*") if p.is_file())
    assert size < 200_000
