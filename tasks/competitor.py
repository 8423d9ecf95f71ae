"""The competitor's tasks: fetch the data, train, pack and track a model, commit, reveal,
record the verdict."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml.contracts.types import Phase
from deml.dataset import datapackage
from deml.model import payload
from deml.roles import competitor, standing, tracking
from deml.storage import storage_from_settings
from tasks.common import RETRIES, claim_records, competition, factory, session


@task(cache_policy=NO_CACHE, **RETRIES)
def fetch_training_data(address: str) -> str:
    """Download the competition's dataset, verified against its CIDs; return the folder."""
    settings, chain = session()
    created = factory(settings, chain).created(address)
    folder = settings.state_dir / "competitor" / address / "dataset"
    datapackage.fetch(created.dataset_cid, storage_from_settings(settings), folder)
    return str(folder)


@task(cache_policy=NO_CACHE)
def train_model(address: str, data_dir: str, model: str, epochs: int, seed: int) -> dict[str, Any]:
    """Train `model` (a zoo name or `module:function`) as an MLflow run; return it exported
    (run id, ONNX bytes, claimed validation accuracy, parameter count)."""
    settings, _ = session()
    tracking.configure(settings.resolved_mlflow_uri)
    data = competitor.training_data(Path(data_dir), seed)
    return asdict(competitor.train(address, data, model, epochs=epochs, seed=seed))


@task(cache_policy=NO_CACHE, **RETRIES)
def pack_model(address: str, data_dir: str, onnx: bytes, seed: int, codec: str) -> dict[str, Any]:
    """Pack the model into the smallest payload within the competition's cap (`auto`: within
    half a point of its validation accuracy) and its operation budget for the test split;
    return the payload and its codec."""
    _, chain = session()
    data = competitor.training_data(Path(data_dir), seed)
    params = competition(chain, address).params()
    packed = payload.pack(
        onnx,
        data.spec,
        codec_name=codec,
        validation=(data.x_val, data.y_val),
        max_bytes=params.max_model_bytes,
        test_samples=params.test_set_size,
    )
    return {"payload": packed.payload, "codec": packed.codec.name}


@task(cache_policy=NO_CACHE)
def log_model(data_dir: str, run_id: str, onnx: bytes, seed: int) -> None:
    """Log the ONNX model, with its signature, in its MLflow run."""
    settings, _ = session()
    tracking.configure(settings.resolved_mlflow_uri)
    tracking.log_model(run_id, onnx, competitor.training_data(Path(data_dir), seed).spec)


@task(cache_policy=NO_CACHE, **RETRIES)
def submit(address: str, account: int, packed: dict[str, Any], run_id: str) -> int:
    """Keep the payload and a salt on disk, then commit with the buy-in; return the id."""
    settings, chain = session()
    who = chain.signer(account)
    entries = competitor.Entries(settings.state_dir, address, who.address)
    comp = competition(chain, address)
    entry = competitor.prepare_entry(
        comp, packed["payload"], who, entries, run_id=run_id, codec=packed["codec"]
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
    who = chain.signer(account)
    return len(competitor.Entries(settings.state_dir, address, who.address).all())


@task(cache_policy=NO_CACHE, **RETRIES)
def reveal(address: str, account: int) -> dict[str, Any]:
    """Reveal every committed submission while the reveal window is open; say what was sent,
    what waits and what was lost. Returns the revealed ids and the lost entries' MLflow runs."""
    settings, chain = session()
    who = chain.signer(account)
    entries = competitor.Entries(settings.state_dir, address, who.address)
    storage = storage_from_settings(settings)

    def store(payload: bytes) -> str:  # a blob reveal's copy, for once its blobs expire
        cid = storage.put(payload)
        storage.pin(cid)
        return str(cid)

    report = competitor.reveal_due(competition(chain, address), who, entries, store)
    for submission_id, tx in report.revealed:
        print(f"revealed submission {submission_id} (tx {tx})")
    if report.waiting:
        print(f"nothing to reveal yet: {report.waiting}")
    for entry in report.lost:
        print(f"lost: {entry.lost}")
    return {
        "revealed": [submission_id for submission_id, _ in report.revealed],
        "lost": {entry.run_id: entry.lost for entry in report.lost if entry.run_id},
    }


@task(cache_policy=NO_CACHE)
def record_lost(lost: dict[str, str]) -> None:
    """End the MLflow run of each lost submission as FAILED, with the reason."""
    settings, _ = session()
    tracking.configure(settings.resolved_mlflow_uri)
    for run_id, reason in lost.items():
        tracking.fail_run(run_id, reason)


@task(cache_policy=NO_CACHE, **RETRIES)
def tidy_state(address: str) -> None:
    """Before anything else: move aside the records an earlier competition at this address
    left (a reset dev chain deploys the same addresses again), and end as KILLED the MLflow
    runs that a dead process on this machine left unsubmitted."""
    settings, _ = session()
    claim_records("competitor", address)
    tracking.configure(settings.resolved_mlflow_uri)
    for name in tracking.end_killed_runs(address):
        print(f"MLflow run {name!r}: its process died before it was submitted; ended as KILLED")


@task(cache_policy=NO_CACHE, **RETRIES)
def record_reveals(address: str, account: int, ids: list[int]) -> None:
    """Write each revealed submission's id, payload and transactions into its MLflow run."""
    settings, chain = session()
    who = chain.signer(account)
    comp = competition(chain, address)
    tracking.configure(settings.resolved_mlflow_uri)
    for entry in competitor.Entries(settings.state_dir, address, who.address).all():
        if entry.submission_id in ids and entry.run_id:
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


@task(cache_policy=NO_CACHE)
def record_verified(address: str, account: int) -> dict[int, int]:
    """Write each submission's verified score (the jury's, once known) into its MLflow run."""
    settings, chain = session()
    who = chain.signer(account)
    comp = competition(chain, address)
    if comp.phase() != Phase.FINALIZED:
        return {}
    size = comp.params().test_set_size
    known = standing.scores(comp, comp.summary())
    tracking.configure(settings.resolved_mlflow_uri)
    verified = {}
    for entry in competitor.Entries(settings.state_dir, address, who.address).all():
        if entry.submission_id is None or entry.run_id is None:
            continue
        if entry.submission_id in known:
            score, _ = known[entry.submission_id]
            tracking.log_verified(entry.run_id, score, size)
            verified[entry.submission_id] = score
    return verified
