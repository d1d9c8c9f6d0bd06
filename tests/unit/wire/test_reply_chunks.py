"""A reply sent in chunks (HTTPS, trailers) is every byte of its pieces, in
order, and no chunk carries a joined whole list (megabytes) in one piece:
each stays near the chunk size, so the transport never buffers it whole."""

from __future__ import annotations

from cimprovider.wire.reply import CHUNK_SIZE, ReplyBody


def _reply(pieces: list[bytes | memoryview]):
    body = ReplyBody()
    for piece in pieces:
        body.add(piece)  # type: ignore[arg-type]
    return body.finish()


def test_chunks_of_small_and_joined_pieces_are_the_reply_in_order() -> None:
    joined = bytes(range(251)) * 20_000  # 5 MB, as a joined whole list
    pieces: list[bytes | memoryview] = [b"<head>", b"", b"x" * 70_000, joined, b"y" * 10, memoryview(joined)[3:300_003], b"</tail>"]
    reply = _reply(pieces)
    chunks = list(reply.chunks())
    assert b"".join(chunks) == b"".join(pieces) == bytes(reply)
    assert all(type(chunk) is bytes for chunk in chunks)
    assert max(map(len, chunks)) <= 2 * CHUNK_SIZE
