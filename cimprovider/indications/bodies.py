"""The export request each destination receives for one raised indication,
encoded once per distinct projection. Destinations whose filters keep the
same properties (every `SELECT *` filter shares the raised indication
itself) share one encoding, written with placeholders for what differs per
destination — message ID, IndicationFilterName, SequenceContext and
SequenceNumber — which are then filled in as text. With ten listeners on
one filter, an indication is encoded once instead of ten times; the bytes
are the same as encoding each delivered copy on its own."""

from __future__ import annotations

import uuid

from pywbem import CIMInstance

from cimprovider.indications.source import delivered_copy
from cimprovider.wire import write_export_request
from cimprovider.wire.scalars import escape_attr, escape_text

_TAG = uuid.uuid4().hex  # placeholders no property value will hold
_MESSAGE_ID = f"m{_TAG}".encode()
_FILTER = f"f{_TAG}".encode()
_CONTEXT = f"c{_TAG}".encode()
_NUMBER = -9_187_201_950_435_737_471  # a sint64 no sequence reaches
_NUMBER_TEXT = str(_NUMBER).encode()


def _replace_last(body: bytes, old: bytes, new: bytes) -> bytes:
    # The per-destination properties are written after every other one.
    head, found, tail = body.rpartition(old)
    return head + new + tail if found else body


class ExportBodies:
    """Bodies for one routing batch. Templates are keyed by the projected
    instance's identity and hold the instance, so the identity cannot be
    reused for another while the batch lasts."""

    def __init__(self) -> None:
        self._templates: dict[int, tuple[CIMInstance, bytes]] = {}

    def body(
        self, projected: CIMInstance, stamped: CIMInstance, filter_name: str, context: str, number: int, message_id: str
    ) -> bytes:
        found = self._templates.get(id(projected))
        if found is None:
            copy = delivered_copy(projected, stamped, _FILTER.decode(), _CONTEXT.decode(), _NUMBER)
            found = self._templates[id(projected)] = (projected, write_export_request(_MESSAGE_ID.decode(), copy))
        template = found[1]
        body = template.replace(_MESSAGE_ID, escape_attr(message_id).encode(), 1)
        body = _replace_last(body, _NUMBER_TEXT, str(number).encode())
        body = _replace_last(body, _CONTEXT, escape_text(context).encode())
        return _replace_last(body, _FILTER, escape_text(filter_name).encode())
