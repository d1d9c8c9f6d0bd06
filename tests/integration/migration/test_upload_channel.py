"""The destination's upload route: only a token it issued for an accepted
offer opens it, each file is taken once and only with the size and
SHA-256 offered, and an abort takes back every file that arrived."""

from __future__ import annotations

import hashlib
import uuid
import zlib

import pytest
import requests
from pywbem import CIMInstanceName

from cimprovider.schemas.migration import FileSlot, MigratingVm, MigrationOffer
from cimprovider.schemas.vm import VirtualMachine
from tests.integration.migration.two_hosts import destination_host
from tests.integration.model.hyperv import NS

RECEIVER = CIMInstanceName("Cimprovider_IncomingMigrationService", keybindings={"Name": "incoming"}, namespace=NS)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    with destination_host(tmp_path_factory.mktemp("channel")) as b:
        yield b


def offer_for(root, content: bytes) -> MigrationOffer:
    vm = VirtualMachine(id=uuid.uuid4(), name="incoming")
    slot = FileSlot(path=str(root / "in" / f"{vm.id}.iso"), size=len(content), sha256=hashlib.sha256(content).hexdigest())
    return MigrationOffer(source_host="elsewhere", backend="simulated", record=MigratingVm(vm=vm), files=(slot,))


def prepare(host, offer: MigrationOffer) -> str:
    code, out = host.conn.InvokeMethod("PrepareIncoming", RECEIVER, Offer=offer.model_dump_json(), CheckOnly=False)
    assert code == 0, out.get("Reasons")
    return out["Token"]


def test_only_the_issued_token_the_offered_bytes_and_once(host):
    content = b"disk image bytes" * 1000
    offer = offer_for(host.root, content)
    token = prepare(host, offer)
    target = host.root / "in" / f"{offer.record.vm.id}.iso"
    assert requests.put(f"{host.live.url}/migration/{'x' * 43}/0", data=content, timeout=30).status_code == 403
    wrong = requests.put(f"{host.live.url}/migration/{token}/0", data=content[:-1] + b"!", timeout=30)
    assert wrong.status_code == 422 and "SHA-256" in wrong.text
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert requests.put(f"{host.live.url}/migration/{token}/1", data=content, timeout=30).status_code == 404
    assert requests.put(f"{host.live.url}/migration/{token}/0", data=content + b"more", timeout=30).status_code == 413
    assert requests.put(f"{host.live.url}/migration/{token}/0", data=content, timeout=30).status_code == 204
    assert target.read_bytes() == content
    assert requests.put(f"{host.live.url}/migration/{token}/0", data=content, timeout=30).status_code == 409
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=token)[0] == 0
    assert not target.exists()
    assert requests.put(f"{host.live.url}/migration/{token}/0", data=content, timeout=30).status_code == 403


def test_an_offer_outside_the_storage_roots_is_refused_with_no_token(host, tmp_path):
    offer = offer_for(tmp_path, b"x")
    code, out = host.conn.InvokeMethod("PrepareIncoming", RECEIVER, Offer=offer.model_dump_json(), CheckOnly=False)
    assert code == 32768 and out.get("Token") is None
    assert any("storage roots" in reason for reason in out["Reasons"])


def test_an_anonymous_caller_cannot_prepare(host):
    anonymous = host.live.connection(NS)
    with pytest.raises(Exception) as raised:
        anonymous.InvokeMethod("PrepareIncoming", RECEIVER, Offer="{}", CheckOnly=True)
    assert "401" in str(raised.value)


def test_a_deflated_file_is_inflated_and_checked_as_offered(host):
    content = bytes(range(256)) * 4000  # ~1 MB, compresses well
    offer = offer_for(host.root, content)
    token = prepare(host, offer)
    target = host.root / "in" / f"{offer.record.vm.id}.iso"
    url = f"{host.live.url}/migration/{token}/0"
    assert requests.put(url, data=content, headers={"Content-Encoding": "gzip"}, timeout=30).status_code == 415
    packed = zlib.compress(content)
    assert len(packed) < len(content) // 10
    cut = requests.put(url, data=packed[:-20], headers={"Content-Encoding": "deflate"}, timeout=30)
    assert cut.status_code == 400 and not target.exists()
    bomb = requests.put(url, data=zlib.compress(content + b"\0" * 10_000_000), headers={"Content-Encoding": "deflate"}, timeout=30)
    assert bomb.status_code == 413 and not target.exists()
    assert requests.put(url, data=packed, headers={"Content-Encoding": "deflate"}, timeout=30).status_code == 204
    assert target.read_bytes() == content
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=token)[0] == 0


def qcow2_naming(path, backing) -> bytes:
    import subprocess

    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", str(backing), "-F", "raw", str(path), "16M"],
                   check=True)
    return path.read_bytes()


def test_an_image_naming_a_backing_file_outside_the_roots_is_refused_naming_it(host, tmp_path):
    outside = tmp_path / "etc-like" / "secret.raw"
    outside.parent.mkdir()
    outside.write_bytes(b"not the destination's to read")
    content = qcow2_naming(tmp_path / "crafted.qcow2", outside)
    vm = VirtualMachine(id=uuid.uuid4(), name="incoming")
    target = host.root / "in" / f"{vm.id}.qcow2"
    slot = FileSlot(path=str(target), size=len(content), sha256=hashlib.sha256(content).hexdigest())
    token = prepare(host, MigrationOffer(source_host="elsewhere", backend="simulated", record=MigratingVm(vm=vm), files=(slot,)))

    refused = requests.put(f"{host.live.url}/migration/{token}/0", data=content, timeout=30)
    assert refused.status_code == 422 and str(outside) in refused.text, refused.text
    assert not target.exists() and not target.with_name(target.name + ".migrating").exists()
    assert host.conn.InvokeMethod("CommitIncoming", RECEIVER, Token=token)[0] != 0


def test_a_parent_offered_outside_the_roots_is_refused(host, tmp_path):
    vm = VirtualMachine(id=uuid.uuid4(), name="incoming")
    child = FileSlot(path=str(host.root / "in" / f"{vm.id}.qcow2"), size=1, sha256="0" * 64, parent=str(tmp_path / "base.qcow2"))
    offer = MigrationOffer(source_host="elsewhere", backend="simulated", record=MigratingVm(vm=vm), files=(child,))
    code, out = host.conn.InvokeMethod("PrepareIncoming", RECEIVER, Offer=offer.model_dump_json(), CheckOnly=False)
    assert code == 32768 and out.get("Token") is None
    assert any(str(tmp_path / "base.qcow2") in reason for reason in out["Reasons"]), out["Reasons"]
