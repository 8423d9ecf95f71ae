"""One dispute of a zoo model on chain, for `deml bench zk`: every transaction and its gas.

The model is revealed as a disputable payload (its weights as the circuit commits them) in a
competition whose test split is the digits' first test rows, committed by their root. A
three-seat jury, all bought, counts the model right on every sample; the bitmaps go out; one
challenger proves a sample the model gets wrong and, at the contest's end, overturns the root.
Measured on a throwaway anvil (py-evm's ecMul, in Python, takes minutes for a contest):
`bind`, the bitmaps, the challenge (the verifier's pairing included), the
resolution (the overturn included), and, apart, what contesting the commitment would cost
(every step of the registry's recomputation, the cost a false challenge's bond pays).
"""

from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from eth_utils import keccak

from bench.gas import ETHER, FACTORY_CONFIG
from bench.ports import free_port
from deml.artifacts import Artifact
from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode
from deml.contracts.bindings import CompetitionFactory
from deml.contracts.commitments import hash_test_key, model_commitment, new_salt, vote_commitment
from deml.contracts.sample_tree import SampleTree
from deml.contracts.score_tree import Score, ScoreTree, bitmap, vote_hash, winner_of
from deml.contracts.types import Params, RevealMode
from deml.roles import settlement
from deml.zk import binding
from deml.zk import circuit as zk

SAMPLES = 64  # the test split of the bench's competition: the digits' first test rows
STEP = 1_000
ARCH = keccak(b"bench architecture")


def measure(
    circuit: zk.Circuit,
    compiled: Path,
    proven: zk.Proof,
    onnx_bytes: bytes,
    verifier: Artifact,
    x: np.ndarray,
    y: np.ndarray,
) -> dict[str, Any]:
    """Play one dispute of `onnx_bytes` (its circuit, one proof `proven` and its verifier made
    already) on the test rows `x`, `y`; the gas of each transaction."""
    scale = json.loads(circuit.settings.read_text())["run_args"]["param_scale"]
    values = binding.message(onnx_bytes, scale, binding.usable_rows(circuit))
    if binding.commitment(values, circuit) != proven.commitment:
        raise ValueError("its weights do not give its proofs' commitment: not bindable")
    payload = binding.payload(ARCH, values)
    model = binding.with_weights(onnx_bytes, values, scale)
    predicted, lead = _predict(model, x)
    wrong = np.flatnonzero(predicted != y)
    wrong = wrong[lead[wrong] >= binding.MARGIN]
    if len(wrong) == 0:
        raise ValueError("it gets every sample right: nothing to dispute")
    j = int(wrong[np.argmax(lead[wrong])])

    with tempfile.TemporaryDirectory(prefix="deml-bench-dispute-") as tmp:
        node = LocalNode(Path(tmp))
        info, _ = node.start(port=free_port(), chain_id=31337, mnemonic=DEV_MNEMONIC, persist=False)
        try:
            chain = Chain.connect(info.url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
            return _play(chain, circuit, compiled, payload, values, verifier, x, y, j)
        finally:
            node.stop()


def _play(
    chain: Chain,
    circuit: zk.Circuit,
    compiled: Path,
    payload: bytes,
    values: list[int],
    verifier: Artifact,
    x: np.ndarray,
    y: np.ndarray,
    j: int,
) -> dict[str, Any]:
    host, caller, competitor, challenger, *jurors = chain.accounts
    factory = CompetitionFactory.deploy(chain, **FACTORY_CONFIG, sender=host)
    disputes = factory.disputes()
    registry = disputes.architectures()
    contract = chain.deploy(verifier)
    pinned = binding.registration(circuit, len(values))
    chain.transact(registry.contract.functions.register(ARCH, pinned.as_abi(contract.address)))
    pool = factory.pool()
    for juror in jurors[:3]:
        pool.bond(10, sender=juror)

    samples = SampleTree(x, y)
    key = secrets.token_bytes(32)
    now = chain.timestamp()
    params = Params(
        entry_fee=ETHER // 100, host_bond=ETHER, draw_bounty=0, publish_bounty=0,
        submit_deadline=now + STEP, reveal_deadline=now + 2 * STEP,
        key_deadline=now + 3 * STEP, vote_commit_deadline=now + 4 * STEP,
        vote_reveal_deadline=now + 5 * STEP, tally_duration=STEP, test_set_size=len(y),
        max_model_bytes=len(payload), max_submissions=1, seats=3, winner_bps=9_000,
        test_key_hash=hash_test_key(key), reveal_mode=RevealMode.CALLDATA,
        samples_root=samples.root,
    )  # fmt: skip
    comp = factory.create(params, "bafy-bench", "bafy-bench-test", prize=ETHER, sender=host)
    fn = comp.contract.functions
    salt = new_salt()
    chain.transact(
        fn.commit(model_commitment(payload, salt, competitor.address, comp.address)),
        sender=competitor,
        value=params.entry_fee,
    )
    chain.travel_to(params.submit_deadline)
    settlement.draw_jury_if_due(comp, caller)
    chain.transact(fn.reveal(1, payload, salt), sender=competitor)
    chain.travel_to(params.reveal_deadline)
    chain.transact(fn.revealTestKey(key), sender=host)
    gas: dict[str, int] = {}
    gas["bind"] = _gas(chain, disputes.bind(comp.address, 1, payload, sender=caller))

    # The bought jury: the model right on every sample.
    bits = bitmap([True] * len(y))
    lie = ScoreTree([Score(1, len(y), keccak(bits), bits)])
    vote = vote_hash(lie.root, lie.count, *winner_of(lie.scores))
    drawn = {j for jury in comp.juries() for j in jury.jurors}
    voters = [a for a in jurors[:3] if a.address in drawn]
    salts = {a.address: new_salt() for a in voters}
    for a in voters:
        chain.transact(
            fn.commitVote(vote_commitment(vote, salts[a.address], a.address, comp.address)),
            sender=a,
        )
    chain.travel_to(params.vote_commit_deadline)
    for a in voters:
        chain.transact(fn.revealVote(lie.root, lie.count, 1, len(y), salts[a.address]), sender=a)
    chain.travel_to(params.vote_reveal_deadline)
    (chunk,) = lie.chunks()
    gas["publish_bitmaps"] = _gas(
        chain, disputes.publish_bitmaps(comp.address, chunk, lie.bitmaps(chunk), sender=caller)
    )

    proof = zk.prove(circuit, compiled, x[j], circuit.folder / "dispute")
    presented = samples.proof(j)
    evidence = (
        0, chunk.leaves, chunk.proof, bits, j, presented.label, presented.features,
        presented.proof, proof.proof.raw, list(proof.proof.instances),
    )  # fmt: skip
    gas["challenge"] = _gas(chain, disputes.challenge(comp.address, evidence, sender=challenger))
    end = chain.call(disputes.contract.functions.challengeOf(1))[4]
    chain.travel_to(end)
    gas["resolve"] = _gas(chain, disputes.resolve(1, sender=challenger))
    if not comp.overturned(1):
        raise AssertionError("the challenge did not overturn the bought root")
    contest = _contest(chain, registry.contract, values, circuit.srs, caller)
    return {
        "dispute_gas": gas["bind"] + gas["challenge"] + gas["resolve"],
        "dispute_transactions": gas,
        "contest_gas": sum(contest),
        "contest_steps": len(contest),
        "sample": j,
    }


def _gas(chain: Chain, receipt: Any) -> int:
    return int(receipt["gasUsed"])


def _contest(chain: Chain, registry: Any, values: list[int], srs: Path, who: Any) -> list[int]:
    """Every step of the registry's recomputation of the model's commitment; their gas."""
    points = binding.point_chunks(srs, len(values))
    return [
        _gas(chain, chain.transact(registry.functions.step(*args), sender=who))
        for args in binding.step_args(ARCH, values, points)
    ]


def _predict(model: bytes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    logits = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]
    top2 = np.sort(logits, axis=1)[:, -2:]
    return np.argmax(logits, axis=1), top2[:, 1] - top2[:, 0]
