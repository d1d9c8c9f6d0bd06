"""Running `qemu-img` (Debian qemu-utils; written against qemu-img 7.2).

Always an argument list, never a shell; always a time limit; JSON output
where the subcommand has it; `-p` progress read from stdout as it comes and
passed on as whole percentages. A failure becomes a typed error carrying
qemu-img's own message, classified by the words qemu uses for each case.
"""

from __future__ import annotations

import json
import re
import ctypes
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimprovider.backends.images.errors import (
    ImageError,
    ImageInUseError,
    ImageNotFoundError,
    ImageToolTimeoutError,
    InvalidImageParameterError,
)

ProgressCallback = Callable[[int], None]
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: a server killed with -9 takes its
    qemu-img along, rather than leaving it writing a file that start-up
    is about to remove (Linux only; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

# qemu-img -p repaints "    (12.34/100%)\r" on stdout.
_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")

# qemu's wording for each kind of failure; the first match wins.
_FAILURE_KINDS: list[tuple[re.Pattern[str], type[ImageError]]] = [
    (re.compile(r"No such file or directory"), ImageNotFoundError),
    (re.compile(r"Failed to get .*lock|Is another process using the image|Resource temporarily unavailable"), ImageInUseError),
    (
        re.compile(
            r"Invalid|invalid|Unknown|unknown|not supported|does not support|expects|must be|"
            r"too large|too small|Parameter '|Could not parse"
        ),
        InvalidImageParameterError,
    ),
]


@dataclass(frozen=True)
class ImageInfo:
    """The parts of `qemu-img info --output=json` we act on."""

    format: str
    virtual_size: int
    actual_size: int
    cluster_size: int | None
    dirty: bool
    backing_filename: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class CheckResult:
    """`qemu-img check --output=json`: an image is sound when every count is 0."""

    check_errors: int
    corruptions: int
    leaks: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def clean(self) -> bool:
        return self.check_errors == 0 and self.corruptions == 0


class QemuImg:
    def __init__(self, executable: str = "qemu-img", timeout: float = 3600.0) -> None:
        self.executable = executable
        self.timeout = timeout

    def create(self, path: Path, fmt: str, size: int, options: dict[str, str] | None = None) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            # A negative size would reach qemu-img as an option ("-5").
            raise InvalidImageParameterError("max_internal_size", f"{size!r} is not a size in bytes")
        args = ["create", "-q", "-f", fmt]
        if options:
            args += ["-o", _options(options)]
        self.run(args + [_file(path), str(size)], subject=path)

    def convert(
        self,
        source: Path,
        destination: Path,
        output_format: str,
        *,
        source_format: str | None = None,
        options: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        args = ["convert", "-p"]
        if source_format:
            args += ["-f", source_format]
        args += ["-O", output_format]
        if options:
            args += ["-o", _options(options)]
        self.run(args + [_file(source), _file(destination)], progress=progress, subject=source)

    def info(self, path: Path, fmt: str | None = None, shared: bool = False) -> ImageInfo:
        """`shared`: read the header even while a guest has the image open
        (-U), for what only names files (a backing chain), never to decide
        whether the image is in use."""
        args = ["info", "--output=json"] + (["-U"] if shared else []) + (["-f", fmt] if fmt else []) + [_file(path)]
        data = json.loads(self.run(args, subject=path))
        return ImageInfo(
            format=data["format"],
            virtual_size=int(data["virtual-size"]),
            actual_size=int(data.get("actual-size", 0)),
            cluster_size=data.get("cluster-size"),
            dirty=bool(data.get("dirty-flag", False)),
            backing_filename=data.get("backing-filename"),
            raw=data,
        )

    def check(self, path: Path, fmt: str) -> CheckResult:
        # check exits 2 for corruptions and 3 for leaks, with the JSON still
        # on stdout: those are findings, not failures of the tool.
        out = self.run(["check", "--output=json", "-f", fmt, _file(path)], subject=path, ok_codes=(0, 2, 3))
        data = json.loads(out)
        return CheckResult(
            check_errors=int(data.get("check-errors", 0)),
            corruptions=int(data.get("corruptions", 0)),
            leaks=int(data.get("leaks", 0)),
            raw=data,
        )

    def run(
        self,
        args: Sequence[str],
        *,
        subject: Path | None = None,
        progress: ProgressCallback | None = None,
        ok_codes: Sequence[int] = (0,),
    ) -> str:
        """Run one subcommand; returns stdout (minus progress repaints)."""
        command = [self.executable, *args]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        except FileNotFoundError as error:
            raise ImageError(f"{self.executable} is not installed: {error}") from error
        try:
            stdout, stderr = _collect(process, self.timeout, progress)
        except BaseException:
            # A progress callback that raises (a cancelled job) must not
            # leave the tool writing on behind our back.
            process.kill()
            process.wait()
            raise
        if process.returncode == -9 and stderr is None:
            raise ImageToolTimeoutError(f"{' '.join(command[:2])} on {subject}: no answer within {self.timeout:g} s")
        if process.returncode not in ok_codes:
            raise failure(args[0], (stderr or b"").decode(errors="replace"), subject)
        if progress is not None:
            progress(100)
        return _PROGRESS.sub(b"", stdout).decode(errors="replace")


def failure(subcommand: str, message: str, subject: Path | None) -> ImageError:
    """qemu-img's stderr as the right kind of error."""
    text = " ".join(line.strip() for line in message.strip().splitlines()) or "failed without a message"
    text = text.removeprefix("qemu-img: ")
    for pattern, kind in _FAILURE_KINDS:
        if pattern.search(text):
            if kind is InvalidImageParameterError:
                return InvalidImageParameterError(str(subject) if subject else subcommand, text)
            return kind(text)
    return ImageError(f"qemu-img {subcommand}: {text}")


def _collect(
    process: subprocess.Popen[bytes], timeout: float, progress: ProgressCallback | None
) -> tuple[bytes, bytes | None]:
    """Both pipes drained together (so neither can fill and stall the tool),
    progress reported as it arrives, the tool killed at the deadline."""
    assert process.stdout is not None and process.stderr is not None
    chunks: dict[int, list[bytes]] = {process.stdout.fileno(): [], process.stderr.fileno(): []}
    deadline = time.monotonic() + timeout
    last_percent = -1
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                process.kill()
                process.wait()
                return b"".join(chunks[process.stdout.fileno()]), None
            for key, _ in selector.select(remaining):
                data = key.fileobj.read1(65536)  # type: ignore[union-attr]
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                chunks[key.fd].append(data)
                if progress is not None and key.fd == process.stdout.fileno():
                    found = _PROGRESS.findall(data)
                    # 100 is said once, by run(), after the tool succeeded.
                    percent = min(99, int(float(found[-1]))) if found else -1
                    if percent > last_percent:
                        last_percent = percent
                        progress(percent)
    process.wait()
    return b"".join(chunks[process.stdout.fileno()]), b"".join(chunks[process.stderr.fileno()])


def _file(path: Path) -> str:
    """An absolute path: qemu reads `proto:…` before the first slash as a
    protocol (`nbd:`, `json:{…}`) and a leading `-` as an option."""
    return str(Path(path).absolute())


def _options(options: dict[str, str]) -> str:
    for name, value in options.items():
        # qemu's option syntax doubles a comma inside a value; we never need
        # one, so a comma is a sign of an injection attempt.
        if "," in name or "," in value or "=" in name:
            raise InvalidImageParameterError(name, f"option {name}={value!r} contains a separator")
    return ",".join(f"{name}={value}" for name, value in options.items())
