"""The model zoo: each model learns digits, training is seeded, user functions plug in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from deml.dataset import pipeline
from deml.model import zoo
from deml.model.spec import ModelSpec

EPOCHS = 12


@dataclass(frozen=True)
class Split:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """X_train, y_train, X_val, y_val: the order `zoo.train` takes them in."""
        return self.X_train, self.y_train, self.X_val, self.y_val


@pytest.fixture(scope="session")
def digits() -> Split:
    """The public training split as the dataset pipeline writes it, cut into train and val."""
    from sklearn.model_selection import train_test_split

    params = pipeline.DatasetParams(name="digits", seed=42)
    X, y = pipeline.load_source(params)
    (X_public, y_public), _ = pipeline.split(X, y, params)
    X_train, X_val, y_train, y_val = train_test_split(
        X_public, y_public, test_size=0.2, random_state=0, stratify=y_public
    )
    return Split(X_train, y_train, X_val, y_val)


def train_linear(X_train, y_train, X_val, y_val, spec, on_epoch):
    """A user's training function: softmax regression in torch (`...test_zoo:train_linear`)."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(int(np.prod(spec.input_shape)), spec.num_classes)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    x, y = torch.from_numpy(X_train / 16), torch.from_numpy(y_train)
    for epoch in (1, 2, 3):
        for _ in range(10):  # full-batch steps: the data is tiny
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        on_epoch(epoch, {"loss": loss.item()})
    # Folds the input scaling into the first layer, so the model takes raw pixels.
    with torch.no_grad():
        model[1].weight /= 16
    return model


def return_a_string(X_train, y_train, X_val, y_val, spec, on_epoch):
    return "not a model"


@pytest.mark.parametrize("name", zoo.MODELS)
def test_zoo_model_learns_digits(digits: Split, name: str) -> None:
    seen: list[tuple[int, dict[str, float]]] = []
    trained = zoo.train(
        name,
        *digits.arrays(),
        epochs=EPOCHS,
        seed=0,
        on_epoch=lambda e, m: seen.append((e, m)),
    )
    assert trained.val_accuracy > 0.9
    assert [epoch for epoch, _ in seen] == list(range(1, EPOCHS + 1))
    assert all(set(metrics) == {"loss", "train_accuracy", "val_accuracy"} for _, metrics in seen)
    # What the last epoch reported is what the returned model scores.
    assert seen[-1][1]["val_accuracy"] == pytest.approx(trained.val_accuracy, abs=1e-6)
    assert trained.framework == name.split("-")[0]
    assert trained.spec == ModelSpec((64,), 10)
    assert trained.params["model"] == name
    assert trained.params["epochs"] == EPOCHS
    assert trained.params["num_parameters"] == zoo.count_parameters(trained.model) > 1000


@pytest.mark.parametrize(("name", "shape"), [("torch-cnn", (8, 8)), ("keras-cnn", (8, 8, 1))])
def test_cnn_takes_image_shaped_rows(digits: Split, name: str, shape: tuple[int, ...]) -> None:
    trained = zoo.train(
        name,
        digits.X_train.reshape(-1, *shape),
        digits.y_train,
        digits.X_val.reshape(-1, *shape),
        digits.y_val,
        epochs=1,
    )
    assert trained.spec.input_shape == shape
    assert zoo.predict(trained.model, digits.X_val[:5].reshape(-1, *shape)).shape == (5,)


def test_cnn_refuses_rows_that_are_not_an_image() -> None:
    with pytest.raises(zoo.ZooError, match="not a square image"):
        zoo.build("torch-cnn", ModelSpec((63,), 10))


@pytest.mark.parametrize("name", ["torch-mlp", "keras-mlp"])
def test_same_seed_trains_the_same_model(digits: Split, name: str) -> None:
    data = digits.arrays()
    first, second = (zoo.train(name, *data, epochs=3, seed=7) for _ in range(2))
    other = zoo.train(name, *data, epochs=3, seed=8)
    assert first.val_accuracy == second.val_accuracy
    assert first.history == second.history
    assert np.array_equal(
        zoo.predict(first.model, digits.X_val), zoo.predict(second.model, digits.X_val)
    )
    assert other.history != first.history


def test_user_function_trains_by_module_and_name(digits: Split) -> None:
    reported: list[int] = []
    trained = zoo.train(
        "tests.unit.model.test_zoo:train_linear",
        *digits.arrays(),
        on_epoch=lambda epoch, _: reported.append(epoch),
    )
    assert reported == [1, 2, 3]
    assert trained.framework == "torch"
    assert trained.name == trained.params["model"] == "tests.unit.model.test_zoo:train_linear"
    assert trained.val_accuracy > 0.8
    assert [h["epoch"] for h in trained.history] == [1.0, 2.0, 3.0]


def test_user_function_may_be_passed_as_a_callable(digits: Split) -> None:
    trained = zoo.train(train_linear, *digits.arrays())
    assert trained.name == "tests.unit.model.test_zoo:train_linear"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("torch-rnn", "neither a zoo model"),
        ("my_module", "neither a zoo model"),
        ("my_module:", "neither a zoo model"),
        ("my module:train", "neither a zoo model"),
        ("a:b:c", "neither a zoo model"),
        ("no_such_module_for_deml:train", "cannot import 'no_such_module_for_deml'"),
        ("tests.unit.model.test_zoo:no_such_function", "has no function 'no_such_function'"),
        ("tests.unit.model.test_zoo:EPOCHS", "is a int, not a function"),
    ],
)
def test_bad_training_function_reference_is_explained(
    digits: Split, reference: str, message: str
) -> None:
    with pytest.raises(zoo.ZooError, match=message):
        zoo.train(reference, *digits.arrays(), epochs=1)


def test_user_function_must_return_a_torch_or_keras_model(digits: Split) -> None:
    with pytest.raises(zoo.ZooError, match=r"must return a torch.nn.Module or a keras.Model"):
        zoo.train(return_a_string, *digits.arrays())


def test_data_that_does_not_fit_the_spec_is_refused(digits: Split) -> None:
    with pytest.raises(zoo.ZooError, match=r"spec wants \(8, 8\)"):
        zoo.train("torch-mlp", *digits.arrays(), spec=ModelSpec((8, 8), 10), epochs=1)


def test_zoo_error_is_a_deml_error_and_a_value_error() -> None:
    from deml.exceptions import DemlError

    assert issubclass(zoo.ZooError, DemlError)
    assert issubclass(zoo.ZooError, ValueError)
