"""`deml dispute prove` and `check` as a challenger runs them, on anvil: once the key is out, a
proof of what a revealed model predicts on one test sample, with the host's sample; evidence
altered in any part (the label, the sample, the model) is refused by name."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
from eth_utils import keccak
from typer.testing import CliRunner

from deml.chain.client import Chain
from deml.cli.app import app
from deml.contracts import deployment
from deml.contracts.score_tree import Score, ScoreTree, bitmap
from deml.dataset import crypto, datapackage
from deml.dataset.npz import read_npz
from deml.model import codec, export, payload, zoo
from deml.model.spec import ModelSpec
from deml.roles import dispute, miner
from deml.roles.architectures import catalogue_for
from deml.scoring.sandbox import Sandbox
from deml.settings import load_settings
from deml.storage import storage_from_settings
from deml.storage.base import Storage
from tests.helpers.game import PRIZE, Game, bond_all, default_params


def deml(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=dict(os.environ))
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


@dataclass
class Hosted:
    """A competition of the role environment's dataset, created and funded by its host."""

    storage: Storage
    key: bytes
    test_cid: str
    train: Path  # the training split, as competitors download it
    chain: Chain
    game: Game

    def test_split(self) -> tuple[np.ndarray, np.ndarray]:
        return read_npz(crypto.decrypt(self.storage.get(self.test_cid), self.key))


def hosted(role_env: Path, max_model_bytes: int) -> Hosted:
    settings = load_settings()
    storage = storage_from_settings(settings)
    manifest = datapackage.prepare(role_env, settings.state_dir)
    cids = datapackage.publish(role_env / datapackage.PACKAGE_DIR, storage)
    key = crypto.KeyStore(settings.state_dir).load(manifest["name"], manifest["version"])
    chain = Chain.from_settings(settings)
    host = chain.accounts[0]
    factory = deployment.factory(chain, settings)
    bond_all(factory.pool(), chain.accounts[4:7])
    root = datapackage.published_samples_root(manifest, storage, key)
    terms = {"test_set_size": manifest["counts"]["test"], "max_model_bytes": max_model_bytes}
    params = default_params(chain, key, samples_root=root, **terms)
    comp = factory.create(
        params, str(cids["manifest"]), str(cids["test"]), prize=PRIZE, sender=host
    )
    train = role_env / datapackage.PACKAGE_DIR / manifest["files"]["train"]["path"]
    game = Game(chain, comp, params, key, host, PRIZE)
    return Hosted(storage, key, str(cids["test"]), train, chain, game)


def test_a_challenger_proves_a_prediction_and_altered_evidence_is_refused(role_env: Path) -> None:
    h = hosted(role_env, 65_536)
    chain, game, comp = h.chain, h.game, h.game.competition
    competitor = chain.accounts[1]

    # A competitor's model: the zoo MLP, briefly trained, packed as `deml model pack` packs it.
    x_train, y_train = read_npz(h.train)
    spec = ModelSpec((64,), 10)
    trained = zoo.train(
        "torch-mlp", x_train, y_train, x_train[:50], y_train[:50], spec=spec, epochs=3
    )
    packed = payload.encode(export.to_onnx(trained.model, spec), codec.Codec.parse("int8+lzma"))
    sid = game.submit(competitor, packed)
    game.to_reveal()
    game.reveal(sid, competitor)

    code, shown = deml("dispute", "prove", comp.address, "--submission", str(sid), "--sample", "3")
    assert code != 0 and "has not revealed the test key" in shown  # nothing to prove on yet
    game.to_key()
    game.reveal_key()

    code, shown = deml("dispute", "prove", comp.address, "--submission", str(sid), "--sample", "3")
    assert code == 0, shown
    x_test, y_test = h.test_split()
    _, model = codec.decode(packed)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    expected = int(np.argmax(session.run(None, {session.get_inputs()[0].name: x_test[3:4]})[0]))
    verdict = "right" if expected == y_test[3] else "wrong"
    assert f"predicts class {expected} on sample 3 (label {y_test[3]}: {verdict}" in shown
    evidence_file = Path(shown.split("evidence: ")[1].split()[0])
    evidence = dispute.load(evidence_file)
    assert (evidence.predicted, evidence.label, evidence.sample) == (expected, y_test[3], 3)

    code, shown = deml("dispute", "check", str(evidence_file))
    assert code == 0 and f"✓ submission {sid} predicts class {expected}" in shown

    def refused(changed: dispute.Evidence, reason: str) -> None:
        forged = evidence_file.with_name("forged.json")
        forged.write_text(json.dumps(asdict(changed)))
        code, shown = deml("dispute", "check", str(forged))
        assert code == 1 and reason in shown, shown

    other = replace(evidence, label=(evidence.label + 1) % 10)
    refused(other, f"not the host's sample 3 with label {other.label}")
    # Another real sample with its own Merkle proof: the proof is not about its features.
    from deml.contracts.sample_tree import SampleTree

    leaf = SampleTree(x_test, y_test).proof(4)
    moved = replace(
        evidence, sample=4, label=leaf.label, features=leaf.features.hex(),
        sample_proof=[p.hex() for p in leaf.proof],
    )  # fmt: skip
    refused(moved, "about other inputs than the sample's features")
    refused(replace(evidence, model_hash="00" * 32), f"not the one submission {sid} revealed")


def test_the_dispute_game_by_hand_register_pack_challenge_settle(role_env: Path) -> None:
    """Each party through its own commands: the registrar registers the zoo MLP of the
    dataset, a competitor packs its trained model as a disputable payload, a bought majority
    counts it right on every sample, and a miner who scored it challenges and settles."""
    h = hosted(role_env, 40_000)
    chain, game, comp = h.chain, h.game, h.game.competition
    settings = load_settings()
    manifest = role_env / datapackage.PACKAGE_DIR / "manifest.json"
    code, shown = deml("dispute", "register", "torch-mlp", "--spec", str(manifest),
                       "--data", str(h.train), "--account", "1")  # fmt: skip
    assert code != 0 and f"only the registrar {chain.accounts[0].address} registers" in shown
    code, shown = deml("dispute", "register", "torch-mlp", "--spec", str(manifest),
                       "--data", str(h.train))  # fmt: skip
    assert code == 0 and "registered: verifier" in shown, shown
    arch_id = shown.split("architecture ")[1].split()[0]

    # The competitor: the zoo MLP trained on the training split, packed for the architecture.
    x_train, y_train = read_npz(h.train)
    spec = ModelSpec((64,), 10)
    folder = role_env / "competitor"
    folder.mkdir()
    for name, epochs in (("torch-mlp", 3), ("torch-wide-mlp", 1)):
        trained = zoo.train(name, x_train, y_train, x_train[:50], y_train[:50], spec=spec,
                            epochs=epochs)  # fmt: skip
        (folder / f"{name}.onnx").write_bytes(export.to_onnx(trained.model, spec))
    out = folder / "payload.bin"
    code, shown = deml("dispute", "pack", str(folder / "torch-wide-mlp.onnx"),
                       "--architecture", arch_id, "-o", str(out))  # fmt: skip
    assert code != 0 and "are not those of torch-mlp" in shown and not out.exists()
    code, shown = deml("dispute", "pack", str(folder / "torch-mlp.onnx"),
                       "--architecture", arch_id, "-o", str(out))  # fmt: skip
    assert code == 0 and "38,477 bytes" in shown, shown
    sid = game.submit(chain.accounts[1], out.read_bytes())
    game.to_reveal()
    game.draw()
    game.reveal(sid, chain.accounts[1])
    game.to_key()
    game.reveal_key()

    # The miner (account 8, on no jury): scores the model from its payload, as the flow does.
    who = chain.accounts[8]
    book = miner.MinerBook(settings.state_dir, comp.address, who.address)
    catalogue = catalogue_for(comp, h.storage, settings.state_dir)
    sources = miner.blob_sources_for(comp, h.storage)
    x_test, y_test = h.test_split()
    with Sandbox() as sandbox:
        (scored,) = miner.score_models(
            comp, [sid], (x_test, y_test, spec), book, sandbox, sources, catalogue
        ).values()
    assert 0 < scored.correct < len(y_test)
    code, shown = deml("dispute", "submit", comp.address, "--account", "8")
    assert code == 0 and "nothing to challenge yet" in shown, shown

    # The bought jury: the model right on every sample (its bitmap all ones).
    everything = bitmap([True] * len(y_test))
    lie = ScoreTree([Score(sid, len(y_test), keccak(everything), everything)])
    game.play_votes(lambda juror: lie)
    game.publish_bitmaps()
    code, shown = deml("dispute", "submit", comp.address, "--account", "8")
    assert code == 0, shown
    assert "this miner disagrees on 1 submissions" in shown
    assert f"challenge 1: submission {sid} predicts" in shown and "open until" in shown
    (c,) = comp.disputes().challenges(comp.address)
    assert y_test[c.sample] != c.predicted  # a sample the model gets wrong
    code, shown = deml("status", comp.address)
    assert "dispute window of vote 1" in shown and "bitmaps 1 of 1 published" in shown, shown
    assert f"challenge 1 by {who.address}: submission {sid} predicts {c.predicted}" in shown
    chain.travel_to(c.contest_end)
    code, settled = deml("dispute", "settle", comp.address, "--account", "8")
    assert code == 0 and "resolved challenges: [1]" in settled, settled
    assert comp.overturned(1) and comp.summary().round == 2
    code, shown = deml("status", comp.address)
    assert "vote 2 (the re-vote)" in shown and "dispute window" not in shown, shown
    bond = comp.disputes().bond()
    assert f"claimed {bond / 10**18:.6f} ETH" in settled  # its bond back; the slashed stake
    # is paid when the bought jurors are settled, after the re-vote
