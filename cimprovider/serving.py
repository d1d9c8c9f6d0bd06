"""Running an assembled application under uvicorn, on HTTP and HTTPS
together: binding each port before anything starts, announcing where it
listens, and stopping every server on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

try:
    import uvloop
except ImportError:  # not built for this platform (Windows): asyncio's own loop serves
    uvloop = None  # type: ignore[assignment]

from cimprovider.http.app import CIMApplication
from cimprovider.http.limits import ConnectionLimits, fit_open_file_limit
from cimprovider.http.protocol import uvicorn_http_options
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.limits import ConnectionLimitSettings

log = logging.getLogger("cimprovider")


class StartupError(RuntimeError):
    """The server must not start as configured; the message says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def connection_limits(config: ServerConfig) -> ConnectionLimits:
    """The HTTP front end takes its limits as a plain value, not the configuration model."""
    return ConnectionLimits(**config.model_dump(include=set(ConnectionLimitSettings.model_fields)))


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: `serve` stops the
    HTTP and HTTPS servers together, and the process then exits with 0
    rather than re-raising the signal as uvicorn does when embedded."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def uvicorn_servers(config: ServerConfig, app: CIMApplication) -> list[tuple[str, uvicorn.Server]]:
    """The servers to run, by scheme; the first also runs the lifespan."""
    common = dict(
        **uvicorn_http_options(connection_limits(config), app.connection_gate),
        lifespan="on",
        # The process's logging (logs.py) writes uvicorn's lines too, so
        # that floods of them are summarised like ours.
        log_config=None,
        log_level=config.log_level.lower(),
        access_log=config.log_level == "DEBUG",
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    servers: list[tuple[str, uvicorn.Server]] = []
    if not config.no_http:
        servers.append(("http", _Server(uvicorn.Config(app, host=config.host, port=config.port, **common))))
    if config.https_port is not None:
        check_tls_files(config.certfile, config.keyfile)
        https = uvicorn.Config(
            app,
            host=config.host,
            port=config.https_port,
            ssl_certfile=str(config.certfile),
            ssl_keyfile=str(config.keyfile),
            **{**common, "lifespan": "on" if not servers else "off"},
        )
        servers.append(("https", _Server(https)))
    return servers


def check_tls_files(certfile: Path | None, keyfile: Path | None) -> None:
    """StartupError (a usage error) naming the certificate or key that
    HTTPS cannot use, before anything listens."""
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is None or not path.is_file():
            raise StartupError(f"{option} {path}: no such file", 2)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(str(certfile), str(keyfile))
    except (OSError, ssl.SSLError) as error:
        raise StartupError(f"HTTPS cannot use the certificate {certfile} with the key {keyfile}: "
                           f"{getattr(error, 'reason', None) or error}", 2) from None


def event_loop() -> asyncio.AbstractEventLoop:
    """The loop the server runs on: uvloop's, whose transports, polling and
    wake-ups from the worker threads are C, not Python: about a third of the
    loop's time per enumeration went to asyncio's own Python code (its
    selector, its transports' flow control and writes), time every other
    connection waits for."""
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def bound_ports(server: uvicorn.Server) -> list[int]:
    return [sock.getsockname()[1] for s in server.servers for sock in s.sockets]


def listening_socket(server: uvicorn.Server) -> socket.socket:
    """The server's socket, bound before anything starts, so that a port in
    use is one StartupError naming it (uvicorn would log, run the
    application's start-up and leave with SystemExit from inside a task)."""
    host, port = server.config.host, server.config.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on
    # sockets that say they are TCP. With Nagle on, an answer written as
    # headers then body waits for the client's delayed acknowledgement of
    # the headers: 40 ms per request on a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        why = "the address is already in use (another server there? choose another --port)" \
            if error.errno == errno.EADDRINUSE else error.strerror
        raise StartupError(f"cannot listen on {_url_host(host)}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


async def serve(
    config: ServerConfig, app: CIMApplication, announce: Callable[[str], None] = print
) -> None:
    shortfall = fit_open_file_limit(config.max_connections)
    if shortfall is not None:
        log.warning("%s", shortfall)
    schemes = uvicorn_servers(config, app)
    servers = [server for _, server in schemes]
    sockets = []
    try:
        for server in servers:
            sockets.append(listening_socket(server))
    except StartupError:
        for sock in sockets:
            sock.close()
        raise
    _stop_on_signals(servers)
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets)]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.02)
    if all(s.started for s in servers):
        for scheme, server in schemes:
            for port in bound_ports(server):
                announce(f"cimprovider listening on {scheme}://{_url_host(config.host)}:{port}/cimom")
                announce(f"web console at {scheme}://{_url_host(config.host)}:{port}/ui/")
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:  # one stopped (or failed to bind): stop the rest
        server.should_exit = True
    await asyncio.gather(*pending)
    for task in done:
        task.result()


def _stop_on_signals(servers: list[uvicorn.Server]) -> None:
    """SIGTERM or SIGINT: finish in-flight operations and stop; a second
    SIGINT stops at once."""
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        for server in servers:
            if server.should_exit and sig == signal.SIGINT:
                server.force_exit = True
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
