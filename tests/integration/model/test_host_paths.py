"""Every property that names a file of the host names it in the host's
own separators: a VM's configuration file lies in its configuration data
root, as Hyper-V lays it out (<root>/Virtual Machines/<GUID>.vmcx)."""

from __future__ import annotations

import os

from pywbem import CIMInstanceName

from tests.integration.model.hyperv import NS, define_vm

FILE_PROPERTIES = ("ConfigurationDataRoot", "SnapshotDataRoot", "SuspendDataRoot", "SwapFileDataRoot",
                   "LogDataRoot", "ConfigurationFile")


def test_configuration_file_in_the_hosts_separators(conn):
    vm = define_vm(conn, "paths")
    settings = conn.GetInstance(CIMInstanceName("Msvm_VirtualSystemSettingData",
                                                {"InstanceID": f"Microsoft:{vm['Name']}"}, namespace=NS))
    for name in FILE_PROPERTIES:
        value = settings[name]
        assert value and "\\" not in value and value.startswith(os.sep), (name, value)
    expected = os.path.join(settings["ConfigurationDataRoot"], "Virtual Machines", f"{vm['Name']}.vmcx")
    assert settings["ConfigurationFile"] == expected
