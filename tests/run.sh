#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (as
# root: system packages through apt; otherwise they must already be there)
# and runs the whole suite. A missing tool is an error here, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# libvirt-dev and pkg-config build libvirt-python; qemu-system-x86,
# libvirt-daemon-system and the kernel, busybox, cpio, kmod and
# qemu-guest-agent the tiny guest is built from are tier 2 of the libvirt
# backend tests; iproute2 (ip netns) gives the network tests of tier 2 a
# network namespace of their own.
SYSTEM_PACKAGES=(sblim-wbemcli qemu-utils libvhdi-utils libvirt-dev pkg-config qemu-system-x86 libvirt-daemon-system
    linux-image-cloud-amd64 busybox-static cpio kmod qemu-guest-agent iproute2
    chromium firefox-esr)  # the web console's browser tests run in both (Playwright drives them; no browser is downloaded)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "tests/run.sh: missing system packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v wbemcli >/dev/null || { echo "tests/run.sh: wbemcli not found after install" >&2; exit 1; }
for tool in pkg-config qemu-system-x86_64 qemu-img libvirtd virtlogd virsh busybox cpio modprobe ip chromium firefox-esr; do
    command -v "$tool" >/dev/null || { echo "tests/run.sh: $tool not found after install" >&2; exit 1; }
done
command -v qemu-img >/dev/null || { echo "tests/run.sh: qemu-img not found after install" >&2; exit 1; }
command -v qemu-io >/dev/null || { echo "tests/run.sh: qemu-io not found after install" >&2; exit 1; }
command -v vhdiinfo >/dev/null || { echo "tests/run.sh: vhdiinfo not found after install" >&2; exit 1; }
command -v vhdimount >/dev/null || { echo "tests/run.sh: vhdimount not found after install" >&2; exit 1; }

python3 -m pip install -q --disable-pip-version-check -e '.[test,kvm]'

# libvirtd and virtlogd for the tier 2 tests; stopped when the run ends.
tests/backends/kvm/start-daemons.sh
trap 'tests/backends/kvm/start-daemons.sh stop' EXIT

# loadfile keeps each file on one worker: scenario files run their steps in
# order, and each module-scoped live server starts once.
python3 -m pytest -n 2 --dist loadfile -p no:cacheprovider "$@"
