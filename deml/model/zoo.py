"""A small model zoo for competitors: MLPs and CNNs in PyTorch and Keras, trained with a seed.

    from deml.model import zoo
    trained = zoo.train("torch-cnn", X_train, y_train, X_val, y_val, epochs=20, seed=0)
    trained.model, trained.val_accuracy, trained.params

Bring your own training function as `"package.module:function"` (or pass the callable):

    def my_training(X_train, y_train, X_val, y_val, spec, on_epoch):
        ...                                   # call on_epoch(epoch, {"loss": ...}) if you like
        return model                          # a torch.nn.Module or a keras.Model

Every model takes the competition's raw input `[batch, *spec.input_shape]` (float32) and returns
one score per class; the zoo's models scale the input and (CNNs) reshape it to an image inside
the model, so the exported ONNX needs no preprocessing.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from deml.exceptions import ZooError
from deml.model.spec import ModelSpec

# TensorFlow logs C++ start-up chatter unless told before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODELS = ("torch-mlp", "torch-cnn", "keras-mlp", "keras-cnn", "torch-wide-mlp")
DEFAULT_EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
HIDDEN = 128
CONV_CHANNELS = (16, 32)
# torch-wide-mlp's two hidden layers: about 330k weights on digits, a payload over 96 KiB
# whatever the codec (int4 included), so it is revealed in blobs (`reveal_mode: blob`).
WIDE_HIDDEN = (1024, 256)

OnEpoch = Callable[[int, dict[str, float]], None]
TrainFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, ModelSpec, OnEpoch], Any]
Framework = Literal["torch", "keras"]

# "package.module:function", the same form as console-script entry points.
_REFERENCE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


@dataclass(frozen=True)
class TrainedModel:
    """A trained framework model, its final validation accuracy and what produced it."""

    name: str
    framework: Framework
    model: Any
    spec: ModelSpec
    val_accuracy: float
    params: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def train(
    model: str | TrainFn,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    spec: ModelSpec | None = None,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    learning_rate: float = LEARNING_RATE,
    on_epoch: OnEpoch | None = None,
) -> TrainedModel:
    """Train a zoo model (`MODELS`) or a user's function (`"module:function"` or a callable).

    `on_epoch(epoch, metrics)` is called after each epoch (counted from 1) with `loss`,
    `train_accuracy` and `val_accuracy` for zoo models, and with whatever a user function
    reports. `spec` defaults to the data's own shape and `max(y) + 1` classes.
    """
    X_train, y_train = _check_data(X_train, y_train, "training")
    X_val, y_val = _check_data(X_val, y_val, "validation")
    spec = spec or ModelSpec(tuple(int(d) for d in X_train.shape[1:]), _num_classes(y_train, y_val))
    if X_train.shape[1:] != spec.input_shape or X_val.shape[1:] != spec.input_shape:
        raise ZooError(
            f"the data's rows are shaped {X_train.shape[1:]} (train) and {X_val.shape[1:]}"
            f" (validation), but the spec wants {spec.input_shape}"
        )
    if epochs < 1:
        raise ZooError(f"epochs must be at least 1, got {epochs}")
    history: list[dict[str, float]] = []

    def record(epoch: int, metrics: dict[str, float]) -> None:
        history.append({"epoch": float(epoch), **{k: float(v) for k, v in metrics.items()}})
        if on_epoch is not None:
            on_epoch(epoch, metrics)

    if isinstance(model, str) and model in MODELS:
        framework, kind = model.split("-", 1)
        fit = _fit_torch if framework == "torch" else _fit_keras
        hyper = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate}
        net = fit(kind, spec, X_train, y_train, X_val, y_val, seed=seed, report=record, **hyper)
        name, params = model, {"model": model, "framework": framework, "seed": seed, **hyper}
    else:
        fn = load_function(model) if isinstance(model, str) else model
        if not callable(fn):
            raise ZooError(f"expected a model name, 'module:function' or a callable; got {fn!r}")
        name = model if isinstance(model, str) else f"{fn.__module__}:{fn.__qualname__}"
        _seed_loaded_frameworks(seed)
        net = fn(X_train, y_train, X_val, y_val, spec, record)
        framework = framework_of(net, name)
        params = {"model": name, "framework": framework, "seed": seed}
    params["input_shape"] = "x".join(map(str, spec.input_shape))
    params["num_classes"] = spec.num_classes
    params["num_parameters"] = count_parameters(net)
    val_accuracy = float(np.mean(predict(net, X_val) == y_val))
    return TrainedModel(name, framework, net, spec, val_accuracy, params, history)


def build(name: str, spec: ModelSpec, seed: int = 0, scale: float = 1.0) -> Any:
    """An untrained zoo model for `spec`: a torch `nn.Module` or a `keras.Model`, its input
    multiplied by `scale` first (training sets it from the data's range)."""
    if name not in MODELS:
        raise ZooError(f"unknown model {name!r}; the zoo has {', '.join(MODELS)}")
    framework, kind = name.split("-", 1)
    if framework == "torch":
        return _torch_model(kind, spec, scale, seed)
    return _keras_model(kind, spec, scale, seed)


def load_function(reference: str) -> TrainFn:
    """The training function named by `"package.module:function"`, imported."""
    if not _REFERENCE.fullmatch(reference):
        raise ZooError(
            f"{reference!r} is neither a zoo model ({', '.join(MODELS)}) nor a training"
            " function written as 'package.module:function'"
        )
    module_name, function_name = reference.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ZooError(
            f"cannot import {module_name!r} (from {reference!r}): {exc}; is the module on the"
            " Python path (run from its folder, or set PYTHONPATH)?"
        ) from exc
    fn = getattr(module, function_name, None)
    if fn is None:
        raise ZooError(f"module {module_name!r} has no function {function_name!r}")
    if not callable(fn):
        raise ZooError(f"{reference!r} is a {type(fn).__name__}, not a function")
    return fn


def framework_of(model: Any, source: str = "the training function") -> Framework:
    """'torch' or 'keras', from the model's class (imports neither framework)."""
    names = {f"{c.__module__}.{c.__qualname__}" for c in type(model).__mro__}
    if "torch.nn.modules.module.Module" in names:
        return "torch"
    if any(n.startswith(("keras.", "tf_keras.")) and n.endswith(".Model") for n in names):
        return "keras"
    raise ZooError(
        f"{source} returned a {type(model).__module__}.{type(model).__qualname__};"
        " a training function must return a torch.nn.Module or a keras.Model"
    )


def predict(model: Any, X: np.ndarray) -> np.ndarray:
    """Class ids (argmax) predicted by a torch or keras model, in inference mode."""
    X = np.asarray(X, dtype=np.float32)
    if framework_of(model) == "torch":
        import torch

        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(X)).argmax(dim=1).numpy()
    return np.asarray(model(X, training=False)).argmax(axis=1)


def count_parameters(model: Any) -> int:
    """The number of weights in a torch or keras model."""
    if framework_of(model) == "torch":
        return sum(p.numel() for p in model.parameters())
    return int(model.count_params())


# -- PyTorch ---------------------------------------------------------------------------------


@functools.cache
def _torch_layers() -> tuple[type, type]:
    """The zoo's own torch layers (Scale, Permute), defined once torch is imported."""
    import torch
    from torch import nn

    class Scale(nn.Module):
        """Multiplies the input by a constant, so the model takes the competition's raw data."""

        def __init__(self, factor: float) -> None:
            super().__init__()
            # A buffer, so the factor travels with the state_dict and into the ONNX graph.
            self.register_buffer("factor", torch.tensor(factor, dtype=torch.float32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.factor

    class Permute(nn.Module):
        """Reorders axes: channels-last images to the channels-first layout Conv2d wants."""

        def __init__(self, *dims: int) -> None:
            super().__init__()
            self.dims = dims

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(*self.dims)

    return Scale, Permute


def _torch_model(kind: str, spec: ModelSpec, scale: float, seed: int) -> Any:
    import torch

    # A private RNG stream: the layers draw their initial weights from `seed` alone, and the
    # caller's torch seed is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _torch_layers_for(kind, spec, scale)


def _torch_layers_for(kind: str, spec: ModelSpec, scale: float) -> Any:
    from torch import nn

    Scale, Permute = _torch_layers()
    layers: list[nn.Module] = [Scale(scale)]
    if kind == "mlp":
        layers += [
            nn.Flatten(),
            nn.Linear(math.prod(spec.input_shape), HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, spec.num_classes),
        ]
    elif kind == "wide-mlp":
        first, second = WIDE_HIDDEN
        layers += [
            nn.Flatten(),
            nn.Linear(math.prod(spec.input_shape), first),
            nn.ReLU(),
            nn.Linear(first, second),
            nn.ReLU(),
            nn.Linear(second, spec.num_classes),
        ]
    else:
        channels, height, width, channels_first = _image_layout(spec)
        # Flatten first: Unflatten reshapes one axis, and the input may have several.
        layers.append(nn.Flatten())
        if channels_first:
            layers.append(nn.Unflatten(1, (channels, height, width)))
        else:
            layers += [nn.Unflatten(1, (height, width, channels)), Permute(0, 3, 1, 2)]
        for out in CONV_CHANNELS:
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU()]
            channels = out
            if min(height, width) >= 4:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
        layers += [nn.Flatten(), nn.Linear(channels * height * width, spec.num_classes)]
    return nn.Sequential(*layers)


def _fit_torch(
    kind: str,
    spec: ModelSpec,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    report: OnEpoch,
) -> Any:
    import torch
    from torch import nn

    model = _torch_model(kind, spec, input_scale(X_train), seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    x, y = torch.from_numpy(X_train), torch.from_numpy(y_train)
    x_val, y_val_t = torch.from_numpy(X_val), torch.from_numpy(y_val)
    order_rng = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        model.train()
        total_loss, correct = 0.0, 0
        for batch in torch.randperm(len(x), generator=order_rng).split(batch_size):
            optimizer.zero_grad()
            logits = model(x[batch])
            loss = nn.functional.cross_entropy(logits, y[batch])
            loss.backward()
            optimizer.step()
            # As Keras reports it: loss and accuracy over the epoch's batches as trained.
            total_loss += loss.item() * len(batch)
            correct += int((logits.argmax(dim=1) == y[batch]).sum())
        model.eval()
        with torch.no_grad():
            val_accuracy = float((model(x_val).argmax(dim=1) == y_val_t).float().mean())
        report(
            epoch,
            {
                "loss": total_loss / len(x),
                "train_accuracy": correct / len(x),
                "val_accuracy": val_accuracy,
            },
        )
    return model.eval()


# -- Keras -----------------------------------------------------------------------------------


def _keras_model(kind: str, spec: ModelSpec, scale: float, seed: int) -> Any:
    import keras

    layers = keras.layers
    body: list[Any] = [layers.Rescaling(scale)]
    init = {"kernel_initializer": keras.initializers.GlorotUniform(seed=seed)}
    if kind == "mlp":
        body += [
            layers.Flatten(),
            layers.Dense(HIDDEN, activation="relu", **init),
            layers.Dense(spec.num_classes, **init),
        ]
    else:
        channels, height, width, channels_first = _image_layout(spec)
        if channels_first:
            body += [layers.Reshape((channels, height, width)), layers.Permute((2, 3, 1))]
        else:
            body.append(layers.Reshape((height, width, channels)))
        for out in CONV_CHANNELS:
            body.append(layers.Conv2D(out, 3, padding="same", activation="relu", **init))
            if min(height, width) >= 4:
                body.append(layers.MaxPooling2D())
                height, width = height // 2, width // 2
        body += [layers.Flatten(), layers.Dense(spec.num_classes, **init)]
    return keras.Sequential([keras.Input(spec.input_shape), *body])


def _fit_keras(
    kind: str,
    spec: ModelSpec,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    report: OnEpoch,
) -> Any:
    import keras

    # Seeds Python, NumPy and the backend: fit() shuffles with the backend's global RNG.
    keras.utils.set_random_seed(seed)
    model = _keras_model(kind, spec, input_scale(X_train), seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            report(
                epoch + 1,
                {
                    "loss": float(logs["loss"]),
                    "train_accuracy": float(logs["accuracy"]),
                    "val_accuracy": float(logs["val_accuracy"]),
                },
            )

    model.fit(
        X_train,
        y_train,
        validation_data=(X_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[Report()],
    )
    return model


# -- helpers ---------------------------------------------------------------------------------


def _image_layout(spec: ModelSpec) -> tuple[int, int, int, bool]:
    """(channels, height, width, channels_first) of the image a CNN sees in one sample."""
    shape = spec.input_shape
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side != shape[0]:
            raise ZooError(
                f"a CNN needs image-like input; {shape[0]} features are not a square image."
                " Use an MLP, or give the dataset an input_shape of (height, width)"
            )
        return 1, side, side, True
    if len(shape) == 2:
        return 1, shape[0], shape[1], True
    if len(shape) == 3:
        # The channel axis is the shorter of the two ends: (1, 8, 8) or (32, 32, 3).
        if shape[0] <= shape[2]:
            return shape[0], shape[1], shape[2], True
        return shape[2], shape[0], shape[1], False
    raise ZooError(f"a CNN needs 1-3 input dimensions, got input_shape {shape}")


def input_scale(X: np.ndarray) -> float:
    """The factor the zoo's models multiply their input by: 1 / the data's peak."""
    # One scalar, not per-feature statistics: it survives weight quantization (int8/int4
    # codecs skip tiny tensors) and keeps the exported graph to a single Mul.
    peak = float(np.max(np.abs(X)))
    return 1.0 / peak if peak > 0 else 1.0


def _check_data(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 2 or y.ndim != 1 or len(X) != len(y) or len(X) == 0:
        raise ZooError(
            f"the {what} data must be X [rows, *input_shape] and y [rows] with the same,"
            f" non-zero number of rows; got X {X.shape} and y {y.shape}"
        )
    if y.dtype.kind not in "iu":
        raise ZooError(f"the {what} labels must be integer class ids, got {y.dtype}")
    return np.ascontiguousarray(X, dtype=np.float32), y.astype(np.int64)


def _num_classes(*labels: np.ndarray) -> int:
    return max(2, int(max(int(y.max()) for y in labels)) + 1)


def _seed_loaded_frameworks(seed: int) -> None:
    # Importing a framework only to seed it would cost seconds; a function that imports one
    # itself should seed it itself (this only reaches frameworks already imported).
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
