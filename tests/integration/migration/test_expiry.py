"""A source that dies mid-way leaves an incoming migration on the
destination: once it has been silent (no call, no byte) for the
configured expiry, the destination drops it with every file it brought —
those that arrived and the one arriving — and a new offer of that VM is
taken again; the dead source's token opens nothing any more."""

from __future__ import annotations

import hashlib
import threading
import uuid
from pathlib import Path

import pytest
import requests
from pywbem import CIMInstanceName

from cimprovider.schemas.migration import FileSlot, MigratingVm, MigrationOffer
from cimprovider.schemas.vm import VirtualMachine
from tests.integration.migration.two_hosts import destination_host, wait_until
from tests.integration.model.hyperv import NS

RECEIVER = CIMInstanceName("Cimprovider_IncomingMigrationService", keybindings={"Name": "incoming"}, namespace=NS)
FIRST, SECOND = b"the first disk" * 4096, b"the second disk" * 65536


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    with destination_host(tmp_path_factory.mktemp("expiry"), incoming_migration_expiry_seconds=2.0) as b:
        yield b


def offer_of(root: Path, vm: VirtualMachine) -> MigrationOffer:
    slots = tuple(
        FileSlot(path=str(root / "incoming" / f"{vm.id}-{n}.vhd"), size=len(data), sha256=hashlib.sha256(data).hexdigest())
        for n, data in enumerate((FIRST, SECOND))
    )
    return MigrationOffer(source_host="dead-source", backend="simulated", record=MigratingVm(vm=vm), files=slots)


def prepare(host, offer: MigrationOffer) -> tuple[int, dict]:
    code, out = host.conn.InvokeMethod("PrepareIncoming", RECEIVER, Offer=offer.model_dump_json(), CheckOnly=False)
    return int(code), dict(out)


def test_a_silent_source_leaves_no_files_and_no_claim_on_the_vm(host):
    vm = VirtualMachine(id=uuid.uuid4(), name="orphan")
    offer = offer_of(host.root, vm)
    code, out = prepare(host, offer)
    assert code == 0, out
    token = out["Token"]
    first, second = (Path(slot.path) for slot in offer.files)
    assert requests.put(f"{host.live.url}/migration/{token}/0", data=FIRST, timeout=30).status_code == 204
    # The source sends part of the second file, then hangs with the
    # connection open, as a source that froze would.
    resume = threading.Event()
    answers: list[requests.Response] = []

    def body():
        yield SECOND[: len(SECOND) // 2]
        resume.wait(120)
        yield SECOND[len(SECOND) // 2:]

    sender = threading.Thread(target=lambda: answers.append(
        requests.put(f"{host.live.url}/migration/{token}/1", data=body(), timeout=120)))
    sender.start()
    partial = second.with_name(second.name + ".migrating")
    wait_until(lambda: partial.exists() and partial.stat().st_size > 0, "receiving the second file")
    assert first.exists()

    wait_until(lambda: not first.exists() and not partial.exists(), "dropping the silent migration's files")
    assert sorted(p.name for p in first.parent.iterdir()) == []
    resume.set()
    sender.join(timeout=120)
    assert answers and answers[0].status_code in (403, 410), answers
    assert not second.exists() and not partial.exists()
    code, out = host.conn.InvokeMethod("CommitIncoming", RECEIVER, Token=token)
    assert code == 32768 and "no migration holds this token" in out["Reasons"][0]
    # The VM may be offered again (before, it was "already migrating").
    code, out = prepare(host, offer)
    assert code == 0, out
    assert host.conn.InvokeMethod("AbortIncoming", RECEIVER, Token=out["Token"])[0] == 0


def test_a_source_that_keeps_sending_is_not_expired(host):
    vm = VirtualMachine(id=uuid.uuid4(), name="alive")
    offer = offer_of(host.root, vm)
    code, out = prepare(host, offer)
    assert code == 0, out
    token = out["Token"]
    # The second file trickles in over two expiry periods: each chunk is
    # a sign of life.
    sent = threading.Event()
    rounds = 0

    def body():
        nonlocal rounds
        step = len(SECOND) // 16
        for start in range(0, len(SECOND), step):
            yield SECOND[start:start + step]
            rounds += 1
            sent.wait(0.25)

    assert requests.put(f"{host.live.url}/migration/{token}/0", data=FIRST, timeout=30).status_code == 204
    answer = requests.put(f"{host.live.url}/migration/{token}/1", data=body(), timeout=120)
    assert answer.status_code == 204, answer.text
    assert rounds == 16  # four seconds of trickling: twice the expiry
    code, out = host.conn.InvokeMethod("CommitIncoming", RECEIVER, Token=token)
    assert code == 0, out
    assert all(Path(slot.path).exists() for slot in offer.files)
