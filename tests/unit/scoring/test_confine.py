"""A scoring child, once confined, reaches nothing of the miner's: no file (the state dir's
keys, the decrypted split), no socket, no exec, no new process; what it already holds works."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deml.scoring import confine
from deml.scoring.sandbox import Limits, Sandbox
from tests.unit.scoring.test_sandbox import NO_BUDGET, SLOW, SPEC, X, Y, server_children

# What an exploited ONNX Runtime would try, from inside a confined child.
PROBE = """
import json, os, socket, sys, threading
from deml.scoring import confine
held = open(sys.argv[1], "rb")  # the test set: opened before, as the child does
confine.apply(confine.program() if sys.argv[3] == "seccomp" else None)

def attempt(name, action):
    try:
        action()
        seen[name] = "allowed"
    except OSError as exc:
        seen[name] = exc.__class__.__name__

def fork():
    if os.fork() == 0:
        os._exit(0)

seen = {"uid": os.getuid(), "held": len(held.read())}
attempt("read_state", lambda: open(sys.argv[2]).read())
attempt("write_state", lambda: open(sys.argv[2] + ".new", "w"))
attempt("list_state", lambda: os.listdir(os.path.dirname(sys.argv[2])))
attempt("socket", lambda: socket.socket().connect(("127.0.0.1", 9)))
attempt("exec", lambda: os.execv("/bin/true", ["true"]))
attempt("fork", fork)
attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
thread = threading.Thread(target=lambda: seen.__setitem__("thread", "ran"))
thread.start()
thread.join()
print(json.dumps(seen))
"""


def probe(tmp_path: Path, layer: str) -> dict[str, object]:
    state = tmp_path / "state" / "keys"
    state.mkdir(parents=True)
    (state / "test.key").write_text("the host's test key")
    test_set = tmp_path / "x.f32"
    test_set.write_bytes(b"\0" * 4096)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(test_set), str(state / "test.key"), layer],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


pytestmark = pytest.mark.skipif(
    confine.landlock_abi() < 1 or confine.program() is None,
    reason="this kernel or system lacks Landlock or libseccomp",
)


def test_a_confined_child_reaches_nothing_but_what_it_holds(tmp_path: Path) -> None:
    seen = probe(tmp_path, "seccomp")
    assert seen["held"] == 4096 and seen["thread"] == "ran"
    denied = {k: v for k, v in seen.items() if k not in ("uid", "held", "thread")}
    assert denied == dict.fromkeys(denied, "PermissionError")
    if os.geteuid() == 0:
        assert seen["uid"] == 65534  # root's child runs as nobody


def test_landlock_alone_keeps_the_state_dir_and_the_network_out_of_reach(tmp_path: Path) -> None:
    # Without the seccomp filter (a machine lacking libseccomp2), Landlock still holds.
    seen = probe(tmp_path, "landlock")
    assert seen["read_state"] == seen["write_state"] == seen["list_state"] == "PermissionError"
    assert seen["socket"] == "PermissionError"
    assert seen["signal_parent"] == "PermissionError"


def test_scoring_children_run_confined() -> None:
    with (
        Sandbox(Limits(max_operations=NO_BUDGET), workers=1, spares=0) as sandbox,
        ThreadPoolExecutor(1) as pool,
    ):
        assert sandbox.confinement == {
            "nobody": os.geteuid() == 0,
            "landlock_abi": confine.landlock_abi(),
            "seccomp": True,
        }
        scored = pool.submit(sandbox.score, SLOW, X[:1], Y[:1], SPEC)
        status = ""
        deadline = time.monotonic() + 30
        while "Seccomp:\t2" not in status and time.monotonic() < deadline:
            for pid in server_children(sandbox):
                status = Path(f"/proc/{pid}/status").read_text()
            time.sleep(0.05)
        assert scored.result().ok
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Seccomp"].strip() == "2" and fields["NoNewPrivs"].strip() == "1"
    if os.geteuid() == 0:
        assert fields["Uid"].split() == ["65534"] * 4
        assert fields["CapEff"].strip() == "0" * 16


def _alive(pid: int) -> bool:
    """Running or stopped; not gone, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_children_die_with_their_server_after_giving_up_their_user() -> None:
    # Changing credentials clears the parent-death signal: a confined child whose server was
    # killed finished its model, then stayed behind, stopped, for good (found after CI runs).
    with (
        Sandbox(Limits(max_operations=NO_BUDGET), workers=1, spares=0) as sandbox,
        ThreadPoolExecutor(1) as pool,
    ):
        server = sandbox.pid
        scored = pool.submit(sandbox.score, SLOW, X[:1], Y[:1], SPEC)
        confined: set[int] = set()
        deadline = time.monotonic() + 30
        while not confined and time.monotonic() < deadline:
            for pid in server_children(sandbox):
                if "Seccomp:\t2" in Path(f"/proc/{pid}/status").read_text():
                    confined.add(pid)
            time.sleep(0.02)
        assert confined  # running the model, as nobody
        os.kill(server, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in confined) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in confined if _alive(pid)]
        assert scored.result().ok  # scored again by a new server
