"""Re-fetch the vendored JavaScript from the npm registry and check it.

    python -m cimprovider.web.vendor          # check the files in static/vendor/
    python -m cimprovider.web.vendor --fetch  # npm pack each package, compare, write

Each file of manifest.json is taken from its package's tarball as `npm
pack name@version` downloads it, and must hash to the manifest's sha256:
a changed tarball or a hand-edited file fails loudly. The server never
fetches anything at run time."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "static" / "vendor"


def manifest() -> list[dict[str, str]]:
    return json.loads((HERE / "manifest.json").read_text())["files"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def packed(entry: dict[str, str], workdir: Path, tarballs: dict[str, Path]) -> bytes:
    """The entry's file from its package's tarball (each package packed once)."""
    spec = f"{entry['package']}@{entry['version']}"
    if spec not in tarballs:
        out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
                             check=True, capture_output=True, text=True, cwd=workdir)
        tarballs[spec] = workdir / json.loads(out.stdout)[0]["filename"]
    with tarfile.open(tarballs[spec]) as archive:
        member = archive.extractfile(f"package/{entry['source']}")
        if member is None:
            raise SystemExit(f"{spec} has no {entry['source']}")
        return member.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="download with npm pack and rewrite the files")
    args = parser.parse_args()
    failures = 0
    tarballs: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for entry in manifest():
            data = packed(entry, Path(tmp), tarballs) if args.fetch else (HERE / entry["file"]).read_bytes()
            if sha256(data) != entry["sha256"]:
                print(f"{entry['file']}: sha256 {sha256(data)} is not the manifest's {entry['sha256']}")
                failures += 1
                continue
            if args.fetch:
                (HERE / entry["file"]).parent.mkdir(parents=True, exist_ok=True)
                (HERE / entry["file"]).write_bytes(data)
            print(f"{entry['file']}: {entry['package']} {entry['version']} ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
