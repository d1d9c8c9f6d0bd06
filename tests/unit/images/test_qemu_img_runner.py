"""The qemu-img runner: failures become typed errors with qemu's words,
progress is read as it comes, a hung tool is killed at its deadline. A
stand-in script plays qemu-img where the real one cannot be made to hang."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cimprovider.backends.images import (
    ImageError,
    ImageInUseError,
    ImageNotFoundError,
    ImageToolTimeoutError,
    InvalidImageParameterError,
    QemuImg,
)
from cimprovider.backends.images.qemu_img import failure


def _fake(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-qemu-img"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("qemu-img: Could not open '/x.vhd': Could not open '/x.vhd': No such file or directory", ImageNotFoundError),
        ('qemu-img: /d.vhd: Failed to get "write" lock\nIs another process using the image [/d.vhd]?', ImageInUseError),
        ("qemu-img: Invalid image size specified. Must be between 0 and 9223372036854775807.", InvalidImageParameterError),
        ("qemu-img: Unknown file format 'vhdz'", InvalidImageParameterError),
        ("qemu-img: error while writing at byte 0: Input/output error", ImageError),
    ],
)
def test_failures_are_classified_with_the_tools_message(stderr: str, kind: type) -> None:
    error = failure("convert", stderr, Path("/d.vhd"))
    assert type(error) is kind
    assert stderr.splitlines()[0].removeprefix("qemu-img: ") in str(error)


def test_real_qemu_img_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageNotFoundError, match="No such file"):
        QemuImg().info(tmp_path / "missing.vhd")


def test_real_qemu_img_bad_size(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageParameterError, match="too large"):
        QemuImg().create(tmp_path / "a.vhd", "vpc", 2**50)
    with pytest.raises(InvalidImageParameterError, match="not a size"):
        QemuImg().create(tmp_path / "a.vhd", "vpc", -5)  # would reach qemu-img as an option


def test_real_qemu_img_progress(tmp_path: Path) -> None:
    tool = QemuImg()
    tool.create(tmp_path / "a.qcow2", "qcow2", 1024 * 1024)
    seen: list[int] = []
    tool.convert(tmp_path / "a.qcow2", tmp_path / "b.vhdx", "vhdx", source_format="qcow2", progress=seen.append)
    assert seen[-1] == 100 and seen == sorted(seen)
    assert tool.check(tmp_path / "b.vhdx", "vhdx").clean


def test_progress_is_passed_on_as_it_comes(tmp_path: Path) -> None:
    # The tool writes each figure only once the one before has reached the
    # callback, so each must be passed on while the tool runs (and none can
    # share a read with the next, however the machine schedules the two).
    tool = QemuImg(_fake(tmp_path, f"""
        import os
        for p in ("0.00", "12.50", "50.00", "99.99", "100.00"):
            sys.stdout.write(f"    ({{p}}/100%)\\r"); sys.stdout.flush()
            heard = os.path.join({str(tmp_path)!r}, "heard-" + str(min(99, int(float(p)))))
            deadline = time.monotonic() + 60
            while p != "100.00" and not os.path.exists(heard) and time.monotonic() < deadline:
                time.sleep(0.01)
        print()
    """))
    seen: list[int] = []

    def heard(percent: int) -> None:
        seen.append(percent)
        (tmp_path / f"heard-{percent}").touch()

    tool.run(["convert"], progress=heard)
    assert seen == [0, 12, 50, 99, 100]


def test_a_hung_tool_is_killed(tmp_path: Path) -> None:
    tool = QemuImg(_fake(tmp_path, "time.sleep(30)\n"), timeout=0.5)
    with pytest.raises(ImageToolTimeoutError, match="no answer within 0.5 s"):
        tool.run(["info"])


def test_a_large_stderr_does_not_stall(tmp_path: Path) -> None:
    tool = QemuImg(_fake(tmp_path, "sys.stderr.write('x' * 300000); sys.stdout.write('y' * 300000); sys.exit(1)\n"))
    with pytest.raises(ImageError):
        tool.run(["info"])


def test_option_values_cannot_smuggle_options(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageParameterError):
        QemuImg().create(tmp_path / "a.qcow2", "qcow2", 1024, {"subformat": "dynamic,backing_file=/etc/passwd"})
    assert not (tmp_path / "a.qcow2").exists()


def test_a_missing_executable_is_an_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not installed"):
        QemuImg(str(tmp_path / "nope")).info(tmp_path / "a")


def test_a_progress_callback_that_raises_stops_the_tool(tmp_path: Path) -> None:
    pid_file, marker = tmp_path / "pid", tmp_path / "still-running"
    tool = QemuImg(_fake(tmp_path, f"""
        import os
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        sys.stdout.write("    (10.00/100%)\\r"); sys.stdout.flush()
        time.sleep(120)
        open({str(marker)!r}, "w").write("the tool went on")
    """))

    def cancel(percent: int) -> None:
        raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        tool.run(["convert"], progress=cancel)
    # Gone by the time run() gave up, not merely quiet for a while.
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert not marker.exists()
