"""Every ```python block of the README and of docs/ runs, so none can rot: each file's blocks in order in one
namespace (as a reader follows them, later blocks use earlier names), then every `test_*` function they define.
Snippets that build an App synthesize it (`app.synth()`), so the synth-time checks run on them too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```$", flags=re.MULTILINE | re.DOTALL)


def python_blocks(path: Path) -> list[str]:
    return _BLOCK.findall(path.read_text())


def run_blocks(path: Path) -> dict[str, object]:
    """Run a document's blocks in one namespace, then its test functions; the namespace afterwards."""
    namespace: dict[str, object] = {"__name__": f"snippets_of_{path.stem}"}
    for number, block in enumerate(python_blocks(path), start=1):
        code = compile(block, f"{path.name} python block {number}", "exec")
        exec(code, namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
    return namespace


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if python_blocks(p)], ids=lambda p: p.name)
def test_every_python_snippet_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    run_blocks(path)


def test_the_readme_shows_the_examples_users_need() -> None:
    """The extraction finds the README's examples (a broken fence would silently test nothing)."""
    code = "\n".join(python_blocks(ROOT / "README.md"))
    for needed in (
        "OutboundConnection(",
        "InboundConnectionAccepter(",
        "Template.from_stack(",
        "create_alarm(",
        "app.synth()",
    ):
        assert needed in code, needed


def test_the_reference_shows_its_examples() -> None:
    """The same for docs/reference.md, which holds the examples moved out of the README."""
    code = "\n".join(python_blocks(ROOT / "docs" / "reference.md"))
    for needed in ("DomainInfo(", "from_connection_id(", "acknowledge_access_policy_function(", "AwsSolutionsChecks("):
        assert needed in code, needed


def test_a_failing_snippet_fails_the_test(tmp_path: Path) -> None:
    """The control: a snippet whose assertion does not hold (a second function, as aws-cdk-lib's access-policy
    function made before the statement went into the domain's own property) fails."""
    readme = (ROOT / "README.md").read_text()
    broken = tmp_path / "README.md"
    counted = 'template.resource_count_is("AWS::Lambda::Function", 1)'
    assert readme.count(counted) == 1
    broken.write_text(readme.replace(counted, 'template.resource_count_is("AWS::Lambda::Function", 2)'))
    assert broken.read_text() != readme
    with pytest.raises(Exception, match="Expected 2 resources of type AWS::Lambda::Function but found 1"):
        run_blocks(broken)
