"""The independent readers every image written by our code is checked with:
qemu-img and qemu-io (qemu-utils) for fixed, dynamic and VHDX images, and
libvhdi (vhdiinfo, vhdimount) for differencing VHDs and their chains, which
qemu reads without the parent. A missing tool fails the test: tests/run.sh
installs them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.waiting import wait_until

TIMEOUT = 60


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def qemu_info(path: Path, fmt: str) -> dict:
    result = run("qemu-img", "info", "--output=json", "-f", fmt, str(path))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def qemu_check(path: Path, fmt: str) -> None:
    result = run("qemu-img", "check", "-f", fmt, str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def qemu_compare(first: Path, first_fmt: str, second: Path, second_fmt: str) -> bool:
    result = run("qemu-img", "compare", "-f", first_fmt, "-F", second_fmt, str(first), str(second))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def qemu_io(path: Path, fmt: str, *commands: str) -> str:
    """Runs qemu-io commands; fails on an error or a pattern mismatch."""
    args = ["qemu-io", "-f", fmt]
    for command in commands:
        args += ["-c", command]
    result = run(*args, str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "failed" not in output.lower(), output
    return output


def qemu_io_mismatch(path: Path, fmt: str, command: str) -> bool:
    """True when a `read -P` pattern check does not hold."""
    result = run("qemu-io", "-f", fmt, "-c", command, str(path))
    return "Pattern verification failed" in result.stdout + result.stderr


def vhdiinfo(path: Path) -> dict[str, str]:
    result = run("vhdiinfo", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    fields = {}
    for line in result.stdout.splitlines():
        if ":" in line and line.startswith("\t"):
            name, _, value = line.strip().partition(":")
            fields[name.strip()] = value.strip()
    return fields


@contextmanager
def vhdimount(path: Path, mount_point: Path) -> Iterator[Path]:
    """libvhdi's view of the whole chain: vhdimount exposes each disk of the
    chain as vhdiN, the last being `path` read through its parents."""
    mount_point.mkdir()
    result = run("vhdimount", str(path), str(mount_point))
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        disks = wait_until(lambda: sorted(mount_point.glob("vhdi*"), key=lambda p: int(p.name[4:])),
                           f"vhdimount showing the disks of {path}")
        yield disks[-1]
    finally:
        run("umount", str(mount_point))


def read_with_libvhdi(path: Path, scratch: Path, offset: int, length: int) -> bytes:
    with vhdimount(path, scratch) as disk, open(disk, "rb") as file:
        file.seek(offset)
        return file.read(length)
