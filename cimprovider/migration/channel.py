"""The upload channel for a migration's files, on the destination's own
HTTP(S) port: `PUT /migration/<token>/<index>` with the file as the body.
The token is the one the destination gave over authenticated CIM-XML for
this migration only; each file may be sent once, must be exactly as big
as offered and must hash to the SHA-256 offered, else it is discarded.
Writing runs off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cimprovider.migration.incoming import IncomingMigrations, Upload, UploadRefused

log = logging.getLogger("cimprovider.migration")
PREFIX = "/migration/"
Receive = Callable[[], Awaitable[dict[str, Any]]]


class UploadChannel:
    def __init__(self, incoming: IncomingMigrations) -> None:
        self.incoming = incoming

    async def __call__(self, scope: dict[str, Any], receive: Receive) -> tuple[int, bytes]:
        if scope["method"] != "PUT":
            return 405, b"files are sent with PUT\n"
        parts = scope["path"][len(PREFIX):].split("/")
        if len(parts) != 2 or not parts[1].isdigit():
            return 404, b"expected /migration/<token>/<index>\n"
        token, index = parts[0], int(parts[1])
        loop = asyncio.get_running_loop()
        try:
            upload = await loop.run_in_executor(None, self.incoming.open_upload, token, index)
        except UploadRefused as refused:
            return refused.status, f"{refused}\n".encode()
        try:
            complete = await self._receive(upload, receive)
        except UploadRefused as refused:
            await loop.run_in_executor(None, self.incoming.close_upload, token, index, upload, False)
            return refused.status, f"{refused}\n".encode()
        except BaseException:
            await loop.run_in_executor(None, self.incoming.close_upload, token, index, upload, False)
            raise
        try:
            await loop.run_in_executor(None, self.incoming.close_upload, token, index, upload, complete)
        except UploadRefused as refused:
            return refused.status, f"{refused}\n".encode()
        return (204, b"") if complete else (400, b"the sender went away\n")

    @staticmethod
    async def _receive(upload: Upload, receive: Receive) -> bool:
        """Write the body; False if the sender went away first."""
        loop = asyncio.get_running_loop()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            if chunk:
                await loop.run_in_executor(None, upload.write, chunk)
            if not message.get("more_body", False):
                return True
