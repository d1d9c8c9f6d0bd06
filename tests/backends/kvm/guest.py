"""A tiny guest for real QEMU: Debian's cloud kernel and an initrd built
here from busybox-static and the kernel's own modules.

The guest's /init loads the drivers a Hyper-V-shaped VM needs (virtio SCSI
and network, the balloon, the ACPI power button), runs busybox's acpid so
the power button powers it off (Hyper-V's shutdown), and then reports the
disks and network interfaces it sees on the serial console once a second,
and the memory it has (MemTotal, onlining hot-added memory first), which
the tests read from the console log.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

MODULES = ("button", "evdev", "virtio_pci", "virtio_scsi", "sd_mod", "virtio_net", "virtio_balloon")

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(cat /modules/order); do insmod /modules/$module || echo "guest: insmod $module failed"; done
# acpid dies if its log cannot be opened, and there is no /var/log here.
acpid -c /etc/acpi -l /tmp/acpid.log
echo "guest: ready"
while true; do
    # Hot-added memory arrives offline unless the kernel onlines it itself.
    for block in /sys/devices/system/memory/memory*/state; do
        [ "$(cat $block)" = offline ] && echo online > $block
    done
    echo "guest: disks=$(ls /sys/block | tr '\\n' ' ')nets=$(ls /sys/class/net | tr '\\n' ' ')memkb=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
    sleep 1
done
"""

POWER_BUTTON = """#!/bin/sh
echo "guest: power button, powering off" > /dev/console
poweroff -f
"""


def kernel() -> Path:
    kernels = sorted(glob.glob("/boot/vmlinuz-*-cloud-amd64"))
    if not kernels:
        raise FileNotFoundError("no Debian cloud kernel in /boot (install linux-image-cloud-amd64)")
    return Path(kernels[-1])


def build_initrd(target: Path) -> Path:
    """Write the initrd to `target` (a directory); returns its path."""
    release = kernel().name.removeprefix("vmlinuz-")
    root = target / "initrd-root"
    if root.exists():
        shutil.rmtree(root)
    for directory in ("bin", "modules", "etc/acpi/PWRF"):
        (root / directory).mkdir(parents=True)
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", root / "bin" / "busybox")
    order: list[str] = []
    for module in MODULES:
        lines = subprocess.run(
            ["modprobe", "-S", release, "--show-depends", module], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        for line in lines:
            path = Path(line.split()[1])
            if path.name not in order:
                order.append(path.name)
                shutil.copy2(path, root / "modules" / path.name)
    (root / "modules" / "order").write_text("\n".join(order) + "\n")
    _executable(root / "init", INIT)
    _executable(root / "etc/acpi/PWRF/00000080", POWER_BUTTON)
    initrd = target / "initrd.cpio"
    files = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    with open(initrd, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files, stdout=out, check=True)
    return initrd


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o755)


def domain_xml(name: str, workdir: Path, initrd: Path) -> str:
    """A generation 1 VM as libvirt sees it: PC machine, IDE, TCG (a stock
    kernel does not boot under KVM on these machines), a SCSI controller
    for hot-added disks, the console in a file."""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel()}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <serial type='file'><source path='{workdir}/{name}.console'/><target port='0'/></serial>
    <video><model type='none'/></video>
    <memballoon model='virtio'/>
  </devices>
</domain>"""
