"""Round trips of real PyTorch and Keras models through export, every codec, and scoring."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest

from deml.exceptions import PayloadTooLarge, SpecMismatch
from deml.model import codec, export, inference, payload, transform
from deml.model.codec import Codec
from deml.model.spec import ModelSpec
from tests.helpers.models import NAMES, digits, onnx_model, reference

LOSSLESS = [c for c in codec.ALL_CODECS if c.lossless]
# Least agreement with the framework's own argmax each lossy transform must keep (measured
# here: fp16 and int8 agree on every sample, int6 on all but one or two, int4 on ~97%).
MIN_AGREEMENT = {"fp16": 0.995, "int8": 0.99, "int6": 0.98, "dyn8": 0.98, "int4": 0.93}


def predictions(name: str, chosen: Codec) -> np.ndarray:
    data = digits()
    packed = payload.encode(onnx_model(name), chosen)
    return inference.evaluate(packed, data.x_test, data.spec, max_payload_bytes=len(packed))


@pytest.mark.parametrize("name", NAMES)
def test_lossless_codecs_give_the_frameworks_argmax_on_every_sample(name: str) -> None:
    native = reference(name).predict(digits().x_test)
    for chosen in LOSSLESS:
        assert np.array_equal(predictions(name, chosen), native), chosen.name


@pytest.mark.parametrize("name", NAMES)
def test_lossy_codecs_agree_with_the_framework_as_measured(
    name: str, record_property: pytest.RecordProperty
) -> None:
    native = reference(name).predict(digits().x_test)
    for transform_name, least in MIN_AGREEMENT.items():
        agreement = float(np.mean(predictions(name, Codec(transform_name, "lzma")) == native))
        record_property(f"agreement[{transform_name}]", agreement)
        assert agreement >= least, (transform_name, agreement)


@pytest.mark.parametrize("name", NAMES)
def test_quantized_payloads_are_far_smaller_than_float32(name: str) -> None:
    sizes = {
        t: len(payload.encode(onnx_model(name), Codec(t, "lzma")))
        for t in ("", "fp16", "int8", "int4")
    }
    assert sizes["int4"] < sizes["int8"] < sizes["fp16"] < sizes[""]
    assert sizes["int8"] * 3 < sizes[""]


def test_slim_keeps_outputs_bit_identical_and_drops_names() -> None:
    original = onnx_model("keras-cnn")
    slim = transform.apply(original, "slim")
    x = digits().x_test
    assert len(slim) < len(original)
    outputs = []
    for model in (original, slim):
        session = inference.open_session(model)
        outputs.append(session.run(None, {session.get_inputs()[0].name: x})[0])
    assert np.array_equal(*outputs)
    names = {n.name for n in onnx.load_from_string(slim).graph.node}
    assert names == {""}


@pytest.mark.parametrize("model", ["torch-mlp", "keras-cnn"])
def test_every_transform_but_dyn8_is_batch_independent(model: str) -> None:
    x = digits().x_test[:64]
    for name in ("", "slim", "fp16", "int8", "int4", "dyn8"):
        independent = name != "dyn8"
        session = inference.open_session(transform.apply(onnx_model(model), name))
        feed = session.get_inputs()[0].name
        whole = session.run(None, {feed: x})[0]
        alone = np.concatenate([session.run(None, {feed: x[i : i + 1]})[0] for i in range(64)])
        assert np.array_equal(whole, alone) is independent, name


def test_int8_stores_int8_weights_with_per_channel_scales() -> None:
    model = onnx.load_from_string(transform.apply(onnx_model("torch-cnn"), "int8"))
    int8 = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    # Two convolutions and one dense layer; the biases stay float32.
    assert sorted(int(np.prod(t.dims)) for t in int8) == [16 * 9, 10 * 128, 32 * 16 * 9]
    scales = sorted(
        tuple(t.dims)
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) > 1
    )
    # One scale per output channel, shaped to broadcast: conv [out, 1, 1, 1], Gemm B^T [out, 1].
    assert scales == [(10, 1), (16, 1, 1, 1), (32, 1, 1, 1)]


@pytest.mark.parametrize("name", ["torch-cnn", "keras-mlp"])
def test_pack_auto_picks_the_smallest_codec_within_the_accuracy_drop(name: str) -> None:
    data = digits()
    packed = payload.pack(reference(name).model, data.spec, validation=(data.x_test, data.y_test))
    reference_accuracy = packed.reference_accuracy
    within = [t for t in packed.trials if reference_accuracy - t.accuracy <= 0.005 + 1e-12]
    assert packed.codec.name == min(within, key=lambda t: t.bytes).codec
    assert len(packed.payload) == min(t.bytes for t in within)
    assert "dyn8+lzma" not in {t.codec for t in packed.trials}
    # Done-when target: at most 1/8 of the seed's encoding of the same weights.
    from bench.models import seed_bytes

    assert len(packed.payload) * 8 <= seed_bytes(reference(name).weights())


def test_a_codec_named_explicitly_is_used_and_measured() -> None:
    data = digits()
    packed = payload.pack(
        onnx_model("torch-cnn"),
        data.spec,
        codec_name="int4+lzma",
        validation=(data.x_test, data.y_test),
        max_accuracy_drop=0.0,
    )
    assert packed.codec == Codec("int4", "lzma")
    assert [t.codec for t in packed.trials] == ["int4+lzma"]
    assert 0.5 < packed.accuracy <= 1.0


def test_pack_without_validation_data_stays_lossless() -> None:
    packed = payload.pack(onnx_model("torch-mlp"), digits().spec)
    assert packed.codec.lossless
    assert {t.codec for t in packed.trials} == {c.name for c in LOSSLESS}
    _, model = codec.decode(packed.payload)
    assert model == transform.apply(onnx_model("torch-mlp"), packed.codec.transform)


def test_payload_over_the_cap_is_refused_with_size_and_cap() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        payload.pack(onnx_model("torch-mlp"), digits().spec, codec_name="zlib", max_bytes=10_000)
    message = str(caught.value)
    assert "over the cap of 10,000 bytes" in message
    assert f"{caught.value.size:,} bytes" in message and caught.value.size > 10_000


@pytest.mark.parametrize("name", ["torch-mlp", "keras-cnn"])
def test_wrong_class_count_is_a_clear_error_at_pack_time(name: str) -> None:
    with pytest.raises(SpecMismatch, match=r"output is \[batch, 10\] but the dataset has 12"):
        payload.pack(reference(name).model, ModelSpec((64,), 12))


@pytest.mark.parametrize("name", ["torch-cnn", "keras-mlp"])
def test_wrong_input_shape_is_a_clear_error_at_pack_time(name: str) -> None:
    shaped = r"cannot take a batch of samples shaped \[batch, 8, 8\]"
    with pytest.raises(SpecMismatch, match=shaped):
        payload.pack(reference(name).model, ModelSpec((8, 8), 10))


def test_pickled_torch_files_are_refused_unread(tmp_path: Path) -> None:
    import torch

    model = reference("torch-mlp").model
    zipped, legacy = tmp_path / "model.pt", tmp_path / "legacy.onnx"
    torch.save(model.state_dict(), zipped)
    torch.save(model, legacy, _use_new_zipfile_serialization=False)
    for path, kind in ((zipped, "zip archive"), (legacy, "Python pickle")):
        with pytest.raises(export.PickleRefused, match=f"looks like a {kind}.*never loads"):
            payload.pack(path, digits().spec)


def test_keras_archive_is_refused_too(tmp_path: Path) -> None:
    archive = tmp_path / "model.keras"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("config.json", json.dumps({"class_name": "Sequential"}))
    with pytest.raises(export.PickleRefused, match="zip archive"):
        payload.pack(archive, digits().spec)


def test_onnx_file_packs_like_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_model("keras-cnn"))
    from_file = payload.pack(path, digits().spec, codec_name="int8+lzma")
    from_bytes = payload.pack(onnx_model("keras-cnn"), digits().spec, codec_name="int8+lzma")
    assert from_file.payload == from_bytes.payload
