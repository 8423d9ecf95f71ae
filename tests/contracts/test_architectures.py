"""Which model a dispute's proof is about, settled without trusting anyone: the weights'
KZG commitment a proof carries is recomputed from the model's weights, off chain by anyone
(`deml.zk.binding`) and on chain in chunks against the architecture's pinned points.

A challenger could otherwise present a proof about another model (one that predicts what it
needs) and call it the revealed one; here the contract computes the revealed weights'
commitment itself, so only the real model's proofs match it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from web3.contract import Contract

from deml import artifacts
from deml.chain.client import Chain
from deml.model import export, zoo
from deml.zk import binding
from deml.zk import circuit as zk
from tests.helpers.reverts import raises
from tests.helpers.zk import SPEC, Built, build_mlps

ARCH = b"torch-mlp".ljust(32, b"\0")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_mlps(tmp_path_factory.mktemp("zk"))


@pytest.fixture(scope="module")
def proofs(built: Built) -> list[zk.Proof]:
    """A proof of each model on one sample: each carries its model's commitment."""
    return [
        zk.prove(built.circuit, c, built.samples[20], built.root / f"proof{i}").proof
        for i, c in enumerate(built.compiled)
    ]


def messages(built: Built) -> list[list[int]]:
    scale = json.loads(built.circuit.settings.read_text())["run_args"]["param_scale"]
    rows = binding.usable_rows(built.circuit)
    return [binding.message(m, scale, rows) for m in built.models]


def point(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[:32], "big"), int.from_bytes(data[32:], "big")


def test_a_single_value_constant_is_fixed_in_the_circuit_not_committed(
    tmp_path: Path, built: Built
) -> None:
    """A trained zoo model scales its input by one constant (1/16 for the digits' pixels):
    EZKL fixes such a single value in the circuit (it is part of the architecture's key), so
    the commitment covers the other parameters only, and a payload's model keeps it."""
    model = export.to_onnx(zoo.build("torch-mlp", SPEC, seed=2, scale=1 / 16), SPEC)
    assert [p.size for p in binding.parameters(model)] == [8192, 128, 1280, 10]
    settings = zk.make_settings(model, built.samples[:16], tmp_path / "scaled")
    compiled = zk.compile_model(model, settings, tmp_path / "model")
    logrows = json.loads(settings.read_text())["run_args"]["logrows"]
    srs = zk.generate_srs(built.root / "srs" / f"k{logrows}.srs", logrows)
    circuit = zk.setup(compiled, settings, srs)
    proof = zk.prove(circuit, compiled, built.samples[20], tmp_path / "proof").proof
    values = binding.message(model, 13)
    assert binding.commitment(values, circuit) == proof.commitment
    again = binding.with_weights(model, values, 13)  # the model a payload stands for
    assert binding.message(again, 13) == values
    assert 0.0625 in [float(v) for v in _initializers(again).values() if v.size == 1]


def _initializers(model: bytes) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    return {
        t.name: numpy_helper.to_array(t) for t in onnx.load_from_string(model).graph.initializer
    }


def test_anyone_recomputes_a_models_commitment_from_its_weights(
    built: Built, proofs: list[zk.Proof]
) -> None:
    """Off chain: the message of each model (float, other weights, packed as int4) commits to
    exactly what its proofs carry, and the commitments of the three differ."""
    computed = [binding.commitment(m, built.circuit) for m in messages(built)]
    assert computed == [p.commitment for p in proofs]
    assert len(set(computed)) == 3
    # The packed model's message has the float one's length: one circuit, one set of points.
    assert len({len(m) for m in messages(built)}) == 1


@pytest.fixture
def registry(anvil_chain: Chain, built: Built) -> tuple[Contract, list[bytes]]:
    """Architectures with the MLP pinned. Its verifier here is any contract with code (the
    registry itself): these tests are about the commitment, not about verifying proofs."""
    contract = anvil_chain.deploy(artifacts.load("Architectures"))
    pinned = binding.registration(built.circuit, len(messages(built)[0]))
    anvil_chain.transact(contract.functions.register(ARCH, pinned.as_abi(contract.address)))
    return contract, pinned.point_chunks


def run_steps(
    chain: Chain, contract: Contract, values: list[int], points: list[bytes]
) -> list[int]:
    """Every step of one model's commitment; the gas of each."""
    return [
        chain.transact(contract.functions.step(*args))["gasUsed"]
        for args in binding.step_args(ARCH, values, points)
    ]


def test_the_contract_computes_the_commitment_a_proof_carries(
    anvil_chain: Chain, built: Built, proofs: list[zk.Proof], registry: tuple[Contract, list[bytes]]
) -> None:
    contract, points = registry
    values = messages(built)
    root = binding.weights_root(values[2])  # the packed model, as a competitor reveals it
    assert anvil_chain.call(contract.functions.commitmentOf(ARCH, root))[0] is False
    gas = run_steps(anvil_chain, contract, values[2], points)
    done, x, y, by = anvil_chain.call(contract.functions.commitmentOf(ARCH, root))
    assert done and (x, y) == point(proofs[2].commitment)
    assert by == anvil_chain.accounts[0].address  # who added the last chunk
    assert (x, y) != point(proofs[0].commitment)  # its float original's proofs do not match
    assert len(gas) == 10 and max(gas) < 2**24  # each step fits one transaction
    with raises("AlreadyComputed"):
        run_steps(anvil_chain, contract, values[2], points)


def test_a_step_with_other_weights_or_other_points_reverts(
    anvil_chain: Chain, built: Built, registry: tuple[Contract, list[bytes]]
) -> None:
    contract, points = registry
    values = messages(built)[0]
    chunks = binding.weight_chunks(values)
    hashes = [anvil_chain.w3.keccak(c) for c in chunks]
    root = binding.weights_root(values)
    forged = bytearray(chunks[0])
    forged[3] ^= 1  # one weight's last bit, the hashes left as they were
    with raises("ChunkMismatch"):
        anvil_chain.transact(contract.functions.step(ARCH, root, hashes, bytes(forged), points[0]))
    with raises("ChunkMismatch"):  # the second chunk first
        anvil_chain.transact(contract.functions.step(ARCH, root, hashes, chunks[1], points[1]))
    with raises("PointsMismatch"):  # the points of other rows
        anvil_chain.transact(contract.functions.step(ARCH, root, hashes, chunks[0], points[1]))
    with raises("WeightsRootMismatch"):  # the chunk hashes of other weights
        anvil_chain.transact(
            contract.functions.step(ARCH, root, hashes[::-1], chunks[0], points[0])
        )
    unknown = b"keras-mlp".ljust(32, b"\0")
    with raises("ArchitectureUnknown"):
        anvil_chain.transact(contract.functions.step(unknown, root, hashes, chunks[0], points[0]))


def test_an_architecture_is_pinned_once_by_its_registrar(
    anvil_chain: Chain, built: Built, registry: tuple[Contract, list[bytes]]
) -> None:
    contract, _ = registry
    pinned = binding.registration(built.circuit, len(messages(built)[0]))
    register = contract.functions.register
    with raises("ArchitectureExists"):
        anvil_chain.transact(register(ARCH, pinned.as_abi(contract.address)))
    other = b"other".ljust(32, b"\0")
    with raises("NotRegistrar"):
        anvil_chain.transact(
            register(other, pinned.as_abi(contract.address)), sender=anvil_chain.accounts[1]
        )
    invalid = [
        replace(pinned, weights=1000),  # ten chunks of points for a model of one chunk
        replace(pinned, classes=1),
        replace(pinned, inputs=0),
    ]
    for wrong in invalid:
        with raises("ArchitectureInvalid"):
            anvil_chain.transact(register(other, wrong.as_abi(contract.address)))
    with raises("ArchitectureInvalid"):  # a verifier without code
        anvil_chain.transact(register(other, pinned.as_abi(anvil_chain.accounts[2].address)))


def test_points_that_are_not_on_the_curve_fail_the_step(anvil_chain: Chain, built: Built) -> None:
    """The registrar's points are pinned by hash, not checked: a registration with points off
    the curve is refused by the precompile at the first weight, never summed."""
    contract = anvil_chain.deploy(artifacts.load("Architectures"))
    values = [1, 2, 3]
    points = (1).to_bytes(32, "big") * 2 * len(values)  # (1, 1) is not on BN254
    pinned = replace(binding.registration(built.circuit, len(values)), point_chunks=[points])
    anvil_chain.transact(contract.functions.register(ARCH, pinned.as_abi(contract.address)))
    chunks = binding.weight_chunks(values)
    step = contract.functions.step(
        ARCH, binding.weights_root(values), [anvil_chain.w3.keccak(chunks[0])], chunks[0], points
    )
    with raises("PrecompileFailed"):
        anvil_chain.transact(step)
