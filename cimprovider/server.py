"""Assembling a server from its configuration: schema, providers, engine,
HTTP application (serving.py runs it under uvicorn)."""

from __future__ import annotations

import gc
import ipaddress
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cimprovider.allocator import give_back_large_blocks
from cimprovider.backends import load_backend
from cimprovider.cimom import CIMOM
from cimprovider.cimom.pull import EnumerationContexts
from cimprovider.database import DatabaseAccessError, DiskFullError, UnusableDatabaseError, disk_full_message
from cimprovider.http.app import CIMApplication, Mount, Route
from cimprovider.http.authenticator import Authenticator, ThrottleSettings
from cimprovider.http.users_source import UsersSource
from cimprovider.http.limits import ConnectionGate
from cimprovider.jobs import JobRunner, JobStore
from cimprovider.metrics.exposition import ServerFigures
from cimprovider.metrics.service import Metrics
from cimprovider.indications import IndicationService, start_indications
from cimprovider.indications.access import ListenerTrustError
from cimprovider.providers.interop import ProfileCatalog, register_interop, server_profiles
from cimprovider.providers.registry import ProviderRegistry
from cimprovider.providers.virtualization import Virtualization, register_virtualization, result_checks
from cimprovider.providers.virtualization.metrics import register_metrics
from cimprovider.providers.virtualization.metrics.alerts import raise_alerts
from cimprovider.indications.model_source import raise_model_indications
from cimprovider.indications.network_source import raise_network_indications
from cimprovider.providers.virtualization.errors import hyperv_code
from cimprovider.providers.virtualization.migration.registration import MigrationProviders
from cimprovider.migration.engine import MigrationEngine
from cimprovider.migration.peers import PeerError, load_peers
from cimprovider.reply_keeping import keep_replies
from cimprovider.repository import ClassRepository, default_cache_dir
from cimprovider.schemas.config import ServerConfig
from cimprovider.serving import StartupError, connection_limits
from cimprovider.web.access import WebAccess
from cimprovider.web.app import WebApplication
from cimprovider.web.console import PeerHost
from cimprovider.web.setup import web_console
from cimprovider.web.vm_console.app import PREFIX as CONSOLE_PREFIX, ConsoleApp

log = logging.getLogger("cimprovider")

# Registers extra providers and profiles (the model, tests, benchmarks).
Extension = Callable[[ProviderRegistry, ProfileCatalog, "ServerParts"], None]


@dataclass
class ServerParts:
    config: ServerConfig
    repository: ClassRepository
    registry: ProviderRegistry
    catalog: ProfileCatalog
    host_name: str
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    indications: IndicationService | None = None  # publishers raise indications here
    routes: dict[str, Route] = field(default_factory=dict)  # HTTP paths beside /cimom
    migration: MigrationProviders | None = None
    metrics: Metrics | None = None  # the sampler and metering windows, once started
    # ASGI applications by path prefix (the web console and its websockets),
    # and the sessions and checks they share.
    mounts: dict[str, Mount] = field(default_factory=dict)
    web_access: WebAccess | None = None
    web: WebApplication | None = None  # the console at /ui/, once the CIMOM exists


# `cimprovider serve` exits with this when a file of the data directory is
# not ours or is damaged (sysexits' EX_DATAERR): a script can tell it from
# a configuration error (1) and must not retry with the same directory.
UNUSABLE_DATA_FILE = 65


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def users_file_in_use(config: ServerConfig) -> Path | None:
    """The users file given, else the default one if it exists (so that
    `cimprovider user add` without --users-file turns authentication on)."""
    if config.users_file is not None:
        return config.users_file
    return config.default_users_file if config.default_users_file.exists() else None


def load_users(config: ServerConfig) -> Authenticator:
    path = users_file_in_use(config)
    if path is None:
        if not is_loopback(config.host):
            raise StartupError(  # a usage error: --host asks for what the options do not allow
                f"refusing to listen on {config.host} without authentication: "
                "give --users-file (create users with `cimprovider user add`) or listen on 127.0.0.1",
                2,
            )
        log.warning("no users file (%s does not exist): authentication is off, so the server "
                    "listens on loopback only", config.default_users_file)
        return Authenticator(None)
    try:
        source = UsersSource(path)
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    users = source.users()
    if not users and not is_loopback(config.host):
        raise StartupError(f"users file {path} has no users; add one with `cimprovider user add`")
    given = "given" if config.users_file is not None else "the default"
    log.info("authentication: HTTP Basic, %d users from %s (%s users file, read again when it changes)",
             len(users), path, given)
    if not users:
        log.warning("users file %s has no users: every request is refused until one is added", path)
    warning = plain_http_warning(config)
    if warning:
        log.warning(warning)
    throttle = ThrottleSettings(
        config.auth_failures_per_address, config.auth_failures_per_user, config.auth_failure_window_seconds
    )
    return Authenticator(source, throttle)


def plain_http_warning(config: ServerConfig) -> str | None:
    """Basic credentials are the password itself: on plain HTTP past
    loopback anyone on the path reads them. Warn unless HTTP is off."""
    if config.no_http or is_loopback(config.host):
        return None
    return (
        f"PASSWORDS TRAVEL IN CLEAR: plain HTTP on {config.host}:{config.port} carries HTTP Basic "
        "credentials readable by anyone on the network; serve HTTPS only with "
        "--https-port 5989 --certfile … --keyfile … --no-http"
    )


def build_application(config: ServerConfig, extensions: list[Extension] | None = None) -> CIMApplication:
    try:
        return _build_application(config, extensions)
    except UnusableDatabaseError as error:
        raise StartupError(str(error), UNUSABLE_DATA_FILE) from None
    except DatabaseAccessError as error:
        raise StartupError(str(error)) from None
    except (DiskFullError, OSError) as error:
        full = disk_full_message(error)
        if full is None:
            raise
        raise StartupError(f"cannot start: {full}") from None


def make_data_dir(path: Path) -> None:
    """The data directory, made if missing; StartupError (a usage error)
    naming it when it cannot be."""
    if path.exists() and not path.is_dir():
        raise StartupError(f"the data directory {path} is a file, not a folder", 2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartupError(f"cannot make the data directory {path}: {error.strerror or error}", 2) from None


def _build_application(config: ServerConfig, extensions: list[Extension] | None) -> CIMApplication:
    authenticator = load_users(config)
    give_back_large_blocks()
    make_data_dir(config.data_dir)
    repository = ClassRepository.load(cache_dir=config.class_cache_dir or default_cache_dir())
    host_name = config.host_name or socket.gethostname()
    parts = ServerParts(config, repository, ProviderRegistry(), ProfileCatalog(), host_name)
    parts.web_access = WebAccess.for_authenticator(authenticator)
    server_profiles(parts.catalog)
    virt = add_virtualization(parts)
    add_consoles(parts, virt)
    add_migration(parts, virt)
    try:
        parts.indications = start_indications(parts)
    except ListenerTrustError as exc:
        raise StartupError(str(exc)) from None
    model_indications = raise_model_indications(virt, parts.indications, parts.registry)
    parts.on_shutdown.append(model_indications.close)
    parts.on_shutdown.append(raise_network_indications(virt, parts.indications).close)
    contexts = EnumerationContexts(config.max_pull_contexts, config.max_pull_contexts_per_principal)
    gate = ConnectionGate.from_limits(connection_limits(config))
    metrics = start_metrics(parts, virt, server_figures(gate, contexts, parts.indications, virt.jobs))
    register_metrics(parts.registry, virt, metrics.windows)
    virt.load_history = metrics.sampler.load_history
    virt.vm_health = metrics.health.health
    virt.host_health = metrics.health.host_health
    parts.on_shutdown.append(raise_alerts(virt, parts.indications.raise_indication).close)
    register_interop(parts.registry, parts.catalog)
    # Extensions (tests, benchmarks) come last so they may replace what the
    # model registered.
    for extend in extensions or []:
        extend(parts.registry, parts.catalog, parts)
    kept = None
    if config.reply_cache_megabytes:
        kept, kept_subscription = keep_replies(virt.backend.events, config.reply_cache_megabytes * 1024 * 1024)
        parts.on_shutdown.append(kept_subscription.close)
    cimom = CIMOM(repository, parts.registry, host_name, contexts)
    add_web_console(parts, cimom, virt)
    tune_garbage_collection()
    return CIMApplication(
        cimom,
        authenticator,
        workers=config.worker_threads,
        max_body=config.max_request_bytes,
        on_shutdown=parts.on_shutdown,
        routes=parts.routes,
        monitoring=metrics.exposition,
        connection_gate=gate,
        mounts=parts.mounts,
        kept=kept,
    )


def add_web_console(parts: ServerParts, cimom: CIMOM, virt: Virtualization) -> None:
    """The browser console at /ui/, on the same ports and users as /cimom."""
    assert parts.web_access is not None
    try:
        peers = [PeerHost(p.name, p.url, p.credentials, p.ca_file, p.no_verify)
                 for p in load_peers(parts.config.peers_file).values()]
    except PeerError as error:
        raise StartupError(str(error)) from None
    parts.web = web_console(parts.web_access, cimom, virt.backend.events, parts.host_name,
                            parts.config.storage_roots, peers)
    parts.mounts["/ui/"] = parts.web
    parts.on_shutdown.append(parts.web.close)


def add_consoles(parts: ServerParts, virt: Virtualization) -> None:
    """The VMs' consoles in the web console. Opening one may block (a
    libvirt call), so it runs on a small pool of its own."""
    assert parts.web_access is not None
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="console")
    parts.mounts[CONSOLE_PREFIX] = ConsoleApp(parts.web_access, virt.backend, pool)
    parts.on_shutdown.append(lambda: pool.shutdown(wait=False, cancel_futures=True))


def server_figures(
    gate: ConnectionGate, contexts: EnumerationContexts, indications: IndicationService, jobs: JobRunner
) -> ServerFigures:
    def jobs_by_state() -> dict[str, int]:
        counts: dict[str, int] = {}
        for job in jobs.list():
            counts[job.state.value] = counts.get(job.state.value, 0) + 1
        return counts

    return ServerFigures(
        open_connections=lambda: gate.open,
        enumeration_contexts=lambda: len(contexts),
        subscriptions=lambda: len(indications.subscriptions()),
        pending_deliveries=indications.pending_deliveries,
        jobs_by_state=jobs_by_state,
    )


def start_metrics(parts: ServerParts, virt: Virtualization, figures: ServerFigures) -> Metrics:
    """The sampler runs from start-up, so /metrics and metering have figures
    without any client asking first; it stops before the backend closes."""
    path = parts.config.data_dir / "metrics.sqlite3"
    config = parts.config
    metrics = Metrics(virt.backend, config.metrics_interval_seconds, path, figures, config.storage_roots, config.storage_minimum_free_mb)
    parts.metrics = metrics
    metrics.start()
    parts.on_shutdown.insert(0, metrics.close)
    return metrics


def add_virtualization(parts: ServerParts) -> Virtualization:
    """The Hyper-V model over the configured backend. Shutdown closes the
    model, then the jobs (transitions in flight finish), then the backend."""
    try:
        backend = load_backend(parts.config.backend, parts.config)
    except (UnusableDatabaseError, DiskFullError, DatabaseAccessError):
        raise
    except Exception as error:  # noqa: BLE001 - a backend's own errors (libvirtError…) included
        # The hypervisor is away or a setting is wrong: say so on one line.
        raise StartupError(f"backend {parts.config.backend!r} cannot start: {error}") from None
    # Job records outlive the process, so a job a restart interrupted reads
    # as failed rather than missing — or completed, when its result exists.
    job_store = JobStore(parts.config.data_dir / "jobs.sqlite3")
    jobs = JobRunner(
        backend.events,
        workers=parts.config.job_workers,
        retention_seconds=parts.config.job_retention_seconds,
        error_mapper=hyperv_code,
        store=job_store,
        result_checks=result_checks(backend),
    )
    virt = register_virtualization(parts, backend, jobs)
    parts.on_shutdown.append(jobs.close)
    parts.on_shutdown.append(job_store.close)
    parts.on_shutdown.append(backend.close)
    return virt


def add_migration(parts: ServerParts, virt: Virtualization) -> None:
    """The migration engine over the backend, handed to the migration
    services, with its upload channel at /migration/. Migrations a restart
    cut short are settled now (incoming) or in the background (outgoing)."""
    if parts.migration is None:
        return
    try:
        peers = load_peers(parts.config.peers_file)
    except PeerError as error:
        raise StartupError(str(error)) from None
    settings = parts.migration.service.settings
    engine = MigrationEngine(
        parts.config.data_dir, virt.backend, virt.backend.name, parts.config.storage_roots, peers, parts.host_name,  # type: ignore[arg-type]
        enabled=lambda: settings.enabled, maximum=lambda: settings.max_active,
        maximum_storage=lambda: settings.max_active_storage,
        incoming_expiry_seconds=parts.config.incoming_migration_expiry_seconds,
        host_paths=tuple(parts.config.migration_host_paths),
    )
    # ModifyServiceSettings' last values outlive a restart; until a client
    # changes them, the configuration's are the service's.
    stored = engine.store.service_settings()
    if stored is not None:
        settings.restore(stored)
    settings.persist = engine.store.put_service_settings
    engine.start()
    parts.migration.attach_engine(engine)
    parts.routes["/migration/"] = engine.channel
    parts.on_shutdown.insert(0, engine.close)


def tune_garbage_collection() -> None:
    """Python's cyclic collector runs every 700 allocations by default, and
    each full pass walks every live object: with thousands of VMs' instances
    cached, building a large response spent two thirds of its time in it.
    The hot path makes no reference cycles, so collect far less often, and
    keep what start-up built (the compiled schema) out of every scan."""
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()
