"""The web console's JavaScript, vendored: the files the browser loads are
committed under cimprovider/web/vendor/, and vendor/manifest.json names
each npm package, its version, the sha512 of its tarball (npm's integrity)
and the sha256 of every file kept from it. Nothing is fetched at run time
(the server may be on an isolated network).

    python -m cimprovider.web.vendoring          # re-fetch with `npm pack`, check every hash
    python -m cimprovider.web.vendoring --update # …and write what was fetched and its hashes

Re-fetching takes each package from the npm registry with `npm pack`,
checks the tarball against the manifest, unpacks the kept files and checks
them against the manifest and against the committed copies. Raising a
version: edit it in the manifest, run with --update, review, commit."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).parent / "vendor"
MANIFEST = VENDOR / "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npm_pack(name: str, version: str, into: Path) -> bytes:
    """The package's tarball as the registry serves it."""
    subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(into), f"{name}@{version}"],
        check=True, stdout=subprocess.DEVNULL, timeout=300,
    )
    (tarball,) = into.glob("*.tgz")
    data = tarball.read_bytes()
    tarball.unlink()
    return data


def kept_files(tarball: bytes, keep: list[str]) -> dict[str, bytes]:
    """Files of the tarball under the kept paths, by their path in the package."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            path = member.name.removeprefix("package/")
            if member.isfile() and any(path == k or path.startswith(k.rstrip("/") + "/") for k in keep):
                extracted = archive.extractfile(member)
                assert extracted is not None
                files[path] = extracted.read()
    return files


def refetch(update: bool) -> list[str]:
    """Fetch every package again; return what differs from the manifest or the committed files."""
    manifest = json.loads(MANIFEST.read_text())
    faults: list[str] = []
    for package in manifest["packages"]:
        name, version, folder = package["name"], package["version"], VENDOR / package["folder"]
        with tempfile.TemporaryDirectory() as scratch:
            tarball = npm_pack(name, version, Path(scratch))
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        files = kept_files(tarball, package["keep"])
        hashes = {path: sha256(data) for path, data in sorted(files.items())}
        if update:
            package["integrity"], package["files"] = integrity, hashes
            for path, data in files.items():
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_bytes(data)
            continue
        if integrity != package.get("integrity"):
            faults.append(f"{name}@{version}: tarball {integrity} is not the manifest's {package.get('integrity')}")
        if hashes != package.get("files"):
            faults.append(f"{name}@{version}: the files fetched differ from the manifest's list or hashes")
        for path, digest in package.get("files", {}).items():
            committed = folder / path
            if not committed.is_file() or sha256(committed.read_bytes()) != digest:
                faults.append(f"{name}@{version}: committed {committed.relative_to(VENDOR)} does not match its hash")
    if update:
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return faults


def check_committed() -> list[str]:
    """Without the network: the committed files are those the manifest names."""
    faults = []
    for package in json.loads(MANIFEST.read_text())["packages"]:
        for path, digest in package["files"].items():
            committed = VENDOR / package["folder"] / path
            if not committed.is_file() or sha256(committed.read_bytes()) != digest:
                faults.append(f"{package['name']}: {committed.relative_to(VENDOR)} missing or altered")
    return faults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="write the fetched files and their hashes")
    faults = refetch(parser.parse_args().update)
    for fault in faults:
        print(fault, file=sys.stderr)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
