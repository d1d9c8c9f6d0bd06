"""A server that keeps reply XML beside one that builds every reply, over
the same model, and the requests both are asked: what the kept-reply tests
compare byte for byte."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cimprovider.backends.protocol import change_power_state
from cimprovider.cimom import ANONYMOUS_ADMIN, CIMOM
from cimprovider.http.app import CIMApplication
from cimprovider.http.gather import _Position
from cimprovider.schemas.config import ServerConfig
from cimprovider.schemas.devices import NetworkAdapter
from cimprovider.schemas.power import PowerRequest
from cimprovider.schemas.vm import SystemSettings
from cimprovider.server import build_application
from cimprovider.wire import KeptXml, Reply

NS = "root/virtualization/v2"
_NS_XML = "".join(f'<NAMESPACE NAME="{part}"/>' for part in NS.split("/"))
_CONTEXT = re.compile(rb'(NAME="EnumerationContext"[^>]*><VALUE>)([^<]*)(</VALUE>)')
_END = re.compile(rb'NAME="EndOfSequence"[^>]*><VALUE>(TRUE|FALSE)</VALUE>', re.IGNORECASE)
_UPTIME = re.compile(rb'(<PROPERTY NAME="OnTimeInMilliseconds"[^>]*><VALUE>)\d+(</VALUE>)')


@dataclass
class Pair:
    kept: CIMApplication
    built: CIMApplication  # the same model, nothing kept
    parts: Any

    @property
    def store(self) -> KeptXml:
        assert self.kept.kept is not None
        return self.kept.kept

    @property
    def backend(self) -> Any:
        return self.parts.registry.instance_provider(NS, "Msvm_ComputerSystem").virt.backend


def populate(backend: Any) -> None:
    """What the kept-reply tests ask about: a resting VM with a NIC and a
    snapshot, and a running one (whose uptime moves between replies)."""
    resting = backend.define_vm(SystemSettings(name="resting", notes="kept"))
    backend.add_device(resting.id, NetworkAdapter(name="Front end", switch_id=backend.list_switches()[0].id))
    backend.create_snapshot(resting.id, name="before")
    running = backend.define_vm(SystemSettings(name="running"))
    change_power_state(backend, running.id, PowerRequest.START)


@contextmanager
def server_pair(data_dir: Path, **config: object) -> Iterator[Pair]:
    found: dict[str, Any] = {}
    settings = ServerConfig(data_dir=data_dir, host_name="keeper", transition_seconds=0.0, **config)
    kept = build_application(settings, [lambda registry, catalog, parts: found.update(parts=parts)])
    engine = kept.cimom.engine
    built = CIMApplication(CIMOM(engine.repository, engine.providers, engine.host), kept.authenticator)
    try:
        yield Pair(kept, built, found["parts"])
    finally:
        built.pool.shutdown()
        kept.pool.shutdown()
        for close in found["parts"].on_shutdown:
            close()


def iparam(name: str, value: Any) -> str:
    if isinstance(value, bool):
        inner = f"<VALUE>{'TRUE' if value else 'FALSE'}</VALUE>"
    elif isinstance(value, list):
        inner = "<VALUE.ARRAY>" + "".join(f"<VALUE>{v}</VALUE>" for v in value) + "</VALUE.ARRAY>"
    elif name == "ClassName":
        inner = f'<CLASSNAME NAME="{value}"/>'
    else:
        inner = f"<VALUE>{value}</VALUE>"
    return f'<IPARAMVALUE NAME="{name}">{inner}</IPARAMVALUE>'


def request(method: str, **params: Any) -> bytes:
    body = "".join(iparam(name, value) for name, value in params.items() if value is not None)
    return (
        '<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0">'
        f'<MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="{method}">'
        f"<LOCALNAMESPACEPATH>{_NS_XML}</LOCALNAMESPACEPATH>{body}</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>"
    ).encode()


def reply(app: CIMApplication, body: bytes) -> bytes:
    """What the HTTP layer would send: every chunk of the answer."""
    answer = app.operate_in_pieces(body, ANONYMOUS_ADMIN)
    assert answer.status == 200
    sent = b"".join(answer.chunks())
    if isinstance(answer.body, Reply):
        assert gathered(answer.body) == sent, "the reply's known piece ends do not match its pieces"
    return sent


def gathered(body: Reply) -> bytes:
    """The bytes a gathering writer offers, batch by batch, when every
    writev takes all but the last byte of its batch (a cut inside a piece)
    and then the rest: the writer's bisection over the pieces' known ends
    (a kept whole list's) must find every next byte."""
    position = _Position(body.pieces, body.measured)
    out = bytearray()
    while not position.done:
        batch, offered = position.batch()
        joined = b"".join(batch)
        assert len(joined) == offered
        taken = max(offered - 1, 1) if offered > 1 else offered
        out += joined[:taken]
        position.advance(taken, offered)
    return bytes(out)


def pulled(app: CIMApplication, classname: str, max_objects: int, **params: Any) -> list[bytes]:
    """Every reply of a pull enumeration, the context ids made neutral."""
    replies = [reply(app, request("OpenEnumerateInstances", ClassName=classname, MaxObjectCount=max_objects, **params))]
    while _END.search(replies[-1]).group(1).upper() != b"TRUE":  # type: ignore[union-attr]
        context = _CONTEXT.search(replies[-1]).group(2).decode()  # type: ignore[union-attr]
        replies.append(reply(app, request("PullInstancesWithPath", EnumerationContext=context, MaxObjectCount=max_objects)))
    return [_CONTEXT.sub(rb"\1context\3", r) for r in replies]


def without_uptime(body: bytes) -> bytes:
    """A running VM's uptime moves between any two replies."""
    return _UPTIME.sub(rb"\1-\2", body)


def uptimes(body: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb'<PROPERTY NAME="OnTimeInMilliseconds"[^>]*><VALUE>(\d+)</VALUE>', body)]
