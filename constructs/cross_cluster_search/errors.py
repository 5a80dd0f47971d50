"""The exception a wrong prop value raises (a wrong type is a ``TypeError``)."""

from __future__ import annotations

from cross_cluster_search.ccs_handler.properties import InvalidInput


class InvalidProp(InvalidInput):
    """A prop value the constructs refuse when they are built; the message starts with the prop's name, says the
    rule and the fix. An ``InvalidInput`` (a ``ValueError``), as the rules the handler shares raise."""

    def __init__(self, message: str) -> None:
        field, _, rule = message.partition(" ")
        ValueError.__init__(self, message)
        self.field = field.rstrip(":")
        self.rule = rule


__all__ = ["InvalidInput", "InvalidProp"]
