"""Where the client commands connect: the servers, credentials, namespace,
TLS and timeout, taken from options, `CIMPROVIDER_*` variables and a
client configuration file, in that order of precedence.

With no flags at all the commands reach a local `cimprovider serve`
(http://127.0.0.1:5988, no credentials, root/virtualization/v2).

The configuration file (`~/.config/cimprovider/client.toml`, or
`CIMPROVIDER_CLIENT_CONFIG`) names lists of servers and may set defaults:

    user = "admin"
    namespace = "root/virtualization/v2"
    [servers]
    lab = ["http://10.0.0.1:5988", "https://10.0.0.2:5989"]
    local = "http://127.0.0.1:5988"

`--server lab` then means both lab servers."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pywbem
import requests

from cimprovider.cli.failures import INTERRUPTED, CommandFailure, NotWaiting, UsageFailure, failure

V2 = "root/virtualization/v2"
DEFAULT_SERVER = "http://127.0.0.1:5988"
OUTPUT_FORMATS = ("table", "json", "yaml", "csv")


def config_path() -> Path:
    given = os.environ.get("CIMPROVIDER_CLIENT_CONFIG")
    if given:
        return Path(given)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "cimprovider" / "client.toml"


def read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageFailure(f"client configuration {path}: {error}") from None


def normalise_url(server: str) -> str:
    """`host`, `host:port` or a URL; without a scheme, http (unlike
    pywbem's https default), since that is what `cimprovider serve` starts."""
    if "://" not in server:
        server = "http://" + server
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageFailure(f"--server {server!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
    return f"{parts.scheme}://{parts.netloc}"


def _known_host(name: str) -> bool:
    """A one-word name the hosts file knows. Read, not resolved: a mistyped
    list name must not become a query to a name server."""
    if name.lower() == "localhost":
        return True
    try:
        lines = Path("/etc/hosts").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return any(name.lower() in (word.lower() for word in line.split("#", 1)[0].split()[1:]) for line in lines)


def _is_list_name(entry: str, named: dict[str, Any]) -> bool:
    """A bare word (no scheme, port or dot) that is neither a list nor a
    known host: most likely a mistyped list name."""
    return entry not in named and not any(c in entry for c in ":/.[") and not _known_host(entry)


def expand_servers(given: tuple[str, ...], config: dict[str, Any]) -> list[str]:
    """Each --server is a URL, host[:port], or the name of a list in the
    configuration."""
    named = config.get("servers") or {}
    urls: list[str] = []
    for entry in given or (config.get("default_server") or DEFAULT_SERVER,):
        value = named.get(entry)
        if value is None and _is_list_name(entry, named):
            lists = ", ".join(sorted(named)) or "none"
            raise UsageFailure(f"--server {entry!r}: no server list of that name in {config_path()} (lists: {lists}), "
                               f"and no known host; for a host give a URL such as http://{entry}:5988")
        if value is None:
            urls.append(normalise_url(entry))
        else:
            urls.extend(normalise_url(v) for v in ([value] if isinstance(value, str) else value))
    return list(dict.fromkeys(urls))  # given twice is asked once


def host_label(url: str) -> str:
    return urlsplit(url).netloc


@dataclass
class Session:
    """Everything a client command needs to talk to its servers and to print."""

    servers: list[str]
    namespace: str = V2
    user: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    verify: bool = True
    timeout: float = 30.0
    output: str = "table"
    quiet: bool = False
    wait: bool = True
    wide: bool = False
    _connections: dict[str, pywbem.WBEMConnection] = field(default_factory=dict, repr=False)

    def connection(self, url: str | None = None) -> pywbem.WBEMConnection:
        url = url or self.servers[0]
        if url not in self._connections:
            creds = (self.user, self.password or "") if self.user else None
            conn = pywbem.WBEMConnection(
                url,
                creds,
                default_namespace=self.namespace,
                x509=None,
                ca_certs=self.ca_cert,
                no_verification=not self.verify,
                timeout=self.timeout,
            )
            if self.ca_cert or not self.verify:
                _keep_own_verification(conn.session)
            self._connections[url] = conn
        return self._connections[url]

    @property
    def width(self) -> int | None:
        """The width tables are fitted to: the terminal's (or $COLUMNS);
        None (whole columns) with --wide or when stdout is not a terminal."""
        if self.wide:
            return None
        if os.environ.get("COLUMNS", "").isdigit():
            return int(os.environ["COLUMNS"])
        if not sys.stdout.isatty():
            return None
        return shutil.get_terminal_size().columns

    @property
    def several(self) -> bool:
        return len(self.servers) > 1

    def single(self) -> pywbem.WBEMConnection:
        """The one server of a command that changes things on a given server."""
        if self.several:
            raise UsageFailure("this command works on one server; give exactly one --server")
        return self.connection()


def _keep_own_verification(session: requests.Session) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the CA file
    or the "no verification" a session was given; the user's --ca-cert and
    --no-verify must win over the machine's environment. Proxies and the
    rest of the environment still apply."""
    merge = session.merge_environment_settings

    def merge_keeping_verify(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        settings = merge(url, proxies, stream, verify, cert)
        settings["verify"] = session.verify
        return settings

    session.merge_environment_settings = merge_keeping_verify  # type: ignore[method-assign]


def _existing_ca(path: str | None, origin: str) -> str | None:
    """A CA file or directory that is not there is a usage error (2), named."""
    if path is not None and not Path(path).expanduser().exists():
        raise UsageFailure(f"{origin} {path}: no such file or directory")
    return str(Path(path).expanduser()) if path is not None else None


def ask_secret(prompt: str, unanswered: str, confirm: bool = False) -> str:
    """What the user types at `prompt`, unechoed. Input that ends before
    an answer (a script's closed stdin) is a usage error saying
    `unanswered`; Ctrl-C stays an interruption."""
    try:
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    except click.Abort as stopped:
        if isinstance(stopped.__context__, EOFError):  # click raises Abort for both, from None
            raise UsageFailure(unanswered) from None
        raise


def _password(user: str | None, password: str | None, interactive: bool) -> str | None:
    if user and password is None and interactive:
        return ask_secret(f"Password for {user}", f"--user {user}: no password was given (give --password or "
                          f"{_env('PASSWORD')}, or type it when asked)")
    return password


def session_from(params: dict[str, Any], interactive: bool = True) -> Session:
    config = read_config(config_path())
    user = params.get("user") or config.get("user")
    return Session(
        servers=expand_servers(tuple(params.get("server") or ()), config),
        namespace=params.get("namespace") or config.get("namespace") or V2,
        user=user,
        password=_password(user, params.get("password") or config.get("password"), interactive),
        ca_cert=_existing_ca(params.get("ca_cert"), "--ca-cert") or _existing_ca(config.get("ca_cert"), f"ca_cert in {config_path()}"),
        verify=not (params.get("no_verify") or config.get("no_verify", False)),
        timeout=float(params.get("timeout") or config.get("timeout") or 30),  # -t is > 0 (FloatRange)
        output=params.get("output") or "table",
        quiet=bool(params.get("quiet")),
        wide=bool(params.get("wide")),
        wait=params.get("wait", True),
    )


_CONNECTION_OPTIONS = ("server", "user", "password", "namespace", "ca_cert", "no_verify", "timeout", "output", "quiet", "wide")


def _env(name: str) -> str:
    return f"CIMPROVIDER_{name}"


def _command_name() -> str:
    context = click.get_current_context(silent=True)
    return context.command_path.split(" ", 1)[-1] if context else "cimprovider"


def client_command(*, job: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The connection and output options every client command takes; the
    command receives a `Session` as its first argument. `job=True` adds
    `--wait/--no-wait` for commands that start a job."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            params = {name: kwargs.pop(name, None) for name in _CONNECTION_OPTIONS}
            params["wait"] = kwargs.pop("wait", True)
            try:
                return function(session_from(params), *args, **kwargs)
            except NotWaiting:
                return None
            except pywbem.Error as error:
                raise failure(_command_name(), error) from None
            except KeyboardInterrupt:
                raise CommandFailure("interrupted", INTERRUPTED) from None

        options = [
            click.option("-s", "--server", multiple=True, envvar=_env("SERVER"), show_envvar=True,
                         help="Server URL or a named list from the client configuration; repeat for several.  [default: http://127.0.0.1:5988]"),
            click.option("-u", "--user", envvar=_env("USER"), show_envvar=True, help="User for HTTP Basic authentication."),
            click.option("--password", envvar=_env("PASSWORD"), show_envvar=True, help="Password (prompted for if --user is given without one)."),
            click.option("-n", "--namespace", envvar=_env("NAMESPACE"), show_envvar=True, help=f"CIM namespace.  [default: {V2}]"),
            click.option("--ca-cert", envvar=_env("CA_CERT"), show_envvar=True, type=click.Path(dir_okay=True),
                         help="CA certificate file or directory to verify an HTTPS server with."),
            click.option("--no-verify", is_flag=True, default=None, envvar=_env("NO_VERIFY"), show_envvar=True,
                         help="Do not verify the HTTPS server's certificate."),
            click.option("-t", "--timeout", type=click.FloatRange(min=0, min_open=True), envvar=_env("TIMEOUT"), show_envvar=True,
                         help="Seconds to wait for each answer.  [default: 30]"),
            click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), envvar=_env("OUTPUT"), show_envvar=True,
                         help="Output format.  [default: table]"),
            click.option("-q", "--quiet", is_flag=True, default=False,
                         help="Print only IDs, one per line (VM GUIDs, snapshot and job InstanceIDs, instance paths)."),
            click.option("--wide", is_flag=True, default=False,
                         help="Tables: every column, values whole (default: fitted to the terminal)."),
        ]
        if job:
            options.append(click.option("--wait/--no-wait", default=True, show_default=True,
                                        help="Wait for the job to finish; --no-wait prints the job's path."))
        for option in reversed(options):
            run = option(run)
        return run

    return decorate
