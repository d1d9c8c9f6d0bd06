"""How quickly a serial console answers through the server's websocket.

A simulated VM's COM1 shell is driven over a real console websocket (a live
server in this process, a session, a ticket): N times `echo <n>` is typed
and the time until its answer arrives is measured. Prints the median and
99th percentile round trip, and how long opening a console takes (ticket
request, handshake, first prompt).

    python bench/console_echo.py [N]      (default 500)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.web.console_server import console_server  # noqa: E402
from tests.support.websocket import WebSocketClient  # noqa: E402


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as scratch, console_server(Path(scratch)) as server:
        vm_id = server.running_vm("Bench VM")
        opened = []
        for _ in range(20):
            started = time.perf_counter()
            ticket = server.ticket("alice", vm_id)["ticket"]
            console = WebSocketClient.connect(server.port, server.socket_path(vm_id, ticket), origin=server.origin,
                                              cookie=server.cookie("alice"))
            console.wait_for(b"# ")
            opened.append(time.perf_counter() - started)
            console.close()
        ticket = server.ticket("alice", vm_id)["ticket"]
        console = WebSocketClient.connect(server.port, server.socket_path(vm_id, ticket), origin=server.origin,
                                          cookie=server.cookie("alice"))
        console.wait_for(b"# ")
        trips = []
        for n in range(rounds):
            answer = f"\r\nanswer-{n}\r\n".encode()
            started = time.perf_counter()
            console.send(f"echo answer-{n}\r".encode())
            console.wait_for(answer)
            trips.append(time.perf_counter() - started)
        console.close()
    trips.sort()
    print(f"console open (ticket + handshake + prompt), 20 times: median {statistics.median(opened) * 1000:.1f} ms")
    print(f"echo round trip, {rounds} times: median {statistics.median(trips) * 1000:.2f} ms, "
          f"p99 {trips[int(len(trips) * 0.99) - 1] * 1000:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
