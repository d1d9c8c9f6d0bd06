"""A running VM's Msvm_VideoHead reports the mode its display runs in, on
both backends over CIM-XML: the resolution its display setting gives (a
maximum is the mode offered first, a single one the only mode), Hyper-V's
1024×768 for the default type, and on libvirt the running domain's video
model where that names a mode the setting does not know of."""

from __future__ import annotations

import libvirt
import pytest
from lxml import etree

from tests.integration.model.hyperv import NS, check, define_vm, request_state
from tests.integration.model.test_display_settings import BACKENDS, display_of, modified
from tests.support.live import in_process_server

GEN2 = "Microsoft:Hyper-V:SubType:2"


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def served(request, tmp_path_factory):
    with in_process_server(tmp_path_factory.mktemp(request.param), **BACKENDS[request.param]) as live:
        yield live, request.param


def head_mode(conn, vm) -> tuple[int, int, int]:
    (head,) = conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass="Msvm_VideoHead")
    again = conn.GetInstance(head.path)  # the same from a GetInstance
    mode = (head["CurrentHorizontalResolution"], head["CurrentVerticalResolution"], head["CurrentBitsPerPixel"])
    assert (again["CurrentHorizontalResolution"], again["CurrentVerticalResolution"]) == mode[:2]
    return mode


def running(conn, vm) -> None:
    assert request_state(conn, vm, 2)[0] in (0, 4096)


def test_a_maximum_resolution_is_the_mode_the_running_display_reports(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "head-maximum", VirtualSystemSubType=GEN2)
    check(conn, modified(conn, vm, 2, 1920, 1080))
    running(conn, vm)
    assert head_mode(conn, vm) == (1920, 1080, 32)
    request_state(conn, vm, 3)
    check(conn, modified(conn, vm, 2, 2560, 1440))
    running(conn, vm)
    assert head_mode(conn, vm) == (2560, 1440, 32)
    request_state(conn, vm, 3)


def test_the_default_type_runs_in_1024_by_768_whatever_resolution_it_holds(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "head-default")
    check(conn, modified(conn, vm, 4, 1600, 900))
    running(conn, vm)
    assert head_mode(conn, vm) == (1024, 768, 32)
    request_state(conn, vm, 3)


def test_a_single_resolution_is_the_only_mode_where_the_host_holds_one(served):
    live, backend = served
    conn = live.connection(NS)
    vm = define_vm(conn, "head-single")
    answer = modified(conn, vm, 3, 1280, 1024)
    if backend == "libvirt":  # QEMU cannot hold a guest to one mode: refused, the mode stays
        assert int(answer[0]) != 0
        running(conn, vm)
        assert head_mode(conn, vm) == (1024, 768, 32)
    else:
        check(conn, answer)
        running(conn, vm)
        assert head_mode(conn, vm) == (1280, 1024, 32)
    request_state(conn, vm, 3)


@pytest.mark.parametrize("served", ["libvirt"], indirect=True)
def test_libvirt_reports_the_mode_of_the_running_domains_video_model(served):
    """A domain whose video model was given a resolution outside the model
    (virsh edit) runs in that mode, and its display setting reads it back."""
    live, _ = served
    conn = live.connection(NS)
    vm = define_vm(conn, "head-edited", VirtualSystemSubType=GEN2)
    host = libvirt.open("test:///default")
    domain = host.lookupByUUIDString(vm["Name"].lower())
    config = etree.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    model = config.find("devices/video/model")
    etree.SubElement(model, "resolution", x="1600", y="900")
    host.defineXML(etree.tostring(config, encoding="unicode"))
    setting = display_of(conn, vm)
    assert (setting["ResolutionType"], setting["HorizontalResolution"], setting["VerticalResolution"]) == (2, 1600, 900)
    running(conn, vm)
    assert head_mode(conn, vm) == (1600, 900, 32)
    request_state(conn, vm, 3)
