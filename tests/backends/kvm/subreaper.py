"""Run a command as the child of a subreaper and reap every orphan it leaves.

libvirtd double-forks QEMU, so a QEMU process's parent is the nearest
subreaper, else PID 1; here PID 1 does not reap, and libvirt, which waits
for a killed QEMU's PID to vanish, would wait on a zombie. This process
adopts them and reaps them at once. SIGTERM and SIGINT go to the command;
we exit with its status.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv: list[str]) -> int:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    child = os.fork()
    if child == 0:
        os.execvp(argv[0], argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, frame: os.kill(child, number))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        if pid == child:
            # Domains still running would be re-parented to PID 1: the tests
            # destroy theirs before the daemon is stopped.
            return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
