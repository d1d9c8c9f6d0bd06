"""sblim wbemcli against the server: its hand-written parser fails on
self-closing tags and on INSTANCE inside ERROR, so these are the checks
that our writer stays within what it can read."""

from __future__ import annotations

from tests.interop.conftest import run_tool


def wbemcli(*args: str):
    result = run_tool("wbemcli", *args)
    assert "Parse Exception" not in result.stderr + result.stdout
    return result


def test_ecn_lists_interop_classes(server):
    result = wbemcli("ecn", f"http://127.0.0.1:{server.port}/root/interop")
    assert result.returncode == 0, result.stderr
    assert "CIM_RegisteredProfile" in result.stdout
    assert "CIM_ObjectManager" in result.stdout


def test_gc_shows_class_with_qualifiers(server):
    result = wbemcli("gc", f"http://127.0.0.1:{server.port}/root/interop:CIM_RegisteredProfile")
    assert result.returncode == 0, result.stderr
    assert "RegisteredOrganization" in result.stdout


def test_ei_and_ein(server):
    result = wbemcli("ei", f"http://127.0.0.1:{server.port}/root/interop:CIM_Namespace")
    assert result.returncode == 0, result.stderr
    assert "root/virtualization/v2" in result.stdout
    names = wbemcli("ein", f"http://127.0.0.1:{server.port}/root/interop:CIM_RegisteredProfile")
    assert names.returncode == 0, names.stderr
    assert "DMTF+Profile Registration+1.0.0" in names.stdout


def test_gi_by_path_from_ein(server):
    names = wbemcli("ein", f"http://127.0.0.1:{server.port}/root/interop:CIM_ObjectManager")
    path = names.stdout.strip().splitlines()[0]
    # ein prints "host:port/ns:Class.keys"; gi wants the URL form.
    local = path.split("/", 1)[1]
    result = wbemcli("gi", f"http://127.0.0.1:{server.port}/{local}")
    assert result.returncode == 0, result.stderr
    assert "ElementName=\"cimprovider\"" in result.stdout


def test_ai_follows_conformance_to_profiles(server):
    names = wbemcli("ein", f"http://127.0.0.1:{server.port}/root/interop:CIM_ObjectManager")
    local = names.stdout.strip().splitlines()[0].split("/", 1)[1]
    result = wbemcli("ai", "-ac", "CIM_ElementConformsToProfile", f"http://127.0.0.1:{server.port}/{local}")
    assert result.returncode == 0, result.stderr
    assert "RegisteredName=\"WBEM Server\"" in result.stdout


def test_error_is_readable(server):
    result = wbemcli("ei", f"http://127.0.0.1:{server.port}/root/interop:CIM_NoSuchClass")
    assert result.returncode != 0
    assert "CIM_ERR_INVALID_CLASS" in result.stderr + result.stdout


def test_cm_types_parameters_from_the_class(server):
    # wbemcli sends no PARAMTYPE: the server types RequestedState from the
    # method's declaration. The object manager accepts only Enabled (2).
    names = wbemcli("ein", f"http://127.0.0.1:{server.port}/root/interop:CIM_ObjectManager")
    local = names.stdout.strip().splitlines()[0].split("/", 1)[1]
    enabled = wbemcli("cm", f"http://127.0.0.1:{server.port}/{local}", "RequestStateChange.RequestedState=2")
    assert enabled.returncode == 0, enabled.stderr
    assert "RequestStateChange: 0" in enabled.stdout
    disabled = wbemcli("cm", f"http://127.0.0.1:{server.port}/{local}", "RequestStateChange.RequestedState=3")
    assert "RequestStateChange: 1" in disabled.stdout
