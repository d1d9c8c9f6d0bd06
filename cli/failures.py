"""How client commands fail: one line on stderr naming what failed and why,
and an exit code a script can act on.

Exit codes:
  0  success
  1  the server refused or failed: a CIM error, a method return code, a job
     that ended in error
  2  usage: bad options or arguments (click's own code)
  3  the server could not be reached or spoke badly: connection refused,
     timeout, TLS, HTTP status, unreadable answer; or the server answered
     that its hypervisor is unreachable
  4  authentication refused (or throttled after too many failures)
  5  not found: no such VM, snapshot, job, instance or class
  6  several servers: some answered and are shown, others failed (for
     `host list`, peers unreachable or refusing the peers file's credentials;
     3 when every peer failed)
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import re

import click
import pywbem
from pywbem._cim_constants import _statuscode2name  # the DSP0200 names (CIM_ERR_…)

FAILED = 1
USAGE = 2
UNREACHABLE = 3
AUTH = 4
NOT_FOUND = 5
PARTIAL = 6
UNHEALTHY = 7  # `host health`: something on the host is not OK
INTERRUPTED = 130

# How the server begins the description of any failure caused by a
# hypervisor it cannot reach (a CIM error, a method's or a job's error).
HYPERVISOR_UNREACHABLE = "the hypervisor is unreachable"
LOST_COMMUNICATION = 13  # the host's OperationalStatus while it cannot reach its hypervisor

# Hyper-V method return codes (msvm-v2.md §3).
RETURN_CODES = {
    1: "not supported", 2: "failed", 3: "timeout", 4: "invalid parameter", 5: "invalid state", 6: "incompatible parameters",
    32768: "failed", 32769: "access denied", 32770: "not supported", 32771: "status unknown", 32772: "timeout",
    32773: "invalid parameter", 32774: "system in use", 32775: "invalid state for this operation",
    32776: "incorrect data type", 32777: "system not available", 32778: "out of memory", 32779: "file not found",
    32780: "not ready", 32781: "machine locked", 32782: "shutdown in progress",
}


class CommandFailure(click.ClickException):
    """A failure printed as `cimprovider: MESSAGE` on one line."""

    exit_code = FAILED

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(" ".join(message.split()))
        if exit_code is not None:
            self.exit_code = exit_code
        elif HYPERVISOR_UNREACHABLE in message:
            # However the server said it (a CIM error, a method's job), an
            # unreachable hypervisor is unreachable like the server itself.
            self.exit_code = UNREACHABLE

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"cimprovider: {self.format_message()}", err=True)


class NotWaiting(Exception):
    """--no-wait: the job's path was printed; the command stops there, successfully."""


class UsageFailure(CommandFailure):
    exit_code = USAGE


class NotFound(CommandFailure):
    exit_code = NOT_FOUND


def cim_error_text(error: pywbem.CIMError) -> str:
    name = _statuscode2name(error.status_code)
    description = error.status_description or ""
    return f"{name}: {description}" if description and description != f"Error code {error.status_code}" else name


def explain(error: Exception) -> tuple[str, int]:
    """(why, exit code) for anything pywbem raises."""
    if isinstance(error, pywbem.CIMError):
        code = NOT_FOUND if error.status_code in (pywbem.CIM_ERR_NOT_FOUND, pywbem.CIM_ERR_INVALID_CLASS) else FAILED
        if HYPERVISOR_UNREACHABLE in (error.status_description or ""):
            code = UNREACHABLE
        return cim_error_text(error), code
    if isinstance(error, pywbem.AuthError):
        return "authentication refused (check --user and --password)", AUTH
    if isinstance(error, pywbem.TimeoutError):
        return f"timed out: {error}", UNREACHABLE
    if isinstance(error, pywbem.HTTPError) and error.status == 429:
        return "too many failed authentications from here or for this user; try again later", AUTH
    if isinstance(error, pywbem.HTTPError):
        detail = f" ({error.cimerror})" if error.cimerror else ""
        return f"HTTP {error.status} {error.reason}{detail}", UNREACHABLE
    if isinstance(error, pywbem.ConnectionError):
        text = str(error)
        if "SSL" in text or "CERTIFICATE" in text.upper():
            return f"TLS failed: {_tls_reason(text)}", UNREACHABLE
        return f"cannot connect: {_short(text)}", UNREACHABLE
    if isinstance(error, pywbem.Error):
        return f"{type(error).__name__}: {_short(str(error))}", UNREACHABLE
    return f"{type(error).__name__}: {error}", FAILED


def _tls_reason(text: str) -> str:
    """OpenSSL's reason out of urllib3's nested message, whole:
    `certificate verify failed: self-signed certificate`."""
    match = re.search(r"\[SSL(?:: [A-Z_]+)?\] ([^()'\"]+?)\s*(?:\(_ssl\.c:\d+\))?['\")]", text)
    reason = match.group(1).strip() if match else _short(text)
    if "verify failed" in reason:
        reason += " (give --ca-cert with the server's CA, or --no-verify)"
    return reason


def _short(text: str) -> str:
    """pywbem wraps urllib3's long messages; the last clause says why."""
    text = " ".join(text.split())
    for marker in ("Failed to establish a new connection: ", "[SSL", "Connection refused", "Name or service not known"):
        at = text.find(marker)
        if at >= 0:
            return text[at:].rstrip("'\")] ")
    return text[:300]


def failure(what: str, error: Exception) -> CommandFailure:
    why, code = explain(error)
    return CommandFailure(f"{what}: {why}", code)


def return_code_text(code: int) -> str:
    return f"{code} ({RETURN_CODES[code]})" if code in RETURN_CODES else str(code)
