"""Proofs of one inference of the zoo MLP (EZKL): a proof shows what the model predicts on a
sample, verifies under the one key its architecture has, carries a commitment that names the
model's weights (the same in every proof of that model, another for other weights), and
stops verifying when a public value is changed. Proving runs in a child held to its limits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from deml.exceptions import ProofError
from deml.zk import circuit as zk
from tests.helpers.zk import Built, build_mlps


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_mlps(tmp_path_factory.mktemp("zk"))


def logits_of(model: bytes, sample: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: sample.reshape(1, -1)})[0][0]


def clearest(model: bytes, samples: np.ndarray) -> int:
    """The sample on which the model's top class leads by most (far from a near-tie)."""
    leads = [np.diff(np.sort(logits_of(model, s))[-2:])[0] for s in samples]
    return int(np.argmax(leads))


def test_a_proof_shows_the_prediction_and_binds_the_weights(built: Built) -> None:
    circuit, root = built.circuit, built.root
    samples = built.samples[16:]  # not the calibration ones
    i = clearest(built.models[0], samples)
    j = (i + 1) % len(samples)
    first = zk.prove(circuit, built.compiled[0], samples[i], root / "p0").proof
    again = zk.prove(circuit, built.compiled[0], samples[j], root / "p1").proof
    other = zk.prove(circuit, built.compiled[1], samples[i], root / "p2").proof
    # One verifying key serves both models: the architecture's.
    assert all(zk.verify(circuit, p) for p in (first, again, other))
    # The weights' commitment: the same for one model on any sample, another for other weights.
    assert first.commitment == again.commitment != other.commitment
    assert len(first.commitment) == zk.COMMITMENT_BYTES
    # The public values are the sample in fixed point and the model's logits.
    assert first.inputs == zk.fixed_point(samples[i], circuit.run_args["input_scale"])
    expected = logits_of(built.models[0], samples[i])
    shown = np.array(first.logits) / 2**first.scale
    assert np.abs(shown - expected).max() < 0.02
    # Away from a near-tie, the circuit names the class ONNX Runtime does.
    assert first.margin > 0.05 and first.predicted == int(np.argmax(expected))


def test_a_packed_model_proves_under_its_architectures_key(built: Built) -> None:
    """The codec's transforms (weights as int4 or float16, restored by Cast and Mul) fold into
    the circuit's committed weights: one verifier serves a model however it was packed, and
    the commitment names the packed weights, not the float ones they came from."""
    circuit, root = built.circuit, built.root
    sample = built.samples[17]
    packed = zk.prove(circuit, built.compiled[2], sample, root / "p4").proof
    float_ = zk.prove(circuit, built.compiled[0], sample, root / "p5").proof
    assert zk.verify(circuit, packed)
    assert packed.commitment != float_.commitment
    expected = logits_of(built.models[2], sample)
    assert np.abs(np.array(packed.logits) / 2**packed.scale - expected).max() < 0.02


def test_a_proof_with_a_changed_public_value_does_not_verify(built: Built) -> None:
    circuit, root = built.circuit, built.root
    proof = zk.prove(circuit, built.compiled[0], built.samples[22], root / "p3").proof
    data = json.loads(proof.file.read_text())
    logit = int.from_bytes(bytes.fromhex(data["instances"][0][-1]), "little")
    data["instances"][0][-1] = ((logit + 1) % zk.FIELD).to_bytes(32, "little").hex()
    forged = root / "p3" / "forged.json"
    forged.write_text(json.dumps(data))
    assert not zk.verify(circuit, zk.read_proof(circuit, forged))


def test_a_proof_past_its_memory_fails_with_the_reason(built: Built, tmp_path: Path) -> None:
    with pytest.raises(ProofError, match="exited with"):
        zk.prove(
            built.circuit, built.compiled[0], built.samples[23], tmp_path,
            memory_bytes=64 * 1024**2,
        )  # fmt: skip
    with pytest.raises(ProofError, match="ran out of time"):
        zk.prove(built.circuit, built.compiled[0], built.samples[23], tmp_path, timeout_s=0.5)


def test_the_architectures_verifier_checks_proofs_on_chain(built: Built) -> None:
    from deml.chain.client import Chain
    from deml.exceptions import ContractRevert
    from deml.zk import verifier

    circuit, root = built.circuit, built.root
    artifact = verifier.compile_verifier(verifier.solidity(circuit, root / "evm"))
    assert artifact.deployed_size <= 24_576  # EIP-170: deployable on any chain
    chain = Chain.in_process()
    contract = chain.deploy(artifact)
    proofs = [
        zk.prove(circuit, built.compiled[m], built.samples[16 + m], root / f"evm{m}").proof
        for m in (0, 1)
    ]
    for proof in proofs:  # one verifier, two models
        assert chain.call(contract.functions.verifyProof(proof.raw, list(proof.instances)))
    forged = list(proofs[0].instances)
    forged[-1] = (forged[-1] + 1) % zk.FIELD  # one logit more
    with pytest.raises(ContractRevert):
        chain.call(contract.functions.verifyProof(proofs[0].raw, forged))
