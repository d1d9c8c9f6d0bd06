"""`cimprovider serve`'s options for where indications may go and how many
pull enumeration contexts a client may hold, given on the command line."""

from __future__ import annotations

import pytest
import pywbem
from pywbem import CIM_ERR_INVALID_PARAMETER, CIM_ERR_SERVER_LIMITS_EXCEEDED, CIMError, CIMInstance

from tests.integration.serve.test_serve_command import run_cli
from tests.support.live import serve_process


def test_listener_networks_and_pull_share_from_the_command_line(tmp_path) -> None:
    args = ("--port", "0", "--data-dir", str(tmp_path), "--listener-allow", "127.0.0.2/32",
            "--max-pull-contexts-per-principal", "1")
    with serve_process(*args) as served:
        conn = pywbem.WBEMConnection(served.url, default_namespace="root/interop", timeout=30)
        # Refused before any connection: nothing listens there, nothing is tried.
        outside = CIMInstance("CIM_ListenerDestinationCIMXML",
                              properties={"Name": "outside", "Destination": "http://127.0.0.3:1"})
        with pytest.raises(CIMError) as err:
            conn.CreateInstance(outside)
        assert err.value.status_code == CIM_ERR_INVALID_PARAMETER
        assert "outside" in err.value.status_description and "127.0.0.2/32" in err.value.status_description
        inside = CIMInstance("CIM_ListenerDestinationCIMXML",
                             properties={"Name": "inside", "Destination": "http://127.0.0.2:1"})
        conn.DeleteInstance(conn.CreateInstance(inside))

        opened = conn.OpenEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=0)
        with pytest.raises(CIMError) as err:
            conn.OpenEnumerateInstances("CIM_RegisteredProfile", MaxObjectCount=0)
        assert err.value.status_code == CIM_ERR_SERVER_LIMITS_EXCEEDED
        assert "client 127.0.0.1" in err.value.status_description
        conn.CloseEnumeration(opened.context)


def test_an_unusable_listener_ca_file_stops_the_start(tmp_path) -> None:
    missing = tmp_path / "absent-ca.pem"
    result = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path), "--listener-ca-file", str(missing))
    assert result.returncode == 2  # a file named on the command line that is not there: usage
    assert "--listener-ca-file" in result.stderr and "absent-ca.pem" in result.stderr


def test_no_verify_and_a_ca_file_together_are_refused(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    result = run_cli("serve", "--port", "0", "--data-dir", str(tmp_path), "--listener-ca-file", str(ca),
                     "--listener-no-verify")
    assert result.returncode == 2 and "--listener-no-verify: cannot be combined with --listener-ca-file" in result.stderr
