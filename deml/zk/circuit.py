"""One inference as an EZKL circuit: its settings, keys and proofs (EZKL 23.0.5, PyPI `ezkl`).

The circuit's weights are committed, not fixed (`param_visibility = "polycommit"`): every model
of one architecture compiled with one settings file has the same verifying key (so one
verifier serves them all), and a proof carries the KZG commitment of the model's weights as
its first 64 bytes, the same in every proof of that model. That commitment is what binds a
proof to a revealed model. The sample (inputs) and the logits (outputs) are public values of
the proof, as fixed-point field elements (value · 2^scale, negatives as FIELD − |v|).

Setup needs a KZG structured reference string. `generate_srs` makes one with a random secret:
whoever ran it could forge proofs, so it is for tests and benchmarks only; a deployment pins a
public ceremony's (docs/disputes.md).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deml.exceptions import ProofError

# BN254's scalar field: the proof's public values are elements of it.
FIELD = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001
COMMITMENT_BYTES = 64  # the weights' KZG commitment: one G1 point, x then y
PROVE_MEMORY_BYTES = 4 * 1024**3
PROVE_TIMEOUT_S = 300.0


def ezkl_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an EZKL function inside a running event loop (calibration, witness generation and
    the EVM helpers need one), awaiting it if it returns an awaitable."""

    async def run() -> Any:
        result = fn(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    return asyncio.run(run())


def generate_srs(path: Path, logrows: int) -> Path:
    """A structured reference string for circuits of up to 2**logrows rows, made here with a
    random secret: **for tests and benchmarks only** (its maker could forge proofs)."""
    import ezkl

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        ezkl.gen_srs(str(path), logrows)
    return path


@dataclass(frozen=True)
class Circuit:
    """One architecture's circuit: settings, keys and the SRS they were made with."""

    folder: Path
    srs: Path

    @property
    def settings(self) -> Path:
        return self.folder / "settings.json"

    @property
    def vk(self) -> Path:
        return self.folder / "vk.key"

    @property
    def pk(self) -> Path:
        return self.folder / "pk.key"

    @property
    def run_args(self) -> dict[str, Any]:
        return dict(json.loads(self.settings.read_text())["run_args"])


def make_settings(onnx_bytes: bytes, calibration: np.ndarray, folder: Path) -> Path:
    """An architecture's settings, calibrated on samples of its data (scales, rows): fixed once
    and kept, since every model compiled with them shares one verifying key."""
    network, data = _write_inputs(folder, onnx_bytes, calibration)
    return settings_from(network, data, folder / "settings.json")


def _write_inputs(folder: Path, onnx_bytes: bytes, calibration: np.ndarray) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    network, data = folder / "network.onnx", folder / "calibration.json"
    network.write_bytes(onnx_bytes)
    rows = np.asarray(calibration, np.float32).reshape(-1).tolist()
    data.write_text(json.dumps({"input_data": [rows]}))
    return network, data


def settings_from(network: Path, calibration: Path, settings: Path) -> Path:
    """Settings for the ONNX file `network`, calibrated on the samples in `calibration`."""
    import ezkl

    args = ezkl.PyRunArgs()
    args.input_visibility = "public"
    args.output_visibility = "public"
    args.param_visibility = "polycommit"
    args.variables = [(_batch_dimension(network.read_bytes()), 1)]  # one sample a proof
    ezkl.gen_settings(str(network), str(settings), py_run_args=args)
    ezkl_call(ezkl.calibrate_settings, str(calibration), str(network), str(settings), "resources")
    return settings


def _batch_dimension(onnx_bytes: bytes) -> str:
    """The name the model gives its input's batch dimension (`batch` from deml.model.export's
    PyTorch path; tf2onnx names its own)."""
    import onnx

    dims = onnx.load_from_string(onnx_bytes).graph.input[0].type.tensor_type.shape.dim
    if not dims or not dims[0].dim_param:
        raise ProofError("the model's input has no named batch dimension to fix at 1")
    return str(dims[0].dim_param)


def compile_model(onnx_bytes: bytes, settings: Path, folder: Path) -> Path:
    """A model compiled into the circuit of `settings` (its architecture's)."""
    folder.mkdir(parents=True, exist_ok=True)
    network = folder / "network.onnx"
    network.write_bytes(onnx_bytes)
    return compile_file(network, settings, folder / "network.compiled")


def compile_file(network: Path, settings: Path, compiled: Path) -> Path:
    import ezkl

    if not ezkl.compile_circuit(str(network), str(compiled), str(settings)):
        raise ProofError(f"EZKL could not compile {network} with {settings}")
    return compiled


def setup(compiled: Path, settings: Path, srs: Path) -> Circuit:
    """The proving and verifying keys of the circuit `compiled` belongs to, next to `settings`."""
    import ezkl

    circuit = Circuit(settings.parent, srs)
    if not ezkl.setup(str(compiled), str(circuit.vk), str(circuit.pk), srs_path=str(srs)):
        raise ProofError(f"EZKL setup failed for {compiled}")
    return circuit


@dataclass(frozen=True)
class Proof:
    """A proof of one inference, with its public values as signed integers."""

    raw: bytes
    instances: tuple[int, ...]  # field elements: the sample's features, then the logits
    features: int  # how many of the instances are the sample
    scale: int  # the outputs' fixed-point scale (log2)
    file: Path

    @property
    def commitment(self) -> bytes:
        """The KZG commitment of the model's weights: what binds the proof to a model."""
        return self.raw[:COMMITMENT_BYTES]

    @property
    def logits(self) -> list[int]:
        return [signed(v) for v in self.instances[self.features :]]

    @property
    def inputs(self) -> list[int]:
        return [signed(v) for v in self.instances[: self.features]]

    @property
    def predicted(self) -> int:
        """The class the proof shows (the first of equal top logits, as numpy's argmax)."""
        return int(np.argmax(self.logits))

    @property
    def margin(self) -> float:
        """How far the top logit leads the runner-up, in logit units."""
        top = sorted(self.logits, reverse=True)
        return (top[0] - top[1]) / 2**self.scale


def signed(element: int) -> int:
    """A field element as the signed fixed-point integer it encodes."""
    return element - FIELD if element > FIELD // 2 else element


def fixed_point(features: np.ndarray, scale: int) -> list[int]:
    """A sample's features as the circuit's public inputs: round(x · 2^scale), halves away
    from zero (what EZKL quantizes to)."""
    scaled = np.asarray(features, np.float64).reshape(-1) * 2.0**scale
    return [int(v) for v in np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)]


@dataclass(frozen=True)
class ProveRun:
    proof: Proof
    seconds: float
    peak_mb: float


def prove(
    circuit: Circuit,
    compiled: Path,
    features: np.ndarray,
    folder: Path,
    *,
    memory_bytes: int = PROVE_MEMORY_BYTES,
    timeout_s: float = PROVE_TIMEOUT_S,
) -> ProveRun:
    """Prove what the model `compiled` predicts on one sample, in a child held to
    `memory_bytes` of address space and `timeout_s` seconds. ProofError if it fails."""
    job = {"compiled": str(compiled), "pk": str(circuit.pk), "vk": str(circuit.vk)}
    job["srs"] = str(circuit.srs)
    seconds, peak_mb = _in_child(job, features, folder, memory_bytes, timeout_s)
    return ProveRun(read_proof(circuit, folder / "proof.json"), seconds, peak_mb)


def prove_model(
    onnx_bytes: bytes,
    calibration: np.ndarray,
    features: np.ndarray,
    folder: Path,
    srs_dir: Path,
    *,
    memory_bytes: int = PROVE_MEMORY_BYTES,
    timeout_s: float = PROVE_TIMEOUT_S,
) -> tuple[Circuit, ProveRun]:
    """Everything for one proof of an untrusted model, all of it in the child (EZKL parses the
    model there, under the limits): settings calibrated on `calibration`, the circuit, an SRS
    for its size in `srs_dir` (made once: `generate_srs`, tests only), keys, the proof."""
    network, data = _write_inputs(folder, onnx_bytes, calibration)
    job = {
        "network": str(network),
        "calibration": str(data),
        "settings": str(folder / "settings.json"),
        "compiled": str(folder / "network.compiled"),
        "srs_dir": str(srs_dir),
        "pk": str(folder / "pk.key"),
        "vk": str(folder / "vk.key"),
    }
    seconds, peak_mb = _in_child(job, features, folder, memory_bytes, timeout_s)
    circuit = Circuit(folder, Path(json.loads((folder / "job.json").read_text())["srs"]))
    return circuit, ProveRun(read_proof(circuit, folder / "proof.json"), seconds, peak_mb)


def _in_child(
    job: dict[str, Any], features: np.ndarray, folder: Path, memory_bytes: int, timeout_s: float
) -> tuple[float, float]:
    """Run the proving child on `job` (see deml.zk.prover); its seconds and peak RSS in MB."""
    folder.mkdir(parents=True, exist_ok=True)
    sample = np.asarray(features, np.float32).reshape(-1)
    (folder / "input.json").write_text(json.dumps({"input_data": [sample.tolist()]}))
    job = {
        **job,
        "input": str(folder / "input.json"),
        "witness": str(folder / "witness.json"),
        "proof": str(folder / "proof.json"),
        "memory_bytes": memory_bytes,
    }
    (folder / "job.json").write_text(json.dumps(job))
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "deml.zk.prover", str(folder / "job.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timer = threading.Timer(timeout_s, lambda: os.killpg(child.pid, signal.SIGKILL))
    timer.start()
    try:
        output = child.stdout.read() if child.stdout else b""
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if code != 0:
        why = "ran out of time" if seconds >= timeout_s else f"exited with {code}"
        tail = output.decode(errors="replace").strip().splitlines()[-3:]
        raise ProofError(f"the proof in {folder} {why} after {seconds:.1f} s: {' | '.join(tail)}")
    return seconds, usage.ru_maxrss / 1024


def read_proof(circuit: Circuit, path: Path) -> Proof:
    """A proof file as EZKL writes it."""
    data = json.loads(path.read_text())
    (row,) = data["instances"]
    instances = tuple(int.from_bytes(bytes.fromhex(v), "little") for v in row)
    settings = json.loads(circuit.settings.read_text())
    features = int(np.prod(settings["model_instance_shapes"][0]))
    (scale,) = settings["model_output_scales"]
    return Proof(bytes(data["proof"]), instances, features, int(scale), path)


def verify(circuit: Circuit, proof: Proof) -> bool:
    """Whether the proof verifies under the architecture's verifying key."""
    import ezkl

    try:
        return bool(
            ezkl.verify(
                str(proof.file), str(circuit.settings), str(circuit.vk), srs_path=str(circuit.srs)
            )
        )
    except RuntimeError:
        return False
