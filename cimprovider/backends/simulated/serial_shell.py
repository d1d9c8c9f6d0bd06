"""The simulated guest's serial console: a tiny shell on COM1, bytes in,
bytes out (no socket, no thread), as a terminal on a real serial line sees
it — typed characters echoed, Backspace and Ctrl-C honoured, a command run
on Enter, then a prompt. It knows `echo`, `uname`, `uptime`, `hostname`,
`help`, `clear` and shell variables (`NAME=value`, `$NAME`); a new shell,
with no variables, comes with each boot of the VM."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

KERNEL_RELEASE = "6.1.0-cimprovider-sim"
MACHINE = "x86_64"
MAX_LINE = 1024  # a serial line's shell reads a bounded line; the rest is dropped
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)=(.*)$")
_ESCAPE_END = re.compile(rb"[@-~]")
BACKSPACES = (0x08, 0x7F)
CTRL_C = 0x03
ESC = 0x1B


class SerialShell:
    def __init__(self, hostname: str, uptime_seconds: Callable[[], float]) -> None:
        self.hostname = hostname
        self._uptime_seconds = uptime_seconds
        self._line = bytearray()
        self._escape: bytearray | None = None  # inside a terminal escape sequence (arrow keys…)
        self.variables: dict[str, str] = {}

    @property
    def prompt(self) -> bytes:
        return f"root@{self.hostname}:~# ".encode()

    def banner(self) -> bytes:
        """What a terminal shows when it attaches: a fresh prompt."""
        return b"\r\n" + self.prompt

    def feed(self, data: bytes) -> bytes:
        """Take what was typed; return what the guest writes back."""
        out = bytearray()
        for byte in data:
            out += self._key(byte)
        return bytes(out)

    def _key(self, byte: int) -> bytes:
        if self._escape is not None:
            self._escape.append(byte)
            # ESC [ … final byte: the sequence ends; ESC then one other byte: so does it.
            if len(self._escape) > 1 and (self._escape[:1] != b"[" or _ESCAPE_END.match(bytes([byte]))):
                self._escape = None
            return b""
        if byte == ESC:
            self._escape = bytearray()
            return b""
        if byte in (0x0D, 0x0A):
            line = self._line.decode(errors="replace")
            self._line.clear()
            return b"\r\n" + self.run(line) + self.prompt
        if byte in BACKSPACES:
            if not self._line:
                return b""
            self._line.pop()
            return b"\b \b"
        if byte == CTRL_C:
            self._line.clear()
            return b"^C\r\n" + self.prompt
        if byte < 0x20 or len(self._line) >= MAX_LINE:
            return b""
        self._line.append(byte)
        return bytes([byte])

    def run(self, line: str) -> bytes:
        """One command line's output, lines ended with CR LF."""
        try:
            words = shlex.split(self._expand(line))
        except ValueError as error:
            return _lines(f"sh: syntax error: {error}")
        if not words:
            return b""
        assignment = _ASSIGNMENT.match(words[0])
        if assignment and len(words) == 1:
            self.variables[assignment.group(1)] = assignment.group(2)
            return b""
        command, arguments = words[0], words[1:]
        answer = _COMMANDS.get(command)
        if answer is None:
            return _lines(f"sh: {command}: not found")
        return _lines(*answer(self, arguments))

    def _expand(self, line: str) -> str:
        return _VARIABLE.sub(lambda m: shlex.quote(self.variables.get(m.group(1) or m.group(2), "")), line)

    # commands -----------------------------------------------------------

    def _echo(self, arguments: list[str]) -> list[str]:
        return [" ".join(arguments)]

    def _uname(self, arguments: list[str]) -> list[str]:
        fields = {"-s": "Linux", "-n": self.hostname, "-r": KERNEL_RELEASE, "-m": MACHINE}
        if not arguments:
            return ["Linux"]
        if arguments == ["-a"]:
            return [f"Linux {self.hostname} {KERNEL_RELEASE} #1 SMP {MACHINE} GNU/Linux"]
        unknown = [a for a in arguments if a not in fields]
        if unknown:
            return [f"uname: invalid option -- '{unknown[0].lstrip('-')}'"]
        return [" ".join(fields[a] for a in arguments)]

    def _uptime(self, arguments: list[str]) -> list[str]:
        seconds = max(0, int(self._uptime_seconds()))
        hours, minutes = divmod(seconds // 60, 60)
        since = f"{hours}:{minutes:02d}" if hours else f"{minutes} min"
        return [f"up {since} ({seconds} s),  load average: 0.00, 0.00, 0.00"]

    def _hostname(self, arguments: list[str]) -> list[str]:
        return [self.hostname]

    def _help(self, arguments: list[str]) -> list[str]:
        return ["commands: " + " ".join(sorted(_COMMANDS)) + "; NAME=value sets a variable, $NAME reads it"]

    def _clear(self, arguments: list[str]) -> list[str]:
        return ["\x1b[H\x1b[2J"]


_COMMANDS: dict[str, Callable[[SerialShell, list[str]], list[str]]] = {
    "echo": SerialShell._echo,
    "uname": SerialShell._uname,
    "uptime": SerialShell._uptime,
    "hostname": SerialShell._hostname,
    "help": SerialShell._help,
    "clear": SerialShell._clear,
}


def _lines(*lines: str) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode()


def guest_hostname(vm_name: str) -> str:
    """A host name from the VM's name, as a guest would pick one."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", vm_name).strip("-").lower()
    return name[:63] or "guest"
