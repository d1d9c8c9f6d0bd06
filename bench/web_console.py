"""The web console's cost: how long the VM list takes to render with many
VMs, and how long a state change takes to reach a browser's event stream.

Starts an in-process server (simulated backend) with N VMs defined through
CIM, signs in, times GET /ui/vms, then opens /ui/events and times, for a
few VMs, from the RequestStateChange call to the row arriving on the
stream.

    python bench/web_console.py [vms]
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pywbem

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.web.browserless import TOKEN, WebClient  # noqa: E402
from tests.support.live import in_process_server  # noqa: E402


def define(conn: pywbem.WBEMConnection, count: int) -> list[pywbem.CIMInstanceName]:
    vmms = conn.EnumerateInstanceNames("Msvm_VirtualSystemManagementService")[0]
    made = []
    for number in range(count):
        settings = pywbem.CIMInstance("Msvm_VirtualSystemSettingData", properties={"ElementName": f"bench-{number}"})
        _, out = conn.InvokeMethod("DefineSystem", vmms, SystemSettings=settings.tocimxmlstr(), ResourceSettings=[])
        made.append(out["ResultingSystem"])
    return made


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, in_process_server(Path(tmp)) as server:
        conn = server.connection("root/virtualization/v2")
        vms = define(conn, count)
        client = WebClient(server.port, origin=f"http://127.0.0.1:{server.port}")
        client.cookie = client.post("/ui/login", {}).headers["set-cookie"].split(";")[0]
        client.token = TOKEN.search(client.get("/ui/vms").body).group(1)
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            assert client.get("/ui/vms").status == 200
            timings.append(time.perf_counter() - started)
        print(f"GET /ui/vms with {count} VMs: median {statistics.median(timings) * 1000:.0f} ms, "
              f"max {max(timings) * 1000:.0f} ms (load {os.getloadavg()[0]:.1f})")
        stream = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        stream.request("GET", "/ui/events", headers={"Cookie": client.cookie})
        response = stream.getresponse()
        arrived: dict[str, float] = {}

        def read() -> None:
            try:
                for line in iter(response.readline, b""):
                    text = line.decode()
                    if text.startswith("data: <tr id=\"vm-"):
                        arrived.setdefault(text.split('"')[1][3:], time.perf_counter())
            except (OSError, ValueError, AttributeError):
                return  # the stream closed under the reader

        threading.Thread(target=read, daemon=True).start()
        latencies = []
        for path in vms[:10]:
            guid = str(path.keybindings["Name"])
            started = time.perf_counter()
            conn.InvokeMethod("RequestStateChange", path, RequestedState=pywbem.Uint16(2))
            while guid not in arrived and time.perf_counter() - started < 60:
                time.sleep(0.001)
            latencies.append(arrived.get(guid, float("inf")) - started)
        print(f"state change to row on the stream: median {statistics.median(latencies) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} VMs")
        stream.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
