"""Compiling the MOF in a child process, which writes the class cache.

The compiler's working state (pywbem_mock's repository, the MOF parser's
tables) is freed after compiling, but the server's heap keeps some 6 MB of
it scattered among what it goes on to keep. Compiled in a child, the
server only loads the pickle, as it does on a cache hit.

    python -m cimprovider.repository.compile_child MOF_DIR CACHE_FILE MANIFEST_JSON
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .compiler import SchemaCompileError, compile_schema, write_cache


def compile_apart(mof_dir: Path, manifest: dict[str, tuple[str, ...]], cache_file: Path) -> bool:
    """Whether a child compiled the schema into cache_file. On False the
    caller compiles in its own process, which reports any fault in the MOF
    as it always has."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(mof_dir), str(cache_file), json.dumps(manifest)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
    except OSError:
        return False
    return done.returncode == 0 and cache_file.is_file()


def main(argv: list[str]) -> int:
    mof_dir, cache_file, manifest = Path(argv[0]), Path(argv[1]), json.loads(argv[2])
    try:
        schema = compile_schema(mof_dir, {ns: tuple(files) for ns, files in manifest.items()})
    except SchemaCompileError:
        return 2
    return 0 if write_cache(cache_file, schema) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
