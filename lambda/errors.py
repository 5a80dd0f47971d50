"""The handler's failures, below everything that raises or catches them: each message says what failed and,
where there is one, the fix. A FAILED answer's reason is the message (reasons.py shortens and redacts it)."""

from __future__ import annotations


class ConnectionFailed(Exception):
    """The service refused or failed the connection; the message says why."""


class DeadlineExceeded(ConnectionFailed):
    """A state did not change, or no call fitted, before the resource's timeout or the answer's due time."""


class AccessDenied(ConnectionFailed):
    """IAM kept denying a call for longer than a new policy takes to apply; the message names the action."""


class ServiceUnreachable(ConnectionFailed):
    """A call got no answer (read timeout, no connection) within its retries; the message says which."""


class CloudFormationUnavailable(ConnectionFailed):
    """CloudFormation could not be asked (after botocore's retries); the message names the cause."""


class LateRequest(ConnectionFailed):
    """A request CloudFormation can no longer be waiting for (a late copy from Lambda's queue): it changed
    nothing, and says why."""


class Leftover(ConnectionFailed):
    """A failure after which a connection this request made is still there, because deleting it again failed
    too: a Create answers FAILED with its id as the physical id (so CloudFormation's rollback Delete deletes
    it); an Update, whose physical id stays the old one, logs it. The message is the original failure's."""

    def __init__(self, message: str, connection_id: str) -> None:
        super().__init__(message)
        self.connection_id = connection_id
