"""The cloud assembly as CloudFormation would read it: stacks, the provider function and its asset, custom
resources in dependency order, intrinsics resolved (Ref, GetAtt, Join, Select, Split, Sub, pseudo parameters
by partition), and property values turned into strings as CloudFormation delivers them.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore

DOMAIN_TYPES = ("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain")
#: aws-cdk-lib's domain access policies (`Domain.add_access_policies`; types from its opensearch-access-policy.js
#: and elasticsearch-access-policy.js): AwsCustomResources whose Node.js function calls UpdateDomainConfig. Part
#: of the domain, which the offline world seeds instead of deploying, so they are not run.
DOMAIN_SETTING_TYPES = ("Custom::OpenSearchAccessPolicy", "Custom::ElasticsearchAccessPolicy")


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())
    return list(data["partitions"])


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, from botocore's data/partitions.json."""
    for partition in _partitions():
        if region in partition["regions"] or re.fullmatch(partition["regionRegex"].strip("^$"), region):
            return str(partition["id"]), str(partition["outputs"]["dnsSuffix"])
    return "aws", "amazonaws.com"


def _unpacked(asset: Path) -> Path:
    """The directory Lambda runs an asset from: the asset itself, or for a .zip archive (the library's function
    and layer ship as archives) its contents, as Lambda extracts a .zip deployment package or layer before it runs
    the code (Lambda Developer Guide: "Working with .zip file archives for Python Lambda functions", "Packaging
    your layer content"), unpacked once beside it in the assembly as ``asset.<hash>`` (the
    archive's name without .zip; an asset's name is its content hash, so an existing directory holds the same
    files). Unpacked into a temporary sibling and renamed: two processes may unpack the same assembly."""
    if asset.is_dir() or asset.suffix != ".zip":
        return asset
    target = asset.with_suffix("")
    if not target.is_dir():
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=asset.parent))
        with zipfile.ZipFile(asset) as archive:
            for member in archive.infolist():
                archive.extract(member, scratch)
                # The mode the archive gives (Lambda keeps it); read access for everyone at least.
                mode = (member.external_attr >> 16) & 0o777
                if mode and not member.is_dir():
                    (scratch / member.filename).chmod(mode)
        try:
            scratch.rename(target)
        except OSError:  # the other process was first
            shutil.rmtree(scratch, ignore_errors=True)
    return target


@dataclass(frozen=True)
class ProviderFunction:
    """A Lambda function as the template declares it, with its asset directory."""

    logical_id: str
    handler: str
    timeout: float
    environment: dict[str, str]
    asset_dir: Path
    runtime: str = "python3.14"
    #: Each layer's directory in the assembly, in order (Lambda extracts them to /opt; a Python layer's
    #: packages are under python/, which the runtime puts on the path).
    layer_dirs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class CustomResourceDef:
    """A custom resource of the template, with the function behind its ServiceToken."""

    logical_id: str
    resource_type: str
    properties: dict[str, Any]
    function: ProviderFunction
    depends_on: tuple[str, ...]
    service_timeout: float


@dataclass
class StackTemplate:
    """One synthesized stack and what the driver needs from it."""

    name: str
    template: dict[str, Any]
    assembly_dir: Path
    account: str
    region: str
    artifact_id: str = ""
    #: Domain name -> the endpoint of the local domain that stands for it ("127.0.0.1:PORT"), filled by the
    #: offline world (world.py) while its domains run: `Fn::GetAtt <domain>.DomainEndpoint` resolves to it, and
    #: so does an AWS domain endpoint a data-plane property names for that domain (see `resolve`). Empty:
    #: endpoints resolve as AWS names them (search-NAME....es.amazonaws.com).
    domain_endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template.get("Resources", {}))

    def domain_names(self) -> dict[str, tuple[str, str]]:
        """Logical id -> (domain name, engine version) of every domain the template declares."""
        found = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] in DOMAIN_TYPES:
                props = resource.get("Properties", {})
                name = props.get("DomainName") or (self.name[:14] + "-" + logical_id[:13]).lower()
                version = props.get("EngineVersion") or "Elasticsearch_" + props.get("ElasticsearchVersion", "7.10")
                found[logical_id] = (name, version)
        return found

    def function(self, logical_id: str) -> ProviderFunction:
        resource = self.resources[logical_id]
        props = resource["Properties"]
        asset = resource.get("Metadata", {}).get("aws:asset:path") or self._asset_from_manifest(props)
        if not asset:
            raise ValueError(f"Function {logical_id} has no local asset to run")
        return ProviderFunction(
            logical_id=logical_id,
            handler=props["Handler"],
            timeout=float(props.get("Timeout", 3)),
            environment={k: str(self.resolve(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            asset_dir=_unpacked(self.assembly_dir / asset),
            runtime=str(props.get("Runtime", "python3.14")),
            layer_dirs=tuple(self._layer_dir(layer) for layer in props.get("Layers", [])),
        )

    def _layer_dir(self, layer: Any) -> Path:
        """A layer of the template (`Ref` of an AWS::Lambda::LayerVersion) as its asset directory."""
        name = layer.get("Ref") if isinstance(layer, dict) else None
        resource = self.resources.get(str(name), {})
        if resource.get("Type") != "AWS::Lambda::LayerVersion":
            raise ValueError(f"Layer {layer!r}: only layers of the template can run offline")
        content = resource.get("Properties", {}).get("Content", {})
        asset = resource.get("Metadata", {}).get("aws:asset:path") or self._asset_from_manifest({"Code": content})
        if not asset:
            raise ValueError(f"Layer {name} has no local asset to run")
        return _unpacked(self.assembly_dir / asset)

    def _asset_from_manifest(self, props: dict[str, Any]) -> str | None:
        """The asset (a directory, or a .zip archive) behind Code.S3Key, from the stack's assets manifest."""
        key = str(props.get("Code", {}).get("S3Key", ""))
        manifest = self.assembly_dir / f"{self.artifact_id}.assets.json"
        if not key.endswith(".zip") or not manifest.is_file():
            return None
        entry = json.loads(manifest.read_text()).get("files", {}).get(key.removesuffix(".zip"))
        return str(entry["source"]["path"]) if entry else None

    def custom_resources(self) -> list[CustomResourceDef]:
        """Custom resources in an order that respects DependsOn and references between them."""
        defs = {}
        for logical_id, resource in self.resources.items():
            if (
                not resource["Type"].startswith("Custom::")
                and resource["Type"] != "AWS::CloudFormation::CustomResource"
            ) or resource["Type"] in DOMAIN_SETTING_TYPES:
                continue
            props = dict(resource.get("Properties", {}))
            token = props["ServiceToken"]
            function_id = token["Fn::GetAtt"][0] if isinstance(token, dict) and "Fn::GetAtt" in token else None
            if function_id is None:
                raise ValueError(f"{logical_id}: only ServiceTokens of functions in the template are supported")
            depends = resource.get("DependsOn", [])
            defs[logical_id] = CustomResourceDef(
                logical_id,
                resource["Type"],
                props,
                self.function(function_id),
                tuple([depends] if isinstance(depends, str) else depends),
                float(props.get("ServiceTimeout", 3600)),
            )
        ordered: list[CustomResourceDef] = []
        while len(ordered) < len(defs):
            ready = [
                d
                for d in defs.values()
                if d not in ordered and all(dep not in defs or defs[dep] in ordered for dep in d.depends_on)
            ]
            if not ready:
                raise ValueError("Circular dependency between custom resources")
            ordered.extend(ready)
        return ordered

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition[0],
            "AWS::URLSuffix": self.partition[1],
            "AWS::StackName": self.name,
            "AWS::StackId": self.stack_id,
            "AWS::NoValue": "",
        }

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition[0]}:cloudformation:{self.region}:{self.account}:stack/{self.name}/{uuid.UUID(int=1)}"
        )

    @property
    def partition(self) -> tuple[str, str]:
        """The stack region's partition and DNS suffix (what AWS::Partition and AWS::URLSuffix resolve to)."""
        return partition_of(self.region)

    def resolve(
        self,
        value: Any,
        physical_ids: dict[str, str] | None = None,
        attributes: dict[str, dict[str, Any]] | None = None,
    ) -> Any:
        """Resolve the intrinsics synthesized templates use: Ref, GetAtt, Join, Select, Split, Sub."""
        physical_ids = physical_ids or {}
        attributes = attributes or {}
        domains = self.domain_names()
        pseudo = self.pseudo()

        def role_name(name: str) -> str:
            """An AWS::IAM::Role's name: its RoleName, else its logical id (CloudFormation generates a name
            from the stack's name, the logical id and a random suffix; the offline world keeps it short)."""
            given = self.resources[name].get("Properties", {}).get("RoleName")
            return str(walk(given)) if given is not None else name

        def role_arn(name: str) -> str:
            """`Fn::GetAtt <role>.Arn` (CloudFormation User Guide, AWS::IAM::Role return values): the role's
            ARN, with its Path (default "/") between `role` and the name (IAM User Guide, "IAM identifiers")."""
            path = str(walk(self.resources[name].get("Properties", {}).get("Path", "/")))
            return f"arn:{self.partition[0]}:iam::{self.account}:role{path}{role_name(name)}"

        def ref(name: str) -> Any:
            if name in pseudo:
                return pseudo[name]
            if name in domains:
                return domains[name][0]
            if name not in physical_ids and self.resources.get(name, {}).get("Type") == "AWS::IAM::Role":
                return role_name(name)  # Ref of an AWS::IAM::Role is its name (CloudFormation User Guide)
            if name in physical_ids:
                return physical_ids[name]
            parameter = self.template.get("Parameters", {}).get(name)
            if parameter is not None and "Default" in parameter:
                return parameter["Default"]
            raise ValueError(f"Cannot resolve Ref {name}")

        def get_att(name: str, attribute: str) -> Any:
            if name in domains:
                domain = domains[name][0]
                arn = f"arn:{self.partition[0]}:es:{self.region}:{self.account}:domain/{domain}"
                endpoint = self.domain_endpoints.get(domain, f"search-{domain}.{self.region}.es.{self.partition[1]}")
                return {"Arn": arn, "DomainArn": arn, "DomainEndpoint": endpoint}[attribute]
            if name in attributes and attribute in attributes[name]:
                return attributes[name][attribute]
            kind = self.resources.get(name, {}).get("Type")
            if kind == "AWS::Lambda::Function" and attribute == "Arn":
                return f"arn:{self.partition[0]}:lambda:{self.region}:{self.account}:function:{name}"
            if kind == "AWS::IAM::Role" and attribute == "Arn":
                return role_arn(name)
            raise ValueError(f"Cannot resolve Fn::GetAtt {name}.{attribute}")

        def walk(node: Any) -> Any:
            if isinstance(node, list):
                return [walk(item) for item in node]
            if not isinstance(node, dict):
                return node
            if len(node) == 1:
                ((key, arg),) = node.items()
                if key == "Ref":
                    return ref(arg)
                if key == "Fn::GetAtt":
                    name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                    return get_att(name, attribute)
                if key == "Fn::Join":
                    return str(arg[0]).join(str(walk(part)) for part in walk(arg[1]))
                if key == "Fn::Select":
                    return walk(arg[1])[int(walk(arg[0]))]
                if key == "Fn::Split":
                    return str(walk(arg[1])).split(arg[0])
                if key == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    for name, replacement in pseudo.items():
                        text = text.replace("${" + name + "}", replacement)
                    return text
            return {key: walk(item) for key, item in node.items()}

        return self._local_endpoints(walk(value))

    def _local_endpoints(self, value: Any) -> Any:
        """Where a resolved value holds a data-plane domain ({DomainName, Region, Endpoint, ...}, contract.py)
        whose Endpoint is an AWS domain endpoint (search-... or vpc-... under es.<DNS suffix>) of a domain the
        offline world runs locally, the local domain's endpoint in its place: the offline world's stand-in for
        DNS, which would resolve that host name to the domain. Any other endpoint stays as given."""
        if isinstance(value, list):
            return [self._local_endpoints(item) for item in value]
        if not isinstance(value, dict):
            return value
        value = {key: self._local_endpoints(item) for key, item in value.items()}
        name, endpoint = value.get("DomainName"), value.get("Endpoint")
        if isinstance(name, str) and isinstance(endpoint, str) and name in self.domain_endpoints:
            host = endpoint.removeprefix("https://").split("/", 1)[0].split(":", 1)[0]
            region = value.get("Region") if isinstance(value.get("Region"), str) else self.region
            suffix = f".{region}.es.{partition_of(str(region))[1]}"
            if host.startswith(("search-", "vpc-")) and host.endswith(suffix):
                value["Endpoint"] = self.domain_endpoints[name]
        return value


def load_assembly(cdk_out: Path, account: str = "111111111111", region: str = "us-east-1") -> list[StackTemplate]:
    """Every stack of a cloud assembly; environment-agnostic stacks get the given account and region."""
    cdk_out = cdk_out.resolve()
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        env = artifact.get("environment", "aws://unknown-account/unknown-region").split("/")
        stacks.append(
            StackTemplate(
                name=artifact.get("properties", {}).get("stackName", name),
                template=template,
                assembly_dir=cdk_out,
                account=account if env[2].startswith("unknown") else env[2],
                region=region if env[3].startswith("unknown") else env[3],
                artifact_id=name,
            )
        )
    return stacks


def cfn_strings(value: Any) -> Any:
    """CloudFormation hands custom resources every scalar as a string: True -> "true", 600 -> "600"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [cfn_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: cfn_strings(item) for key, item in value.items()}
    return value
