"""What CloudFormation and Lambda really deliver: event shape, duplicate deliveries, the invocation's time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Assembly

from ccs_offline.local_cloudformation import Deployed, LocalCloudFormation
from ccs_offline.world import World

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "cloudformation_events.json").read_text())
RESERVED = ("ServiceToken", "ServiceTimeout")


def _scalars_are_strings(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _scalars_are_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _scalars_are_strings(item, f"{where}[{index}]")
    else:
        assert isinstance(value, str), f"{where} is {type(value).__name__}, CloudFormation sends strings"


def _same_shape(sent: dict[str, Any], reference: dict[str, Any]) -> None:
    assert set(sent) == set(reference), f"{sent['RequestType']}: fields differ: {set(sent) ^ set(reference)}"
    for key, expected in reference.items():
        assert type(sent[key]) is type(expected), f"{sent['RequestType']}.{key}: {type(sent[key]).__name__}"
    for key in ("ResourceProperties", "OldResourceProperties"):
        if key in reference:
            for reserved in RESERVED:
                assert isinstance(sent[key].get(reserved), str), f"{key}.{reserved} missing or not a string"
            _scalars_are_strings(sent[key], key)
    assert sent["ServiceTimeout"] == sent["ResourceProperties"]["ServiceTimeout"]
    assert sent["ServiceToken"] == sent["ResourceProperties"]["ServiceToken"]
    assert sent["ResponseURL"].startswith("https://")
    assert re.fullmatch(r"arn:aws[\w-]*:cloudformation:[\w-]+:\d{12}:stack/[\w-]+/[\w-]+", sent["StackId"])


def test_driver_events_match_the_reference_events_field_by_field(assembly: Assembly, cfn: LocalCloudFormation) -> None:
    logical_id = assembly.ids["SameRegion"]
    assert cfn.create(logical_id).ok
    assert cfn.update(logical_id, {"TimeoutSeconds": "540"}).ok
    assert cfn.delete(logical_id).ok
    by_type = {event["RequestType"]: event for event in cfn.sent}
    assert set(by_type) == {"Create", "Update", "Delete"}
    for request_type, event in by_type.items():
        _same_shape(event, REFERENCE["events"][request_type])


def _create_event(cfn: LocalCloudFormation, logical_id: str) -> dict[str, Any]:
    definition = cfn.definition(logical_id)
    return cfn.event("Create", definition, cfn.properties(definition))


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapping", "sequential"])
def test_a_create_delivered_twice_makes_one_connection(
    assembly: Assembly, world: World, cfn: LocalCloudFormation, overlap: bool
) -> None:
    """Both copies answer SUCCESS with the same id; the copy whose accept comes second carries on."""
    for name in ("SameRegion", "CrossRegion"):
        logical_id = assembly.ids[name]
        event = _create_event(cfn, logical_id)
        answers = cfn.deliver_copies(event, overlap=overlap)

        assert [a.status for a in answers] == ["SUCCESS", "SUCCESS"], [a.reason for a in answers]
        assert answers[0].physical_id == answers[1].physical_id
        live = [c for c in world.store.live() if c.alias == event["ResourceProperties"]["ConnectionAlias"]]
        assert [(c.connection_id, c.status) for c in live] == [(answers[0].physical_id, "ACTIVE")]
        cfn.deployed[logical_id] = Deployed(answers[0].physical_id, event["ResourceProperties"], answers[0].data)
        assert cfn.delete(logical_id).ok


def test_a_delete_delivered_twice_succeeds_twice(assembly: Assembly, world: World, cfn: LocalCloudFormation) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    definition = cfn.definition(logical_id)
    event = cfn.event("Delete", definition, cfn.deployed[logical_id].properties, created.physical_id)
    answers = cfn.deliver_copies(event, overlap=True)
    assert [a.status for a in answers] == ["SUCCESS", "SUCCESS"], [a.reason for a in answers]
    assert world.store.status_of(created.physical_id) == "DELETED"


SECONDS_LEFT = 9.0  #: an invocation that starts with only this much Lambda time

#: With this little time the handler's own CPU time is part of what is proved: real seconds, as on Lambda.
little_time = pytest.mark.real_time


@little_time
def test_delete_with_little_time_left_answers_before_the_lambda_ends(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    world.store.faults.stuck_in = {"DELETING"}
    definition = cfn.definition(logical_id)
    event = cfn.event("Delete", definition, cfn.deployed[logical_id].properties, created.physical_id)
    answer = cfn.send(definition, event, timeout=SECONDS_LEFT)

    assert answer.status == "FAILED"
    assert answer.physical_id == created.physical_id
    assert "Timed out" in answer.reason and "DELETING" in answer.reason, answer.reason
    assert "Execution timed out" not in answer.reason  # crhelper's last-moment answer never had to speak
    assert answer.latency < SECONDS_LEFT - 1
    world.store.faults.stuck_in = set()
    assert cfn.delete(logical_id).ok


@little_time
def test_update_with_little_time_left_answers_with_the_old_id_and_cleans_up(
    assembly: Assembly, world: World, cfn: LocalCloudFormation
) -> None:
    logical_id = assembly.ids["SameRegion"]
    created = cfn.create(logical_id)
    world.store.faults.stuck_in = {"VALIDATING"}
    definition = cfn.definition(logical_id)
    old = cfn.deployed[logical_id].properties
    new = cfn.properties(definition, {"ConnectionAlias": "same-v2"})
    answer = cfn.send(definition, cfn.event("Update", definition, new, created.physical_id, old), timeout=SECONDS_LEFT)

    assert answer.status == "FAILED"
    assert answer.physical_id == created.physical_id
    assert "Timed out" in answer.reason and "VALIDATING" in answer.reason, answer.reason
    assert answer.latency < SECONDS_LEFT - 1
    world.store.faults.stuck_in = set()
    assert [c.alias for c in world.store.live()] == ["same"]  # the replacement it began was deleted again
    assert cfn.delete(logical_id).ok
