"""The API reference in the code and the props tables of the README and docs/reference.md say the same thing."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from cross_cluster_search import (
    DomainInfo,
    FollowerIndex,
    InboundConnectionAccepter,
    OutboundConnection,
    ProviderOptions,
    RemoteSearchAccess,
    ReplicationRule,
    configure_provider,
)

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
REFERENCE = (ROOT / "docs" / "reference.md").read_text()


def table_props(document: str, heading: str) -> list[str]:
    """The first column of the table right under `heading` (a whole line of `document`), in order."""
    assert document.count(f"\n{heading}\n\n") == 1, heading
    section = document.split(f"\n{heading}\n\n", 1)[1].split("\n\n", 1)[0]
    assert section.startswith("| "), f"no table right under {heading}"
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def keyword_props(cls: type) -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
    return {p.name: p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize(
    ("cls", "document", "heading"),
    [
        (OutboundConnection, README, "### Props"),
        (InboundConnectionAccepter, REFERENCE, "## InboundConnectionAccepter props"),
    ],
    ids=["README", "docs/reference.md"],
)
def test_props_table_lists_the_signature(cls: type, document: str, heading: str) -> None:
    assert table_props(document, heading) == list(keyword_props(cls))


@pytest.mark.parametrize(
    "cls",
    [OutboundConnection, InboundConnectionAccepter, DomainInfo, RemoteSearchAccess, FollowerIndex, ReplicationRule],
)
def test_every_prop_is_documented_with_its_default(cls: type) -> None:
    doc = inspect.getdoc(cls) or ""
    for name, parameter in keyword_props(cls).items():
        match = re.search(rf":param {name}:(.*?)(?=\n:param |\Z)", doc, flags=re.DOTALL)
        assert match, f"{cls.__name__}.{name} has no :param: entry"
        optional = parameter.default is not inspect.Parameter.empty
        assert (":default:" in match.group(1)) == optional, f"{cls.__name__}.{name}: :default: iff optional"


@pytest.mark.parametrize("cls", [OutboundConnection, InboundConnectionAccepter])
def test_every_attribute_has_a_docstring(cls: type) -> None:
    attributes = [n for n, v in inspect.getmembers(cls) if isinstance(v, property)]
    assert {"connection_id", "connection_status", "connection_alias"} <= set(attributes)
    for name in attributes:
        assert (getattr(cls, name).__doc__ or "").strip(), f"{cls.__name__}.{name} is undocumented"


@pytest.mark.parametrize("cls", [RemoteSearchAccess, FollowerIndex, ReplicationRule])
def test_the_data_plane_constructs_document_their_attributes_and_methods(cls: type) -> None:
    members = [n for n, v in inspect.getmembers(cls) if isinstance(v, property) or n.startswith("metric")]
    assert members
    for name in members:
        assert (getattr(cls, name).__doc__ or "").strip(), f"{cls.__name__}.{name} is undocumented"
    assert list(inspect.signature(cls).parameters)[:3] == ["scope", "id", "connection"]


def test_provider_options_table_lists_configure_provider_and_its_defaults() -> None:
    heading = "## The provider function: VPC, memory, log retention"
    assert REFERENCE.count(f"\n{heading}\n") == 1
    section = REFERENCE.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    parameters = inspect.signature(configure_provider).parameters.values()
    options = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert listed == options
    doc = inspect.getdoc(configure_provider) or ""
    for name in options:
        match = re.search(rf":param {name}:(.*?)(?=\n:param |\n:returns:|\Z)", doc, flags=re.DOTALL)
        assert match and ":default:" in match.group(1), name
    assert [f.name for f in dataclasses.fields(ProviderOptions)] == options
