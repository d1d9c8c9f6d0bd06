"""A qcow2 inside the storage roots whose header names an external data
file outside them: QEMU would read and write the guest's disk there (and
qemu-img opens it for info, copies it for convert), so whoever made the
image could hand the guest, or a converted copy, a host file. It is
refused as a drive's medium and by every image method, naming the data
file, and the data file is neither read nor written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.storage.vhd_client import fail, vhdsd
from tests.integration.storage.vm_client import vm_with_disk
from tests.support.untouched import assert_untouched, fingerprint


@pytest.fixture
def crafted(root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(the image inside the roots, its data file outside them)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret, image = outside / "secret.raw", root / "data.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", f"data_file={secret},data_file_raw=on",
                    str(image), "1M"], check=True)
    with open(secret, "r+b") as data:
        data.write(b"host secret")
    return image, secret


def test_a_qcow2_whose_data_lives_outside_the_roots_is_no_medium(conn, crafted) -> None:
    image, secret = crafted
    before = fingerprint(secret)
    with pytest.raises(AssertionError) as refused:  # the attaching job fails: (ErrorCode, ErrorDescription)
        vm_with_disk(conn, "data-file", image)
    code, description = refused.value.args[0]
    assert code == 32773 and str(secret) in description and "storage roots" in description, description
    assert_untouched(secret, before)


def test_no_image_method_opens_a_data_file_outside_the_roots(conn, root: Path, crafted) -> None:
    image, secret = crafted
    before = fingerprint(secret)
    calls = {
        "GetVirtualHardDiskSettingData": {"Path": str(image)},
        "GetVirtualHardDiskState": {"Path": str(image)},
        "ValidateVirtualHardDisk": {"Path": str(image)},
        "ConvertVirtualHardDisk": {"SourcePath": str(image),
                                   "VirtualDiskSettingData": vhdsd(root / "copy.vhdx", "dynamic", "vhdx", size=None)},
    }
    for method, params in calls.items():
        message = fail(conn, method, 32773, **params)
        assert str(secret) in message and "storage roots" in message, (method, message)
    assert_untouched(secret, before)
    assert not (root / "copy.vhdx").exists()
