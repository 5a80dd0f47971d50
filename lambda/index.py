"""Lambda entry point: CloudFormation's custom resource protocol through crhelper, and nothing else.

crhelper calls the callback for the request type and answers on the ResponseURL; each callback runs the
request (resources.py) on the invocation's own clock, and hands crhelper the physical id, the attributes, or
a failure whose reason keeps its start and hides secret values (reasons.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from crhelper import CfnResource

from . import reasons, request, resources
from .errors import Leftover
from .timing import Clock, system_clock

logger = logging.getLogger(__name__)

#: Starts the log line of every connection a failed request may leave behind (resources.py).
KEPT_MARKER = resources.KEPT_MARKER

# INFO logging never prints the event (it holds the pre-signed ResponseURL); no 120 s sleep on Delete.
helper = CfnResource(json_logging=False, log_level="INFO", boto_level="WARNING", sleep_on_delete=0)


class Failed(Exception):
    """A failure as CloudFormation is told it (reasons.reason: no secret, the start kept)."""


def _answering(
    run: Callable[[dict[str, Any], Any, Clock], resources.Answer | None],
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


create = helper.create(_answering(resources.create))
update = helper.update(_answering(resources.update))
delete = helper.delete(_answering(resources.delete))


def handler(event: Any, context: Any) -> None:
    """The Lambda handler: checks the request's envelope, then crhelper calls the matching function and responds."""
    if not request.is_cloudformation_request(event):
        logger.error("Not a CloudFormation request (no https ResponseURL): nothing to answer")
        return
    problem = request.envelope_problem(event)
    helper(event if problem is None else request.stand_in(event, problem), context)
