"""Reference models for benchmarks and tests: an MLP and a small CNN, in PyTorch and in Keras,
trained briefly on scikit-learn's 8x8 digits."""

from __future__ import annotations

import base64
import json
import os
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from deml.model.spec import ModelSpec

# TensorFlow logs C++ start-up chatter unless told before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NAMES = ("torch-mlp", "torch-cnn", "keras-mlp", "keras-cnn")
# As the project's dataset pipeline publishes digits (params.yaml): 64 pixel values 0..16 per
# sample, 25% of the rows (stratified, seed 42) held out for testing.
DIGITS_SPEC = ModelSpec((64,), 10)
TEST_SIZE = 0.25
SPLIT_SEED = 42
HIDDEN = 128
EPOCHS = {"mlp": 30, "cnn": 30}


@dataclass(frozen=True)
class Digits:
    """The digits data as float32 pixel rows and int64 labels; a fixed stratified split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    spec: ModelSpec = DIGITS_SPEC


@dataclass
class Reference:
    """A trained reference model with what the benchmarks record about it."""

    name: str
    framework: str
    model: Any

    @property
    def kind(self) -> str:
        return self.name.split("-")[1]

    def weights(self) -> dict[str, np.ndarray]:
        """Every weight tensor by name, as the framework names it."""
        if self.framework == "torch":
            return {k: v.detach().numpy() for k, v in self.model.state_dict().items()}
        return {w.path: np.asarray(w.numpy()) for w in self.model.weights}

    def params(self) -> int:
        return sum(int(w.size) for w in self.weights().values())

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The framework's own argmax predictions."""
        if self.framework == "torch":
            import torch

            with torch.no_grad():
                return self.model(torch.from_numpy(x)).argmax(dim=1).numpy()
        return np.asarray(self.model(x, training=False)).argmax(axis=1)


def digits() -> Digits:
    """The 1,797 digits split 75/25, stratified, always the same way."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x, y = x.astype(np.float32), y.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )
    return Digits(x_tr, y_tr, x_te, y_te)


def seed_bytes(weights: dict[str, np.ndarray]) -> int:
    """Size of the seed project's encoding: JSON lists of floats, zlib (default level), base64."""
    text = json.dumps({name: w.tolist() for name, w in weights.items()})
    return len(base64.b64encode(zlib.compress(text.encode())))


def build(name: str, data: Digits, seed: int = 0, epochs: int | None = None) -> Reference:
    """Train the reference model `name` (one of NAMES) on the digits training split."""
    framework, kind = name.split("-")
    epochs = epochs or EPOCHS[kind]
    if framework == "torch":
        model = _train_torch(kind, data, seed, epochs)
    elif framework == "keras":
        model = _train_keras(kind, data, seed, epochs)
    else:
        raise ValueError(f"unknown reference model {name!r}")
    return Reference(name, framework, model)


def _train_torch(kind: str, data: Digits, seed: int, epochs: int) -> Any:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    if kind == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    else:
        model = nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 10),
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 64):
            batch = order[start : start + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


def _train_keras(kind: str, data: Digits, seed: int, epochs: int) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    if kind == "mlp":
        body = [layers.Dense(HIDDEN, activation="relu"), layers.Dense(10)]
    else:
        body = [
            layers.Reshape((8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10),
        ]
    model = keras.Sequential([keras.Input((64,)), *body])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=64, verbose=0, shuffle=True)
    return model
