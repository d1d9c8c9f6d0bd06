"""The console's pages against the model, over plain HTTP: settings
changed as Hyper-V's dialog changes them (and refused where Hyper-V
refuses), virtual hard disks made, inspected, converted and compacted,
the hosts page with a peer, and the event stream's rows."""

from __future__ import annotations

import http.client
import re
import threading
from pathlib import Path

import pywbem

from cimprovider.http.auth import User, UsersFile, hash_password
from tests.integration.web.browserless import WebClient, signed_in
from tests.integration.web.conftest import CHEAP, PASSWORDS, peers_file
from tests.support.live import LiveServer, in_process_server
from tests.support.waiting import wait_until


def make_vm(admin: WebClient, name: str, **extra: str) -> str:
    form = {"step": "6", "go": "finish", "name": name, "generation": "1", "memory": "512", "processors": "1",
            "switch": "Default Switch", "disk": "none", "media": "later", **extra}
    answer = admin.post("/ui/vms/new", form)
    assert answer.status == 303, re.findall(r'role="alert">([^<]*)', answer.body)
    return answer.headers["location"].split("/")[-1].split("?")[0]


def settings_of(server: LiveServer, guid: str, classname: str) -> list[pywbem.CIMInstance]:
    conn = server.connection("root/virtualization/v2", ("alice", PASSWORDS["alice"]))
    return [i for i in conn.EnumerateInstances(classname) if str(i["InstanceID"]).upper().startswith(f"MICROSOFT:{guid}")]


def test_settings_are_applied_and_refused_as_hyperv_does(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "tuned")
    base = f"/ui/vms/{guid}/settings"
    assert "Processor settings applied" in admin.post(f"{base}/processors", {"processors": "4"}).body
    assert int(settings_of(web_server, guid, "Msvm_ProcessorSettingData")[0]["VirtualQuantity"]) == 4
    answer = admin.post(f"{base}/memory", {"startup": "1024", "dynamic": "on", "minimum": "512", "maximum": "2048",
                                           "buffer": "20"})
    assert "Memory settings applied" in answer.body, answer.body
    memory = settings_of(web_server, guid, "Msvm_MemorySettingData")[0]
    assert (int(memory["VirtualQuantity"]), bool(memory["DynamicMemoryEnabled"]), int(memory["Limit"])) == (1024, True, 2048)
    answer = admin.post(f"{base}/memory", {"startup": "1024", "dynamic": "on", "minimum": "2048", "maximum": "4096"})
    assert answer.status == 409 and 'role="alert"' in answer.body
    assert int(settings_of(web_server, guid, "Msvm_MemorySettingData")[0]["Reservation"]) == 512
    assert "Name and notes applied" in admin.post(f"{base}/notes", {"name": "tuned", "notes": "for the web"}).body
    assert admin.post(f"{base}/adapters", {"add": "1", "switch": ""}).status == 200
    assert len(settings_of(web_server, guid, "Msvm_SyntheticEthernetPortSettingData")) == 2
    assert admin.post(f"/ui/vms/{guid}/power", {"action": "start"}).status == 200
    page = admin.get(f"/ui/vms/{guid}")
    assert "for the web" in page.body
    wait_until(lambda: "Running" in admin.get(f"/ui/vms/{guid}").body, "the VM runs")
    # Hyper-V refuses a new processor count while the VM runs; the model's words come back.
    refused = admin.post(f"{base}/processors", {"processors": "2"})
    assert refused.status == 409 and 'role="alert"' in refused.body
    assert int(settings_of(web_server, guid, "Msvm_ProcessorSettingData")[0]["VirtualQuantity"]) == 4


def test_virtual_hard_disks_are_made_inspected_converted_and_compacted(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    folder = str(web_server.data_dir / "storage")
    made = admin.post("/ui/storage/create", {"folder": folder, "name": "data.vhdx", "format": "vhdx",
                                             "type": "dynamic", "size": "2"})
    assert made.status == 200 and "Created" in made.body, made.body
    listing = admin.get(f"/ui/storage?path={folder}")
    assert "data.vhdx" in listing.body
    inspected = admin.get(f"/ui/storage/inspect?path={folder}/data.vhdx")
    assert "VHDX" in inspected.body and "2.0 GB" in inspected.body and "Dynamically expanding" in inspected.body
    converted = admin.post("/ui/storage/convert", {"path": f"{folder}/data.vhdx", "destination": "data.vhd",
                                                   "format": "vhd", "type": "dynamic"})
    assert converted.status == 200 and "Converted" in converted.body, converted.body
    assert "VHD<" in admin.get(f"/ui/storage/inspect?path={folder}/data.vhd").body
    compacted = admin.post("/ui/storage/compact", {"path": f"{folder}/data.vhd"})
    assert compacted.status == 200 and "Compacted" in compacted.body, compacted.body
    outside = admin.post("/ui/storage/create", {"folder": "/etc", "name": "x.vhdx", "format": "vhdx",
                                                "type": "dynamic", "size": "1"})
    assert outside.status == 409 and not Path("/etc/x.vhdx").exists()
    assert admin.get("/ui/storage?path=/etc").body.count("is not a folder inside the storage roots") == 1


def test_the_hosts_page_shows_this_server_and_its_peers(tmp_path: Path) -> None:
    with peers_file(tmp_path) as peers:
        local_users = tmp_path / "users.json"
        UsersFile(local_users).save({"alice": User("alice", "admin", hash_password(PASSWORDS["alice"], **CHEAP))})
        with in_process_server(tmp_path / "local", users_file=local_users, peers_file=peers, host_name="here") as local:
            page = signed_in(local.port, "alice").get("/ui/hosts").body
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in rows]
    assert any("here" in row and "this server" in row and "MB of" in row and "GB free" in row for row in text), text
    assert any("peer-host" in row and "OK" in row and "running of 0" in row and "MB of" in row for row in text), text
    # The peer's storage roots, from its own figures.
    assert any("peer-host" in row and "GB free of" in row for row in text), text
    assert any("gone" in row and "Unreachable" in row for row in text), text


def test_the_event_stream_sends_a_vms_row_when_its_state_changes(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "streamed")

    conn = http.client.HTTPConnection("127.0.0.1", web_server.port, timeout=60)
    conn.request("GET", f"/ui/events?vm={guid}", headers={"Cookie": admin.cookie or ""})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type").startswith("text/event-stream")
    assert response.readline() == b"retry: 1000\n"
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(_events(response)), daemon=True)
    reader.start()
    assert admin.post(f"/ui/vms/{guid}/power", {"action": "start"}).status == 200
    wait_until(lambda: any(f'id="vm-{guid}"' in line and "Running" in line for line in lines), "a Running row streamed")
    assert any(line == "event: vm" for line in lines)
    # The start's job, with its progress, follows the same stream.
    wait_until(lambda: f'id="jobs-{guid}"' in "\n".join(lines) and "<progress" in "\n".join(lines),
               "the job list streamed")
    conn.close()


def _events(response) -> list[str]:
    """The stream's lines until the test closes the connection under it."""
    try:
        for raw in iter(response.readline, b""):
            yield raw.decode().rstrip("\n")
    except (OSError, ValueError, AttributeError):
        return



def test_the_wizard_attaches_an_existing_disk_and_an_iso_on_ide_for_generation_1(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    folder = web_server.data_dir / "storage"
    assert admin.post("/ui/storage/create", {"folder": str(folder), "name": "old.vhdx", "format": "vhdx",
                                             "type": "dynamic", "size": "1"}).status == 200
    (folder / "install.iso").write_bytes(b"\0" * 2048)
    step5 = admin.post("/ui/vms/new", {"step": "4", "go": "next", "name": "installer", "generation": "1",
                                       "memory": "512", "processors": "1", "switch": "", "disk": "existing",
                                       "disk_file": str(folder / "old.vhdx"), "media": "later"})
    assert "Installation options" in step5.body and str(folder / "install.iso") in step5.body
    guid = make_vm(admin, "installer", disk="existing", disk_file=str(folder / "old.vhdx"), media="iso",
                   iso=str(folder / "install.iso"))
    page = re.sub(r"\s+", " ", admin.get(f"/ui/vms/{guid}").body)
    assert f"Hard drive on IDE 0 slot 0: {folder / 'old.vhdx'}" in page
    assert f"DVD drive on IDE 1 slot 0: {folder / 'install.iso'}" in page
    outside = admin.post("/ui/vms/new", {"step": "5", "go": "next", "name": "x", "generation": "1", "memory": "512",
                                         "processors": "1", "switch": "", "disk": "none", "media": "iso",
                                         "iso": "/etc/passwd"})
    assert outside.status == 422 and "choose one from the storage roots" in outside.body
    odd = admin.post("/ui/vms/new", {"step": "1", "go": "next", "name": "x", "memory": "513"})
    assert odd.status == 422 and "multiple of 2 MB" in odd.body


def test_checkpoints_form_a_tree_and_are_renamed_and_deleted(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "branching")
    path = f"/ui/vms/{guid}/checkpoints"
    for _ in range(3):  # a chain: first, its child, its grandchild
        answer = admin.post(path, {})
        assert "Checkpoint created" in answer.body, answer.body
    tree = answer.body
    ids = re.findall(r'name="checkpoint" value="([^"]+)"', tree)
    assert len(ids) == 3 and tree.count('role="group"') == 3  # nested three deep
    renamed = admin.post(f"{path}/change", {"checkpoint": ids[0], "action": "rename", "name": "base install"})
    assert "Checkpoint renamed" in renamed.body and "base install" in renamed.body
    refused = admin.post(f"{path}/change", {"checkpoint": "Microsoft:not-ours", "action": "delete"})
    assert 'role="alert"' in refused.body and "no checkpoint" in refused.body
    middle = admin.post(f"{path}/change", {"checkpoint": ids[1], "action": "delete-subtree"})
    assert "Checkpoint subtree deleted" in middle.body, middle.body
    assert re.findall(r'name="checkpoint" value="([^"]+)"', middle.body) == [ids[0]]
    last = admin.post(f"{path}/change", {"checkpoint": ids[0], "action": "delete"})
    assert "Checkpoint deleted" in last.body and "No checkpoints." in last.body


def test_a_dvd_is_ejected_and_another_file_inserted(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    folder = web_server.data_dir / "storage"
    (folder / "one.iso").write_bytes(b"\0" * 2048)
    (folder / "two.iso").write_bytes(b"\0" * 2048)
    guid = make_vm(admin, "changer", generation="2", media="iso", iso=str(folder / "one.iso"))
    drive = re.search(r'name="eject" value="([^"]+)"', admin.get(f"/ui/vms/{guid}").body).group(1)
    base = f"/ui/vms/{guid}/settings/drives"
    assert "Disc ejected" in admin.post(base, {"eject": drive}).body
    assert "DVD drive on SCSI 0 slot 0: empty" in re.sub(r"\s+", " ", admin.get(f"/ui/vms/{guid}").body)
    outside = admin.post(base, {"insert": drive, "file": "/etc/hostname"})
    assert outside.status == 409 and 'role="alert"' in outside.body
    assert "Disc inserted" in admin.post(base, {"insert": drive, "file": str(folder / "two.iso")}).body
    assert f"DVD drive on SCSI 0 slot 0: {folder / 'two.iso'}" in re.sub(r"\s+", " ", admin.get(f"/ui/vms/{guid}").body)


def test_integration_services_and_network_adapters_follow_the_dialog(web_server: LiveServer) -> None:
    admin = signed_in(web_server.port, "alice")
    guid = make_vm(admin, "integrated")
    page = admin.get(f"/ui/vms/{guid}").body
    services = dict((label, value) for value, label in re.findall(
        r'name="enabled" value="([^"]+)"[^>]*><label for="ic-\d+">([^<]+)</label>', page))
    assert {"Heartbeat", "Shutdown"} <= set(services), services
    keep = [value for label, value in services.items() if label != "Heartbeat"]
    body = "&".join([f"csrf_token={admin.token}"] + [f"enabled={v}" for v in keep])
    sent = admin.request("POST", f"/ui/vms/{guid}/settings/integration", headers={
        "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}, body=body)
    assert "Integration services applied" in sent.body, sent.body
    heartbeat = settings_of(web_server, guid, "Msvm_HeartbeatComponentSettingData")[0]
    shutdown = settings_of(web_server, guid, "Msvm_ShutdownComponentSettingData")[0]
    assert (int(heartbeat["EnabledState"]), int(shutdown["EnabledState"])) == (3, 2)
    adapter = re.search(r'<li>Network Adapter: Default Switch\s*<button type="submit" name="remove" value="([^"]+)"', page)
    assert adapter is not None
    removed = admin.post(f"/ui/vms/{guid}/settings/adapters", {"remove": adapter.group(1)})
    assert "Network adapter removed" in removed.body
    assert settings_of(web_server, guid, "Msvm_SyntheticEthernetPortSettingData") == []
    assert settings_of(web_server, guid, "Msvm_EthernetPortAllocationSettingData") == []
