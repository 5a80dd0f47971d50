"""The sample app passes cdk-nag's AwsSolutions checks and cfn-lint with nothing unexplained."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint

from app import CrossClusterSearchDemo


def demo_app(**context: str) -> tuple[cdk.App, cdk.Stack]:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **context})
    stack = CrossClusterSearchDemo(app, "Demo")
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


@pytest.mark.parametrize(
    "context", [{}, {"source_domain": "logs", "destination_domain": "archive", "destination_region": "eu-west-1"}]
)
def test_cdk_nag_finds_nothing_unsuppressed(context: dict[str, str]) -> None:
    app, stack = demo_app(**context)
    app.synth()
    annotations = Annotations.from_stack(stack)
    findings = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) + annotations.find_warning(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert [f"{f.id}: {f.entry.data}" for f in findings] == []


def test_every_suppression_gives_a_specific_reason() -> None:
    _, stack = demo_app()
    template = json.dumps(cdk.assertions.Template.from_stack(stack).to_json())
    reasons = [
        r["reason"]
        for resource in json.loads(template)["Resources"].values()
        for r in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert reasons and all(len(reason) >= 30 for reason in reasons)


def test_cfn_lint_finds_no_errors(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": []})
    CrossClusterSearchDemo(app, "Demo")
    app.synth()
    template = (tmp_path / "Demo.template.json").read_text()
    matches = lint(template, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []
