"""CDK constructs for Amazon OpenSearch Service / Elasticsearch cross-cluster search connections."""

import inspect

from cross_cluster_search._version import __version__
from cross_cluster_search.connection import (
    ACCEPTER_RESOURCE_TYPE,
    OUTBOUND_RESOURCE_TYPE,
    ConnectionApi,
    ConnectionMode,
    IInboundConnectionAccepter,
    InboundConnectionAccepter,
    IOutboundConnection,
    MetricProps,
    OutboundConnection,
)
from cross_cluster_search.data_plane import (
    FOLLOWER_INDEX_RESOURCE_TYPE,
    REPLICATION_RULE_RESOURCE_TYPE,
    SEARCH_ACCESS_RESOURCE_TYPE,
    FollowerIndex,
    RemoteSearchAccess,
    ReplicationRule,
)
from cross_cluster_search.domain_info import DomainInfo
from cross_cluster_search.errors import InvalidInput, InvalidProp
from cross_cluster_search.nag import acknowledge_access_policy_function
from cross_cluster_search.provider import ConnectionProvider, ProviderOptions, configure_provider

__all__ = [
    "ACCEPTER_RESOURCE_TYPE",
    "FOLLOWER_INDEX_RESOURCE_TYPE",
    "OUTBOUND_RESOURCE_TYPE",
    "REPLICATION_RULE_RESOURCE_TYPE",
    "SEARCH_ACCESS_RESOURCE_TYPE",
    "ConnectionApi",
    "ConnectionMode",
    "ConnectionProvider",
    "DomainInfo",
    "FollowerIndex",
    "IInboundConnectionAccepter",
    "IOutboundConnection",
    "InboundConnectionAccepter",
    "InvalidInput",
    "InvalidProp",
    "MetricProps",
    "OutboundConnection",
    "ProviderOptions",
    "RemoteSearchAccess",
    "ReplicationRule",
    "__version__",
    "acknowledge_access_policy_function",
    "configure_provider",
]


def _show_own_signature(construct: type[object]) -> None:
    """help() and inspect.signature() of a construct class show its own parameters (``id``, the real
    defaults), not the ``(*args, **kwargs)`` of jsii's metaclass."""
    init = vars(construct)["__init__"]
    try:
        signature = inspect.signature(init, eval_str=True)
    except NameError:  # pragma: no cover - an annotation not resolvable at run time
        signature = inspect.signature(init)
    parameters = list(signature.parameters.values())[1:]  # without self
    construct.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]


for _construct in (
    OutboundConnection,
    InboundConnectionAccepter,
    ConnectionProvider,
    RemoteSearchAccess,
    FollowerIndex,
    ReplicationRule,
):
    _show_own_signature(_construct)
