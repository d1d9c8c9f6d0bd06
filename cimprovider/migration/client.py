"""The source's client of a destination host: CIM-XML over pywbem, signed
in with the peer's credentials, to the destination's
Cimprovider_IncomingMigrationService (check, prepare, commit, abort, and
whether it owns the VM or is still adopting it); and the file uploads to
its channel, streamed in chunks with progress. Every call gives up after
the peer's `timeout`."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pywbem
import requests

from cimprovider.migration.peers import Peer
from cimprovider.schemas.migration import MigrationOffer

NAMESPACE = "root/virtualization/v2"
RECEIVER = "Cimprovider_IncomingMigrationService"
CHUNK = 1024 * 1024
REFUSED = 32768
ABSENT, ARRIVING, OWNED = 0, 1, 2  # ArrivalState's answers


class PeerUnreachable(Exception):
    """The destination did not answer, or answered nothing usable."""


class StillArriving(PeerUnreachable):
    """The destination is still adopting the VM: neither its own nor
    gone; ask again later, as of a destination that does not answer."""


class PeerRefused(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class PeerClient:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        verify: bool | str = str(peer.ca_file) if peer.ca_file else not peer.no_verify
        self.verify = verify
        self.conn = pywbem.WBEMConnection(
            peer.url, peer.credentials, default_namespace=NAMESPACE, timeout=peer.timeout,
            no_verification=peer.no_verify, ca_certs=str(peer.ca_file) if peer.ca_file else None,
        )

    def _receiver(self) -> pywbem.CIMInstanceName:
        return pywbem.CIMInstanceName(RECEIVER, keybindings={"Name": "incoming"}, namespace=NAMESPACE)

    def _invoke(self, method: str, **params: object) -> tuple[int, dict]:
        try:
            code, out = self.conn.InvokeMethod(method, self._receiver(), **params)
        except pywbem.CIMError as error:
            if error.status_code in (pywbem.CIM_ERR_INVALID_CLASS, pywbem.CIM_ERR_NOT_FOUND):
                raise PeerRefused([f"{self.peer.url} is not a cimprovider host that takes migrations"]) from None
            raise PeerRefused([f"{self.peer.url} refused: {error.status_description}"]) from None
        except (pywbem.Error, OSError) as error:
            raise PeerUnreachable(f"{self.peer.url}: {error}") from None
        return int(code), dict(out)

    def prepare(self, offer: MigrationOffer, check_only: bool) -> str | None:
        return self.accept(offer, check_only)[0]

    def accept(self, offer: MigrationOffer, check_only: bool = False) -> tuple[str | None, str | None]:
        """(the token, the URI of the destination's hypervisor if it moves VMs itself)."""
        code, out = self._invoke("PrepareIncoming", Offer=offer.model_dump_json(), CheckOnly=check_only)
        if code != 0:
            raise PeerRefused(list(out.get("Reasons") or [f"refused with {code}"]))
        return out.get("Token"), out.get("HypervisorURI")

    def commit(self, token: str) -> None:
        code, out = self._invoke("CommitIncoming", Token=token)
        if code != 0:
            raise PeerRefused(list(out.get("Reasons") or [f"commit refused with {code}"]))

    def abort(self, token: str | None, vm_id: UUID) -> None:
        self._invoke("AbortIncoming", Token=token, VirtualSystemName=str(vm_id).upper())

    def reachable(self) -> None:
        """PeerUnreachable unless something answers CIM-XML at the peer's URL."""
        try:
            self.conn.EnumerateInstanceNames(RECEIVER)
        except (pywbem.ConnectionError, pywbem.TimeoutError, OSError) as error:
            raise PeerUnreachable(f"{self.peer.url}: {error}") from None
        except pywbem.Error:
            return  # it answered; what it said is for the calls that follow

    def owns(self, vm_id: UUID) -> bool:
        """True if the destination has the VM, False if it neither has it
        nor is adopting it; StillArriving while it adopts it."""
        try:
            code, out = self._invoke("ArrivalState", VirtualSystemName=str(vm_id).upper())
        except PeerRefused as refused:
            raise PeerUnreachable(f"{self.peer.url} cannot say whether it has the VM: {refused}") from None
        state = out.get("State")
        if code != 0 or state not in (ABSENT, ARRIVING, OWNED):
            raise PeerUnreachable(f"{self.peer.url} cannot say whether it has the VM ({code}, {state!r})")
        if state == ARRIVING:
            raise StillArriving(f"{self.peer.url} is still adopting the VM {vm_id}")
        return state == OWNED

    def upload(self, token: str, index: int, source: Path, sent: Callable[[int], None], compress: bool = False) -> None:
        url = f"{self.peer.url}/migration/{token}/{index}"
        data = _deflated(_chunks(source, sent)) if compress else _chunks(source, sent)
        headers = {"Content-Encoding": "deflate"} if compress else {}
        try:
            answer = requests.put(url, data=data, headers=headers, verify=self.verify, timeout=max(120.0, self.peer.timeout))
        except requests.RequestException as error:
            raise PeerUnreachable(f"{url}: {error}") from None
        if answer.status_code != 204:
            raise PeerRefused([f"{source}: the destination refused the file ({answer.status_code}): {answer.text.strip()}"])


def _chunks(source: Path, sent: Callable[[int], None]) -> Iterator[bytes]:
    with open(source, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
            sent(len(chunk))



def _deflated(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The file as one zlib stream (HTTP's "deflate" coding)."""
    compressor = zlib.compressobj(6)
    for chunk in chunks:
        packed = compressor.compress(chunk)
        if packed:
            yield packed
    yield compressor.flush()
