"""Replies shaped for a client that reads less of DSP0201 than it allows.

sblim wbemcli's parser refuses the EmbeddedObject attribute on
PROPERTY.ARRAY ("Unknown attribute in list for PROPERTY.ARRAY"), though it
reads it on PROPERTY and PARAMVALUE. For that client an array of embedded
instances leaves as the array of strings it is typed as, each value the
instance's escaped CIM-XML: what DSP0201 sent before the attribute was
defined, and what wbemcli prints. Every other client gets the attribute."""

from __future__ import annotations

import re

from cimprovider.wire.reply import Reply

_MARK = b' EmbeddedObject="'
# Inside a value the instance's quotes are escaped (&quot;), so the
# attribute in raw bytes is always markup, and an opener is always written
# whole into one piece.
_ON_ARRAY = re.compile(rb'(<PROPERTY\.ARRAY [^>]*?) EmbeddedObject="(?:instance|object)"')


def without_array_embedding(body: bytes | Reply) -> bytes | Reply:
    """`body` with EmbeddedObject taken off every PROPERTY.ARRAY."""
    if isinstance(body, Reply):
        pieces = [_plain(piece) for piece in body.pieces]
        return Reply(pieces, sum(map(len, pieces)))
    return _plain(body)


def _plain(piece: bytes | memoryview) -> bytes:
    piece = piece if isinstance(piece, bytes) else bytes(piece)
    return _ON_ARRAY.sub(rb"\1", piece) if _MARK in piece else piece
