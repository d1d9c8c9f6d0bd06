"""A tiny guest for real QEMU: Debian's cloud kernel and an initrd built
here from busybox-static, the kernel's own modules and Debian's
qemu-guest-agent (the binary, the shared libraries ldd lists and the
loader).

The guest's /init loads the drivers a Hyper-V-shaped VM needs (virtio SCSI
and network, the balloon, the ACPI power button, virtio serial), runs
busybox's acpid so the power button powers it off (Hyper-V's shutdown),
and then reports the disks and network interfaces it sees on the serial
console once a second, and the memory it has (MemTotal, onlining hot-added
memory first), which the tests read from the console log.

A domain defined with `agent=True` has the guest agent's virtio-serial
channel: the guest then runs qemu-ga on it, and its /sbin/shutdown (what
qemu-ga runs for guest-shutdown) says so on the console before powering
off or rebooting. `address=` gives the guest's first NIC a static IPv4 address (the
test networks have no DHCP), passed on the kernel command line; `pings=`
are addresses it pings once a second, saying whether it reached them;
`fetches=` URLs it fetches over HTTP once a second, printing what it got.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

MODULES = ("button", "evdev", "virtio_pci", "virtio_scsi", "sd_mod", "virtio_net", "virtio_balloon", "virtio_console")
AGENT = Path("/usr/sbin/qemu-ga")
AGENT_CHANNEL = "org.qemu.guest_agent.0"
# What guest-get-osinfo reads; qemu-ga reports the kernel from uname.
OS_RELEASE = """NAME="cimprovider tiny guest"
ID=cimprovider-tiny
VERSION_ID="1.0"
PRETTY_NAME="cimprovider tiny guest 1.0"
"""

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for module in $(cat /modules/order); do insmod /modules/$module || echo "guest: insmod $module failed"; done
# acpid dies if its log cannot be opened, and there is no /var/log here.
acpid -c /etc/acpi -l /tmp/acpid.log
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        cimp.hostname=*) hostname "${arg#cimp.hostname=}" ;;
        cimp.address=*)
            address="${arg#cimp.address=}"
            ip link set lo up
            ip link set eth0 up && ip addr add "$address" dev eth0 || echo "guest: no address on eth0" ;;
        cimp.ping=*) targets="$(echo ${arg#cimp.ping=} | tr ',' ' ')" ;;
        cimp.fetch=*) fetches="$(echo ${arg#cimp.fetch=} | tr ',' ' ')" ;;
        cimp.shell=1) shell=1 ;;
    esac
done
# An interactive guest answers on its serial console, as a login shell would.
[ -n "$shell" ] && setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1' &
# No udev: find the agent's port by its name, not /dev/virtio-ports/.
for port in /sys/class/virtio-ports/*; do
    if [ "$(cat $port/name 2>/dev/null)" = org.qemu.guest_agent.0 ]; then
        qemu-ga -m virtio-serial -p /dev/${port##*/} -f /tmp/qemu-ga.pid -t /tmp -l /tmp/qemu-ga.log &
        echo "guest: agent on /dev/${port##*/}"
    fi
done
echo "guest: ready"
tick=0
while true; do
    # A count that only grows while this boot lasts: a guest moved live keeps counting, a rebooted one starts again.
    tick=$((tick + 1))
    echo "guest: tick $tick"
    # Hot-added memory arrives offline unless the kernel onlines it itself.
    for block in /sys/devices/system/memory/memory*/state; do
        [ "$(cat $block)" = offline ] && echo online > $block
    done
    # An adapter unplugged and plugged again (moved to another switch) comes back without its address.
    if [ -n "$address" ] && [ -e /sys/class/net/eth0 ] && ! ip addr show eth0 | grep -q "inet ${address%/*}/"; then
        ip link set eth0 up && ip addr add "$address" dev eth0 && echo "guest: eth0 readdressed"
    fi
    for target in $targets; do
        if ping -c 1 -W 1 "$target" >/dev/null 2>&1; then echo "guest: reach $target yes"; else echo "guest: reach $target no"; fi
    done
    for url in $fetches; do
        if timeout 5 wget -q -O /tmp/fetched "$url" 2>/dev/null; then echo "guest: fetched $url: $(head -c 80 /tmp/fetched)"; else echo "guest: fetch $url failed"; fi
    done
    echo "guest: disks=$(ls /sys/block | tr '\\n' ' ')nets=$(ls /sys/class/net | tr '\\n' ' ')memkb=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
    sleep 1
done
"""

POWER_BUTTON = """#!/bin/sh
echo "guest: power button, powering off" > /dev/console
poweroff -f
"""

# qemu-ga's guest-shutdown runs `/sbin/shutdown -h -P +0 <message>` (-r
# for a reboot) with its output on /dev/null, and reports failure unless
# it exits 0: it answers before the guest goes down.
AGENT_SHUTDOWN = """#!/bin/sh
echo "guest: agent shutdown $*" > /dev/console
case " $* " in
    *" -r "*) (sleep 0.2; reboot -f) & ;;
    *) (sleep 0.2; poweroff -f) & ;;
esac
exit 0
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
    for directory in ("bin", "sbin", "modules", "etc/acpi/PWRF"):
        (root / directory).mkdir(parents=True)
    shutil.copy2(shutil.which("busybox") or "/bin/busybox", root / "bin" / "busybox")
    _copy_agent(root)
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
    _executable(root / "sbin/shutdown", AGENT_SHUTDOWN)
    (root / "etc/os-release").write_text(OS_RELEASE)
    initrd = target / "initrd.cpio"
    files = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
    with open(initrd, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files, stdout=out, check=True)
    return initrd


def _copy_agent(root: Path) -> None:
    """qemu-ga at /bin/qemu-ga, with every library ldd lists (and the
    loader) at the path the loader looks for it."""
    if not AGENT.is_file():
        raise FileNotFoundError(f"{AGENT} is missing (install qemu-guest-agent)")
    shutil.copy2(AGENT, root / "bin" / "qemu-ga")
    listed = subprocess.run(["ldd", str(AGENT)], check=True, capture_output=True, text=True).stdout
    for line in listed.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else words[0]
        if not path.startswith("/"):
            continue  # linux-vdso.so.1: the kernel's
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)  # follows the soname link: the library itself under its soname


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o755)


def domain_xml(
    name: str, workdir: Path, initrd: Path, agent: bool = False, network: str | None = None, address: str | None = None,
    pings: tuple[str, ...] = (), fetches: tuple[str, ...] = (),
    disk: tuple[Path, str] | None = None,
    console_append: bool = False, interactive: bool = False,
) -> str:
    """A generation 1 VM as libvirt sees it: PC machine, IDE, TCG (a stock
    kernel does not boot under KVM on these machines), a SCSI controller
    for hot-added disks, the console in a file. `agent` adds the guest
    agent's channel, `network` a NIC on that libvirt network, `address`
    (CIDR) the address the guest gives that NIC; the guest's host name is
    the domain's name; `pings` the addresses the guest pings once a
    second, printing `guest: reach ADDRESS yes|no`; `fetches` the URLs
    it fetches once a second, printing `guest: fetched URL: CONTENT`;
    `disk` a SCSI disk (its path and format); `console_append` keeps what
    the console file holds when a QEMU opens it again (a migrated guest's
    new QEMU); `interactive` puts the serial console on a pty with a shell
    reading it (for attaching to it), and gives the VM a VGA screen that
    VNC shows, listening nowhere."""
    cmdline = f"console=ttyS0 panic=-1 quiet cimp.hostname={name}"
    if address:
        cmdline += f" cimp.address={address}"
    if pings:
        cmdline += f" cimp.ping={','.join(pings)}"
    if fetches:
        cmdline += f" cimp.fetch={','.join(fetches)}"
    append = " append='on'" if console_append else ""
    serial = f"<serial type='file'><source path='{workdir}/{name}.console'{append}/><target port='0'/></serial>"
    video = "<video><model type='none'/></video>"
    if interactive:
        cmdline += " cimp.shell=1"
        serial = "<serial type='pty'><target port='0'/></serial>"
        video = "<graphics type='vnc'><listen type='none'/></graphics><video><model type='vga'/></video>"
    extra = ""
    if network:
        extra += f"\n    <interface type='network'><source network='{network}'/><model type='virtio'/></interface>"
    if disk:
        extra += (f"\n    <disk type='file' device='disk'><driver name='qemu' type='{disk[1]}'/>"
                  f"<source file='{disk[0]}'/><target dev='sda' bus='scsi'/></disk>")
    if agent:
        extra += f"\n    <channel type='unix'><target type='virtio' name='{AGENT_CHANNEL}'/></channel>"
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel()}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    {serial}
    {video}
    <memballoon model='virtio'/>{extra}
  </devices>
</domain>"""
