"""`cimprovider serve`: run the WBEM server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import click
from click.core import ParameterSource

from cimprovider.cli.failures import CommandFailure


def _option(*names: str, env: str, **kwargs):
    return click.option(*names, envvar=f"CIMPROVIDER_{env}", show_envvar=True, **kwargs)


@click.command()
@_option("--host", env="HOST", default=None, help="Address to listen on.  [default: 127.0.0.1]")
@_option("--port", env="PORT", type=int, default=None, help="HTTP port (0 picks a free one).  [default: 5988]")
@_option("--https-port", env="HTTPS_PORT", type=int, default=None, help="HTTPS port (5989 by convention); off if not given.")
@_option("--no-http", env="NO_HTTP", is_flag=True, default=None, help="Serve HTTPS only (needs --https-port): no plain HTTP port, so passwords never travel in clear.")
@_option("--certfile", env="CERTFILE", type=click.Path(path_type=Path), default=None, help="TLS certificate (PEM) for HTTPS.")
@_option("--keyfile", env="KEYFILE", type=click.Path(path_type=Path), default=None, help="TLS private key (PEM) for HTTPS.")
@_option("--data-dir", env="DATA_DIR", type=click.Path(path_type=Path), default=None, help="Where state is kept.  [default: ~/.local/share/cimprovider]")
@_option("--class-cache-dir", env="CLASS_CACHE_DIR", type=click.Path(path_type=Path, file_okay=False), default=None, help="Where the compiled schema is kept, shared by servers on any data directory (a folder of this user's alone).  [default: ~/.cache/cimprovider]")
@_option("--users-file", env="USERS_FILE", type=click.Path(path_type=Path), default=None, help="Users for HTTP Basic authentication (see `cimprovider user`).  [default: DATA_DIR/users.json if it exists]")
@_option("--backend", env="BACKEND", default=None, help="Hypervisor backend.  [default: simulated]")
@_option("--libvirt-uri", env="LIBVIRT_URI", default=None, help="libvirt connection URI for --backend libvirt.  [default: qemu:///system]")
@_option("--libvirt-migration-uri", env="LIBVIRT_MIGRATION_URI", default=None, help="The libvirt URI a migration's source host reaches this host's hypervisor at (its libvirtd connects there, peer to peer).  [default: --libvirt-uri]")
@_option("--libvirt-save-dir", env="LIBVIRT_SAVE_DIR", type=click.Path(path_type=Path, file_okay=False), default=None, help="Where this host's libvirtd keeps saved VMs' memory (a saved VM moves from there).  [default: /var/lib/libvirt/qemu/save]")
@_option("--libvirt-domain-type", env="LIBVIRT_DOMAIN_TYPE", default=None, type=click.Choice(["kvm", "qemu"], case_sensitive=False), help="Domain type of VMs defined through libvirt.  [default: kvm if /dev/kvm is usable, else qemu]")
@_option("--job-retention-seconds", env="JOB_RETENTION_SECONDS", type=float, default=None, help="How long a finished job stays readable (its TimeBeforeRemoval).  [default: 300, as on Hyper-V]")
@_option("--metrics-interval-seconds", env="METRICS_INTERVAL_SECONDS", type=float, default=None, help="How often every VM's resource counters are sampled for metering and /metrics.  [default: 15]")
@_option("--shutdown-timeout-seconds", env="SHUTDOWN_TIMEOUT_SECONDS", type=float, default=None, help="How long a guest gets to shut down.  [default: 120]")
@_option("--storage-root", "storage_roots", env="STORAGE_ROOTS", multiple=True, type=click.Path(path_type=Path, file_okay=False), help="A folder disk images may live in (repeatable; the environment variable takes a ':'-separated list).  [default: DATA_DIR/storage]")
@_option("--storage-minimum-free-mb", env="STORAGE_MINIMUM_FREE_MB", type=int, default=None, help="A storage root with less free space is full: the host and the running VMs with disks there read degraded, and an alert is raised.  [default: 1024]")
@_option("--passthrough-disk", "passthrough_disks", env="PASSTHROUGH_DISKS", multiple=True, type=click.Path(path_type=Path, dir_okay=False), help="A host block device VMs may be given whole as a pass-through disk (repeatable; the environment variable takes a ':'-separated list).  [default: none]")
@_option("--pci-passthrough", "pci_passthrough_devices", env="PCI_PASSTHROUGH", multiple=True, metavar="ADDRESS", help="A host PCI device (domain:bus:slot.function) VMs may be given whole (repeatable; the environment variable takes a space-separated list).  [default: none]")
@_option("--max-pull-contexts", env="MAX_PULL_CONTEXTS", type=int, default=None, help="Open pull enumeration contexts of the whole server.  [default: 256]")
@_option("--max-pull-contexts-per-principal", env="MAX_PULL_CONTEXTS_PER_PRINCIPAL", type=int, default=None, help="Open pull enumeration contexts of one user (one client address when authentication is off).  [default: 64]")
@_option("--reply-cache-megabytes", env="REPLY_CACHE_MEGABYTES", type=int, default=None, help="Memory for kept enumeration replies (built once, reused until the model changes); 0 builds every reply.  [default: 64]")
@_option("--listener-allow", "listener_allow", env="LISTENER_ALLOW", multiple=True, default=None, metavar="CIDR", help="A network indication listeners may be on (repeatable; replaces the default; the environment variable takes a space-separated list).  [default: 127.0.0.0/8 and ::1]")
@_option("--listener-ca-file", env="LISTENER_CA_FILE", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="Trust https listeners whose certificate this CA file (PEM) signed, instead of the system's CAs.")
@_option("--listener-no-verify", env="LISTENER_NO_VERIFY", is_flag=True, default=None, help="Do not verify https listeners' certificates.")
@_option("--keep-alive-seconds", env="KEEP_ALIVE_SECONDS", type=float, default=None, help="How long an idle kept-alive connection stays open between requests.  [default: 60]")
@_option("--header-timeout-seconds", env="HEADER_TIMEOUT_SECONDS", type=float, default=None, help="Time a client has to send a request's headers; later, 408.  [default: 10]")
@_option("--body-timeout-seconds", env="BODY_TIMEOUT_SECONDS", type=float, default=None, help="Time a client has to send a request's body, plus a second per --body-min-bytes-per-second bytes received; later, 408.  [default: 60]")
@_option("--body-min-bytes-per-second", env="BODY_MIN_BYTES_PER_SECOND", type=int, default=None, help="The slowest steady rate at which a large body still arrives.  [default: 1024]")
@_option("--max-connections", env="MAX_CONNECTIONS", type=int, default=None, help="Open connections, HTTP and HTTPS together; beyond, 503.  [default: 1024]")
@_option("--max-connections-per-client", env="MAX_CONNECTIONS_PER_CLIENT", type=int, default=None, help="Open connections from one client address; beyond, 503.  [default: 256]")
@_option("--max-header-bytes", env="MAX_HEADER_BYTES", type=int, default=None, help="Size of a request's line and headers; beyond, 431.  [default: 32768]")
@_option("--peers", "peers_file", env="PEERS", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="Peer hosts VMs may migrate to (TOML: each peer's URL and the credentials used there; see README).")
@_option("--migration-host-path", "migration_host_paths", env="MIGRATION_HOST_PATHS", multiple=True, type=click.Path(path_type=Path), help="A file or folder outside the storage roots and data directory that a KVM migration offer may name for a kernel, initrd, firmware or a serial port's file (repeatable; the environment variable takes a ':'-separated list).  [default: none]")
@_option("--incoming-migration-expiry-seconds", env="INCOMING_MIGRATION_EXPIRY_SECONDS", type=float, default=None, help="How long an incoming migration may go without a byte or a call from its source before it is dropped with its files.  [default: 600]")
@_option("--host-name", env="HOST_NAME", default=None, help="Host name the server reports.  [default: this machine's]")
@_option("--log-level", env="LOG_LEVEL", default=None, type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@_option("--config", "config_file", env="CONFIG", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="TOML configuration file; options given here win.")
def serve(config_file: Path | None, **options) -> None:
    """Run the WBEM server (CIM-XML over HTTP/HTTPS) until SIGTERM or Ctrl-C."""
    # The server is imported here, not with the command line: every client
    # command (`vm list`, `job wait`...) would otherwise load it first, which
    # took most of a client command's start.
    from cimprovider.logs import configure_logging
    from cimprovider.schemas.config import ConfigError, load_config
    from cimprovider.server import build_application
    from cimprovider.serving import StartupError, event_loop, serve as run_server

    # An empty tuple means the option was not given: the file or default decides.
    options["storage_roots"] = list(options["storage_roots"]) or None
    options["listener_allow"] = list(options["listener_allow"]) or None
    options["passthrough_disks"] = list(options["passthrough_disks"]) or None
    options["pci_passthrough_devices"] = list(options["pci_passthrough_devices"]) or None
    options["migration_host_paths"] = list(options["migration_host_paths"]) or None
    try:
        config = load_config(config_file, **options)
    except ConfigError as exc:
        if exc.key == "no_http":
            raise click.UsageError("--no-http needs --https-port: without HTTP, HTTPS is the only way in") from None
        if exc.problems and _options_to_blame(config_file):
            raise click.UsageError(_in_option_names(exc.problems)) from None
        raise CommandFailure(f"serve: {exc}") from None
    if _given("backend"):
        from cimprovider.backends.loading import available_backends

        known = available_backends()
        if config.backend not in known:
            raise click.UsageError(f"--backend {config.backend!r}: unknown backend; "
                                   f"known backends: {', '.join(known) or 'none installed'}")
    repeats = configure_logging(config.log_level)
    try:
        app = build_application(config)
    except StartupError as exc:
        raise CommandFailure(f"serve: {exc}", exc.exit_code) from None
    try:
        with asyncio.Runner(loop_factory=event_loop) as runner:
            runner.run(run_server(config, app, announce=lambda line: click.echo(line, err=False)))
    except StartupError as exc:
        raise CommandFailure(f"serve: {exc}", exc.exit_code) from None
    finally:
        repeats.flush()


# Usage errors are what the command line (or the environment, which stands
# for it) asked; a configuration file that is wrong is a bad configuration,
# which cannot start (exit 1), as README says.
def _given(name: str) -> bool:
    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _options_to_blame(config_file: Path | None) -> bool:
    """Whether the options, not the file, make the configuration invalid:
    there is no file, or the file's values alone are valid."""
    from cimprovider.schemas.config import ConfigError, load_config

    if config_file is None:
        return True
    try:
        load_config(config_file)
    except ConfigError:
        return False
    return True


def _in_option_names(problems: list[tuple[str, str]]) -> str:
    """`port: Input should be …` as the user wrote it: `--port: …`; other
    settings a message names (`required when https_port is set`) too."""
    options = {param.name: max(param.opts, key=len) for param in serve.params if param.opts}

    def named(text: str) -> str:
        return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", lambda m: options.get(m.group(0), m.group(0)), text)

    return "; ".join(f"{options.get(field, field)}: {named(message)}" for field, message in problems)
