"""CloudFormation's three requests for the data plane's resources, on the domains' REST API (data_plane.py):

- search access (`Custom::CrossClusterSearchAccess`): on the destination, a security role this resource owns
  (search on the given index patterns) mapped to the source side's principals; optionally a smoke search
  through the connection on the source, as one of those principals;
- a follower index (`Custom::CrossClusterFollowerIndex`): a role on each side scoped to the index, mapped to
  the follower's admin role, then replication started and waited for until SYNCING;
- an auto-follow rule (`Custom::CrossClusterReplicationRule`): the same roles on the pattern, then the rule.

The function calls each domain as the admin role the user names for it, assumed through STS in the domain's
region. Ownership works as for connections: everything a resource changes is named after it (its roles) or
is its own id (the follower index, the rule); a Create undoes what it made when it fails, or when the stack
gave up on it meanwhile; a late copy of a request changes nothing (lifecycle.py); a Delete touches only what
its properties name, and only when its physical id is theirs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from . import lifecycle, ownership, request
from .clients import IAM_PROPAGATION_SECONDS, botocore_config, own_session
from .contract import (
    ATTR_FOLLOWER_INDEX,
    ATTR_REPLICATION_STATUS,
    ATTR_ROLE_NAME,
    FOLLOWER_INDEX_TYPE,
    OWNERSHIP_ANSWER_SECONDS,
    REPLICATION_RULE_TYPE,
    RESPONSE_RESERVE_SECONDS,
    SEARCH_ACCESS_TYPE,
)
from .data_plane import (
    AUTOFOLLOW_CLUSTER_ACTIONS,
    BOOTSTRAPPING,
    FOLLOWER_ACTIONS,
    LEADER_ACTIONS,
    NOT_IN_PROGRESS,
    REMOTE_SEARCH_ACTIONS,
    SYNCING,
    DataPlaneError,
    DataPlaneForbidden,
    DomainClient,
    DomainEndpoint,
    MappingEntries,
    ReplicationFailed,
)
from .data_properties import (
    DataDomain,
    InvalidInput,
    ReplicationSpec,
    SearchAccessSpec,
    parse_replication,
    parse_search_access,
)
from .dialects import error_code
from .errors import AccessDenied, CloudFormationUnavailable, ConnectionFailed
from .lifecycle import ROLLBACK_STATUSES, Answer
from .timing import Budget, Clock, policy_for

logger = logging.getLogger(__name__)

#: Starts the log line of whatever a request leaves on a domain on purpose or could not undo (a metric filter
#: finds each): a replication that goes on after its resource's Delete, a failed Create's leftovers.
KEPT_MARKER = "KEPT_DATA_PLANE"
SESSION_NAME = "cross-cluster-search-data-plane"
#: Each HTTPS request to a domain: at most this long (the transport tries twice more on connection errors).
REQUEST_TIMEOUT_SECONDS = 10.0

Undo = list[tuple[str, Callable[[], object]]]


@dataclass(frozen=True)
class Run:
    """One request's context: its event, its time, and the owner tag every role it makes carries."""

    event: dict[str, Any]
    budget: Budget

    @property
    def owner(self) -> str:
        """Written into the description of each role this resource makes, and checked before any role of
        that name is changed or deleted: the stack and the resource, which no other resource shares."""
        return f"[owner {self.event['StackId']}#{self.event['LogicalResourceId']}]"

    @property
    def session_name(self) -> str:
        """The STS session name (CloudTrail tells the resources apart by it): 2-64 of [\\w+=,.@-]."""
        return re.sub(r"[^\w+=,.@-]", "-", f"ccs-{self.event['LogicalResourceId']}")[:64]

    def cloudformation(self) -> Any:
        config = botocore_config(policy_for(self.budget.left()))
        return own_session().client("cloudformation", region_name=request.stack_region(self.event), config=config)

    def rolling_back(self) -> bool:
        return ownership.stack_status(self.cloudformation(), self.event["StackId"]) in ROLLBACK_STATUSES

    def client(self, domain: DataDomain, role_arn: str | None = None) -> DomainClient:
        """The domain's REST API as `role_arn` (the domain's admin role by default), each request bounded by the
        time left."""
        role_arn = role_arn or domain.admin_role_arn
        timeout = max(1.0, min(REQUEST_TIMEOUT_SECONDS, (self.budget.left() - RESPONSE_RESERVE_SECONDS) / 3))
        return DomainClient(
            DomainEndpoint(domain.name, domain.endpoint, domain.region),
            self._assume(role_arn, domain.region),
            role_arn,
            timeout=timeout,
            clock=self.budget.clock,
            iam_propagation_seconds=IAM_PROPAGATION_SECONDS,
        )

    def _assume(self, role_arn: str, region: str) -> Credentials:
        """The role's credentials from STS in `region` (regional STS: the domain's region), waiting out IAM's
        propagation of a trust policy this deployment just changed."""
        clock = self.budget.clock
        first_denied: float | None = None
        pause = 1.0
        while True:
            config = botocore_config(policy_for(self.budget.left()))
            sts = own_session().client("sts", region_name=region, config=config)
            try:
                answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=self.session_name, DurationSeconds=900)
            except ClientError as error:
                if error_code(error) not in ("AccessDenied", "AccessDeniedException"):
                    raise
                first_denied = clock.now() if first_denied is None else first_denied
                waited = clock.now() - first_denied
                if waited + pause > IAM_PROPAGATION_SECONDS or self.budget.left() - pause < 10:
                    raise AccessDenied(
                        f"Not allowed: sts:AssumeRole of {role_arn}, still denied after {waited:.0f} s. Its trust "
                        "policy must allow the provider function's role (ConnectionProvider.of(stack).role)"
                    ) from error
                clock.sleep(pause)
                pause = min(pause * 2, 8.0)
                continue
            credentials = answer["Credentials"]
            return Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


def _undo(steps: Undo, why: Exception) -> None:
    """Undo what a failed Create made, newest first; what cannot be undone is logged with KEPT_MARKER."""
    for what, step in reversed(steps):
        try:
            step()
        except Exception as error:  # noqa: BLE001 - every step is tried, and what failed is named
            logger.error(
                "%s %s: made by a failed request and not undone (%s); undo it by hand", KEPT_MARKER, what, error
            )
    logger.info("Undid what this request made, because: %s", why)


def _with_undo(run: Run, work: Callable[[Undo], Answer]) -> Answer:
    """Run a Create's work; undo what it made when it fails, or when the stack stopped waiting meanwhile."""
    steps: Undo = []
    try:
        answer = work(steps)
        if run.event["RequestType"] == "Create":
            lifecycle.check_stack_creates(run.event, run.cloudformation())
    except Exception as error:
        _undo(steps, error)
        raise
    return answer


def _owned_role(
    run: Run,
    client: DomainClient,
    role: str,
    patterns: tuple[str, ...],
    actions: tuple[str, ...],
    entries: MappingEntries,
    steps: Undo,
    *,
    cluster: tuple[str, ...] = (),
    purpose: str,
) -> None:
    """Create (or bring up to date) a role this resource owns and map `entries` to it; a role made here is
    deleted again, with its mapping, if the request fails. A role of that name that is not this resource's
    (its description carries no owner tag of this resource) is refused, never changed."""
    existing = client.get_role(role)
    if existing is not None and run.owner not in str(existing.get("description", "")):
        raise DataPlaneError(
            f"Domain {client.domain.name}: role {role} exists and is not this resource's (its description: "
            f"{str(existing.get('description', ''))[:120]!r}); delete or rename it, or rename this construct"
        )
    created = client.put_role(
        role,
        index_patterns=patterns,
        allowed_actions=actions,
        cluster_permissions=cluster,
        description=f"{purpose} {run.owner}",
    )
    if created:
        steps.append((f"role {role} on {client.domain.name}", lambda: _drop_role(run, client, role)))
    client.add_mapping_entries(role, entries)


def _drop_role(run: Run, client: DomainClient, role: str) -> None:
    """Delete a role this resource owns and its mapping (the mapping of a role that is gone maps nothing);
    a role of that name that is not this resource's stays, said in a log line."""
    existing = client.get_role(role)
    if existing is not None and run.owner not in str(existing.get("description", "")):
        logger.warning("%s: role %s is not this resource's: left as it is", client.domain.name, role)
        return
    client.delete_role_mapping(role)
    client.delete_role(role)


def _owns(event: dict[str, Any], expected: str) -> bool:
    physical_id = str(event.get("PhysicalResourceId", ""))
    if physical_id != expected:
        logger.info("Physical id %s is not this resource's %s: nothing to delete", physical_id, expected)
        return False
    return True


def _old(event: dict[str, Any], parse: Callable[[object], Any]) -> Any:
    try:
        return parse(event.get("OldResourceProperties"))
    except InvalidInput:
        return None


# --- search access -------------------------------------------------------------------------------------------
def _entries(spec: SearchAccessSpec) -> MappingEntries:
    return MappingEntries(users=spec.users, backend_roles=spec.backend_roles)


def _smoke_search(run: Run, spec: SearchAccessSpec) -> None:
    smoke = spec.smoke_search
    if smoke is None:
        return
    searcher = smoke.domain.admin_role_arn
    try:
        hits = run.client(smoke.domain).smoke_search(smoke.alias, smoke.pattern)
    except DataPlaneForbidden as refused:
        # The destination evaluates the searching identity (AWS developer guide, "Cross-cluster search"): the
        # fix is there, in the role this resource maps, not on the source the request went to.
        raise DataPlaneForbidden(
            f"Smoke search of {smoke.alias}:{smoke.pattern} on {smoke.domain.name} as {searcher} was refused: "
            f"{refused}. On {spec.destination.name}, role {spec.role} maps {_entries(spec)}: {searcher} must arrive "
            "there as one of them (a user or a backend role)"
        ) from refused
    logger.info(
        "%s: searching %s:%s as %s through the connection found %d hit(s)",
        smoke.domain.name,
        smoke.alias,
        smoke.pattern,
        searcher,
        hits,
    )


def _grant_search(run: Run, spec: SearchAccessSpec, steps: Undo) -> Answer:
    _owned_role(
        run,
        run.client(spec.destination),
        spec.role,
        spec.index_patterns,
        REMOTE_SEARCH_ACTIONS,
        _entries(spec),
        steps,
        purpose="Cross-cluster search from the source side (cross-cluster-search construct)",
    )
    _smoke_search(run, spec)
    return Answer(spec.physical_id, {ATTR_ROLE_NAME: spec.role})


def _search_create(run: Run) -> Answer:
    spec = parse_search_access(run.event.get("ResourceProperties"))
    return _with_undo(run, lambda steps: _grant_search(run, spec, steps))


def _search_update(run: Run) -> Answer:
    spec = parse_search_access(run.event.get("ResourceProperties"))
    if spec.physical_id != run.event["PhysicalResourceId"]:  # another domain or role: a replacement
        lifecycle.check_stack_creates(run.event, run.cloudformation(), allowed=ROLLBACK_STATUSES)
        return _with_undo(run, lambda steps: _grant_search(run, spec, steps))
    old: SearchAccessSpec | None = _old(run.event, parse_search_access)
    answer = _grant_search(run, spec, [])
    if old is not None:
        gone = MappingEntries(
            users=tuple(u for u in old.users if u not in spec.users),
            backend_roles=tuple(b for b in old.backend_roles if b not in spec.backend_roles),
        )
        if gone.users or gone.backend_roles:
            run.client(spec.destination).remove_mapping_entries(spec.role, gone)
    return answer


def _search_delete(run: Run) -> None:
    spec = parse_search_access(run.event.get("ResourceProperties"))
    if _owns(run.event, spec.physical_id):
        _drop_role(run, run.client(spec.destination), spec.role)


# --- replication ---------------------------------------------------------------------------------------------
def _replication_roles(
    run: Run, spec: ReplicationSpec, leader: DomainClient, follower: DomainClient, steps: Undo, pattern: str
) -> None:
    """The two roles replication runs as (use_roles), each mapped to the follower's admin role, which starts
    it: the same identity on both domains (AWS developer guide, "Cross-cluster replication")."""
    starter = MappingEntries(backend_roles=(spec.follower.admin_role_arn,))
    purpose = f"Cross-cluster replication into {spec.follower.name} (cross-cluster-search construct)"
    _owned_role(run, leader, spec.leader_role, (pattern,), LEADER_ACTIONS, starter, steps, purpose=purpose)
    _owned_role(
        run,
        follower,
        spec.follower_role,
        (spec.follower_index or pattern,),
        FOLLOWER_ACTIONS,
        starter,
        steps,
        cluster=AUTOFOLLOW_CLUSTER_ACTIONS if spec.rule_name is not None else (),
        purpose=purpose,
    )


def _answer(spec: ReplicationSpec, status: str) -> Answer:
    return Answer(
        spec.physical_id,
        {ATTR_FOLLOWER_INDEX: spec.follower_index or "", ATTR_REPLICATION_STATUS: status, ATTR_ROLE_NAME: spec.role},
    )


def _follow(run: Run, spec: ReplicationSpec, steps: Undo) -> Answer:
    """A Create (or a replacement): roles, start, and SYNCING within the timeout; FAILED or PAUSED fails."""
    assert spec.leader_index is not None and spec.follower_index is not None
    leader, follower = run.client(spec.leader), run.client(spec.follower)
    _replication_roles(run, spec, leader, follower, steps, spec.leader_index)
    index = spec.follower_index
    if follower.start_replication(
        index,
        leader_alias=spec.alias,
        leader_index=spec.leader_index,
        leader_role=spec.leader_role,
        follower_role=spec.follower_role,
    ):
        steps.append((f"follower index {index} on {spec.follower.name}", lambda: _stop_and_delete(follower, index)))
    status = follower.wait_until_syncing(index, run.budget.deadline(spec.timeout_seconds))
    return _answer(spec, status.status)


def _refollow(run: Run, spec: ReplicationSpec) -> Answer:
    """An in-place Update: the same follower index. Its roles are brought up to date; a replication that does
    not run is started again; one that is PAUSED or FAILED is reported, not failed (an operator's pause, or a
    rollback, must not fail the stack)."""
    assert spec.leader_index is not None and spec.follower_index is not None
    follower = run.client(spec.follower)
    index = spec.follower_index
    status = follower.replication_status(index)
    if status.status != NOT_IN_PROGRESS and (status.leader_alias, status.leader_index) != (
        spec.alias,
        spec.leader_index,
    ):
        follows = f"{status.leader_alias}:{status.leader_index}"
        if run.rolling_back():
            logger.warning("Stack rolling back: follower index %s keeps following %s as it is", index, follows)
            return _answer(spec, status.status)
        raise ConnectionFailed(
            f"Follower index {index} on {spec.follower.name} follows {follows}; a follower index cannot follow "
            f"another leader ({spec.alias}:{spec.leader_index}). Give follower_index a new name (a new follower "
            "index then replaces this one)"
        )
    _replication_roles(run, spec, run.client(spec.leader), follower, [], spec.leader_index)
    if status.status == NOT_IN_PROGRESS:
        follower.start_replication(
            index,
            leader_alias=spec.alias,
            leader_index=spec.leader_index,
            leader_role=spec.leader_role,
            follower_role=spec.follower_role,
        )
    if status.status in (NOT_IN_PROGRESS, BOOTSTRAPPING):
        try:
            status = follower.wait_until_syncing(index, run.budget.deadline(spec.timeout_seconds))
        except ReplicationFailed as failed:
            logger.warning("%s", failed)
            status = follower.replication_status(index)
    if status.status != SYNCING:
        logger.warning(
            "%s: follower index %s is %s (%s); the Update changed its roles only",
            spec.follower.name,
            index,
            status.status,
            status.reason or "no reason given",
        )
    return _answer(spec, status.status)


def _stop_and_delete(follower: DomainClient, index: str) -> None:
    """Undo a start this request made: stop it (the index becomes a normal one), then delete that index."""
    follower.stop_replication(index)
    follower.delete_index(index)


def _auto_follow(run: Run, spec: ReplicationSpec, steps: Undo) -> Answer:
    assert spec.rule_name is not None and spec.pattern is not None
    leader, follower = run.client(spec.leader), run.client(spec.follower)
    # What the pattern matches now, and which of those the follower already has: an index it replicates is
    # someone else's (never waited for, never stopped here); a normal index of that name the rule can never
    # replicate into, said at once rather than after the timeout.
    matching = leader.matching_indices(spec.pattern)
    present = set(follower.matching_indices(spec.pattern))
    for index in sorted(present & set(matching)):
        if follower.replication_status(index).status == NOT_IN_PROGRESS:
            raise ConnectionFailed(
                f"Follower {spec.follower.name} already has an index {index} that does not replicate, so the rule "
                f"cannot replicate {spec.alias}:{index} into it; delete or rename it there, or narrow index_pattern"
            )
    new = [index for index in matching if index not in present]
    _replication_roles(run, spec, leader, follower, steps, spec.pattern)
    name = spec.rule_name
    # Undone newest first: the rule goes, then what it already started (which would run as roles being
    # deleted) is stopped: only indices that were not there before this request.
    steps.append((f"replications rule {name} started", lambda: _stop_started(spec, follower, new)))
    follower.create_autofollow_rule(
        name,
        leader_alias=spec.alias,
        pattern=spec.pattern,
        leader_role=spec.leader_role,
        follower_role=spec.follower_role,
    )
    steps.append(
        (
            f"auto-follow rule {name} on {spec.follower.name}",
            lambda: follower.delete_autofollow_rule(name, leader_alias=spec.alias),
        )
    )
    # The rule starts what matches in its own time (the plugin polls the leader); the leader indices that match
    # now are waited for until each is SYNCING (a new leader index later is the rule's, and its metrics').
    deadline = run.budget.deadline(spec.timeout_seconds)
    for index in new:
        follower.wait_until_syncing(index, deadline)
    logger.info("%s: auto-follow rule %s replicates %s", spec.follower.name, name, new or "nothing yet")
    return Answer(spec.physical_id, {ATTR_ROLE_NAME: spec.role})


def _stop_started(spec: ReplicationSpec, follower: DomainClient, indices: list[str]) -> None:
    """Stop those of `indices` that follow, through the rule's alias, the leader index of the same name."""
    for index in indices:
        status = follower.replication_status(index)
        if (status.leader_alias, status.leader_index) == (spec.alias, index):
            follower.stop_replication(index)


def _replicate(run: Run, spec: ReplicationSpec, steps: Undo) -> Answer:
    if spec.rule_name is not None:
        return _auto_follow(run, spec, steps)
    return _follow(run, spec, steps)


def _replication_create(run: Run, rule: bool) -> Answer:
    spec = parse_replication(run.event.get("ResourceProperties"), rule=rule)
    return _with_undo(run, lambda steps: _replicate(run, spec, steps))


def _replication_update(run: Run, rule: bool) -> Answer:
    spec = parse_replication(run.event.get("ResourceProperties"), rule=rule)
    if spec.physical_id != run.event["PhysicalResourceId"]:  # another follower index, rule or domain
        lifecycle.check_stack_creates(run.event, run.cloudformation(), allowed=ROLLBACK_STATUSES)
        return _with_undo(run, lambda steps: _replicate(run, spec, steps))
    if not rule:
        return _refollow(run, spec)
    old: ReplicationSpec | None = _old(run.event, lambda p: parse_replication(p, rule=True))
    # The plugin's POST replaces the rule of that name (an upsert) with the new pattern and the new pattern's
    # own roles; what the old pattern started keeps running as the old roles, which therefore stay.
    answer = _auto_follow(run, spec, [])
    if old is not None and old.leader_role != spec.leader_role:
        logger.warning(
            "%s roles %s on %s and %s on %s: kept, what the rule's previous pattern %s started still replicates as "
            "them",
            KEPT_MARKER,
            old.leader_role,
            old.leader.name,
            old.follower_role,
            old.follower.name,
            old.pattern,
        )
    return answer


def _replication_delete(run: Run, rule: bool) -> None:
    spec = parse_replication(run.event.get("ResourceProperties"), rule=rule)
    if not _owns(run.event, spec.physical_id) or _held_elsewhere(run):
        return
    follower = run.client(spec.follower)
    kept = f"roles {spec.leader_role} on {spec.leader.name} and {spec.follower_role} on {spec.follower.name}"
    if rule:
        assert spec.rule_name is not None and spec.pattern is not None
        follower.delete_autofollow_rule(spec.rule_name, leader_alias=spec.alias)
        if not spec.stop_on_delete:
            # Deleting a rule does not stop what it started (OpenSearch docs, "Cross-cluster replication"), and
            # those replications run as this resource's roles: they stay.
            logger.warning(
                "%s %s: kept, the follower indices rule %s started still replicate as them "
                "(stop_replication_on_delete=False)",
                KEPT_MARKER,
                kept,
                spec.rule_name,
            )
            return
        leader = run.client(spec.leader)
        # The indices the pattern names that follow through the alias, except those a follower index resource of
        # this stack holds (the rule did not start those; ones of other stacks cannot be told apart).
        matching = leader.matching_indices(spec.pattern)
        held = _held_follower_indices(run, spec, matching)
        _stop_started(spec, follower, [index for index in matching if index not in held])
        _drop_role(run, follower, spec.follower_role)
        _drop_role(run, leader, spec.leader_role)
        return
    assert spec.follower_index is not None
    if not spec.stop_on_delete:
        logger.warning(
            "%s follower index %s on %s keeps replicating from %s:%s, and %s stay for it "
            "(stop_replication_on_delete=False); stop it and delete them by hand when it is no longer wanted",
            KEPT_MARKER,
            spec.follower_index,
            spec.follower.name,
            spec.alias,
            spec.leader_index,
            kept,
        )
        return
    follower.stop_replication(spec.follower_index)
    _drop_role(run, follower, spec.follower_role)
    _drop_role(run, run.client(spec.leader), spec.leader_role)


def _held_follower_indices(run: Run, spec: ReplicationSpec, indices: list[str]) -> set[str]:
    """Which of `indices` a FollowerIndex resource of this stack holds (its physical id names it)."""
    client = run.cloudformation()
    where = f"{spec.follower.region}/{spec.follower.name}"
    return {
        index
        for index in indices
        if ownership.holders(client, run.event["StackId"], f"{where}/{index}", (FOLLOWER_INDEX_TYPE,))
    }


def _held_elsewhere(run: Run) -> bool:
    """A renamed construct's new resource of this stack holds the same follower index or rule: leave it."""
    event = run.event
    try:
        holder = ownership.held_elsewhere(
            run.cloudformation(),
            event["StackId"],
            event["LogicalResourceId"],
            str(event["PhysicalResourceId"]),
            (str(event["ResourceType"]),),
            run.budget.deadline(OWNERSHIP_ANSWER_SECONDS + 1, reserve=0),
        )
    except CloudFormationUnavailable as unavailable:
        raise ConnectionFailed(
            f"Kept {event['PhysicalResourceId']}: {unavailable}. Delete it by hand if CloudFormation gives up on "
            "this resource"
        ) from unavailable
    if holder is not None:
        logger.info("%s is now held by %s of this stack: leaving it", event["PhysicalResourceId"], holder)
    return holder is not None


# --- CloudFormation's requests ---------------------------------------------------------------------------------
def create(event: dict[str, Any], context: Any, clock: Clock) -> Answer:
    """Make what the resource declares; undo it all when anything fails."""
    if request.PROBLEM in event:
        raise ValueError(event[request.PROBLEM])
    lifecycle.check_awaited(event, clock)
    run = Run(event, lifecycle.budget(event, context, clock))
    lifecycle.check_stack_creates(event, run.cloudformation())
    kind = event["ResourceType"]
    if kind == SEARCH_ACCESS_TYPE:
        return _search_create(run)
    return _replication_create(run, rule=kind == REPLICATION_RULE_TYPE)


def update(event: dict[str, Any], context: Any, clock: Clock) -> Answer:
    """Bring what the resource declares up to date, or make it anew when its identity changed."""
    lifecycle.check_awaited(event, clock)
    run = Run(event, lifecycle.budget(event, context, clock))
    kind = event["ResourceType"]
    if kind == SEARCH_ACCESS_TYPE:
        return _search_update(run)
    return _replication_update(run, rule=kind == REPLICATION_RULE_TYPE)


def delete(event: dict[str, Any], context: Any, clock: Clock) -> None:
    """Remove what this resource made (its roles and their mappings; the rule; the replication when asked)."""
    run = Run(event, lifecycle.budget(event, context, clock))
    kind = event["ResourceType"]
    try:
        if kind == SEARCH_ACCESS_TYPE:
            _search_delete(run)
        else:
            _replication_delete(run, rule=kind == REPLICATION_RULE_TYPE)
    except InvalidInput as invalid:
        # Properties no version of the construct wrote: nothing of this resource can be named, so nothing is.
        logger.warning("Nothing deleted: %s", invalid)
    except DataPlaneError as failed:
        logger.error("%s %s: the Delete failed (%s)", KEPT_MARKER, event.get("PhysicalResourceId"), failed)
        raise DataPlaneError(
            f"{failed}. If the domain or its admin role no longer exists, nothing of this resource is left to "
            f"delete there: delete the stack again, retaining {event['LogicalResourceId']} (--retain-resources)"
        ) from failed
