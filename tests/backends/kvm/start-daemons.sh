#!/usr/bin/env bash
# Starts virtlogd and libvirtd for the tier 2 tests (real QEMU under TCG):
# there is no systemd here. `start-daemons.sh stop` stops what it started;
# `stop-libvirtd` and `start-libvirtd` stop and start libvirtd alone (the
# test of a lost connection), leaving virtlogd and running guests alone.
# libvirtd runs under a subreaper (subreaper.py) so QEMU processes it
# leaves are reaped at once.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state=/run/cimprovider-tests
mkdir -p "$state"

stop_daemon() {
    if [ -f "$state/$1.pid" ]; then
        pid="$(cat "$state/$1.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$state/$1.pid"
    fi
}

start_libvirtd() {
    python3 "$here/subreaper.py" libvirtd --pid-file="$state/libvirtd-inner.pid" >>"$state/libvirtd.log" 2>&1 &
    echo $! >"$state/libvirtd.pid"
    for _ in $(seq 100); do
        if virsh -c qemu:///system version >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "start-daemons.sh: libvirtd did not answer; its log:" >&2
    cat "$state/libvirtd.log" >&2
    return 1
}

case "${1:-start}" in
    stop) stop_daemon libvirtd; stop_daemon virtlogd; exit 0 ;;
    stop-libvirtd) stop_daemon libvirtd; exit 0 ;;
    start-libvirtd) start_libvirtd; exit $? ;;
    start) ;;
    *) echo "usage: start-daemons.sh [start|stop|stop-libvirtd|start-libvirtd]" >&2; exit 2 ;;
esac

for tool in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img busybox cpio; do
    command -v "$tool" >/dev/null || { echo "start-daemons.sh: $tool not found" >&2; exit 1; }
done

# libvirt probes /dev/kvm as the qemu user; root-only, it fails type='kvm'
# and re-probes QEMU on every start.
if [ -e /dev/kvm ]; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi

stop_daemon libvirtd
stop_daemon virtlogd
virtlogd --daemon --pid-file="$state/virtlogd.pid"
: >"$state/libvirtd.log"
start_libvirtd
