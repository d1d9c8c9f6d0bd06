"""A valid admin's request latency while other clients hammer wrong
passwords.

Starts `cimprovider serve` (its own process, default scrypt cost) on
loopback, signs the admin in once, then times the admin's
EnumerateInstanceNames alone and while 8 threads send wrong passwords for
the admin's name from other loopback addresses, as fast as answers come.
Run twice: with the default failure allowances (the attackers soon get 429)
and with allowances too large to matter (every wrong password costs a
scrypt check), which shows what keeping the checks off the event loop does
by itself.

    python bench/auth_under_attack.py [requests]
"""

from __future__ import annotations

import base64
import http.client
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pywbem

from cimprovider.http.auth import UsersFile

ATTACKERS = 8
LISTENING = re.compile(r"listening on http://[^:]+:(\d+)/cimom")


def start_server(data_dir: Path, config: Path) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "cimprovider.cli", "serve", "--port", "0", "--data-dir", str(data_dir),
               "--config", str(config), "--users-file", str(data_dir / "users.json"), "--log-level", "ERROR"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        match = LISTENING.search(line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, int(match.group(1))
    raise RuntimeError("cimprovider serve did not start")


def attack(port: int, source: str, stop: threading.Event, statuses: Counter) -> None:
    guesses = 0
    while not stop.is_set():
        guesses += 1  # a new guess each time, as a password guesser sends
        credentials = base64.b64encode(f"admin:guess-{source}-{guesses}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
        conn.request("POST", "/cimom", body=b"<CIM/>", headers={"Authorization": f"Basic {credentials}"})
        statuses[conn.getresponse().status] += 1
        conn.close()


def admin_latencies(conn: pywbem.WBEMConnection, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        conn.EnumerateInstanceNames("CIM_ObjectManager")
        times.append((time.perf_counter() - start) * 1000)
    return times


def describe(label: str, times: list[float]) -> str:
    times = sorted(times)
    p95 = times[int(len(times) * 0.95) - 1]
    return f"{label:<44} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   max {times[-1]:7.1f} ms"


def run(label: str, allowances: str, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        UsersFile(data / "users.json").add("admin", "admin-pw", "admin")
        config = data / "server.toml"
        config.write_text(allowances)
        process, port = start_server(data, config)
        try:
            conn = pywbem.WBEMConnection(f"http://127.0.0.1:{port}", ("admin", "admin-pw"),
                                         default_namespace="root/interop", timeout=60)
            admin_latencies(conn, 20)  # verified once, then remembered; and warmed up
            quiet = admin_latencies(conn, requests)
            stop, statuses = threading.Event(), Counter()
            threads = [threading.Thread(target=attack, args=(port, f"127.0.0.{10 + n}", stop, statuses))
                       for n in range(ATTACKERS)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)  # let the attack reach its pace
            loud = admin_latencies(conn, requests)
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            process.terminate()
            process.wait(timeout=60)
    print(f"{label}")
    print("  " + describe("admin alone", quiet))
    print("  " + describe(f"admin while {ATTACKERS} threads send wrong passwords", loud))
    print(f"  attackers' answers: {dict(sorted(statuses.items()))}")


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    run("default allowances (throttled after 60 failures per address, 10 per name)", "", requests)
    lifted = "auth_failures_per_address = 100000\nauth_failures_per_user = 100000\n"
    run("allowances lifted (every wrong password costs a scrypt check)", lifted, requests)


if __name__ == "__main__":
    main()
