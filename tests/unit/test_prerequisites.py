"""What AWS would refuse fails `cdk synth` (a Validation naming the construct path and the fix); where the sources
disagree, an acknowledgeable warning; a correct pair synthesizes without any library warning."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_elasticsearch as elasticsearch
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk.assertions import Annotations, Match, Template

from app import CrossClusterSearchDemo
from cross_cluster_search import DomainInfo, InboundConnectionAccepter, OutboundConnection
from cross_cluster_search.prerequisites import WARN_INSTANCE_TYPE, WARN_SOURCE_OLDER

ACCOUNT = "111111111111"
ENV = cdk.Environment(account=ACCOUNT, region="us-east-1")


def new_app() -> cdk.App:
    return cdk.App(context={"aws:cdk:bundling-stacks": []})


def new_stack(app: cdk.App | None = None, id_: str = "Test", region: str = "us-east-1") -> cdk.Stack:
    return cdk.Stack(app or new_app(), id_, env=cdk.Environment(account=ACCOUNT, region=region))


def os_domain(
    stack: cdk.Stack,
    id_: str,
    version: opensearch.EngineVersion = opensearch.EngineVersion.OPENSEARCH_2_19,
    *,
    fgac: bool = True,
    instance_type: str = "m6g.large.search",
    name: str | None = None,
) -> opensearch.Domain:
    """An OpenSearch Service domain; by default one that meets the prerequisites."""
    return opensearch.Domain(
        stack,
        id_,
        version=version,
        domain_name=name or id_.lower() + "-domain",
        capacity=opensearch.CapacityConfig(
            data_nodes=1, data_node_instance_type=instance_type, multi_az_with_standby_enabled=False
        ),
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_name="admin") if fgac else None,
        node_to_node_encryption=True,
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )


def es_domain(
    stack: cdk.Stack, id_: str, version: elasticsearch.ElasticsearchVersion = elasticsearch.ElasticsearchVersion.V7_10
) -> elasticsearch.Domain:
    """An Elasticsearch domain (the deprecated module) that meets the prerequisites."""
    return elasticsearch.Domain(
        stack,
        id_,
        version=version,
        domain_name=id_.lower() + "-domain",
        capacity=elasticsearch.CapacityConfig(data_nodes=1, data_node_instance_type="r5.large.elasticsearch"),
        fine_grained_access_control=elasticsearch.AdvancedSecurityOptions(master_user_name="admin"),
        node_to_node_encryption=True,
        encryption_at_rest=elasticsearch.EncryptionAtRestOptions(enabled=True),
        enforce_https=True,
    )


def connect(stack: cdk.Stack, source: Any, destination: Any, id_: str = "Conn", alias: str = "logs") -> None:
    OutboundConnection(stack, id_, source=source, destination=destination, connection_alias=alias)


def synth_errors(app: cdk.App) -> list[str]:
    """The lines of the validation errors synthesis fails with; [] when it succeeds."""
    try:
        app.synth()
    except RuntimeError as error:
        text = str(error)
        assert "Validation failed with the following errors" in text, text
        return [line.strip() for line in text.splitlines()[1:] if line.strip().startswith("[")]
    return []


def library_warnings(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("cross-cluster-search:"))
    return [str(entry.entry.data) for entry in found]


def all_warnings(stack: cdk.Stack) -> list[str]:
    return [str(entry.entry.data) for entry in Annotations.from_stack(stack).find_warning("*", Match.any_value())]


def test_a_correct_pair_synthesizes_with_no_warning() -> None:
    stack = new_stack()
    connect(stack, os_domain(stack, "Src"), os_domain(stack, "Dst"))
    es_stack = new_stack(stack.node.root, "Es")  # type: ignore[arg-type]
    connect(es_stack, es_domain(es_stack, "EsSrc"), es_domain(es_stack, "EsDst"))
    assert synth_errors(stack.node.root) == []  # type: ignore[arg-type]
    assert all_warnings(stack) == [] and all_warnings(es_stack) == []


def test_the_sample_app_has_no_warning_or_error() -> None:
    app = new_app()
    stack = CrossClusterSearchDemo(app, "Demo")
    assert synth_errors(app) == []
    assert all_warnings(stack) == []
    assert Annotations.from_stack(stack).find_error("*", Match.any_value()) == []
    # ... and its destination's access policy lets the source search it.
    domains = Template.from_stack(stack).find_resources("AWS::OpenSearchService::Domain").values()
    [policy] = [d["Properties"]["AccessPolicies"] for d in domains if "AccessPolicies" in d["Properties"]]
    assert [s["Action"] for s in policy["Statement"]] == ["es:ESCrossClusterGet"]


def test_elasticsearch_source_to_opensearch_destination_fails_synth_with_path_and_fix() -> None:
    stack = new_stack()
    connect(stack, es_domain(stack, "Src"), os_domain(stack, "Dst"))
    errors = synth_errors(stack.node.root)  # type: ignore[arg-type]
    assert errors == [
        "[Test/Conn] source domain Test/Src runs Elasticsearch_7.10 and destination domain Test/Dst runs "
        "OpenSearch_2.19: an Elasticsearch domain cannot connect to an OpenSearch domain; upgrade the source to "
        "OpenSearch or connect to an Elasticsearch domain"
    ]


@pytest.mark.parametrize("side", ["source", "destination"])
def test_fine_grained_access_control_off_on_either_domain(side: str) -> None:
    stack = new_stack()
    domains = {"source": os_domain(stack, "Src", fgac=side != "source")}
    domains["destination"] = os_domain(stack, "Dst", fgac=side != "destination")
    connect(stack, domains["source"], domains["destination"])
    path = domains[side].node.path
    assert synth_errors(stack.node.root) == [  # type: ignore[arg-type]
        f"[Test/Conn] {side} domain {path} has fine-grained access control off: cross-cluster search needs it on "
        "both domains; set fine_grained_access_control on the domain (advanced_security_options.enabled)"
    ]


@pytest.mark.parametrize("side", ["source", "destination"])
def test_node_to_node_encryption_off_is_read_after_construction(side: str) -> None:
    stack = new_stack()
    domains = {"source": os_domain(stack, "Src"), "destination": os_domain(stack, "Dst")}
    connect(stack, domains["source"], domains["destination"])
    cfn = domains[side].node.default_child
    assert isinstance(cfn, opensearch.CfnDomain)
    cfn.node_to_node_encryption_options = opensearch.CfnDomain.NodeToNodeEncryptionOptionsProperty(enabled=False)
    errors = synth_errors(stack.node.root)  # type: ignore[arg-type]
    assert len(errors) == 1 and f"{side} domain {domains[side].node.path} has node-to-node encryption off" in errors[0]
    assert "set node_to_node_encryption=True" in errors[0]


@pytest.mark.parametrize(("version", "fails"), [("Elasticsearch_6.5", True), ("Elasticsearch_6.7", False)])
def test_elasticsearch_older_than_6_7_fails(version: str, fails: bool) -> None:
    stack = new_stack()
    source, destination = es_domain(stack, "Src"), es_domain(stack, "Dst")
    connect(stack, source, destination)
    for domain in (source, destination):
        cfn = domain.node.default_child
        assert isinstance(cfn, elasticsearch.CfnDomain)
        cfn.elasticsearch_version = version.split("_")[1]
    errors = synth_errors(stack.node.root)  # type: ignore[arg-type]
    expected = [
        f"[Test/Conn] {side} domain Test/{name} runs {version}: cross-cluster search needs Elasticsearch 6.7 or "
        "later, or OpenSearch; upgrade the domain"
        for side, name in (("source", "Src"), ("destination", "Dst"))
    ]
    assert errors == (expected if fails else [])


@pytest.mark.parametrize(
    ("version", "cross_region", "fails"),
    [
        (elasticsearch.ElasticsearchVersion.V7_9, True, True),
        (elasticsearch.ElasticsearchVersion.V7_9, False, False),
        (elasticsearch.ElasticsearchVersion.V7_10, True, False),
    ],
)
def test_across_regions_elasticsearch_needs_7_10(
    version: elasticsearch.ElasticsearchVersion, cross_region: bool, fails: bool
) -> None:
    app = new_app()
    source_stack = new_stack(app, "Src")
    destination_stack = new_stack(app, "Dst", "eu-west-1") if cross_region else source_stack
    source = es_domain(source_stack, "Logs", version)
    destination = es_domain(destination_stack, "Archive", version)
    connect(source_stack, source, destination)
    errors = synth_errors(app)
    if fails:
        assert errors == [
            f"[Src/Conn] {side} domain {path} runs Elasticsearch_7.9 and the domains are in different regions "
            "(us-east-1, eu-west-1): across regions cross-cluster search needs Elasticsearch 7.10 or later, or "
            "OpenSearch; upgrade the domain or keep both in one region"
            for side, path in (("source", "Src/Logs"), ("destination", "Dst/Archive"))
        ]
    else:
        assert errors == []


def test_a_domain_connected_to_itself_fails_also_as_identical_domain_infos() -> None:
    stack = new_stack()
    domain = os_domain(stack, "Src")
    connect(stack, domain, domain)
    info = DomainInfo(owner_id=ACCOUNT, domain_name="logs", region="us-east-1")
    connect(stack, info, DomainInfo(owner_id=ACCOUNT, domain_name="logs", region="us-east-1"), "Infos")
    # The construct and a DomainInfo naming the same concrete domain are one domain too.
    connect(stack, domain, DomainInfo(owner_id=ACCOUNT, domain_name="src-domain", region="us-east-1"), "Mixed", "bb")
    assert synth_errors(stack.node.root) == [  # type: ignore[arg-type]
        "[Test/Conn] source and destination are the same domain (Test/Src): a connection joins two different "
        "domains; pass the domain to search as destination",
        "[Test/Infos] source and destination are the same domain (logs (account 111111111111, us-east-1)): a "
        "connection joins two different domains; pass the domain to search as destination",
        "[Test/Mixed] source and destination are the same domain (Test/Src): a connection joins two different "
        "domains; pass the domain to search as destination",
    ]


def test_the_same_alias_twice_from_one_source_anywhere_in_the_app_fails() -> None:
    app = new_app()
    first, second = new_stack(app, "First"), new_stack(app, "Second")
    source = DomainInfo(owner_id=ACCOUNT, domain_name="logs", region="us-east-1")
    other = DomainInfo(owner_id=ACCOUNT, domain_name="other", region="us-east-1")
    connect(first, source, DomainInfo(owner_id=ACCOUNT, domain_name="archive-a", region="us-east-1"))
    connect(second, source, DomainInfo(owner_id=ACCOUNT, domain_name="archive-b", region="us-east-1"))
    # The same alias from another source domain is fine.
    connect(second, other, DomainInfo(owner_id=ACCOUNT, domain_name="archive-a", region="us-east-1"), "Other")
    assert synth_errors(app) == [
        "[Second/Conn] connection_alias 'logs' from source domain logs (account 111111111111, us-east-1) is "
        "already used by First/Conn: aliases are unique per source domain; choose another alias"
    ]


def test_more_than_20_outbound_or_inbound_connections_per_domain_fail() -> None:
    app = new_app()
    stack = new_stack(app)
    hub = DomainInfo(owner_id=ACCOUNT, domain_name="hub", region="us-east-1")
    for index in range(21):
        spoke = DomainInfo(owner_id=ACCOUNT, domain_name=f"spoke-{index}", region="us-east-1")
        connect(stack, hub, spoke, f"Out{index}", f"out{index}")
        InboundConnectionAccepter(
            stack,
            f"In{index}",
            source=DomainInfo(owner_id="222222222222", domain_name=f"far-{index}", region="us-east-1"),
            destination=hub,
        )
    errors = synth_errors(app)
    assert errors == [
        "[Test/Out20] source domain hub (account 111111111111, us-east-1) has 21 outbound connections in this app "
        "(the first by Test/Out0); a domain has at most 20 outbound connections: remove connections or spread "
        "them over more domains",
        "[Test/In20] destination domain hub (account 111111111111, us-east-1) has 21 inbound connections in this "
        "app (the first by Test/In0); a domain has at most 20 inbound connections: remove connections or spread "
        "them over more domains",
    ]


def test_twenty_each_way_and_an_accepter_of_the_apps_own_connection_are_fine() -> None:
    stack = new_stack()
    hub = DomainInfo(owner_id=ACCOUNT, domain_name="hub", region="us-east-1")
    for index in range(20):
        spoke = DomainInfo(owner_id=ACCOUNT, domain_name=f"spoke-{index}", region="us-east-1")
        connect(stack, spoke, hub, f"Out{index}")
    # Accepting one of them in the same app is the same connection, not a 21st inbound one.
    spoke = DomainInfo(owner_id=ACCOUNT, domain_name="spoke-0", region="us-east-1")
    InboundConnectionAccepter(stack, "Accept", source=spoke, destination=hub)
    assert synth_errors(stack.node.root) == []  # type: ignore[arg-type]


def test_a_source_older_than_its_destination_warns_and_the_warning_can_be_acknowledged() -> None:
    stack = new_stack()
    old = os_domain(stack, "Src", opensearch.EngineVersion.OPENSEARCH_1_3)
    connect(stack, old, os_domain(stack, "Dst"))
    assert synth_errors(stack.node.root) == []  # type: ignore[arg-type]
    warnings = library_warnings(stack)
    assert warnings == [
        "source domain Test/Src runs OpenSearch_1.3, older than destination domain Test/Dst (OpenSearch_2.19): "
        "AWS's guide asks for a source of the same or a higher version (older guides: the same major, or the last "
        f"minor of the previous major); upgrade the source [ack: {WARN_SOURCE_OLDER}]"
    ]
    acknowledged = new_stack()
    connect(
        acknowledged,
        os_domain(acknowledged, "Src", opensearch.EngineVersion.OPENSEARCH_1_3),
        os_domain(acknowledged, "Dst"),
    )
    cdk.Annotations.of(acknowledged).acknowledge_warning(WARN_SOURCE_OLDER, "upgrading next quarter")
    assert library_warnings(acknowledged) == []


@pytest.mark.parametrize("instance_type", ["t3.small.search", "t2.medium.search", "m3.large.search"])
def test_m3_and_burstable_instance_types_warn(instance_type: str) -> None:
    stack = new_stack()
    source = os_domain(stack, "Src")
    connect(stack, source, os_domain(stack, "Dst"))
    # Set after construction (the L2 refuses encryption at rest on M3 and T2): read at synthesis all the same.
    cfn = source.node.default_child
    assert isinstance(cfn, opensearch.CfnDomain)
    cfn.cluster_config = opensearch.CfnDomain.ClusterConfigProperty(instance_type=instance_type, instance_count=1)
    assert synth_errors(stack.node.root) == []  # type: ignore[arg-type]
    assert library_warnings(stack) == [
        f"source domain Test/Src uses instance type {instance_type}: AWS's guide says cross-cluster search does not "
        "support M3 or burstable (T2, T3) instance types (though such domains have been seen to connect); choose "
        f"another instance type [ack: {WARN_INSTANCE_TYPE}]"
    ]
    # The warning is in the cloud assembly, where `cdk synth --strict` fails on it.
    metadata = stack.node.root.synth().get_stack_artifact(stack.artifact_id).find_metadata_by_type("aws:cdk:warning")  # type: ignore[attr-defined]
    assert any(WARN_INSTANCE_TYPE in str(entry.data) for entry in metadata)


def test_token_values_are_skipped_silently() -> None:
    stack = new_stack()
    source, destination = es_domain(stack, "Src"), os_domain(stack, "Dst")
    connect(stack, source, destination)
    cfn = source.node.default_child
    assert isinstance(cfn, elasticsearch.CfnDomain)
    cfn.elasticsearch_version = cdk.CfnParameter(stack, "Version").value_as_string
    dst = destination.node.default_child
    assert isinstance(dst, opensearch.CfnDomain)
    dst.advanced_security_options = cdk.Fn.condition_if("Secure", {"Enabled": True}, {"Enabled": False})  # type: ignore[assignment]
    assert synth_errors(stack.node.root) == []  # type: ignore[arg-type]
    assert library_warnings(stack) == []
    Template.from_stack(stack).resource_count_is("Custom::OutboundCrossClusterSearchConnection", 1)


def test_the_accepter_checks_this_accounts_domain() -> None:
    stack = new_stack()
    partner = DomainInfo(owner_id="222222222222", domain_name="partner", region="us-east-1")
    InboundConnectionAccepter(stack, "Accept", source=partner, destination=os_domain(stack, "Dst", fgac=False))
    errors = synth_errors(stack.node.root)  # type: ignore[arg-type]
    assert len(errors) == 1 and errors[0].startswith(
        "[Test/Accept] destination domain Test/Dst has fine-grained access control off"
    )


def test_the_checks_read_the_app_as_it_is_at_synthesis() -> None:
    """Nothing is kept between constructing and synthesizing: a connection removed from the tree no longer
    counts, and two apps never see each other's connections."""
    app = new_app()
    stack = new_stack(app)
    source = DomainInfo(owner_id=ACCOUNT, domain_name="logs", region="us-east-1")
    connect(stack, source, DomainInfo(owner_id=ACCOUNT, domain_name="archive-a", region="us-east-1"), "First")
    connect(stack, source, DomainInfo(owner_id=ACCOUNT, domain_name="archive-b", region="us-east-1"), "Second")
    other_app = new_app()
    other = new_stack(other_app)
    connect(other, source, DomainInfo(owner_id=ACCOUNT, domain_name="archive-c", region="us-east-1"), "Third")
    assert stack.node.try_remove_child("First")  # Second alone uses the alias now
    assert synth_errors(app) == []
    assert synth_errors(other_app) == []
