"""The Lambda assets, laid out from the installed packages (no pip, no Docker, no network at synth time), each
with a hash that is the same on every machine: the function's code (the handler modules and crhelper), and a
layer with the data plane's client (opensearch-py and what it imports), which only a stack with a data-plane
resource gets, so a stack of connections alone synthesizes and starts as light as before."""

from __future__ import annotations

import atexit
import base64
import hashlib
import shutil
import tempfile
import zipfile
from functools import cache
from importlib import metadata, resources
from pathlib import Path, PurePosixPath

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_

#: The handler's source: the packaged `cross_cluster_search.ccs_handler` (the repository's `lambda/` folder).
HANDLER_DIR = Path(str(resources.files("cross_cluster_search.ccs_handler")))
#: The handler modules' package name inside the Lambda asset, and the function's handler.
ASSET_PACKAGE = "ccs_handler"
HANDLER = f"{ASSET_PACKAGE}.index.handler"
#: The handler's dependencies, copied from their installed distributions (pyproject.toml and lambda/requirements.txt
#: pin them, so every machine with the same lock copies the same files); boto3, botocore, urllib3 and
#: python-dateutil come from the Lambda runtime. crhelper answers CloudFormation (the function's code);
#: opensearch-py, with what it imports (requests and its certifi, idna and charset-normalizer, and Events), calls
#: the domains' REST API for the data plane (the layer, under python/, which Lambda puts on the path).
CRHELPER = "crhelper"
HANDLER_DISTRIBUTIONS = (CRHELPER,)
DATA_PLANE_DISTRIBUTIONS = ("opensearch-py", "Events", "requests", "certifi", "idna", "charset-normalizer")
DISTRIBUTIONS = HANDLER_DISTRIBUTIONS + DATA_PLANE_DISTRIBUTIONS
#: Where a Python layer's packages go: Lambda adds /opt/python to the path ("Packaging your layer content",
#: Lambda Developer Guide).
LAYER_PREFIX = "python/"
#: Compiled extensions are left out: they are built for this machine's Python, not Lambda's (charset-normalizer
#: falls back to its pure-Python modules of the same names).
_SKIPPED_SUFFIXES = (".pyc", ".so", ".pyd")
#: Each distribution's licence and notice files travel with it, under THIRD-PARTY-LICENSES/<distribution>/.
#: Nothing else from its .dist-info: METADATA, RECORD, INSTALLER and REQUESTED differ with the installer (pip,
#: uv) and with how the wheel was built.
_LICENSE_WORDS = ("LICEN", "NOTICE", "COPYING", "AUTHORS")
#: Changes whenever the way the asset is laid out changes (part of the asset hash).
_ASSET_FORMAT = "cross-cluster-search-asset/4"


class AssetError(RuntimeError):
    """The Lambda asset cannot be built from the installed packages."""


def _record_digest(file: metadata.PackagePath) -> bytes | None:
    """The sha256 digest the distribution's RECORD gives for the file, if any."""
    if file.hash is None or file.hash.mode != "sha256":
        return None
    value = file.hash.value
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _distribution_files(name: str) -> dict[str, bytes]:
    """A distribution's package files (no bytecode, no compiled extensions, nothing outside site-packages) and
    its licence files, each checked against the distribution's RECORD."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError as error:
        raise AssetError(f"{name} is not installed: pip install 'cross-cluster-search' installs it") from error
    files: dict[str, bytes] = {}
    for file in dist.files or []:
        parts = PurePosixPath(file.as_posix()).parts
        in_info = parts[0].endswith(".dist-info")
        licence = in_info and any(word in parts[-1].upper() for word in _LICENSE_WORDS)
        if not licence and (in_info or parts[0] == ".." or "__pycache__" in parts or file.suffix in _SKIPPED_SUFFIXES):
            continue
        content = Path(str(file.locate())).read_bytes()
        expected = _record_digest(file)
        if expected is None or hashlib.sha256(content).digest() != expected:
            raise AssetError(f"{name}'s installed file {file} does not match its RECORD: reinstall {name}")
        files[f"THIRD-PARTY-LICENSES/{name}/{parts[-1]}" if licence else "/".join(parts)] = content
    return files


def asset_files() -> dict[str, bytes]:
    """The function's files by their relative POSIX path: the handler modules as the `ccs_handler` package and
    crhelper's package files from its installed distribution. No bytecode, no installer metadata: the same
    bytes on every machine, Python version and directory."""
    files = {f"{ASSET_PACKAGE}/{source.name}": source.read_bytes() for source in HANDLER_DIR.glob("*.py")}
    for name in HANDLER_DISTRIBUTIONS:
        files.update(_distribution_files(name))
    if f"{CRHELPER}/resource_helper.py" not in files:
        raise AssetError(f"{CRHELPER}'s installed distribution lists no {CRHELPER}/resource_helper.py")
    return dict(sorted(files.items()))


def layer_files() -> dict[str, bytes]:
    """The data plane's layer: opensearch-py and what it imports under python/, their licences beside it."""
    files: dict[str, bytes] = {}
    for name in DATA_PLANE_DISTRIBUTIONS:
        for path, content in _distribution_files(name).items():
            files[path if path.startswith("THIRD-PARTY-LICENSES/") else LAYER_PREFIX + path] = content
    if f"{LAYER_PREFIX}opensearchpy/__init__.py" not in files:
        raise AssetError("opensearch-py's installed distribution lists no opensearchpy/__init__.py: reinstall it")
    return dict(sorted(files.items()))


def asset_hash(files: dict[str, bytes]) -> str:
    """sha256 over the asset's sorted paths and contents (nothing else: no times, modes or locations)."""
    digest = hashlib.sha256(_ASSET_FORMAT.encode())
    for name, content in sorted(files.items()):
        digest.update(b"\0" + name.encode() + b"\0" + str(len(content)).encode() + b"\0" + content)
    return digest.hexdigest()


#: Every archive member's date (the earliest a zip can hold) and mode (rw-r--r--, a regular file: Lambda reads
#: the code as another user, whatever the umask of the machine that synthesized it).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_MODE = 0o100644 << 16


def _archive(files: dict[str, bytes], target: Path) -> None:
    """Write `files` as a zip archive with the same bytes on every machine: sorted, fixed dates and modes."""
    with zipfile.ZipFile(target, "w") as zipped:
        for name, content in sorted(files.items()):
            member = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3  # Unix: the mode below is read as one
            member.external_attr = _ZIP_MODE
            zipped.writestr(member, content)


def _stage(files: dict[str, bytes], prefix: str) -> tuple[Path, str]:
    """The files as one .zip archive in a temporary directory, and their hash. An archive, not a directory:
    CDK copies an asset into each cloud assembly it synthesizes (every ``cdk synth``, every
    ``Template.from_stack`` of a new App), and one file copies in about a millisecond where a directory tree took
    ten to twenty (bench/run.py, section 6); Lambda takes the archive as it is."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    digest = asset_hash(files)
    target = root / f"{digest}.zip"
    _archive(files, target)
    target.chmod(0o644)
    return target, digest


@cache
def staged_asset() -> tuple[Path, str]:
    """The function's code as a .zip archive, written once per process in a temporary directory (CDK copies it
    into the cloud assembly), and its hash."""
    return _stage(asset_files(), "ccs-asset-")


@cache
def staged_layer() -> tuple[Path, str]:
    """The data plane's layer as a .zip archive, written once per process (only when a stack has a data-plane
    resource), and its hash."""
    return _stage(layer_files(), "ccs-layer-")


def handler_code() -> lambda_.Code:
    """The function's code: the handler modules and crhelper, from the installed packages (no pip, no Docker,
    no network at synth time)."""
    root, digest = staged_asset()
    return lambda_.Code.from_asset(str(root), asset_hash=digest, asset_hash_type=AssetHashType.CUSTOM)


def data_plane_layer_code() -> lambda_.Code:
    """The data plane's layer: opensearch-py and what it imports, from the installed packages."""
    root, digest = staged_layer()
    return lambda_.Code.from_asset(str(root), asset_hash=digest, asset_hash_type=AssetHashType.CUSTOM)


__all__ = [
    "ASSET_PACKAGE",
    "HANDLER",
    "HANDLER_DIR",
    "AssetError",
    "asset_files",
    "asset_hash",
    "data_plane_layer_code",
    "handler_code",
    "layer_files",
    "staged_asset",
    "staged_layer",
]
