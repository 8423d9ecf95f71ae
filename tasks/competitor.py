"""The competitor's tasks: fetch the data, train and track a model, commit, reveal, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE

from deml import competitor, datapackage, payload, tracking, zoo
from deml.competition import Phase, Status
from deml.dataset import read_npz
from deml.spec import ModelSpec
from deml.storage import storage_from_settings
from tasks.common import RETRIES, competition, factory, session, signer

VALIDATION_SHARE = 0.2


@task(cache_policy=NO_CACHE, **RETRIES)
def fetch_training_data(address: str) -> str:
    """Download the competition's dataset, verified against its CIDs; return the folder."""
    settings, chain = session()
    created = factory(settings, chain).created(address)
    folder = settings.state_dir / "competitor" / address / "dataset"
    datapackage.fetch(created.dataset_cid, storage_from_settings(settings), folder)
    return str(folder)


@task(cache_policy=NO_CACHE)
def train_and_pack(
    address: str, data_dir: str, model: str, epochs: int, seed: int, codec: str
) -> dict[str, Any]:
    """Train `model` (a zoo name or `module:function`), tracked in MLflow; pack it under the cap.

    Returns the payload with its MLflow run id, codec and claimed validation accuracy.
    """
    settings, chain = session()
    manifest = datapackage.check_manifest((Path(data_dir) / "manifest.json").read_bytes(), data_dir)
    spec = ModelSpec.from_manifest(manifest)
    x, y = read_npz(Path(data_dir) / manifest["files"]["train"]["path"])
    x_train, y_train, x_val, y_val = _split(x, y, seed)
    tracking.configure(settings.resolved_mlflow_uri)
    run_id = tracking.start_submission_run(
        address, model, {"model": model, "epochs": epochs, "seed": seed}
    )
    trained = zoo.train(
        model, x_train, y_train, x_val, y_val, spec=spec, epochs=epochs, seed=seed,
        on_epoch=lambda epoch, metrics: tracking.log_epoch(run_id, epoch, metrics),
    )  # fmt: skip
    tracking.log_epoch(run_id, epochs, {"val_accuracy": trained.val_accuracy})
    cap = competition(chain, address).params().max_model_bytes
    packed = payload.pack(
        trained.model, spec, codec_name=codec, validation=(x_val, y_val), max_bytes=cap
    )
    tracking.log_model(run_id, payload.export.to_onnx(trained.model, spec), spec)
    return {
        "run_id": run_id,
        "payload": packed.payload,
        "codec": packed.codec.name,
        "val_accuracy": trained.val_accuracy,
        "params": trained.params.get("num_parameters"),
    }


@task(cache_policy=NO_CACHE, **RETRIES)
def submit(address: str, account: int, packed: dict[str, Any]) -> int:
    """Keep the payload and a salt on disk, then commit with the buy-in; return the id."""
    settings, chain = session()
    who = signer(chain, account)
    entries = competitor.Entries(settings.state_dir, address, who.address)
    comp = competition(chain, address)
    entry = competitor.prepare_entry(
        comp, packed["payload"], who, entries, run_id=packed["run_id"], codec=packed["codec"]
    )
    entry = competitor.send_commit(comp, entry, who, entries)
    assert entry.submission_id is not None
    return entry.submission_id


@task(cache_policy=NO_CACHE)
def submissions_open(address: str) -> bool:
    """Whether the competition still takes submissions."""
    _, chain = session()
    return competition(chain, address).phase() == Phase.SUBMIT


@task(cache_policy=NO_CACHE)
def entries_count(address: str, account: int) -> int:
    """How many submissions this account has prepared for the competition."""
    settings, chain = session()
    who = signer(chain, account)
    return len(competitor.Entries(settings.state_dir, address, who.address).all())


@task(cache_policy=NO_CACHE, **RETRIES)
def reveal(address: str, account: int) -> list[int]:
    """Reveal every committed submission while the reveal window is open; record it in MLflow."""
    settings, chain = session()
    who = signer(chain, account)
    comp = competition(chain, address)
    entries = competitor.Entries(settings.state_dir, address, who.address)
    revealed = competitor.reveal_due(comp, who, entries)
    tracking.configure(settings.resolved_mlflow_uri)
    for entry in entries.all():
        if entry.submission_id in revealed and entry.run_id:
            commit_tx, reveal_tx = competitor.transaction_hashes(comp, entry.submission_id)
            tracking.log_submission(
                entry.run_id,
                Path(entry.payload_file).read_bytes(),
                entry.codec or "",
                entry.submission_id,
                commit_tx or "",
                reveal_tx or "",
                address,
            )
    return revealed


@task(cache_policy=NO_CACHE)
def record_verified(address: str, account: int) -> dict[int, int]:
    """Write each settled submission's verified score into its MLflow run."""
    settings, chain = session()
    who = signer(chain, account)
    comp = competition(chain, address)
    if comp.phase() != Phase.FINALIZED:
        return {}
    size = comp.params().test_set_size
    tracking.configure(settings.resolved_mlflow_uri)
    verified = {}
    for entry in competitor.Entries(settings.state_dir, address, who.address).all():
        if entry.submission_id is None or entry.run_id is None:
            continue
        s = comp.submission(entry.submission_id)
        if s.status == Status.VALIDATED:
            tracking.log_verified(entry.run_id, s.top_score, size)
            verified[entry.submission_id] = s.top_score
    return verified


def _split(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """A seeded, stratified train/validation split of the public training data."""
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=VALIDATION_SHARE, random_state=seed, stratify=y
    )
    return x_train, y_train, x_val, y_val
