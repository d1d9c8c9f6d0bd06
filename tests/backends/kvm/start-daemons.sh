#!/usr/bin/env bash
# Starts virtlogd and libvirtd for the tier 2 tests (real QEMU under TCG):
# there is no systemd here. `start-daemons.sh stop` stops what it started;
# `stop-libvirtd` and `start-libvirtd` stop and start libvirtd alone (the
# test of a lost connection), leaving virtlogd and running guests alone.
# libvirtd runs under a subreaper (subreaper.py) so QEMU processes it
# leaves are reaped at once.
#
# libvirtd also listens for qemu+tcp:// on 127.0.0.1 only (never another
# address: auth_tcp is none), so the tests can manage this host through a
# remote URI as a server would manage another KVM host. Its port is picked
# free at `start` and kept in $state/libvirtd-tcp.port, so a restarted
# libvirtd listens where it did before.
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

write_tcp_config() {
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    echo "$port" >"$state/libvirtd-tcp.port"
    cat >"$state/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$port"
auth_tcp = "none"
EOF
}

start_libvirtd() {
    [ -f "$state/libvirtd.conf" ] || write_tcp_config
    # Its own session: a test that restarts it must not take it down when
    # the test's process group ends.
    setsid python3 "$here/subreaper.py" libvirtd --listen -f "$state/libvirtd.conf" --pid-file="$state/libvirtd-inner.pid" >>"$state/libvirtd.log" 2>&1 &
    echo $! >"$state/libvirtd.pid"
    for _ in $(seq 100); do
        if virsh -c qemu:///system version >/dev/null 2>&1 &&
            virsh -c "qemu+tcp://127.0.0.1:$(cat "$state/libvirtd-tcp.port")/system" version >/dev/null 2>&1; then
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
write_tcp_config
start_libvirtd
