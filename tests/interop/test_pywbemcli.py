"""pywbemcli against the server, as a subprocess: pull operations first
(its default), the classic fallback, and the discovery commands."""

from __future__ import annotations

from tests.interop.conftest import run_tool


def pywbemcli(server, *args: str, namespace: str = "root/interop"):
    return run_tool("pywbemcli", "-s", f"http://127.0.0.1:{server.port}", "-d", namespace, "--no-verify", *args)


def test_namespace_list(server):
    result = pywbemcli(server, "-o", "text", "namespace", "list")
    assert result.returncode == 0, result.stderr
    assert "root/interop" in result.stdout and "root/virtualization/v2" in result.stdout


def test_profile_list(server):
    result = pywbemcli(server, "-o", "plain", "profile", "list")
    assert result.returncode == 0, result.stderr
    assert "Profile Registration" in result.stdout


def test_class_enumerate_and_get(server):
    result = pywbemcli(server, "class", "enumerate", "--names-only")
    assert result.returncode == 0, result.stderr
    assert "CIM_ManagedElement" in result.stdout
    got = pywbemcli(server, "-o", "mof", "class", "get", "CIM_ObjectManager")
    assert got.returncode == 0, got.stderr
    assert "class CIM_ObjectManager : CIM_WBEMService" in got.stdout


def test_instance_enumerate_pull_and_classic(server):
    for pull in ("yes", "no"):
        result = pywbemcli(server, "--use-pull", pull, "-o", "mof", "instance", "enumerate", "CIM_RegisteredProfile")
        assert result.returncode == 0, result.stderr
        assert 'RegisteredName = "WBEM Server";' in result.stdout


def test_instance_count(server):
    result = pywbemcli(server, "-o", "plain", "instance", "count", "CIM_RegisteredProfile")
    assert result.returncode == 0, result.stderr
    # One row per namespace and class: "root/interop  CIM_RegisteredProfile  N"
    rows = [line.split() for line in result.stdout.splitlines() if "CIM_RegisteredProfile" in line]
    assert rows and rows[0][0] == "root/interop"
    assert int(rows[0][-1]) >= 2


def test_instance_get(server):
    result = pywbemcli(
        server, "-o", "mof", "instance", "get", 'CIM_RegisteredProfile.InstanceID="DMTF+WBEM Server+1.0.0"'
    )
    assert result.returncode == 0, result.stderr
    assert "RegisteredOrganization = 2;" in result.stdout


def test_pull_requests_are_recognised_without_a_parser(server):
    from cimprovider.wire import safexml

    counts = safexml.counts
    before = (counts.recognised, counts.small, counts.walked)
    result = pywbemcli(server, "--use-pull", "yes", "--pull-max-cnt", "1", "-o", "mof", "instance", "enumerate",
                       "CIM_RegisteredProfile")
    assert result.returncode == 0, result.stderr
    profiles = result.stdout.count("instance of CIM_RegisteredProfile")
    assert profiles >= 2
    # One instance per round trip: an open and a pull for each further
    # instance at least, every one recognised in the common layout.
    assert (counts.small, counts.walked) == before[1:]
    assert counts.recognised - before[0] >= profiles
