"""The host's part: create and fund a competition on a published dataset, reveal the key.

The test-split key never leaves the host's state dir until the reveal: the contract gets only
its hash. A key backs one competition only (it becomes public at the reveal): creating the
competition makes the version's key that competition's own (`crypto.KeyStore.retire`), and a
key that already backs one is refused. What the host created is recorded in
`<state_dir>/host/`, so a later run (or another command) finds the competition and its key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from deml import journal
from deml.contracts.bindings import Competition, CompetitionFactory
from deml.contracts.types import Phase
from deml.dataset import crypto, datapackage
from deml.exceptions import HostError
from deml.roles.terms import CompetitionTemplate
from deml.storage.base import Storage


@dataclass(frozen=True)
class Hosted:
    """What a host keeps about a competition it created."""

    competition: str
    dataset: str  # the dataset's name and version locate its key in the key store
    version: str
    manifest_cid: str
    test_cid: str
    test_set_size: int


def record_path(state_dir: Path, competition: str) -> Path:
    return Path(state_dir) / "host" / f"{competition}.json"


def create(
    factory: CompetitionFactory,
    template: CompetitionTemplate,
    manifest: dict[str, Any],
    manifest_cid: str,
    key: bytes,
    *,
    host: LocalAccount,
    state_dir: Path,
    storage: Storage,
) -> Competition:
    """Create and fund a competition on the published dataset; record it for later runs. Its
    test split is read back from `storage` to commit the root of its samples.

    A competition this host already opened on the same dataset, still taking submissions, is
    returned instead: a retry after a lost answer must not lock up a second prize.
    """
    test_set_size = int(manifest["counts"]["test"])
    test_cid = manifest["files"]["test"]["cid"]
    keys = crypto.KeyStore(state_dir)
    comp = _open_on(factory, host.address, manifest_cid)
    if comp is None:
        if (used := keys.backs(key)) is not None:
            raise HostError(
                f"this test key already encrypts the test split of competition {used}, where it"
                " is (or will be) public: run `deml data prepare` for a fresh key and split"
            )
        root = datapackage.published_samples_root(manifest, storage, key)
        params = template.to_params(factory.chain.timestamp(), key, test_set_size, root)
        comp = factory.create(params, manifest_cid, test_cid, prize=template.prize_wei, sender=host)
    hosted = Hosted(
        comp.address, manifest["name"], manifest["version"], manifest_cid, test_cid, test_set_size
    )
    keys.retire(manifest["name"], manifest["version"], comp.address)
    journal.save(record_path(state_dir, comp.address), asdict(hosted))
    return comp


def _open_on(factory: CompetitionFactory, host: str, manifest_cid: str) -> Competition | None:
    for created in reversed(factory.competitions()):
        if created.host == host and created.dataset_cid == manifest_cid:
            comp = Competition(factory.chain, created.address)
            if comp.phase() == Phase.SUBMIT:
                return comp
    return None


def load(state_dir: Path, competition: str) -> Hosted:
    """The record of a competition this host created."""
    record = journal.load(record_path(state_dir, competition))
    if record is None:
        raise HostError(
            f"this state dir ({state_dir}) did not create competition {competition}; run the host"
            " command with the state dir that created it"
        )
    return Hosted(**record)


def load_test_key(state_dir: Path, dataset: str, version: str) -> bytes:
    """The key of a dataset version not yet used by a competition, from the key store."""
    return crypto.KeyStore(state_dir).load(dataset, version)


def competition_key(state_dir: Path, hosted: Hosted) -> bytes:
    """The key of a competition this host created."""
    return crypto.KeyStore(state_dir).load_competition(hosted.competition)


def reveal_key_if_due(comp: Competition, key: bytes, host: LocalAccount) -> bool:
    """Reveal the key in its window (after the models, before the key deadline); return
    whether it is out. Too early would let models be picked on the test split; too late
    forfeits the host bond."""
    if comp.summary().key_revealed:
        return True
    if comp.phase() != Phase.KEY:
        return False
    comp.reveal_test_key(key, sender=host)
    return True
