"""Generate the Python stubs of every contract under proto/ into libs/contracts/src.

Also lays out build/proto-include/ with the google/* sources that the contracts import,
taken from the installed googleapis-common-protos and grpcio-tools packages, so that
protoc and buf both work with no registry. Run by `make gen`; skips work when nothing
changed since the last run.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import grpc_tools
from google.api import field_behavior_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
INCLUDE = ROOT / "build" / "proto-include"
OUT = ROOT / "libs" / "contracts" / "src"
STAMP = OUT / ".generated"

SITE_PACKAGES = Path(field_behavior_pb2.__file__).resolve().parents[2]
WELL_KNOWN = Path(grpc_tools.__file__).resolve().parent / "_proto"
# The operations file ships as operations_proto.proto but registers itself as
# google/longrunning/operations.proto; the include folder gives it the registered name.
RENAMED = {"google/longrunning/operations_proto.proto": "google/longrunning/operations.proto"}


def _copy_includes() -> None:
    for folder in ("google/api", "google/type", "google/rpc", "google/longrunning"):
        for source in (SITE_PACKAGES / folder).glob("*.proto"):
            relative = f"{folder}/{source.name}"
            target = INCLUDE / RENAMED.get(relative, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != source.read_bytes():
                shutil.copyfile(source, target)
    for source in (WELL_KNOWN / "google" / "protobuf").glob("*.proto"):
        target = INCLUDE / "google" / "protobuf" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(source, target)


def _fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(ROOT)).encode())
        digest.update(file.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def main() -> int:
    files = sorted(PROTO.rglob("*.proto"))
    _copy_includes()
    fingerprint = _fingerprint(files)
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return 0
    for stale in OUT.joinpath("cadre").rglob("*_pb2*.py*"):
        stale.unlink()
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO}",
        f"-I{INCLUDE}",
        f"--python_out={OUT}",
        f"--pyi_out={OUT}",
        f"--grpc_python_out={OUT}",
        *[str(f.relative_to(PROTO)) for f in files],
    ]
    if protoc.main(args) != 0:
        print("protoc failed", file=sys.stderr)
        return 1
    STAMP.write_text(fingerprint)
    print(f"generated stubs for {len(files)} proto files into {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
