"""Migration between two hosts: how long a running VM with one disk takes
to move, the rate its disk travels at, and the switch-over — from the
moment the source last shows the VM running to the moment the destination
first shows it running (a simulated VM never pauses: the source keeps it
running until the destination has adopted it, so this is the gap a client
watching both hosts sees, not a guest's downtime; negative, it is how long
both hosts listed it running: the destination adopts it before the
source, which refuses every change meanwhile, lets it go).

Starts two in-process servers on loopback (their own data directories and
storage roots), makes a VHD with SIZE MiB of data on the source, and moves
ROUNDS such VMs there, one after the other.

    python bench/migration.py [SIZE_MIB] [ROUNDS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pywbem

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.migration.two_hosts import destination_host, migrate, source_host  # noqa: E402
from tests.integration.model.hyperv import request_state, settings_of, state  # noqa: E402
from tests.integration.storage.vm_client import vm_with_disk  # noqa: E402

MIB = 1024 * 1024


def make_disk(path: Path, size_mib: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", str(path),
                    str(max(2 * size_mib, 64) * MIB)], check=True)
    subprocess.run(["qemu-io", "-f", "vpc", "-c", f"write -P 0x5a 0 {size_mib * MIB}", str(path)], check=True, capture_output=True)


def watch_running(host, vm, seen: list[float], stop: threading.Event) -> None:
    """Times at which `host` showed the VM running."""
    conn = host.conn
    while not stop.is_set():
        try:
            if state(conn, vm) == 2:
                seen.append(time.monotonic())
        except pywbem.CIMError:
            pass  # not (or no longer) on this host


def move(source, destination, vm, name: str, size_mib: int) -> tuple[float, float, float]:
    sasd = next(d for d in settings_of(source.conn, "Msvm_StorageAllocationSettingData", vm)
                if d["ResourceSubType"] == "Microsoft:Hyper-V:Virtual Hard Disk")
    sasd["HostResource"] = [str(destination.root / name / Path(sasd["HostResource"][0]).name)]
    seen_source: list[float] = []
    seen_destination: list[float] = []
    stop = threading.Event()
    watchers = [threading.Thread(target=watch_running, args=(source, vm, seen_source, stop)),
                threading.Thread(target=watch_running, args=(destination, vm, seen_destination, stop))]
    for watcher in watchers:
        watcher.start()
    started = time.monotonic()
    job = migrate(source.conn, vm, "hostb", timeout=600, resources=[sasd])
    took = time.monotonic() - started
    stop.set()
    for watcher in watchers:
        watcher.join()
    assert job["JobState"] == 7, job["ErrorDescription"]
    gap = min(seen_destination) - max(seen_source) if seen_source and seen_destination else float("nan")
    return took, size_mib / took, gap


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = []
    with tempfile.TemporaryDirectory() as base_text:
        base = Path(base_text)
        with destination_host(base) as b, source_host(base, b.live.url) as a:
            for round_ in range(rounds):
                name = f"bench-{round_}"
                image = a.root / name / f"{name}.vhd"
                make_disk(image, size_mib)
                vm = vm_with_disk(a.conn, name, image)
                assert request_state(a.conn, vm, 2)[0] == 4096
                results.append(move(a, b, vm, name, size_mib))
    print(f"running VM, one dynamic VHD with {size_mib} MiB of data, {rounds} moves between two hosts on loopback")
    for took, rate, gap in results:
        print(f"  move {took:6.2f} s  {rate:7.1f} MiB/s  switch-over {gap * 1000:7.1f} ms")
    print(f"median move {statistics.median(r[0] for r in results):.2f} s, "
          f"median switch-over {statistics.median(r[2] for r in results) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
