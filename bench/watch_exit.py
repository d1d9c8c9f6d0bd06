"""How long `cimprovider watch` takes to end after Ctrl-C (SIGINT), its
subscription removed, and how long it takes from start to saying it is
watching: the median and worst of N runs against a `cimprovider serve` on
loopback. Target: the exit well under a second on an idle machine.

    python bench/watch_exit.py [N]
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import pywbem

LISTENING = re.compile(r"listening on http://[^:]+:(\d+)/cimom")


def start_server(data_dir: str) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-m", "cimprovider.cli", "serve", "--port", "0", "--data-dir", data_dir],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        match = LISTENING.search(line)
        if match:
            return server, f"http://127.0.0.1:{match.group(1)}"
    raise RuntimeError("cimprovider serve did not start")


def one_run(url: str) -> tuple[float, float]:
    env = {**os.environ, "CIMPROVIDER_SERVER": url, "CIMPROVIDER_CLIENT_CONFIG": os.devnull}
    started = time.perf_counter()
    watch = subprocess.Popen([sys.executable, "-m", "cimprovider.cli", "watch"], env=env, text=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for line in watch.stderr:
        if line.startswith("watching "):
            break
    ready = time.perf_counter() - started
    interrupted = time.perf_counter()
    watch.send_signal(signal.SIGINT)
    watch.stderr.read()
    if watch.wait(timeout=60) != 130:
        raise RuntimeError(f"watch ended with {watch.returncode}")
    return ready, time.perf_counter() - interrupted


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv else 10
    with tempfile.TemporaryDirectory() as data_dir:
        server, url = start_server(data_dir)
        try:
            timings = [one_run(url) for _ in range(runs)]
            left = pywbem.WBEMConnection(url, default_namespace="root/interop").EnumerateInstanceNames(
                "CIM_IndicationSubscription")
        finally:
            server.terminate()
            server.wait(timeout=60)
    for label, values in (("start to 'watching'", [t[0] for t in timings]), ("SIGINT to exit", [t[1] for t in timings])):
        print(f"{label:<20} median {statistics.median(values) * 1000:7.0f} ms  worst {max(values) * 1000:7.0f} ms"
              f"  ({runs} runs)")
    print(f"subscriptions left behind: {len(left)}")


if __name__ == "__main__":
    main(sys.argv[1:])
