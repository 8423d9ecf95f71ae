"""`deml dispute prove` and `check` as a challenger runs them, on anvil: once the key is out, a
proof of what a revealed model predicts on one test sample, with the host's sample; evidence
altered in any part (the label, the sample, the model) is refused by name."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
from typer.testing import CliRunner

from deml.chain.client import Chain
from deml.cli.app import app
from deml.contracts import deployment
from deml.dataset import crypto, datapackage
from deml.dataset.npz import read_npz
from deml.model import codec, export, payload, zoo
from deml.model.spec import ModelSpec
from deml.roles import dispute
from deml.settings import load_settings
from deml.storage import storage_from_settings
from tests.helpers.game import PRIZE, Game, bond_all, default_params


def deml(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=dict(os.environ))
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


def test_a_challenger_proves_a_prediction_and_altered_evidence_is_refused(role_env: Path) -> None:
    settings = load_settings()
    storage = storage_from_settings(settings)
    manifest = datapackage.prepare(role_env, settings.state_dir)
    cids = datapackage.publish(role_env / datapackage.PACKAGE_DIR, storage)
    key = crypto.KeyStore(settings.state_dir).load(manifest["name"], manifest["version"])
    chain = Chain.from_settings(settings)
    host, competitor = chain.accounts[0], chain.accounts[1]
    factory = deployment.factory(chain, settings)
    bond_all(factory.pool(), chain.accounts[4:7])
    root = datapackage.published_samples_root(manifest, storage, key)
    terms = {"test_set_size": manifest["counts"]["test"], "max_model_bytes": 65_536}
    params = default_params(chain, key, samples_root=root, **terms)
    comp = factory.create(
        params, str(cids["manifest"]), str(cids["test"]), prize=PRIZE, sender=host
    )
    game = Game(chain, comp, params, key, host, PRIZE)

    # A competitor's model: the zoo MLP, briefly trained, packed as `deml model pack` packs it.
    train = role_env / datapackage.PACKAGE_DIR / manifest["files"]["train"]["path"]
    x_train, y_train = read_npz(train)
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
    x_test, y_test = read_npz(crypto.decrypt(storage.get(cids["test"]), key))
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
