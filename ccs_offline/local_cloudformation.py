"""A local stand-in for CloudFormation's custom resource handling, driving the bundled Lambda asset.

It sends the events CloudFormation sends for the stack's custom resources (from the assembly, assembly.py),
invokes the provider through the local Lambda service (lambda_service.py), receives crhelper's answer on the
ResponseURL (response_url.py), checks it as CloudFormation would, and runs the follow-up requests
CloudFormation sends: the cleanup Delete after a replacement, the rollback Delete after a failed Create, the
rollback Update after a failed Update; also duplicate deliveries, and stack updates from a new template.

What it models of CloudFormation, and from where (where the sources are unsure it takes the harsher case):
- The first answer on the ResponseURL is the one CloudFormation acts on, and from then on ListStackResources
  shows the resource's physical id (also while a duplicate copy of the request is still running).
- A stack update's cleanup phase deletes the old physical id of a replaced resource and the resources the new
  template no longer has, unless the resource's UpdateReplacePolicy (replacement) or DeletionPolicy (removal)
  is Retain (CloudFormation User Guide, "UpdateReplacePolicy attribute", "DeletionPolicy attribute").
- A cleanup Delete that fails is tried three times in all; then CloudFormation gives up and drops the resource
  from the stack, whatever it held (the team's checked facts: AWS knowledge-center article on stacks stuck in
  cleanup; aws-cdk docs/CLOUDFORMATION.md). `dropped` lists what was given up on.
- When a stack update fails after a resource was replaced (a new physical id), the rollback sends that
  resource no Update: it restores the old physical id, properties and attributes, and deletes the new id in
  UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS. Resources updated in place get a rollback Update with old and
  new properties swapped; resources created by the update are deleted (the team's checked facts).
- A failed resource Delete leaves the resource in DELETE_FAILED: it still exists, and still holds its id.
- The stack's status (DescribeStacks) moves through the documented StackStatus values of each operation.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from ccs_offline.assembly import CustomResourceDef, StackTemplate, cfn_strings
from ccs_offline.cloudformation_api import StackResource
from ccs_offline.lambda_service import Invoked, LambdaInvoker

MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID = 1024


class ProtocolViolation(AssertionError):
    """The handler answered in a way CloudFormation would reject."""


@dataclass
class Response:
    """One custom resource response, checked as CloudFormation checks it."""

    request_type: str
    logical_id: str
    status: str
    physical_id: str
    reason: str
    data: dict[str, Any]
    latency: float
    size: int
    init_seconds: float | None = None
    logs: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


def _referenced(value: Any) -> set[str]:
    """The logical ids a property value refers to (Ref, Fn::GetAtt): CloudFormation creates those first."""
    if isinstance(value, list):
        return set().union(*(_referenced(item) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    if isinstance(value.get("Ref"), str):
        found.add(value["Ref"])
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and target and isinstance(target[0], str):
        found.add(target[0])
    return found.union(*(_referenced(item) for item in value.values()))


@dataclass
class Deployed:
    """A custom resource as the local CloudFormation knows it after its last successful request."""

    physical_id: str
    properties: dict[str, Any]
    data: dict[str, Any]
    shown_from: float = 0.0  #: from then on ListStackResources shows `physical_id` (world clock) ...
    shown_before: str | None = None  #: ... and before, this one (the id it replaced, or none)


@dataclass
class LocalCloudFormation:
    """Create, update and delete one stack's custom resources as CloudFormation would."""

    stack: StackTemplate
    invoker: LambdaInvoker
    deployed: dict[str, Deployed] = field(default_factory=dict)
    history: list[Response] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  #: every event delivered, in order
    statuses: dict[str, str] = field(default_factory=dict)  #: logical id -> status, for ListStackResources
    lock: threading.Lock = field(default_factory=threading.Lock)
    stack_status: str = "REVIEW_IN_PROGRESS"  #: DescribeStacks' StackStatus
    dropped: list[tuple[str, str]] = field(default_factory=list)  #: (logical id, physical id) given up on
    resource_types: dict[str, str] = field(default_factory=dict)  #: logical id -> type, from any template version
    #: How long after an answer ListStackResources still shows a resource's previous physical id (none for a
    #: Create). Undocumented; it shows the answer's id "some seconds" later, not at once (issue 19): 2 s.
    physical_id_lag_seconds: float = 2.0
    sent_at: dict[str, float] = field(default_factory=dict)  #: RequestId -> when it was first sent (world clock)

    def _hold(self, logical_id: str, physical_id: str, properties: dict[str, Any], data: dict[str, Any]) -> None:
        """The resource holds `physical_id` now; ListStackResources shows it physical_id_lag_seconds later."""
        with self.lock:
            before = self.deployed.get(logical_id)
            if before is not None and before.physical_id == physical_id:
                shown_from, shown_before = before.shown_from, before.shown_before
            else:
                shown_from = self.invoker.clock.now() + self.physical_id_lag_seconds
                shown_before = before.physical_id if before is not None else None
            self.deployed[logical_id] = Deployed(physical_id, properties, data, shown_from, shown_before)

    @property
    def region(self) -> str:
        return self.stack.region

    def _policy(self, logical_id: str, attribute: str) -> str:
        """A resource's DeletionPolicy or UpdateReplacePolicy ("Delete" when not set)."""
        return str(self.stack.resources.get(logical_id, {}).get(attribute, "Delete"))

    def definition(self, logical_id: str) -> CustomResourceDef:
        return next(d for d in self.stack.custom_resources() if d.logical_id == logical_id)

    def properties(self, definition: CustomResourceDef, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The resolved, stringified properties CloudFormation would send."""
        raw = dict(definition.properties, **(overrides or {}))  # ServiceToken and ServiceTimeout stay in
        physical = {k: v.physical_id for k, v in self.deployed.items()}
        attributes = {k: v.data for k, v in self.deployed.items()}
        return dict(cfn_strings(self.stack.resolve(raw, physical, attributes)))

    def event(
        self,
        request_type: str,
        definition: CustomResourceDef,
        properties: dict[str, Any],
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A custom resource request as CloudFormation sends it: its reserved keys (ServiceToken, ServiceTimeout)
        stay inside ResourceProperties and OldResourceProperties as strings, and both are also at the top level
        (tests/reference/cloudformation_events.json names the sources)."""
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": self.invoker.endpoint.new_url(),
            "StackId": self.stack.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": definition.logical_id,
            "ResourceType": definition.resource_type,
            "ResourceProperties": properties,
        }
        if "ServiceTimeout" in properties:
            event["ServiceTimeout"] = properties["ServiceTimeout"]
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = old_properties
        return event

    def send(self, definition: CustomResourceDef, event: dict[str, Any], timeout: float | None = None) -> Response:
        """Invoke the handler, wait for its response, and check it as CloudFormation would. `timeout` overrides
        the function's (an invocation that starts with only that much time left)."""
        started = self.invoker.clock.now()
        with self.lock:
            self.sent.append(event)
            self.sent_at.setdefault(event["RequestId"], started)
        invoked = self.invoker.invoke(definition.function, event, (self.stack.account, self.stack.region), timeout)
        responses = self._responses(definition, event, started, invoked)
        return responses[0]

    def max_event_age(self, definition: CustomResourceDef) -> float | None:
        """The function's MaximumEventAgeInSeconds (its AWS::Lambda::EventInvokeConfig), if the template sets one."""
        for resource in self.stack.resources.values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Lambda::EventInvokeConfig" and props.get("FunctionName") == {
                "Ref": definition.function.logical_id
            }:
                age = props.get("MaximumEventAgeInSeconds")
                return None if age is None else float(age)
        return None

    def redeliver(self, event: dict[str, Any]) -> Response:
        """A copy of an event that Lambda kept in its asynchronous queue and delivers now: events that met
        throttling or a 5xx go back to the queue and are retried up to the function's maximum event age,
        whatever MaximumRetryAttempts says ("How Lambda handles errors and retries with asynchronous
        invocation", Lambda Developer Guide); an older one is dropped (ProtocolViolation: a test asking for
        one asks for what Lambda never does). The copy's own answer."""
        definition = self.definition(event["LogicalResourceId"])
        age = self.invoker.clock.now() - self.sent_at[event["RequestId"]]
        limit = self.max_event_age(definition)
        if limit is not None and age > limit:
            raise ProtocolViolation(f"Lambda drops an event {age:.0f} s old (MaximumEventAgeInSeconds {limit:.0f})")
        started = self.invoker.clock.now()
        with self.lock:
            self.sent.append(event)
        invoked = self.invoker.invoke(definition.function, event, (self.stack.account, self.stack.region))
        bodies = self.invoker.endpoint.bodies(event["ResponseURL"])
        arrived = [(at, body) for at, body in bodies if at >= started]
        if not arrived:
            raise ProtocolViolation(f"{event['RequestType']} {definition.logical_id}: the late copy did not answer")
        at, body = arrived[-1]
        return self._response(definition, event, started, invoked, at, body)

    def _response(
        self,
        definition: CustomResourceDef,
        event: dict[str, Any],
        started: float,
        invoked: Invoked,
        at: float,
        body: bytes,
    ) -> Response:
        """One answer as CloudFormation received it, checked."""
        response = self._check(event, body)
        return Response(
            event["RequestType"],
            definition.logical_id,
            response["Status"],
            response["PhysicalResourceId"],
            response.get("Reason", ""),
            response.get("Data") or {},
            at - started,
            len(body),
            invoked.init_seconds,
            invoked.logs,
        )

    def deliver_copies(self, event: dict[str, Any], copies: int = 2, overlap: bool = True) -> list[Response]:
        """Deliver one event several times (same RequestId and ResponseURL), as asynchronous invocation may:
        at the same moment (`overlap`) or one after the other. Every answer, in the order it arrived."""
        definition = self.definition(event["LogicalResourceId"])
        started = self.invoker.clock.now()
        where = (self.stack.account, self.stack.region)
        invoked: list[Invoked] = []

        def run() -> None:
            result = self.invoker.invoke(definition.function, event, where)
            with self.lock:
                invoked.append(result)
                self.sent.append(event)

        done = threading.Event()
        watcher = threading.Thread(target=self._record_first_answer, args=(event, done), daemon=True)
        watcher.start()
        try:
            if overlap:
                threads = [threading.Thread(target=run) for _ in range(copies)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                for _ in range(copies):
                    run()
        finally:
            done.set()
            watcher.join()
        return self._responses(definition, event, started, invoked[-1])

    def _record_first_answer(self, event: dict[str, Any], done: threading.Event) -> None:
        """As CloudFormation does: once the first answer to a Create arrives, the stack shows its physical id."""
        if event["RequestType"] != "Create":
            return
        while not done.is_set():
            bodies = self.invoker.endpoint.bodies(event["ResponseURL"])
            if bodies:
                answer = json.loads(bodies[0][1])
                if answer.get("Status") == "SUCCESS":
                    logical_id = event["LogicalResourceId"]
                    self._hold(
                        logical_id, answer["PhysicalResourceId"], event["ResourceProperties"], answer.get("Data") or {}
                    )
                    with self.lock:
                        self.statuses[logical_id] = "CREATE_COMPLETE"
                return
            done.wait(0.05)

    def _responses(
        self, definition: CustomResourceDef, event: dict[str, Any], started: float, invoked: Invoked
    ) -> list[Response]:
        bodies = self.invoker.endpoint.bodies(event["ResponseURL"])
        if not bodies:
            raise ProtocolViolation(
                f"{event['RequestType']} {definition.logical_id}: no response before the Lambda ended "
                f"(CloudFormation would wait {definition.service_timeout:.0f} s)\n{invoked.logs[-2000:]}"
            )
        results = [self._response(definition, event, started, invoked, arrived, body) for arrived, body in bodies]
        with self.lock:
            self.history.append(results[0])  # CloudFormation acts on the first answer
        return results

    @staticmethod
    def _check(event: dict[str, Any], body: bytes) -> dict[str, Any]:
        where = f"{event['RequestType']} {event['LogicalResourceId']}"
        if len(body) > MAX_RESPONSE_BYTES:
            raise ProtocolViolation(f"{where}: response of {len(body)} bytes exceeds {MAX_RESPONSE_BYTES}")
        response = json.loads(body)
        if response.get("Status") not in ("SUCCESS", "FAILED"):
            raise ProtocolViolation(f"{where}: Status {response.get('Status')!r}")
        for key in ("StackId", "RequestId", "LogicalResourceId"):
            if response.get(key) != event[key]:
                raise ProtocolViolation(f"{where}: {key} {response.get(key)!r} does not echo the request")
        physical_id = response.get("PhysicalResourceId")
        if not isinstance(physical_id, str) or not physical_id or len(physical_id.encode()) > MAX_PHYSICAL_ID:
            raise ProtocolViolation(f"{where}: invalid PhysicalResourceId {physical_id!r}")
        if event["RequestType"] == "Delete" and physical_id != event["PhysicalResourceId"]:
            raise ProtocolViolation(f"{where}: Delete changed the physical id")
        if response["Status"] == "FAILED" and not response.get("Reason"):
            raise ProtocolViolation(f"{where}: FAILED without a Reason")
        return dict(response)

    # --- the operations CloudFormation performs -----------------------------------------------
    def _status(self, logical_id: str, status: str | None) -> None:
        """A resource's status as ListStackResources shows it (None: no longer in the stack)."""
        with self.lock:
            if status is None:
                self.statuses.pop(logical_id, None)
            else:
                self.statuses[logical_id] = status

    def create(self, logical_id: str, overrides: dict[str, Any] | None = None) -> Response:
        """Create; after FAILED, the rollback Delete carries the FAILED response's physical id."""
        definition = self.definition(logical_id)
        properties = self.properties(definition, overrides)
        self.resource_types[logical_id] = definition.resource_type
        self._status(logical_id, "CREATE_IN_PROGRESS")
        response = self.send(definition, self.event("Create", definition, properties))
        if response.ok:
            self._hold(logical_id, response.physical_id, properties, response.data)
            self._status(logical_id, "CREATE_COMPLETE")
        else:
            rolling_back = {
                "CREATE_IN_PROGRESS": "ROLLBACK_IN_PROGRESS",
                "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_IN_PROGRESS",
            }
            self.stack_status = rolling_back.get(self.stack_status, self.stack_status)
            self._status(logical_id, "DELETE_IN_PROGRESS")
            self.send(definition, self.event("Delete", definition, properties, response.physical_id))
            self._status(logical_id, None)
        return response

    def _forward_update(self, logical_id: str, overrides: dict[str, Any] | None) -> tuple[Response, Deployed]:
        """The Update request alone; on SUCCESS the resource holds the answer's id. Returns what it held before."""
        definition = self.definition(logical_id)
        current = self.deployed[logical_id]
        properties = self.properties(definition, overrides)
        self._status(logical_id, "UPDATE_IN_PROGRESS")
        event = self.event("Update", definition, properties, current.physical_id, current.properties)
        response = self.send(definition, event)
        if response.ok:
            self._hold(logical_id, response.physical_id, properties, response.data)
            self._status(logical_id, "UPDATE_COMPLETE")
        return response, current

    def _rollback_update(self, logical_id: str, failed_properties: dict[str, Any], before: Deployed) -> Response:
        """The rollback Update after a failed one: old and new properties swapped."""
        definition = self.definition(logical_id)
        self._status(logical_id, "UPDATE_IN_PROGRESS")
        rollback = self.send(
            definition, self.event("Update", definition, before.properties, before.physical_id, failed_properties)
        )
        if rollback.ok:  # the rolled-back resource may have a new id (e.g. recreated after a delete-first)
            self._hold(logical_id, rollback.physical_id, before.properties, rollback.data)
            self._status(logical_id, "UPDATE_COMPLETE")
        else:
            self._status(logical_id, "UPDATE_FAILED")
        return rollback

    def update(self, logical_id: str, overrides: dict[str, Any] | None = None) -> Response:
        """A stack update of this one resource: a new physical id gets the old one deleted in cleanup (unless
        UpdateReplacePolicy is Retain), a failure gets a rollback Update."""
        self.stack_status = "UPDATE_IN_PROGRESS"
        response, before = self._forward_update(logical_id, overrides)
        if not response.ok:
            self.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS"
            failed_properties = self.properties(self.definition(logical_id), overrides)
            rollback = self._rollback_update(logical_id, failed_properties, before)
            self.stack_status = "UPDATE_ROLLBACK_COMPLETE" if rollback.ok else "UPDATE_ROLLBACK_FAILED"
            return response
        self.stack_status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        if response.physical_id != before.physical_id:
            self._cleanup_delete(logical_id, before, replaced=True)
        self.stack_status = "UPDATE_COMPLETE"
        return response

    def _cleanup_delete(
        self, logical_id: str, held: Deployed, replaced: bool, definition: CustomResourceDef | None = None
    ) -> list[Response]:
        """The cleanup phase's Delete of an id the stack no longer needs: skipped under a Retain policy, tried
        three times in all, then given up on (`dropped`). Every answer, in order."""
        if self._policy(logical_id, "UpdateReplacePolicy" if replaced else "DeletionPolicy") == "Retain":
            return []
        definition = definition or self.definition(logical_id)
        answers = []
        for _ in range(3):
            answers.append(self.send(definition, self.event("Delete", definition, held.properties, held.physical_id)))
            if answers[-1].ok:
                return answers
        self.dropped.append((logical_id, held.physical_id))
        return answers

    def delete(self, logical_id: str, definition: CustomResourceDef | None = None) -> Response:
        """Delete a deployed resource (`definition`: from the template it was deployed with)."""
        definition = definition or self.definition(logical_id)
        current = self.deployed[logical_id]
        self._status(logical_id, "DELETE_IN_PROGRESS")
        response = self.send(definition, self.event("Delete", definition, current.properties, current.physical_id))
        if response.ok:
            del self.deployed[logical_id]
            self._status(logical_id, None)
        else:
            self._status(logical_id, "DELETE_FAILED")
        return response

    def apply(self, template: StackTemplate, fail_after: bool = False) -> list[Response]:
        """Deploy a new version of the stack's template: Create what is new, Update what changed; then, in the
        cleanup phase, Delete the old ids of replaced resources and what the new template no longer has (e.g. a
        renamed construct's old logical id), each unless its policy retains it. `fail_after`: another
        resource of the stack fails after these, so the whole update rolls back. Every answer, in order."""
        previous = self.stack
        before = {d.logical_id: d for d in previous.custom_resources()}
        self.stack = template
        self.stack_status = "UPDATE_IN_PROGRESS"
        responses: list[Response] = []
        created: list[CustomResourceDef] = []
        changed: list[tuple[str, Deployed, dict[str, Any]]] = []  #: logical id, what it held, new properties
        failed = fail_after
        for definition in template.custom_resources():
            logical_id = definition.logical_id
            if logical_id not in self.deployed:
                response = self.create(logical_id)
                if response.ok:
                    created.append(definition)
            elif self.properties(definition) != self.deployed[logical_id].properties:
                new_properties = self.properties(definition)
                response, held = self._forward_update(logical_id, None)
                changed.append((logical_id, held, new_properties))
            else:
                continue
            responses.append(response)
            if not response.ok:
                failed = True
                break
        if failed:
            return responses + self._roll_back(previous, created, changed)
        self.stack_status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        for logical_id, held, _ in changed:
            if self.deployed[logical_id].physical_id != held.physical_id:
                responses += self._cleanup_delete(logical_id, held, replaced=True)
        kept = {d.logical_id for d in template.custom_resources()}
        for logical_id in reversed([k for k in before if k in self.deployed and k not in kept]):
            self._status(logical_id, "DELETE_IN_PROGRESS")
            held = self.deployed.pop(logical_id)
            self.stack = previous  # its DeletionPolicy is in the template it was deployed with
            responses += self._cleanup_delete(logical_id, held, replaced=False, definition=before[logical_id])
            self.stack = template
            self._status(logical_id, None)
        self.stack_status = "UPDATE_COMPLETE"
        return responses

    def _roll_back(
        self,
        previous: StackTemplate,
        created: list[CustomResourceDef],
        changed: list[tuple[str, Deployed, dict[str, Any]]],
    ) -> list[Response]:
        """Roll a failed stack update back: replaced resources get their old id back (no request) and their
        new id deleted in cleanup; resources updated in place get a rollback Update; new ones are deleted."""
        self.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS"
        responses: list[Response] = []
        replaced: list[tuple[str, Deployed, CustomResourceDef]] = []
        for logical_id, held, new_properties in reversed(changed):
            current = self.deployed[logical_id]
            if current.physical_id != held.physical_id and current.properties == new_properties:
                replaced.append((logical_id, current, self.definition(logical_id)))
                self.deployed[logical_id] = held  # restored as it was: CloudFormation sends it nothing
                self._status(logical_id, "UPDATE_COMPLETE")
            else:
                responses.append(self._rollback_update(logical_id, new_properties, held))
        self.stack_status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        for logical_id, new, definition in replaced:
            responses += self._cleanup_delete(logical_id, new, replaced=True, definition=definition)
        for definition in reversed(created):
            self._status(definition.logical_id, "DELETE_IN_PROGRESS")
            held = self.deployed.pop(definition.logical_id)
            responses += self._cleanup_delete(definition.logical_id, held, replaced=False, definition=definition)
            self._status(definition.logical_id, None)
        self.stack = previous
        self.stack_status = "UPDATE_ROLLBACK_COMPLETE"
        return responses

    @property
    def stack_name(self) -> str:
        return self.stack.name

    @property
    def stack_id(self) -> str:
        return self.stack.stack_id

    def stack_resources(self) -> list[StackResource]:
        """The stack's resources as the CloudFormation API reports them (cloudformation_api.StackView)."""
        custom = {d.logical_id: d.resource_type for d in self.stack.custom_resources()}
        now = self.invoker.clock.now()

        def shown(logical_id: str) -> str | None:
            held = self.deployed.get(logical_id)
            if held is None:
                return None
            return held.physical_id if now >= held.shown_from else held.shown_before

        with self.lock:
            resources = [
                StackResource(
                    logical_id,
                    shown(logical_id),
                    custom.get(logical_id) or self.resource_types.get(logical_id, "Custom::Unknown"),
                    status,
                )
                for logical_id, status in self.statuses.items()
            ]
        others = [
            StackResource(logical_id, f"{self.stack.name}-{logical_id}", resource["Type"], "CREATE_COMPLETE")
            for logical_id, resource in self.stack.resources.items()
            if logical_id not in custom
        ]
        return others + resources

    def deploy(self) -> list[Response]:
        """Create every custom resource in dependency order, those that do not depend on each other at the same
        time (CloudFormation works on independent resources in parallel: FACTS); after a failure, create no
        more, delete what was created (ROLLBACK_IN_PROGRESS) and end ROLLBACK_COMPLETE. Every Create's answer,
        in template order."""
        self.stack_status = "CREATE_IN_PROGRESS"
        pending = self.stack.custom_resources()
        answers: dict[str, Response] = {}
        while pending and all(r.ok for r in answers.values()):
            waiting = {p.logical_id for p in pending}
            wave = [d for d in pending if not (set(d.depends_on) | _referenced(d.properties)) & waiting]
            pending = [d for d in pending if d not in wave]
            threads = [
                threading.Thread(target=lambda d=d: answers.update({d.logical_id: self.create(d.logical_id)}))
                for d in wave
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        responses = [answers[d.logical_id] for d in self.stack.custom_resources() if d.logical_id in answers]
        if all(r.ok for r in responses):
            self.stack_status = "CREATE_COMPLETE"
            return responses
        self.stack_status = "ROLLBACK_IN_PROGRESS"
        for response in reversed(responses):
            if response.ok:
                self.delete(response.logical_id)
        self.stack_status = "ROLLBACK_COMPLETE"
        return responses

    def destroy(self) -> list[Response]:
        """Delete every deployed custom resource in reverse dependency order."""
        order = [d.logical_id for d in self.stack.custom_resources() if d.logical_id in self.deployed]
        self.stack_status = "DELETE_IN_PROGRESS"
        responses = [
            self.delete(logical_id)
            for logical_id in reversed(order)
            if self._policy(logical_id, "DeletionPolicy") != "Retain"
        ]
        self.stack_status = "DELETE_COMPLETE" if all(r.ok for r in responses) else "DELETE_FAILED"
        return responses

    def outputs(self) -> dict[str, Any]:
        """The stack outputs, resolved against the deployed resources."""
        physical = {k: v.physical_id for k, v in self.deployed.items()}
        attributes = {k: v.data for k, v in self.deployed.items()}
        return {
            name: self.stack.resolve(output["Value"], physical, attributes)
            for name, output in self.stack.template.get("Outputs", {}).items()
        }
