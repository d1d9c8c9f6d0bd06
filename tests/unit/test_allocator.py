"""The server's allocator tuning: megabyte buffers freed after a reply are
given back to the system even while small objects made meanwhile live on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


# A reply's life, 64 times over: eight 1 MiB buffers written and freed, one
# small object made meanwhile that stays. Run in a fresh interpreter, whose
# allocator has not yet moved its threshold.
_REPLIES = textwrap.dedent("""
    from cimprovider.allocator import give_back_large_blocks

    def rss():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))

    print(give_back_large_blocks())
    first = bytearray(4 << 20)  # freed: glibc would now raise its threshold to 4 MiB
    del first
    kept, before = [], rss()
    for _ in range(64):
        buffers = [bytearray(1 << 20) for _ in range(8)]
        for buffer in buffers:
            buffer[::4096] = b"x" * len(buffer[::4096])
        kept.append(bytearray(200))
        del buffers
    print(rss() - before)
""")


def _run_replies(env: dict[str, str]) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", _REPLIES], env=env, capture_output=True, text=True, timeout=120, check=True)
    tuned, grown = done.stdout.split()
    return tuned, int(grown)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}


def test_freed_reply_buffers_are_given_back():
    tuned, grown = _run_replies(_clean_env())
    assert tuned == "True"
    # Eight MiB were freed after every reply; at most a fraction stays.
    assert grown < 4 << 20, f"the process kept {grown / 2**20:.1f} MiB of freed reply buffers"


def test_thresholds_from_the_environment_win():
    tuned, _ = _run_replies({**_clean_env(), "MALLOC_MMAP_THRESHOLD_": "65536"})
    assert tuned == "False"

