"""The compiled schema is the installation's, not a data directory's:
`cimprovider serve` keeps it in the user's cache folder (or
--class-cache-dir), where a server on another data directory finds it
rather than compiling the MOF again."""

from __future__ import annotations

from pathlib import Path

import pywbem

from tests.support.live import serve_process

NS = "root/virtualization/v2"


def _serves(data_dir: Path, *args: str, env: dict[str, str]) -> None:
    """A server on data_dir starts and answers an enumeration (of its host alone)."""
    with serve_process("--data-dir", str(data_dir), "--port", "0", "--host-name", "cached", *args, env=env) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace=NS)
        assert [name["Name"] for name in conn.EnumerateInstanceNames("Msvm_ComputerSystem")] == ["cached"]
        served.stop()


def test_servers_on_new_data_directories_share_the_users_compiled_schema(tmp_path: Path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    _serves(tmp_path / "first", env=env)
    (compiled,) = (tmp_path / "xdg-cache" / "cimprovider").glob("classes-*.pickle")
    written = compiled.stat()
    assert written.st_mode & 0o077 == 0 and compiled.parent.stat().st_mode & 0o077 == 0

    _serves(tmp_path / "second", env=env)
    # Read, not compiled again: the same file, untouched.
    again = compiled.stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert not list(tmp_path.glob("*/cache"))


def test_the_class_cache_folder_is_an_option(tmp_path: Path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}
    _serves(tmp_path / "data", "--class-cache-dir", str(tmp_path / "classes"), env=env)
    assert len(list((tmp_path / "classes").glob("classes-*.pickle"))) == 1
    assert not (tmp_path / "xdg-cache").exists()
