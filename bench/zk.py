"""`deml bench zk`: what proving one inference of each zoo model costs (EZKL, for disputes).

Each zoo model is trained briefly on the digits, exported as a competitor exports it, and put
through the dispute pipeline of deml.zk: settings calibrated on training rows (weights
committed: one verifying key per architecture), the circuit compiled, keys made, one test
sample proven in a child with the prover's limits, the proof checked locally and by the
architecture's EVM verifier in a real transaction (py-evm), then one whole dispute played on
chain (bench/zk_dispute.py: `dispute_gas` is its bind, challenge and resolution; `contest_gas`
what recomputing the model's commitment costs). The SRS is generated here, with a random
secret: fine for measuring, never for a deployment (docs/disputes.md). A model whose circuit
would pass `MAX_LOGROWS` (setup and proving grow with the rows: the MLP's 2^15 prove in
seconds, 2^19 took minutes and 10 GB) is recorded as not disputable, with the reason.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import models, zk_dispute
from deml.exceptions import DemlError, ProofError
from deml.model import export, zoo

EZKL_VERSION = "23.0.5"
EPOCHS = 8
CALIBRATION_ROWS = 32
MAX_LOGROWS = 18
TARGET_PROVE_S = 10.0  # the zoo MLP on 2 cores
TARGET_DISPUTE_GAS = 1_000_000


def measure(name: str, data: models.Digits, folder: Path, chain: Any) -> dict[str, Any]:
    """One zoo model through the pipeline; its row of `zk.json`."""
    from deml.zk import circuit as zk
    from deml.zk import verifier

    trained = zoo.train(
        name, data.x_train, data.y_train, data.x_test, data.y_test, spec=data.spec, epochs=EPOCHS
    )
    onnx_bytes = export.to_onnx(trained.model, data.spec)
    row: dict[str, Any] = {"name": name, "params": zoo.count_parameters(trained.model)}
    try:
        started = time.monotonic()
        settings = zk.make_settings(onnx_bytes, data.x_train[:CALIBRATION_ROWS], folder)
        logrows = json.loads(settings.read_text())["run_args"]["logrows"]
        row["logrows"] = logrows
        if logrows > MAX_LOGROWS:
            raise DemlError(f"its circuit needs 2^{logrows} rows, past 2^{MAX_LOGROWS}")
        compiled = zk.compile_model(onnx_bytes, settings, folder / "model")
        srs = zk.generate_srs(folder.parent / "srs" / f"k{logrows}.srs", logrows)
        keys = time.monotonic()
        circuit = zk.setup(compiled, settings, srs)
        row["setup_s"] = round(time.monotonic() - keys, 1)
        row["settings_s"] = round(keys - started, 1)
        run = zk.prove(circuit, compiled, data.x_test[0], folder / "proof")
        row["prove_s"] = round(run.seconds, 1)
        row["peak_mb"] = round(run.peak_mb)
        row["proof_bytes"] = len(run.proof.raw)
        row["predicted_as_onnxruntime"] = run.proof.predicted == int(
            zoo.predict(trained.model, data.x_test[:1])[0]
        )
        if not zk.verify(circuit, run.proof):
            raise DemlError("its proof did not verify")
        artifact = verifier.compile_verifier(verifier.solidity(circuit, folder / "evm"))
        row["verifier_bytes"] = artifact.deployed_size
        contract = chain.deploy(artifact)
        fn = contract.functions.verifyProof(run.proof.raw, list(run.proof.instances))
        row["verify_gas"] = int(chain.transact(fn)["gasUsed"])
        x, y = data.x_test[: zk_dispute.SAMPLES], data.y_test[: zk_dispute.SAMPLES]
        try:
            row |= zk_dispute.measure(circuit, compiled, run.proof, onnx_bytes, artifact, x, y)
        except (ValueError, ProofError) as exc:  # provable, but no dispute: the reason
            row["dispute_gas"] = None
            row["dispute_refused"] = str(exc)
    except Exception as exc:  # any failure is this model's finding: recorded, not raised
        row["not_disputable"] = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
    return row


def run(
    progress: Callable[[str], None] = lambda _: None, names: tuple[str, ...] = zoo.MODELS
) -> dict:
    from deml.chain.client import Chain

    data = models.digits()
    chain = Chain.in_process()
    rows = []
    with tempfile.TemporaryDirectory(prefix="deml-bench-zk-") as tmp:
        for name in names:
            progress(f"{name}: train, settings, keys, one proof, the EVM verifier")
            rows.append(measure(name, data, Path(tmp) / name, chain))
    mlp = next((r for r in rows if r["name"] == "torch-mlp"), {})
    return {
        "ezkl": EZKL_VERSION,
        "cores": os.cpu_count(),
        "srs": "generated here with a random secret: for measuring only",
        "param_visibility": "polycommit",
        "models": rows,
        "targets": {"mlp_prove_s": TARGET_PROVE_S, "dispute_gas": TARGET_DISPUTE_GAS},
        "mlp_prove_target_met": bool(
            mlp.get("prove_s") is not None and mlp["prove_s"] < TARGET_PROVE_S
        ),
    }


def write(report: dict, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
