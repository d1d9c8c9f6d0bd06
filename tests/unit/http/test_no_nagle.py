"""The sockets `cimprovider serve` accepts connections on send at once
(TCP_NODELAY): with Nagle's algorithm on, an answer written as headers
then body waits for the client's delayed acknowledgement of the headers,
about 40 ms per request on a kept-alive connection."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn

from cimprovider.serving import event_loop, listening_socket


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, event_loop], ids=["asyncio", "served loop"])
def test_connections_accepted_on_the_listening_socket_have_nagle_off(loop_factory) -> None:
    server = uvicorn.Server(uvicorn.Config(app=None, host="127.0.0.1", port=0))
    listener = listening_socket(server)
    port = listener.getsockname()[1]
    seen: list[int] = []

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            seen.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        loop = asyncio.get_running_loop()
        served = await loop.create_server(Record, sock=listener)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(600):  # up to 60 s for the server to see the connection
            if seen:
                break
            await asyncio.sleep(0.1)
        writer.close()
        served.close()
        await served.wait_closed()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(accept_one())
    assert seen and seen[0] != 0, "the server's connection has Nagle's algorithm on"
