"""The upload channel for a migration's files, on the destination's own
HTTP(S) port: `PUT /migration/<token>/<index>` with the file as the body.
The token is the one the destination gave over authenticated CIM-XML for
this migration only; each file may be sent once, must be exactly as big
as offered and must hash to the SHA-256 offered, else it is discarded.
A body sent with `Content-Encoding: deflate` (a migration with
EnableCompression) is inflated as it arrives, never beyond the size
offered. Writing runs off the event loop."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from cimprovider.migration.incoming import IncomingMigrations
from cimprovider.migration.upload import Upload, UploadRefused

log = logging.getLogger("cimprovider.migration")
PREFIX = "/migration/"
INFLATE_STEP = 1024 * 1024
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
        encoding = dict(scope.get("headers") or []).get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if encoding not in ("identity", "deflate"):
            return 415, f"Content-Encoding {encoding!r}: files are sent as they are or deflated\n".encode()
        loop = asyncio.get_running_loop()
        try:
            upload = await loop.run_in_executor(None, self.incoming.open_upload, token, index)
        except UploadRefused as refused:
            return refused.status, f"{refused}\n".encode()
        try:
            complete = await self._receive(upload, receive, zlib.decompressobj() if encoding == "deflate" else None)
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
    async def _receive(upload: Upload, receive: Receive, inflater: "zlib._Decompress | None") -> bool:
        """Write the body; False if the sender went away first."""
        loop = asyncio.get_running_loop()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            if chunk:
                write = upload.write if inflater is None else _inflating(upload, inflater)
                await loop.run_in_executor(None, write, chunk)
            if not message.get("more_body", False):
                if inflater is not None and not inflater.eof:
                    raise UploadRefused(400, f"{upload.slot.path}: the deflated body ends before its stream does")
                return True


def _inflating(upload: Upload, inflater: "zlib._Decompress") -> Callable[[bytes], None]:
    """Write what `chunk` inflates to, a bounded piece at a time, so a small
    body cannot blow up in memory; the upload refuses what passes the size."""

    def write(chunk: bytes) -> None:
        try:
            data = inflater.decompress(chunk, INFLATE_STEP)
            while True:
                if data:
                    upload.write(data)
                if not inflater.unconsumed_tail:
                    return
                data = inflater.decompress(inflater.unconsumed_tail, INFLATE_STEP)
        except zlib.error as error:
            raise UploadRefused(400, f"{upload.slot.path}: the deflated body is corrupt ({error})") from None

    return write
