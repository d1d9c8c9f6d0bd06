"""InstanceID formats and their parsing back; paths held in strings, in
WMI's escaped form and os-win's raw one; embedded instances as WMI and
.NET write them."""

from __future__ import annotations

from uuid import UUID

import pytest

from cimprovider.providers.virtualization import ids
from cimprovider.providers.virtualization.embedded import read_embedded
from cimprovider.providers.virtualization.errors import MethodFailure

VM = UUID("5e7c9f1a-2b3c-4d5e-8f90-123456789abc")


def test_setting_ids_follow_hyper_v_and_parse_back():
    assert ids.vssd_id(VM) == "Microsoft:5E7C9F1A-2B3C-4D5E-8F90-123456789ABC"
    assert ids.memory_id(VM).endswith("\\4764334d-e001-4176-82ee-5594ec9b530e")
    assert ids.processor_id(VM).endswith("\\b637f346-6a0e-4dec-af52-bd70cb80a21d\\0")
    drive = ids.drive_id(ids.ide_controller_id(VM, 1), 0)
    assert drive.endswith("\\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\1\\0\\D")
    assert ids.media_id(drive).endswith("\\1\\0\\L")
    ref = ids.parse_setting_id(drive.lower())
    assert ref == ids.SettingRef(VM, ("83f8638b-8dca-4152-9eda-2ca8b33039b4", "1", "0", "d"))
    assert ids.parse_setting_id("Microsoft:Definition\\X\\Default") is None


def test_template_ids():
    text = ids.template_id(UUID("4764334d-e001-4176-82ee-5594ec9b530e"), "Default")
    assert text == "Microsoft:Definition\\4764334D-E001-4176-82EE-5594EC9B530E\\Default"
    assert ids.parse_template_id(text) == (UUID("4764334d-e001-4176-82ee-5594ec9b530e"), "Default")


@pytest.mark.parametrize(
    "text",
    [
        '\\\\HOST\\root\\virtualization\\v2:Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:A\\\\B\\\\0"',
        '\\\\HOST\\root\\virtualization\\v2:Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:A\\B\\0"',
        '/root/virtualization/v2:Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:A\\\\B\\\\0"',
    ],
)
def test_paths_in_strings_escaped_or_raw(text):
    assert ids.parse_path_text(text) == ("Msvm_ResourceAllocationSettingData", {"instanceid": "Microsoft:A\\B\\0"})


def test_path_text_round_trips():
    text = ids.path_text("H", "root/virtualization/v2", "Msvm_ComputerSystem", {"Name": "X", "CreationClassName": "Msvm_ComputerSystem"})
    assert text == '\\\\H\\root\\virtualization\\v2:Msvm_ComputerSystem.CreationClassName="Msvm_ComputerSystem",Name="X"'
    assert ids.parse_path_text(text)[1] == {"creationclassname": "Msvm_ComputerSystem", "name": "X"}


WMI_TEXT = """<INSTANCE CLASSNAME="Msvm_MemorySettingData">
<PROPERTY NAME="__PATH" CLASSORIGIN="___SYSTEM" TYPE="string"><VALUE>\\\\H\\root:X</VALUE></PROPERTY>
<PROPERTY NAME="VirtualQuantity" CLASSORIGIN="CIM_ResourceAllocationSettingData" TYPE="uint64"><VALUE>2048</VALUE></PROPERTY>
<PROPERTY NAME="DynamicMemoryEnabled" TYPE="boolean"><VALUE>TRUE</VALUE></PROPERTY>
<PROPERTY NAME="Limit"></PROPERTY>
<PROPERTY.ARRAY NAME="HostResource" TYPE="string"><VALUE.ARRAY><VALUE>a</VALUE><VALUE>b</VALUE></VALUE.ARRAY></PROPERTY.ARRAY>
</INSTANCE>"""


def test_embedded_text_from_wmi_is_read_leniently():
    bag = read_embedded(WMI_TEXT, "ResourceSettings")
    assert bag.classname == "Msvm_MemorySettingData"
    assert "__path" not in bag.values
    assert bag.integer("VirtualQuantity") == 2048 and bag.boolean("DynamicMemoryEnabled") is True
    assert bag.raw("Limit") is None and bag.strings("HostResource") == ["a", "b"]


def test_bad_values_name_the_property():
    bag = read_embedded(WMI_TEXT.replace(">2048<", ">lots<"), "ResourceSettings")
    with pytest.raises(MethodFailure) as failure:
        bag.integer("VirtualQuantity")
    assert failure.value.code == 32773 and "VirtualQuantity" in failure.value.message
    with pytest.raises(MethodFailure):
        read_embedded("<INSTANCE", "SystemSettings")
