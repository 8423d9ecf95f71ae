"""Evidence by hand (`deml dispute prove|check`): what a revealed model predicts on one test
sample, proven with a zero-knowledge proof (deml.zk), with the sample and its Merkle proof
against the samples root the host committed at creation.

A disputable model (its payload an architecture's weights) is proven on its architecture's
circuit, so the evidence is what the dispute contract takes (`deml.roles.challenger` plays
it); any other model on a circuit calibrated here, which convinces a person, not a contract.
`check` holds evidence against the chain as the contract would: the sample against the
committed root, the proof against its verifying key and the sample, the model against the
submission's revealed hash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from deml import journal
from deml.contracts.bindings import Competition
from deml.contracts.sample_tree import SampleProof, SampleTree
from deml.contracts.types import CreatedCompetition
from deml.dataset.npz import read_npz
from deml.exceptions import DisputeError, ModelRejected, PayloadError, ProofError
from deml.model import check as model_check
from deml.model import codec
from deml.roles import challenger, miner
from deml.roles.architectures import Catalogue
from deml.storage.base import Storage
from deml.zk import binding
from deml.zk import circuit as zk

CALIBRATION_ROWS = 32  # training rows the circuit's scales are calibrated on
EVIDENCE_FILE = "evidence.json"


@dataclass(frozen=True)
class Evidence:
    """One proven prediction, as `deml dispute prove` writes it (`evidence.json`)."""

    competition: str
    submission: int
    model_hash: str  # keccak256 of the revealed payload
    sample: int
    label: int
    features: str  # hex of the sample's big-endian float32 features, as its leaf holds them
    sample_proof: list[str]  # the leaf's siblings, from below up
    predicted: int
    margin: float  # the top logit's lead over the runner-up
    correct: bool
    commitment: str  # hex of the proof's first 64 bytes: the weights' KZG commitment
    folder: str  # the circuit, its keys and the proof
    disputable: bool = False  # proven on its architecture's registered circuit

    @property
    def features_array(self) -> np.ndarray:
        return np.frombuffer(bytes.fromhex(self.features), ">f4").astype(np.float32)


def prove(
    comp: Competition,
    created: CreatedCompetition,
    submission_id: int,
    sample: int,
    *,
    storage: Storage,
    sources: miner.BlobSourcesFor,
    catalogue: Catalogue,
    state_dir: Path,
) -> Evidence:
    """Prove what submission `submission_id` predicts on test sample `sample` (the key must be
    out), and write the evidence next to the proof. DisputeError when there is nothing to prove
    (the host is at fault, the sample does not exist, the model scores 0 on every miner)."""
    book = miner.MinerBook(Path(state_dir) / "dispute", comp.address, "evidence")
    data = miner.fetch_test_split(comp, created, storage, book)
    if data is None:
        raise DisputeError(
            f"the test split is the host's fault ({book.load().host_fault}): the jury votes"
            " HOST_FAULT, and no prediction is disputed"
        )
    x, y, spec = data
    if not 0 <= sample < len(x):
        raise DisputeError(f"sample {sample} is outside the test split's 0..{len(x) - 1}")
    revealed = miner.revealed_model(comp, submission_id, sources)
    if revealed.payload is None:
        raise DisputeError(f"submission {submission_id} scores 0 everywhere: {revealed.refused}")
    folder = book.dir / f"submission-{submission_id}" / f"sample-{sample}"
    if revealed.payload.startswith(binding.PAYLOAD_MAGIC):  # on its architecture's circuit
        try:
            architecture_id, values = binding.weights_of(revealed.payload)
            local = catalogue.local(architecture_id)
        except ProofError as exc:
            raise DisputeError(f"submission {submission_id} scores 0 everywhere: {exc}") from exc
        circuit = local.circuit
        proof = challenger.prove_sample(local, values, x[sample], folder)
    else:
        try:
            _, onnx_bytes = codec.decode(revealed.payload)
            model_check.validate(onnx_bytes, spec)
        except (PayloadError, ModelRejected) as exc:
            raise DisputeError(f"submission {submission_id} scores 0 everywhere: {exc}") from exc
        srs_dir = Path(state_dir) / "zk" / "srs"
        circuit, run = zk.prove_model(onnx_bytes, _training_rows(book), x[sample], folder, srs_dir)
        proof = run.proof
    if not zk.verify(circuit, proof):
        raise DisputeError(f"the proof in {folder} does not verify")
    leaf = SampleTree(x, y).proof(sample)
    evidence = Evidence(
        competition=comp.address,
        submission=submission_id,
        model_hash=revealed.model_hash.hex(),
        sample=sample,
        label=leaf.label,
        features=leaf.features.hex(),
        sample_proof=[p.hex() for p in leaf.proof],
        predicted=proof.predicted,
        margin=proof.margin,
        correct=proof.predicted == leaf.label,
        commitment=proof.commitment.hex(),
        folder=str(folder),
        disputable=revealed.payload.startswith(binding.PAYLOAD_MAGIC),
    )
    journal.save(folder / EVIDENCE_FILE, asdict(evidence))
    return evidence


def _training_rows(book: miner.MinerBook) -> np.ndarray:
    """The first training rows of the dataset the test split came with (fetched, verified)."""
    folder = book.dir / "dataset"
    manifest = journal.load(folder / "manifest.json") or {}
    path = folder / manifest["files"]["train"]["path"]
    x, _ = read_npz(path, f"the training split {path}")
    return x[:CALIBRATION_ROWS]


def load(path: Path) -> Evidence:
    """Evidence from its file; DisputeError if it is not one."""
    record = journal.load(Path(path))
    if record is None:
        raise DisputeError(f"{path} does not exist")
    try:
        return Evidence(**record)
    except TypeError as exc:
        raise DisputeError(
            f"{path} is not the evidence `deml dispute prove` writes: {exc}"
        ) from exc


def check(comp: Competition, evidence: Evidence) -> list[str]:
    """What does not hold in `evidence` against the chain and its own proof ([]: it all holds)."""
    problems = []
    if evidence.competition.lower() != comp.address.lower():
        problems.append(f"it is about competition {evidence.competition}, not {comp.address}")
    presented = SampleProof(
        evidence.sample,
        evidence.label,
        bytes.fromhex(evidence.features),
        [bytes.fromhex(s) for s in evidence.sample_proof],
    )
    if not presented.proves(comp.params().samples_root):
        problems.append(
            f"its sample is not the host's sample {evidence.sample} with label {evidence.label}"
            " (its Merkle proof does not lead to the samples root on chain)"
        )
    # After a reveal the contract holds the model's hash (its payload's, or its blobs').
    if comp.submission(evidence.submission).hash.hex() != evidence.model_hash:
        problems.append(f"its model is not the one submission {evidence.submission} revealed")
    folder = Path(evidence.folder)
    job = journal.load(folder / "job.json") or {}
    circuit = zk.Circuit(folder, Path(job.get("srs", "")))
    proof = zk.read_proof(circuit, folder / "proof.json")
    if not zk.verify(circuit, proof):
        problems.append("its proof does not verify under its verifying key")
    scale = int(circuit.run_args["input_scale"])
    if proof.inputs != zk.fixed_point(evidence.features_array, scale):
        problems.append("its proof is about other inputs than the sample's features")
    if (proof.predicted, proof.commitment.hex()) != (evidence.predicted, evidence.commitment):
        problems.append("its class or commitment is not the proof's")
    return problems
