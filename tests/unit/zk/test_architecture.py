"""An architecture's bundle: named by its sha-256, which is its CID's digest, so a payload's id
says where to fetch it; anything but the canonical bundle is refused by name; a model packed
for it must be of it; a payload that is not one scores as what it is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deml.exceptions import BlockNotFound, ProofError
from deml.model import codec, export, inference, transform, zoo
from deml.model.spec import ModelSpec
from deml.roles.architectures import Catalogue
from deml.storage.local import LocalStore
from deml.zk import architecture, binding
from deml.zk.circuit import Circuit

SPEC = ModelSpec((64,), 10)
SETTINGS = {"run_args": {"logrows": 15, "param_scale": 13, "input_scale": 13}}


def mlp(seed: int, scale: float = 1 / 16, name: str = "torch-mlp") -> bytes:
    return export.to_onnx(zoo.build(name, SPEC, seed=seed, scale=scale), SPEC)


def arch(store: LocalStore, template: bytes) -> architecture.Architecture:
    return architecture.Architecture(
        "torch-mlp on pixels", str(store.put(template)), str(store.put(b"an SRS")), SETTINGS
    )


def test_the_id_is_the_bundles_cid_and_a_fetch_checks_it(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "content")
    a = arch(store, mlp(0))
    assert str(store.put(a.bundle())) == architecture.cid_of(a.id)
    assert architecture.fetch(LocalStore(tmp_path / "content"), a.id) == a
    # Another party's store without it: nothing made up, a named miss (retried as an outage).
    with pytest.raises(BlockNotFound):
        architecture.fetch(LocalStore(tmp_path / "empty"), a.id)
    with pytest.raises(ProofError, match="32 bytes"):
        architecture.cid_of(a.id[:31])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r | {"deml_architecture": 2}, "version 1 only"),
        (lambda r: {k: v for k, v in r.items() if k != "srs"}, "srs"),
        (lambda r: r | {"margin": 1}, "the margin a positive float"),
        (lambda r: r | {"margin": -0.5}, "the margin a positive float"),
        (lambda r: r | {"template": 7}, "name, template and srs are strings"),
        (lambda r: r | {"settings": {"run_args": {"logrows": 30, "param_scale": 13}}}, "logrows"),
        (lambda r: r | {"settings": {}}, "run_args"),
        (lambda r: r | {"extra": 1}, "extra"),
    ],
)
def test_a_bundle_that_is_not_one_is_refused_by_name(
    tmp_path: Path, change: object, reason: str
) -> None:
    record = json.loads(arch(LocalStore(tmp_path), b"x").bundle())
    data = json.dumps(change(record), sort_keys=True, separators=(",", ":")).encode()  # type: ignore[operator]
    with pytest.raises(ProofError, match="not an architecture bundle") as caught:
        architecture.parse(data)
    assert reason in str(caught.value)


def test_a_bundle_not_in_canonical_form_is_refused(tmp_path: Path) -> None:
    a = arch(LocalStore(tmp_path), b"x")
    assert architecture.parse(a.bundle()) == a
    spaced = json.dumps(json.loads(a.bundle()), sort_keys=True).encode()
    with pytest.raises(ProofError, match="canonical"):
        architecture.parse(spaced)


def test_a_competitor_packs_only_a_model_of_the_architecture(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    template = mlp(0)
    local = architecture.Local(arch(store, template), template, Circuit(tmp_path, tmp_path))
    model = mlp(3)
    payload = architecture.pack(model, local)
    arch_id, values = binding.weights_of(payload)
    assert arch_id == local.architecture.id and len(payload) == 37 + 4 * 9_610
    # What miners score: the template with the payload's weights, the model's predictions.
    x = np.random.default_rng(1).integers(0, 17, size=(64, 64)).astype(np.float32)
    ours, theirs = (
        inference.predict(inference.open_session(m), x, 10) for m in (model, local.onnx_of(values))
    )
    assert (ours == theirs).mean() > 0.95
    with pytest.raises(ProofError, match="are not those of torch-mlp on pixels"):
        architecture.pack(mlp(3, name="torch-wide-mlp"), local)
    with pytest.raises(ProofError, match="input scale"):  # trained on data of another range
        architecture.pack(mlp(3, scale=1 / 255), local)
    # A packed (int8) model folds to float weights of the same shapes: it packs too.
    assert (
        binding.weights_of(architecture.pack(transform.apply(model, "int8"), local))[0] == arch_id
    )


def test_what_a_miner_scores_of_a_payload(tmp_path: Path) -> None:
    """A codec payload passes as it is; a disputable one that is not even well formed is no
    model (scored 0 alike on every miner), before anything is asked of the chain."""
    catalogue = Catalogue(registry=None, storage=LocalStore(tmp_path), root=tmp_path)  # type: ignore[arg-type]
    plain = codec.encode(mlp(0), codec.Codec("", "zlib"))
    assert catalogue.scorable(plain) == (plain, None)
    truncated = binding.payload(b"\1" * 32, [1, 2, 3])[:-1]
    payload, why = catalogue.scorable(truncated)
    assert payload is None and "a disputable payload that is no model" in str(why)
    assert "int32 words" in str(why)
