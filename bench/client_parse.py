"""pywbem's parse of a response, timed in a separate process that runs as a
client does: with Python's default garbage-collector settings, not the
server's (which tunes them), and nothing else in its heap.

    seconds, instances = client_parse(body)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CLIENT = """
import json, sys, time
from pywbem._tupleparse import TupleParser
from pywbem._tupletree import xml_to_tupletree_sax
body = open(sys.argv[1], "rb").read()
started = time.perf_counter()
parsed = TupleParser().parse_cim(xml_to_tupletree_sax(body, "CIM-XML response"))
seconds = time.perf_counter() - started
ireturnvalue = parsed[2][2][2][2][0]  # CIM > MESSAGE > SIMPLERSP > IMETHODRESPONSE > IRETURNVALUE
print(json.dumps({"seconds": seconds, "instances": len(ireturnvalue[2])}))
"""


def client_parse(body: bytes) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "response.xml"
        path.write_bytes(body)
        done = subprocess.run([sys.executable, "-c", _CLIENT, str(path)], capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout)
    return answer["seconds"], answer["instances"]
