"""Every running VM has a display, as on Hyper-V: a synthetic display
controller (generation 2) or an S3 one (generation 1), and the video head
it drives, reached from the VM through Msvm_SystemDevice."""

from __future__ import annotations

from tests.integration.model.hyperv import define_vm, request_state


def devices(conn, vm, classname: str) -> list:
    return conn.Associators(vm, AssocClass="Msvm_SystemDevice", ResultClass=classname)


def test_a_running_vm_has_its_generations_display(conn) -> None:
    gen2 = define_vm(conn, "Display Gen2", VirtualSystemSubType="Microsoft:Hyper-V:SubType:2")
    gen1 = define_vm(conn, "Display Gen1", VirtualSystemSubType="Microsoft:Hyper-V:SubType:1")
    assert devices(conn, gen2, "CIM_VideoController") == []  # no guest, no devices
    for vm in (gen2, gen1):
        assert request_state(conn, vm, 2)[0] in (0, 4096)
    (synthetic,) = devices(conn, gen2, "CIM_VideoController")
    assert synthetic.classname == "Msvm_SyntheticDisplayController"
    assert synthetic["ElementName"] == "Microsoft Synthetic Display Controller"
    assert synthetic["SystemName"] == gen2["Name"]
    (s3,) = devices(conn, gen1, "CIM_VideoController")
    assert s3.classname == "Msvm_S3DisplayController"
    (head,) = devices(conn, gen2, "Msvm_VideoHead")
    assert (head["CurrentHorizontalResolution"], head["CurrentVerticalResolution"], head["CurrentBitsPerPixel"]) == (1024, 768, 32)
    again = conn.GetInstance(head.path)
    assert again["DeviceID"] == head["DeviceID"] and again["DeviceID"].startswith("Microsoft:")
    names = {i["SystemName"] for i in conn.EnumerateInstances("Msvm_VideoHead")}
    assert {gen1["Name"], gen2["Name"]} <= names
    request_state(conn, gen2, 3)
    assert devices(conn, gen2, "CIM_VideoHead") == []
