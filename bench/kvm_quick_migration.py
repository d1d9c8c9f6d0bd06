"""Quick migration between two KVM hosts on this machine (tier 2: the
suite's libvirtd and a second one started here): the tiny guest with a
qcow2 disk holding SIZE MiB of data is moved with `cimprovider vm move
--quick` (save, move the disk and the saved memory over the upload
channel, restore) between two cimprovider servers, ROUNDS times (there
and back). Reports how long each command took and the guest's downtime:
from the source's first libvirt event stopping it (suspended or stopped)
to the destination's last one starting it (started or resumed). Guests
run under TCG with 256 MiB of memory; figures depend on the machine's load.

    python bench/kvm_quick_migration.py [SIZE_MIB] [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import libvirt
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "backends" / "kvm"))

from cimprovider.backends.libvirt.connection import ensure_event_loop  # noqa: E402
from cimprovider.cli.main import cli  # noqa: E402
from kvm_migration import counting_guest, guest_ticks  # noqa: E402
from second_libvirtd import STATE, second_libvirtd  # noqa: E402
from tests.support.live import in_process_server  # noqa: E402

SOURCE_URI = "qemu:///system"
STOPPING = (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_STOPPED)
STARTING = (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_RESUMED)


class Events:
    """Each lifecycle event of the guest, per host, with when it came."""

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[float, int]]] = {}

    def listener(self, host: str):  # noqa: ANN201 - libvirt's callback
        def heard(conn, domain, event, detail, _opaque) -> None:  # noqa: ANN001
            self.seen.setdefault(host, []).append((time.monotonic(), event))
        return heard

    def downtime(self, source: str, destination: str) -> float:
        stopped = min(t for t, e in self.seen.get(source, []) if e in STOPPING)
        started = max(t for t, e in self.seen.get(destination, []) if e in STARTING)
        return started - stopped


def quick_move(url: str, name: str, destination_url: str, folder: Path) -> float:
    environment = {k: None for k in os.environ if k.startswith("CIMPROVIDER_")}
    environment.update({"CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull})
    started = time.monotonic()
    result = CliRunner(mix_stderr=False).invoke(cli, ["vm", "move", name, "--to", destination_url, "--quick",
                                                      "--storage-path", str(folder)], env=environment)
    assert result.exit_code == 0, result.stderr
    return time.monotonic() - started


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    ensure_event_loop()
    tag = f"cimp-bench-{os.getpid()}"
    results = []
    with counting_guest(tag, size_mib) as running:
        base, roots, name = running.base, running.roots, running.name
        with second_libvirtd(tag) as b_uri:
            uris = {"hosta": SOURCE_URI, "hostb": b_uri}
            save_dirs = {"hosta": Path("/var/lib/libvirt/qemu/save"),
                         "hostb": STATE / f"{tag}-second-libvirtd" / "lib" / "qemu" / "save"}
            events = Events()
            connections = {host: libvirt.open(uri) for host, uri in uris.items()}
            for host, conn in connections.items():
                conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, events.listener(host), None)
            servers = {host: in_process_server(base / f"{host}-data", backend="libvirt", libvirt_uri=uri,
                                               libvirt_domain_type="qemu", libvirt_save_dir=save_dirs[host],
                                               storage_roots=[roots[host]], host_name=host)
                       for host, uri in uris.items()}
            with servers["hosta"] as a, servers["hostb"] as b:
                live = {"hosta": a, "hostb": b}
                here, there = "hosta", "hostb"
                for round_ in range(rounds):
                    events.seen.clear()
                    took = quick_move(live[here].url, name, live[there].url, roots[there] / f"round-{round_}")
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and not connections[there].lookupByName(name).isActive():
                        time.sleep(0.05)
                    time.sleep(0.5)  # the last events of the restore
                    results.append((took, events.downtime(here, there)))
                    here, there = there, here
                ticks = guest_ticks(base / f"{name}.console")
                assert ticks == list(range(1, len(ticks) + 1)), "the guest restarted its count"
    print(f"tiny guest under TCG (256 MiB), qcow2 disk with {size_mib} MiB of data, {rounds} quick moves between two "
          f"libvirtd on this machine (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for took, down in results:
        print(f"  vm move --quick {took:6.2f} s  downtime {down:6.2f} s")
    print(f"median downtime {statistics.median(r[1] for r in results):.2f} s")


if __name__ == "__main__":
    main()
