"""CDK constructs for Amazon OpenSearch Service / Elasticsearch cross-cluster search connections."""

from cross_cluster_search.connection import (
    ACCEPTER_RESOURCE_TYPE,
    OUTBOUND_RESOURCE_TYPE,
    ConnectionApi,
    ConnectionMode,
    InboundConnectionAccepter,
    OutboundConnection,
)
from cross_cluster_search.domain_info import DomainInfo

__all__ = [
    "ACCEPTER_RESOURCE_TYPE",
    "OUTBOUND_RESOURCE_TYPE",
    "ConnectionApi",
    "ConnectionMode",
    "DomainInfo",
    "InboundConnectionAccepter",
    "OutboundConnection",
]
