"""Lambda entry point: CloudFormation's custom resource protocol through crhelper, and nothing else.

crhelper calls the callback for the request type; each callback runs the request (resources.py) on the
invocation's own clock, and hands crhelper the physical id, the attributes, or a failure whose reason keeps
its start and hides secret values (reasons.py). The answer goes back through delivery.py, not crhelper's own
sender, and nothing runs when no answer could get back at all.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from crhelper import CfnResource

from . import connections, delivery, lifecycle, reasons, request, resources
from .contract import DATA_PLANE_TYPES
from .errors import Leftover
from .timing import Clock, system_clock

logger = logging.getLogger(__name__)

#: Starts the log line of every connection a failed request may leave behind (resources.py).
KEPT_MARKER = resources.KEPT_MARKER


class _CfnResource(CfnResource):
    """crhelper, answering through delivery.deliver: bounded timeouts, within the time left, 2xx only."""

    # crhelper's own names (resource_helper.py): its sender is `_send(status, reason, send_response)`, and the
    # request's context and type are `_context` and `RequestType`.
    _context: Any
    RequestType: str

    def _send(self, status: str | None = None, reason: str = "", send_response: Any = None) -> None:  # noqa: ARG002
        context = self._context

        def deliver(url: str, body: dict[str, Any], _ssl_verify: Any = None) -> None:
            # Answers are due RESPONSE_RESERVE_SECONDS before the end; crhelper's own timer answers 0.5 s before
            # it, and that last FAILED still gets what is left.
            left = lambda: context.get_remaining_time_in_millis() / 1000 - 0.2  # noqa: E731
            if not delivery.deliver(url, body, system_clock(), left) and body.get("Status") == "SUCCESS":
                physical_id = str(body.get("PhysicalResourceId", ""))
                if self.RequestType == "Create" and connections.looks_like_connection_id(physical_id):
                    logger.error(
                        "%s %s: CloudFormation was not told about it (no answer delivered)", KEPT_MARKER, physical_id
                    )

        super()._send(status, reason, send_response=deliver)  # type: ignore[misc]


# INFO logging never prints the event (it holds the pre-signed ResponseURL); no 120 s sleep on Delete.
helper = _CfnResource(json_logging=False, log_level="INFO", boto_level="WARNING", sleep_on_delete=0)


class Failed(Exception):
    """A failure as CloudFormation is told it (reasons.reason: no secret, the start kept)."""


def _answering(
    run: Callable[[dict[str, Any], Any, Clock], lifecycle.Answer | None],
) -> Callable[[dict[str, Any], Any], str | None]:
    """A crhelper callback running `run` on a new clock: its Answer becomes the physical id and attributes.
    Any answer, a FAILED or crhelper's last-moment one too, carries a physical id: the event's, a stable one
    for a failed Create, or the connection a failed Create leaves behind."""

    @functools.wraps(run)
    def callback(event: dict[str, Any], context: Any) -> str | None:
        helper.PhysicalResourceId = request.fallback_id(event)
        try:
            answer = run(event, context, system_clock())
        except Exception as error:
            if isinstance(error, Leftover):
                helper.PhysicalResourceId = error.connection_id
            text = reasons.reason(str(error), event)
            if text == str(error):
                raise
            cause = None if "(hidden)" in text else error  # the chained original would be logged with it
            raise Failed(text) from cause
        if answer is None:
            return None
        helper.Data.update(answer.data)
        return answer.physical_id

    return callback


def _by_type(request_type: str) -> Callable[[dict[str, Any], Any, Clock], lifecycle.Answer | None]:
    """The request's function for its resource type: connections (resources.py) or the data plane
    (data_resources.py, which alone loads opensearch-py: connections keep their cold start)."""

    def run(event: dict[str, Any], context: Any, clock: Clock) -> lifecycle.Answer | None:
        if event.get("ResourceType") in DATA_PLANE_TYPES:
            from . import data_resources  # noqa: PLC0415

            run_data_plane: Callable[[dict[str, Any], Any, Clock], lifecycle.Answer | None]
            run_data_plane = getattr(data_resources, request_type)
            return run_data_plane(event, context, clock)
        run_connection: Callable[[dict[str, Any], Any, Clock], lifecycle.Answer | None]
        run_connection = getattr(resources, request_type)
        return run_connection(event, context, clock)

    run.__name__ = request_type
    return run


create = helper.create(_answering(_by_type("create")))
update = helper.update(_answering(_by_type("update")))
delete = helper.delete(_answering(_by_type("delete")))


def handler(event: Any, context: Any) -> None:
    """The Lambda handler: checks the request's envelope, then crhelper calls the matching function and responds."""
    if not request.is_cloudformation_request(event):
        logger.error("Not a CloudFormation request (no https ResponseURL): nothing to answer")
        return
    unreachable = delivery.unreachable(event["ResponseURL"], system_clock())
    if unreachable is not None:
        # Changing anything now would leave it with CloudFormation never told (a VPC without a route to S3).
        logger.error(
            "Changed nothing: no answer could reach CloudFormation's ResponseURL host (%s). Give the function "
            "a route to Amazon S3 (a NAT gateway or an S3 gateway endpoint)",
            unreachable,
        )
        return
    problem = request.envelope_problem(event)
    helper(event if problem is None else request.stand_in(event, problem), context)
