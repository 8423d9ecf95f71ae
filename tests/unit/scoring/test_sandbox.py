"""Sandboxed scoring: honest models score what they should; hostile ones score 0, quickly."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from onnx import numpy_helper

from deml.exceptions import SandboxError, SpecError
from deml.model import codec, cost
from deml.model.codec import Codec
from deml.model.spec import ModelSpec
from deml.scoring import sandbox as scoring
from deml.scoring.sandbox import Limits, Sandbox
from tests.helpers import hostile

SPEC = ModelSpec((64,), 10)
RNG = np.random.default_rng(7)
X = RNG.standard_normal((300, 64)).astype(np.float32)
Y = RNG.integers(0, 10, 300)


def numpy_correct() -> int:
    """What the honest classifier (y = x @ w) gets right, computed without any runtime."""
    weights = np.random.default_rng(0).standard_normal((64, 10)).astype(np.float32)
    return int(np.count_nonzero((X @ weights).argmax(axis=1) == Y))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


HONEST = hostile.payload(hostile.classifier())
# For the tests of the time limits: no operation budget, so that only the backstop stops a
# slow model (with the budget, it is refused unrun: test_a_model_over_the_budget_...).
NO_BUDGET = 10**18


def test_sandboxed_score_matches_in_process_and_numpy(sandbox: Sandbox) -> None:
    result = sandbox.score(HONEST, X, Y, SPEC)
    assert result.ok and result.error is None
    assert result.correct == numpy_correct() > 0
    assert result.total == 300
    assert scoring.score_in_process(HONEST, X, Y, SPEC).correct == result.correct


def test_same_count_across_batch_sizes_runs_and_restarts(sandbox: Sandbox) -> None:
    counts = {sandbox.score(HONEST, X, Y, SPEC, batch_size=b).correct for b in (1, 7, 64, 300)}
    with Sandbox() as fresh:
        counts |= {fresh.score(HONEST, X, Y, SPEC).correct for _ in range(2)}
    assert counts == {numpy_correct()}


def test_each_model_runs_in_a_fresh_process(sandbox: Sandbox) -> None:
    # A model that crashed or was killed leaves nothing behind for the next one.
    results = sandbox.score_all(
        [hostile.payload(hostile.huge_tensor()), HONEST, HONEST], X, Y, SPEC
    )
    assert [r.correct for r in results] == [0, numpy_correct(), numpy_correct()]


def test_a_dead_fork_server_is_restarted_without_scoring_zero() -> None:
    with Sandbox() as running:
        first = running.pid
        os.kill(first, signal.SIGKILL)
        assert running.score(HONEST, X, Y, SPEC).correct == numpy_correct()
        assert running.pid != first


# 1.6 GB at run time: within the operation budget, over the sandbox's 1 GiB of memory.
HUGE = hostile.payload(hostile.huge_tensor(side=20_000))


def test_huge_tensor_is_stopped_by_the_memory_limit_and_scores_zero(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = sandbox.score(HUGE, X, Y, SPEC)
    assert result.correct == 0
    assert "out of memory" in result.error
    assert time.monotonic() - started < 10
    assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()  # the caller survives


def test_memory_limit_is_the_sandbox_not_the_machine() -> None:
    # 512 MiB fits this machine: in-process the model runs, in a 128 MiB sandbox it cannot.
    model = hostile.payload(hostile.huge_tensor(side=11_600))
    assert scoring.score_in_process(model, X[:1], Y[:1], SPEC).ok
    with Sandbox(Limits(memory_bytes=128 << 20)) as small:
        result = small.score(model, X[:1], Y[:1], SPEC)
    assert result.correct == 0 and "out of memory" in result.error


def test_slow_model_hits_the_wall_clock_timeout_and_scores_zero() -> None:
    with Sandbox(Limits(wall_seconds=1.0, max_operations=NO_BUDGET)) as short:
        started = time.monotonic()
        result = short.score(hostile.payload(hostile.slow()), X, Y, SPEC)
        assert time.monotonic() - started < 6
        assert result.correct == 0
        assert result.error == "timed out after 1 s (wall clock)"
        assert short.score(HONEST, X, Y, SPEC).correct == numpy_correct()


def test_a_model_over_the_operation_budget_is_refused_unrun_on_any_machine() -> None:
    # Minutes of CPU here, seconds on a fast machine: its count says no before either runs it.
    with Sandbox(workers=1, spares=0) as sandbox:
        result = sandbox.score(hostile.payload(hostile.slow()), X, Y, SPEC)
        assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()
    assert result.correct == 0
    assert result.error is not None
    assert "ModelRejected: scoring 300 samples takes" in result.error
    assert "over the budget of 20,000,000,000" in result.error


def test_a_slow_and_a_fast_miner_give_a_model_at_the_edge_the_same_verdict() -> None:
    # A slow miner is played by a 1 s CPU limit, a fast one by 60 s. The model takes a few
    # seconds: by time alone the two would disagree (0 against full marks); by its count,
    # both refuse it with the same reason.
    edge = hostile.payload(hostile.slow(matmuls=60))
    full = scoring.score_in_process(HONEST, X[:1], Y[:1], SPEC).correct

    def verdict(cpu_seconds: int, budget: int) -> tuple[int, str | None]:
        limits = Limits(cpu_seconds=cpu_seconds, max_operations=budget)
        with Sandbox(limits, spares=0) as sandbox:
            result = sandbox.score(edge, X[:1], Y[:1], SPEC)
        return result.correct, result.error

    verdicts = {
        name: [verdict(cpu, budget) for cpu in (1, 60)]
        for name, budget in (("by time", NO_BUDGET), ("by count", cost.MAX_SCORING_OPERATIONS))
    }
    assert verdicts["by time"] == [(0, "killed by the CPU time limit (1 s)"), (full, None)]
    slow, fast = verdicts["by count"]
    assert slow == fast and slow[0] == 0 and "over the budget" in str(slow[1])


def test_busy_model_hits_the_cpu_time_limit_and_scores_zero() -> None:
    with Sandbox(Limits(cpu_seconds=1, wall_seconds=60, max_operations=NO_BUDGET)) as short:
        started = time.monotonic()
        result = short.score(hostile.payload(hostile.slow()), X, Y, SPEC)
        assert time.monotonic() - started < 10
    assert result.correct == 0
    assert result.error == "killed by the CPU time limit (1 s)"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (HONEST[:-5], "truncated payload"),
        (HONEST + b"\x00", "1 trailing bytes"),
        (b"XXXX" + HONEST[4:], "not a DeML model payload"),
        (HONEST[:5] + b"\x7f" + HONEST[6:], "unknown codec id 0x7f"),
        (b"", "truncated payload"),
        (hostile.payload(hostile.external_data()), "etc/passwd"),
        (hostile.payload(hostile.custom_domain(), "lzma"), "com.attacker"),
        (hostile.payload(hostile.random_op()), "random"),
    ],
)
def test_malformed_or_hostile_payload_scores_zero_with_the_reason(
    sandbox: Sandbox, payload: bytes, reason: str
) -> None:
    result = sandbox.score(payload, X, Y, SPEC)
    assert result.correct == 0 and result.total == 300
    assert reason in result.error


def test_payload_over_the_competition_cap_scores_zero() -> None:
    with Sandbox(Limits(max_payload_bytes=len(HONEST) - 1)) as capped:
        result = capped.score(HONEST, X, Y, SPEC)
    assert result.correct == 0
    assert f"over the cap of {len(HONEST) - 1:,} bytes" in result.error


def test_wrong_class_count_or_input_shape_scores_zero(sandbox: Sandbox) -> None:
    more_classes = sandbox.score(HONEST, X, Y, ModelSpec((64,), 12))
    assert more_classes.correct == 0 and "12 classes" in more_classes.error
    images = X.reshape(300, 8, 8)
    other_shape = sandbox.score(HONEST, images, Y, ModelSpec((8, 8), 10))
    assert other_shape.correct == 0 and "[batch, 8, 8]" in other_shape.error


def test_model_whose_output_does_not_match_its_declaration_scores_zero(sandbox: Sandbox) -> None:
    # Declares [batch, 10] but reshapes its scores to [2 * batch, 5] at run time, by a shape
    # computed from its data: refused before it runs, since its cost cannot be known either.
    # (Run anyway, the scorer catches the shape: tests/unit/model/test_inference.py.)
    result = sandbox.score(hostile.payload(hostile.wrong_output()), X, Y, SPEC)
    assert result.correct == 0
    assert "the shape of 'y' (Reshape node '') depends on the data" in result.error


def test_sandbox_environment_holds_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEML_PRIVATE_KEY", "0x" + "ab" * 32)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    with Sandbox() as fresh:
        environ = Path(f"/proc/{fresh.pid}/environ").read_bytes().split(b"\0")
    names = {entry.split(b"=")[0].decode() for entry in environ if entry}
    assert names == set(scoring.SANDBOX_ENV)
    assert not any(b"hunter2" in entry or b"abab" in entry for entry in environ)


def test_our_own_bad_test_data_raises_rather_than_scoring(sandbox: Sandbox) -> None:
    with pytest.raises(SpecError, match="labels must be"):
        sandbox.score(HONEST, X, Y[:-1], SPEC)
    with pytest.raises(SpecError, match="not the spec's"):
        sandbox.score(HONEST, X.reshape(300, 8, 8), Y, SPEC)
    with pytest.raises(SpecError, match=r"labels must be 0\.\.9"):
        sandbox.score(HONEST, X, Y + 5, SPEC)


def test_module_level_score_uses_a_shared_sandbox() -> None:
    lzma_payload = codec.encode(hostile.classifier().SerializeToString(), Codec("", "lzma"))
    first = scoring.score(lzma_payload, X, Y)
    assert first.correct == numpy_correct()
    assert scoring.default_sandbox() is scoring.default_sandbox()


# -- several models at a time, warm spares, a server that fails ------------------------------


def honest(seed: int) -> tuple[bytes, int]:
    """An honest classifier with its own weights, and the count numpy says it gets right."""
    weights = np.random.default_rng(seed).standard_normal((64, 10)).astype(np.float32)
    model = hostile.classifier()
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(weights, "w"))
    return hostile.payload(model), int(np.count_nonzero((X @ weights).argmax(axis=1) == Y))


def server_children(sandbox: Sandbox) -> set[int]:
    pid = sandbox.pid
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def test_a_batch_runs_each_model_in_its_own_process_and_keeps_the_order() -> None:
    models = [honest(seed) for seed in range(8)]
    batch = [p for p, _ in models] + [b"XXXX" + HONEST[4:], HUGE]
    with Sandbox(workers=2, spares=3) as sandbox:
        results = sandbox.score_all(batch, X, Y, SPEC)
        server = sandbox.pid
    assert [r.correct for r in results] == [expected for _, expected in models] + [0, 0]
    assert "not a DeML model payload" in results[8].error
    assert "out of memory" in results[9].error
    pids = [r.pid for r in results]
    assert len(set(pids)) == len(batch) and server not in pids


def test_spares_wait_ready_and_finished_children_are_torn_down() -> None:
    with Sandbox(workers=2, spares=3) as sandbox:
        assert sandbox.wait_ready() == 3
        spares = server_children(sandbox)
        assert len(spares) == 3
        results = sandbox.score_all([honest(seed)[0] for seed in range(5)], X, Y, SPEC)
        # The first three models ran in the spares that were ready; nothing else stays behind.
        assert {r.pid for r in results[:3]} == spares
        assert sandbox.wait_ready() == 3
        remaining = server_children(sandbox)
        assert len(remaining) == 3 and not remaining & {r.pid for r in results}


@pytest.mark.parametrize("spares", [0, 2])
def test_a_slow_model_does_not_hold_up_the_others(spares: int) -> None:
    # With spares, the batch arrives while they are still warming up, right after the start.
    honest_models = [honest(seed) for seed in range(4)]
    batch = [hostile.payload(hostile.slow())] + [p for p, _ in honest_models]
    with Sandbox(
        Limits(wall_seconds=2.0, max_operations=NO_BUDGET), workers=2, spares=spares
    ) as sandbox:
        results = sandbox.score_all(batch, X, Y, SPEC)
    assert results[0].correct == 0 and results[0].error == "timed out after 2 s (wall clock)"
    assert [r.correct for r in results[1:]] == [expected for _, expected in honest_models]
    # Scored on the other worker while the slow one ran out its clock.
    assert all(r.seconds < 1.0 for r in results[1:])


def test_threads_scoring_different_test_sets_at_once_each_get_their_own_count() -> None:
    # More test sets than the sandbox caches at once: none is removed while a call uses it.
    cuts = [slice(i * 25, 300 - i * 20) for i in range(scoring._CACHED_TEST_SETS + 2)]
    models = [honest(seed)[0] for seed in range(3)]
    with Sandbox(workers=2, spares=2) as sandbox, ThreadPoolExecutor(len(cuts)) as pool:
        futures = [pool.submit(sandbox.score_all, models, X[c], Y[c], SPEC) for c in cuts]
        got = [[r.correct for r in f.result()] for f in futures]
    expected = [
        [scoring.score_in_process(m, X[c], Y[c], SPEC).correct for m in models] for c in cuts
    ]
    assert got == expected


def test_a_server_killed_mid_batch_is_restarted_and_the_batch_rescored() -> None:
    models = [honest(seed) for seed in range(3)]
    batch = [hostile.payload(hostile.slow())] + [p for p, _ in models]
    with Sandbox(
        Limits(wall_seconds=1.5, max_operations=NO_BUDGET), workers=1, spares=0
    ) as sandbox:
        first = sandbox.pid
        assert first is not None
        killer = threading.Timer(0.5, os.kill, (first, signal.SIGKILL))
        killer.start()
        results = sandbox.score_all(batch, X, Y, SPEC)
        killer.join()
        assert sandbox.pid != first
    assert results[0].error == "timed out after 1.5 s (wall clock)"
    assert [r.correct for r in results[1:]] == [expected for _, expected in models]


def test_a_sandbox_that_cannot_start_raises_instead_of_scoring_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Scoring every model 0 would make an honest miner vote against the majority.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(SandboxError, match="did not start"):
        Sandbox().score(HONEST, X, Y, SPEC)


def test_bad_pool_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"spares must be 0\.\.256"):
        Sandbox(spares=-1)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        Sandbox(workers=0)


def test_a_client_holding_over_a_thousand_descriptors_can_still_score() -> None:
    # select() cannot watch descriptor 1024 or above; a busy miner process can hold that many.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this machine allows {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        with Sandbox(spares=1) as sandbox:
            assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_spare_killed_while_idle_is_never_handed_a_model() -> None:
    # The OOM killer or a stray signal may take a spare: an honest model must not score 0.
    models = [honest(seed) for seed in range(3)]
    with Sandbox(workers=1, spares=2) as sandbox:
        sandbox.wait_ready()
        os.kill(min(server_children(sandbox)), signal.SIGKILL)
        results = sandbox.score_all([p for p, _ in models], X, Y, SPEC)
    assert [(r.correct, r.error) for r in results] == [(n, None) for _, n in models]


def test_a_stuck_server_is_killed_even_with_more_jobs_than_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Frozen, it reads no jobs: the caller waits for room to send one, then gives up on it.
    monkeypatch.setattr(scoring, "_SERVER_GRACE_SECONDS", 1.0)
    models = [honest(seed) for seed in range(6)]
    with Sandbox(Limits(wall_seconds=1.0), workers=1, spares=0) as sandbox:
        frozen = sandbox.pid
        assert frozen is not None
        os.kill(frozen, signal.SIGSTOP)
        results = sandbox.score_all([p for p, _ in models], X, Y, SPEC)
        assert sandbox.pid != frozen
    assert [r.correct for r in results] == [n for _, n in models]


def test_a_shortened_test_set_file_is_written_again() -> None:
    with Sandbox(spares=0) as sandbox:
        assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()
        (stored,) = sandbox._dir.glob("x-*.f32")
        os.truncate(stored, 100)
        assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()


def test_a_closed_sandbox_refuses_work() -> None:
    sandbox = Sandbox(spares=0)
    sandbox.close()
    with pytest.raises(SandboxError, match="closed"):
        sandbox.score(HONEST, X, Y, SPEC)


# A model that runs long enough (a second or so on one sample) to be killed while it runs.
SLOW = hostile.payload(hostile.slow(matmuls=20))


def _kill_children(sandbox: Sandbox, sig: signal.Signals, times: int) -> list[int]:
    """Kill the child running the model, `times` times (each retry is a fresh child), as the
    OOM killer or a stray signal would; return the pids killed."""
    killed: list[int] = []
    deadline = time.monotonic() + 60
    while len(killed) < times and time.monotonic() < deadline:
        fresh = server_children(sandbox) - set(killed)
        if fresh:
            time.sleep(0.3)  # let it read the job and start the model
            pid = min(fresh)
            os.kill(pid, sig)
            killed.append(pid)
        time.sleep(0.01)
    return killed


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name
)
def test_a_child_killed_from_outside_is_rescored_not_zero(sig: signal.Signals) -> None:
    # Only the sandbox's own limits may score a model 0: any other death is scored again.
    # SLOW computes what HONEST does, the long way.
    expected = scoring.score_in_process(HONEST, X[:1], Y[:1], SPEC)
    assert expected.ok
    with (
        Sandbox(Limits(max_operations=NO_BUDGET), workers=1, spares=0) as sandbox,
        ThreadPoolExecutor(1) as pool,
    ):
        sandbox.wait_ready()
        scored = pool.submit(sandbox.score, SLOW, X[:1], Y[:1], SPEC)
        (killed,) = _kill_children(sandbox, sig, 1)
        result = scored.result()
    assert (result.correct, result.error) == (expected.correct, None)
    assert result.pid != killed


def test_a_model_killed_from_outside_every_time_raises_instead_of_scoring_zero() -> None:
    with (
        Sandbox(Limits(max_operations=NO_BUDGET), workers=1, spares=0) as sandbox,
        ThreadPoolExecutor(1) as pool,
    ):
        sandbox.wait_ready()
        scored = pool.submit(sandbox.score, SLOW, X[:1], Y[:1], SPEC)
        assert len(_kill_children(sandbox, signal.SIGKILL, 3)) == 3
        with pytest.raises(
            SandboxError, match=r"killed from outside \(SIGKILL, after [0-9.]+ s of CPU\)"
        ):
            scored.result()
        assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()  # still serving


def test_the_fork_server_runs_one_thread_and_keeps_no_telemetry_database() -> None:
    # ONNX Runtime's telemetry is a second thread and a database of every graph name it loads.
    with Sandbox(spares=1) as sandbox:
        sandbox.wait_ready()
        assert sandbox.score(HONEST, X, Y, SPEC).correct == numpy_correct()
        pid = sandbox.pid
        assert len(os.listdir(f"/proc/{pid}/task")) == 1
        opened = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert not [path for path in opened if "onnxruntime" in path], opened


def test_the_miner_process_keeps_no_telemetry_database(tmp_path: Path) -> None:
    # In-process inference (`deml model score`, the checks) loads ONNX Runtime in the miner's
    # own process: importing DeML turns the telemetry off there too.
    code = (
        "import deml; from deml.model import inference; from tests.helpers import hostile;"
        " inference.open_session(hostile.classifier().SerializeToString())"
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("onnxruntime.db*"))


def test_a_model_out_of_time_gets_a_second_child_before_it_scores_zero() -> None:
    # The one verdict that depends on the machine's speed and load at that moment.
    seen: set[int] = set()
    with (
        Sandbox(Limits(wall_seconds=1.0, max_operations=NO_BUDGET), workers=1, spares=0) as sandbox,
        ThreadPoolExecutor(1) as pool,
    ):
        sandbox.wait_ready()
        scored = pool.submit(sandbox.score, SLOW, X, Y, SPEC)
        while not scored.done():
            seen |= server_children(sandbox)
            time.sleep(0.01)
    result = scored.result()
    assert (result.correct, result.error) == (0, "timed out after 1 s (wall clock)")
    assert len(seen) == 2  # two children, one after the other


BURN_THEN_SPIN = """
import os, resource, sys, time
from deml.scoring import child
end = time.process_time() + 0.6
while time.process_time() < end:  # what a spare's warm-up leaves on the clock
    pass
print(time.process_time(), flush=True)
child._apply_limits({"memory_bytes": 1 << 30, "cpu_seconds": 1})
while True:
    pass
"""


def test_the_cpu_budget_is_the_same_in_every_child() -> None:
    # RLIMIT_CPU counts whole seconds from the process's start: a child that had used 0.6 s
    # warming up got 1.4 s for a 1 s budget. The budget now starts with the job.
    budgets = []
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", BURN_THEN_SPIN], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        before = float(proc.stdout.readline())  # CPU used when the job's limits were set
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = status
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGPROF
        budgets.append(usage.ru_utime + usage.ru_stime - before)
    # Not 1.4 s (the old way), nor 0.4 s (a budget counted from the start). Under load the
    # exit's CPU figure and the timer's run a few ticks apart: about a second, both times.
    assert all(0.85 < budget < 1.15 for budget in budgets), budgets
