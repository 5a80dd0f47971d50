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
from collections.abc import Callable
from typing import Any

from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from . import lifecycle, ownership, request
from .clients import IAM_PROPAGATION_SECONDS, botocore_config, own_session
from .contract import (
    ATTR_FOLLOWER_INDEX,
    ATTR_REPLICATION_STATUS,
    ATTR_ROLE_NAME,
    OWNERSHIP_ANSWER_SECONDS,
    REPLICATION_RULE_TYPE,
    SEARCH_ACCESS_TYPE,
)
from .data_plane import (
    AUTOFOLLOW_CLUSTER_ACTIONS,
    FOLLOWER_ACTIONS,
    LEADER_ACTIONS,
    REMOTE_SEARCH_ACTIONS,
    DomainClient,
    DomainEndpoint,
    MappingEntries,
)
from .data_properties import DataDomain, ReplicationSpec, SearchAccessSpec, parse_replication, parse_search_access
from .dialects import error_code
from .errors import AccessDenied, CloudFormationUnavailable, ConnectionFailed
from .lifecycle import ROLLBACK_STATUSES, Answer
from .timing import Budget, Clock, Deadline, policy_for

logger = logging.getLogger(__name__)

#: Starts the log line of whatever a request leaves on a domain on purpose or could not undo (a metric filter
#: finds each): a replication that goes on after its resource's Delete, a failed Create's leftovers.
KEPT_MARKER = "KEPT_DATA_PLANE"
SESSION_NAME = "cross-cluster-search-data-plane"
#: Each HTTPS request to a domain: at most this long (the transport tries twice more on connection errors).
REQUEST_TIMEOUT_SECONDS = 10.0

Undo = list[tuple[str, Callable[[], object]]]


# --- calling a domain ----------------------------------------------------------------------------------------
def _assume(role_arn: str, region: str, budget: Budget) -> Credentials:
    """The role's credentials from STS in `region` (regional STS: the domain's region), waiting out IAM's
    propagation of a trust policy this deployment just changed."""
    clock = budget.clock
    first_denied: float | None = None
    pause = 1.0
    while True:
        sts = own_session().client("sts", region_name=region, config=botocore_config(policy_for(budget.left())))
        try:
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=900)
        except ClientError as error:
            if error_code(error) not in ("AccessDenied", "AccessDeniedException"):
                raise
            first_denied = clock.now() if first_denied is None else first_denied
            waited = clock.now() - first_denied
            if waited + pause > IAM_PROPAGATION_SECONDS or budget.left() - pause < 10:
                raise AccessDenied(
                    f"Not allowed: sts:AssumeRole of {role_arn}, still denied after {waited:.0f} s. Its trust "
                    "policy must allow the provider function's role (ConnectionProvider.of(stack).role)"
                ) from error
            clock.sleep(pause)
            pause = min(pause * 2, 8.0)
            continue
        credentials = answer["Credentials"]
        return Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


def _client(domain: DataDomain, budget: Budget, role_arn: str | None = None) -> DomainClient:
    role_arn = role_arn or domain.admin_role_arn
    return DomainClient(
        DomainEndpoint(domain.name, domain.endpoint, domain.region),
        _assume(role_arn, domain.region, budget),
        role_arn,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )


def _cloudformation(event: dict[str, Any], budget: Budget) -> Any:
    config = botocore_config(policy_for(budget.left()))
    return own_session().client("cloudformation", region_name=request.stack_region(event), config=config)


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


def _with_undo(event: dict[str, Any], budget: Budget, work: Callable[[Undo], Answer]) -> Answer:
    """Run a Create's work; undo what it made when it fails, or when the stack stopped waiting meanwhile."""
    steps: Undo = []
    try:
        answer = work(steps)
        if event["RequestType"] == "Create":
            lifecycle.check_stack_creates(event, _cloudformation(event, budget))
    except Exception as error:
        _undo(steps, error)
        raise
    return answer


def _owned_role(
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
    deleted again, with its mapping, if the request fails."""
    created = client.put_role(
        role, index_patterns=patterns, allowed_actions=actions, cluster_permissions=cluster, description=purpose
    )
    if created:
        steps.append((f"role {role} on {client.domain.name}", lambda: _drop_role(client, role)))
    client.add_mapping_entries(role, entries)


def _drop_role(client: DomainClient, role: str) -> None:
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
    except ValueError:
        return None


# --- search access -------------------------------------------------------------------------------------------
def _search_id(spec: SearchAccessSpec) -> str:
    return f"{spec.destination.name}/{spec.role}"


def _search_answer(spec: SearchAccessSpec) -> Answer:
    return Answer(_search_id(spec), {ATTR_ROLE_NAME: spec.role})


def _entries(spec: SearchAccessSpec) -> MappingEntries:
    return MappingEntries(users=spec.users, backend_roles=spec.backend_roles)


def _smoke_search(spec: SearchAccessSpec, budget: Budget) -> None:
    smoke = spec.smoke_search
    if smoke is None:
        return
    hits = _client(smoke.domain, budget).smoke_search(smoke.alias, smoke.pattern)
    logger.info(
        "%s: searching %s:%s as %s through the connection found %d hit(s)",
        smoke.domain.name,
        smoke.alias,
        smoke.pattern,
        smoke.domain.admin_role_arn,
        hits,
    )


def _grant_search(spec: SearchAccessSpec, budget: Budget, steps: Undo) -> Answer:
    destination = _client(spec.destination, budget)
    _owned_role(
        destination,
        spec.role,
        spec.index_patterns,
        REMOTE_SEARCH_ACTIONS,
        _entries(spec),
        steps,
        purpose="Cross-cluster search from the source side (cross-cluster-search construct)",
    )
    _smoke_search(spec, budget)
    return _search_answer(spec)


def _search_create(event: dict[str, Any], budget: Budget) -> Answer:
    spec = parse_search_access(event.get("ResourceProperties"))
    return _with_undo(event, budget, lambda steps: _grant_search(spec, budget, steps))


def _search_update(event: dict[str, Any], budget: Budget) -> Answer:
    spec = parse_search_access(event.get("ResourceProperties"))
    if _search_id(spec) != event["PhysicalResourceId"]:  # another domain or role: a replacement
        lifecycle.check_stack_creates(event, _cloudformation(event, budget), allowed=ROLLBACK_STATUSES)
        return _with_undo(event, budget, lambda steps: _grant_search(spec, budget, steps))
    old: SearchAccessSpec | None = _old(event, parse_search_access)
    answer = _grant_search(spec, budget, [])
    if old is not None:
        gone = MappingEntries(
            users=tuple(u for u in old.users if u not in spec.users),
            backend_roles=tuple(b for b in old.backend_roles if b not in spec.backend_roles),
        )
        if gone.users or gone.backend_roles:
            _client(spec.destination, budget).remove_mapping_entries(spec.role, gone)
    return answer


def _search_delete(event: dict[str, Any], budget: Budget) -> None:
    spec = parse_search_access(event.get("ResourceProperties"))
    if _owns(event, _search_id(spec)):
        _drop_role(_client(spec.destination, budget), spec.role)


# --- replication ---------------------------------------------------------------------------------------------
def _replication_id(spec: ReplicationSpec) -> str:
    if spec.rule_name is not None:
        return f"{spec.follower.name}/{spec.alias}/{spec.rule_name}"
    return f"{spec.follower.name}/{spec.follower_index}"


def _replication_roles(
    spec: ReplicationSpec, leader: DomainClient, follower: DomainClient, steps: Undo, patterns: tuple[str, str]
) -> None:
    """The two roles replication runs as (use_roles), each mapped to the follower's admin role, which starts
    it: the same identity on both domains (AWS developer guide, "Cross-cluster replication")."""
    starter = MappingEntries(backend_roles=(spec.follower.admin_role_arn,))
    purpose = f"Cross-cluster replication into {spec.follower.name} (cross-cluster-search construct)"
    _owned_role(leader, spec.leader_role, (patterns[0],), LEADER_ACTIONS, starter, steps, purpose=purpose)
    _owned_role(
        follower,
        spec.follower_role,
        (patterns[1],),
        FOLLOWER_ACTIONS,
        starter,
        steps,
        cluster=AUTOFOLLOW_CLUSTER_ACTIONS if spec.rule_name is not None else (),
        purpose=purpose,
    )


def _follow(spec: ReplicationSpec, budget: Budget, deadline: Deadline, steps: Undo) -> Answer:
    assert spec.leader_index is not None and spec.follower_index is not None
    leader, follower = _client(spec.leader, budget), _client(spec.follower, budget)
    _replication_roles(spec, leader, follower, steps, (spec.leader_index, spec.follower_index))
    index = spec.follower_index
    if follower.start_replication(
        index,
        leader_alias=spec.alias,
        leader_index=spec.leader_index,
        leader_role=spec.leader_role,
        follower_role=spec.follower_role,
    ):
        steps.append((f"follower index {index} on {spec.follower.name}", lambda: _stop_and_delete(follower, index)))
    status = follower.wait_until_syncing(index, deadline)
    return Answer(
        _replication_id(spec),
        {ATTR_FOLLOWER_INDEX: index, ATTR_REPLICATION_STATUS: status.status, ATTR_ROLE_NAME: spec.role},
    )


def _stop_and_delete(follower: DomainClient, index: str) -> None:
    """Undo a start this request made: stop it (the index becomes a normal one), then delete that index."""
    follower.stop_replication(index)
    follower.delete_index(index)


def _auto_follow(spec: ReplicationSpec, budget: Budget, deadline: Deadline, steps: Undo) -> Answer:
    assert spec.rule_name is not None and spec.pattern is not None
    leader, follower = _client(spec.leader, budget), _client(spec.follower, budget)
    _replication_roles(spec, leader, follower, steps, (spec.pattern, spec.pattern))
    name = spec.rule_name
    if follower.create_autofollow_rule(
        name,
        leader_alias=spec.alias,
        pattern=spec.pattern,
        leader_role=spec.leader_role,
        follower_role=spec.follower_role,
    ):
        # Undone newest first: the rule goes, then what it already started (which would run as roles being
        # deleted) is stopped.
        steps.append((f"replications rule {name} started", lambda: _stop_followed(spec, leader, follower)))
        steps.append(
            (
                f"auto-follow rule {name} on {spec.follower.name}",
                lambda: follower.delete_autofollow_rule(name, leader_alias=spec.alias),
            )
        )
    # The rule starts what matches in its own time (the plugin polls the leader); the leader indices that match
    # now are waited for until each is SYNCING (a new leader index later is the rule's, and its metrics').
    started = leader.matching_indices(spec.pattern)
    for index in started:
        follower.wait_until_syncing(index, deadline)
    logger.info("%s: auto-follow rule %s replicates %s", spec.follower.name, name, started or "nothing yet")
    return Answer(_replication_id(spec), {ATTR_ROLE_NAME: spec.role})


def _stop_followed(spec: ReplicationSpec, leader: DomainClient, follower: DomainClient) -> None:
    """Stop the follower indices that follow, through the rule's alias, a leader index its pattern matches."""
    assert spec.pattern is not None
    for index in leader.matching_indices(spec.pattern):
        status = follower.replication_status(index)
        if (status.leader_alias, status.leader_index) == (spec.alias, index):  # the rule's, not another's
            follower.stop_replication(index)


def _replicate(spec: ReplicationSpec, budget: Budget, steps: Undo) -> Answer:
    deadline = budget.deadline(spec.timeout_seconds)
    if spec.rule_name is not None:
        return _auto_follow(spec, budget, deadline, steps)
    return _follow(spec, budget, deadline, steps)


def _replication_create(event: dict[str, Any], budget: Budget, rule: bool) -> Answer:
    spec = parse_replication(event.get("ResourceProperties"), rule=rule)
    return _with_undo(event, budget, lambda steps: _replicate(spec, budget, steps))


def _replication_update(event: dict[str, Any], budget: Budget, rule: bool) -> Answer:
    spec = parse_replication(event.get("ResourceProperties"), rule=rule)
    if _replication_id(spec) != event["PhysicalResourceId"]:  # another follower index, rule or domain
        lifecycle.check_stack_creates(event, _cloudformation(event, budget), allowed=ROLLBACK_STATUSES)
        return _with_undo(event, budget, lambda steps: _replicate(spec, budget, steps))
    old: ReplicationSpec | None = _old(event, lambda p: parse_replication(p, rule=rule))
    if (
        old is not None
        and not rule
        and (old.leader, old.alias, old.leader_index)
        != (
            spec.leader,
            spec.alias,
            spec.leader_index,
        )
    ):
        raise ConnectionFailed(
            f"Follower index {spec.follower_index} on {spec.follower.name} follows {old.alias}:{old.leader_index}; "
            "a follower index cannot follow another leader. Give follower_index a new name (a new follower index "
            "replaces this one)"
        )
    if old is not None and rule and old.pattern != spec.pattern:
        # The plugin has no update of a rule: the old one goes, the new one comes (started replications go on).
        _client(spec.follower, budget).delete_autofollow_rule(spec.rule_name or "", leader_alias=spec.alias)
    return _replicate(spec, budget, [])


def _replication_delete(event: dict[str, Any], budget: Budget, rule: bool) -> None:
    spec = parse_replication(event.get("ResourceProperties"), rule=rule)
    if not _owns(event, _replication_id(spec)) or _held_elsewhere(event, budget):
        return
    follower = _client(spec.follower, budget)
    kept = f"roles {spec.leader_role} on {spec.leader.name} and {spec.follower_role} on {spec.follower.name}"
    if rule:
        assert spec.rule_name is not None
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
        leader = _client(spec.leader, budget)
        _stop_followed(spec, leader, follower)
        _drop_role(follower, spec.follower_role)
        _drop_role(leader, spec.leader_role)
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
    _drop_role(follower, spec.follower_role)
    _drop_role(_client(spec.leader, budget), spec.leader_role)


def _held_elsewhere(event: dict[str, Any], budget: Budget) -> bool:
    """A renamed construct's new resource of this stack holds the same follower index or rule: leave it."""
    try:
        holder = ownership.held_elsewhere(
            _cloudformation(event, budget),
            event["StackId"],
            event["LogicalResourceId"],
            str(event["PhysicalResourceId"]),
            (str(event["ResourceType"]),),
            budget.deadline(OWNERSHIP_ANSWER_SECONDS + 1, reserve=0),
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
    budget = lifecycle.budget(event, context, clock)
    lifecycle.check_stack_creates(event, _cloudformation(event, budget))
    kind = event["ResourceType"]
    if kind == SEARCH_ACCESS_TYPE:
        return _search_create(event, budget)
    return _replication_create(event, budget, rule=kind == REPLICATION_RULE_TYPE)


def update(event: dict[str, Any], context: Any, clock: Clock) -> Answer:
    """Bring what the resource declares up to date, or make it anew when its identity changed."""
    lifecycle.check_awaited(event, clock)
    budget = lifecycle.budget(event, context, clock)
    kind = event["ResourceType"]
    if kind == SEARCH_ACCESS_TYPE:
        return _search_update(event, budget)
    return _replication_update(event, budget, rule=kind == REPLICATION_RULE_TYPE)


def delete(event: dict[str, Any], context: Any, clock: Clock) -> None:
    """Remove what this resource made (its roles and their mappings; the rule; the replication when asked)."""
    budget = lifecycle.budget(event, context, clock)
    kind = event["ResourceType"]
    try:
        if kind == SEARCH_ACCESS_TYPE:
            _search_delete(event, budget)
        else:
            _replication_delete(event, budget, rule=kind == REPLICATION_RULE_TYPE)
    except ValueError as invalid:
        # Properties no version of the construct wrote: nothing of this resource can be named, so nothing is.
        logger.warning("Nothing deleted: %s", invalid)
