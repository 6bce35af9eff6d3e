"""lingua's child process (topics/lingua_child.py) reads languages, and ends with its parent
even when the parent is killed (a server's SIGKILL must not leave ~350 MB of models behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from chatlens.topics import lingua_child
from tests.waiting import wait_until

PARENT = (
    "from chatlens.topics import lingua_child\n"
    "print(lingua_child.detect(['where is my parcel', 'missä on pakettini']), flush=True)\n"
    "import time; time.sleep(120)\n"
)


def children(pid: int) -> list[int]:
    found = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                with open(f"/proc/{stat}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid):
                found.append(int(stat))
    return found


def cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode(errors="replace")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_languages_are_read_in_a_child_process():
    assert lingua_child.detect(["Where is my order?", "Var är mitt paket?", ""]) == [
        "en",
        "sv",
        None,
    ]
    assert lingua_child.detect([]) == []


def test_the_child_ends_when_its_parent_is_killed():
    with subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline().strip() == "['en', 'fi']"
            spawned = [p for p in children(parent.pid) if "spawn_main" in cmdline(p)]
            assert len(spawned) == 1
        finally:
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()
    wait_until(lambda: not alive(spawned[0]), timeout=30, what="the orphaned child's end")
