"""The dispute game played by the roles' own code (deml.roles.challenger), on anvil.

A registrar publishes the zoo MLP as an architecture (template, settings, SRS by CID) and
registers its verifier; competitors pack their trained-style MLPs as its disputable payloads;
an honest miner on its own state dir, sharing only the chain and the content store, scores
them in the sandbox from the payloads, and:
- when a bought majority publishes a wrong root, finds the sample, proves it and overturns it
  (its bond back and half the bought seats' stake);
- when a liar challenges an honest root with another model's proof, computes the commitment
  the liar bet nobody would, and takes the liar's bond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from eth_account.signers.local import LocalAccount

from deml.artifacts import Artifact
from deml.chain.client import Chain
from deml.contracts.bindings import MinerPool
from deml.contracts.sample_tree import SampleTree
from deml.contracts.score_tree import ScoreTree
from deml.contracts.types import Outcome
from deml.model import export, inference, zoo
from deml.model.spec import ModelSpec
from deml.roles import challenger, miner
from deml.roles.architectures import Catalogue, catalogue_for
from deml.scoring.sandbox import Sandbox
from deml.storage.local import LocalStore
from deml.zk import architecture, binding, verifier
from tests.contracts.test_disputes import vector_of
from tests.helpers.game import SEAT, Game, fund
from tests.helpers.reverts import raises

pytestmark = pytest.mark.anvil

SPEC = ModelSpec((64,), 10)
SAMPLES = 24
INPUT_SCALE = 1 / 16  # what training on pixels 0..16 sets (zoo.input_scale)


@pytest.fixture
def chain(anvil_chain: Chain) -> Chain:
    """Disputes play on anvil only: a contested commitment is ~70 M gas of precompiles."""
    return anvil_chain


@dataclass(frozen=True)
class Registered:
    """The registrar's side: the architecture, stored, and its verifier compiled."""

    store: Path  # the content store every party reads by CID
    arch: architecture.Architecture
    local: architecture.Local
    verifier: Artifact
    samples: np.ndarray


def mlp(seed: int) -> bytes:
    return export.to_onnx(zoo.build("torch-mlp", SPEC, seed=seed, scale=INPUT_SCALE), SPEC)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Registered:
    root = tmp_path_factory.mktemp("registrar")
    samples = np.random.default_rng(0).integers(0, 17, size=(SAMPLES, 64)).astype(np.float32)
    store = LocalStore(root / "content")
    arch = architecture.publish(store, "torch-mlp on pixels", mlp(0), samples[:16], root / "arch")
    local = architecture.prepare(arch, store, root / "ready")
    built = verifier.compile_verifier(verifier.solidity(local.circuit, root / "evm"))
    return Registered(root / "content", arch, local, built, samples)


@dataclass
class Play:
    game: Game
    ids: list[int]
    payloads: list[bytes]
    samples: SampleTree
    truth: ScoreTree
    predicted: list[np.ndarray]
    honest: LocalAccount
    book: miner.MinerBook
    catalogue: Catalogue
    sources: miner.BlobSourcesFor


@pytest.fixture
def play(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    registered: Registered,
    tmp_path: Path,
) -> Play:
    """Two disputable MLPs revealed and the key out; an honest miner has scored both."""
    reg = registered
    local = reg.local
    payloads = [architecture.pack(mlp(seed), local) for seed in (1, 2)]
    models = [local.onnx_of(binding.weights_of(p)[1]) for p in payloads]
    x = reg.samples
    predicted = [inference.predict(inference.open_session(m), x, 10) for m in models]
    labels = predicted[1]  # model B is right on every sample, A only where they agree
    samples = SampleTree(x, labels)
    game = create(test_set_size=SAMPLES, samples_root=samples.root, max_model_bytes=40_000)
    comp = game.competition
    registry = comp.disputes().architectures()
    pinned = binding.registration(local.circuit, len(binding.weights_of(payloads[0])[1]))
    registry.register(reg.arch.id, pinned.as_abi(chain.deploy(reg.verifier).address), sender=host)
    ids = game.open_with(*competitors[:2], models=payloads)

    # The honest miner, on its own machine: its state dir, the chain, the content store.
    (honest,) = fund(chain, 1)
    state = tmp_path / "honest"
    book = miner.MinerBook(state, comp.address, honest.address)
    catalogue = catalogue_for(comp, LocalStore(reg.store), state)
    sources = miner.blob_sources_for(comp, LocalStore(reg.store))
    with Sandbox() as sandbox:
        scored = miner.score_models(comp, ids, (x, labels, SPEC), book, sandbox, sources, catalogue)
    correct = [p == labels for p in predicted]
    assert [scored[i].correct for i in ids] == [int(c.sum()) for c in correct]
    assert 0 < scored[ids[0]].correct < SAMPLES == scored[ids[1]].correct
    truth = vector_of(ids, correct)
    return Play(game, ids, payloads, samples, truth, predicted, honest, book, catalogue, sources)


def test_an_honest_miner_finds_proves_and_overturns_a_bought_root(
    chain: Chain, play: Play, pool: MinerPool, tmp_path: Path
) -> None:
    game, comp = play.game, play.game.competition
    a, b = play.ids
    lie = vector_of(play.ids, [np.ones(SAMPLES, bool), play.samples.y == play.predicted[1]])
    jury = game.jury()
    bought = game.bought_majority()
    game.play_votes(lambda j: lie if j in bought else play.truth)
    data = (play.samples.x, play.samples.y, SPEC)
    # Nothing to read until the majority publishes its bitmaps.
    assert challenger.decided(comp) is None
    watcher = miner.MinerBook(tmp_path / "watcher", comp.address, "0x" + "77" * 20)
    assert challenger.to_watch(comp, watcher, play.sources) == []
    game.publish_bitmaps()
    # Then a miner off the jury (like this one) scores the disputable models, to check it.
    assert challenger.to_watch(comp, watcher, play.sources) == [a, b]
    assert challenger.to_watch(comp, play.book, play.sources) == []  # scored already
    found = challenger.decided(comp)
    assert found is not None and found.vector.root == lie.root
    wrong = {a: [int(j) for j in np.flatnonzero(play.predicted[0] != play.samples.y)]}
    assert challenger.disagreements(found, play.book, SAMPLES) == wrong

    before = chain.balance(play.honest.address)
    sent = challenger.challenge_if_wrong(
        comp, data, play.book, play.honest, play.catalogue, play.sources
    )
    assert sent is not None
    (c,) = comp.disputes().challenges(comp.address)
    assert (c.submission, c.open, c.challenger) == (a, True, play.honest.address)
    assert c.sample in wrong[a] and c.predicted != play.samples.y[c.sample]
    # A second pass does not challenge again; nothing is due while the contest is open.
    assert (
        challenger.challenge_if_wrong(
            comp, data, play.book, play.honest, play.catalogue, play.sources
        )
        is None
    )
    assert challenger.resolve_due(comp, play.honest) == []
    # Nobody computes A's commitment (it would match the proof): at the contest's end the
    # challenge stands, and the honest miner's next pass resolves it.
    chain.travel_to(c.contest_end)
    assert challenger.resolve_due(comp, play.honest) == [c.id]
    assert comp.overturned(1) and comp.summary().round == 2

    summary = game.revote_and_finalize(play.truth)
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, b)
    game.settle_jurors()
    slashed = sum(x.burned for x in comp.juror_settlements() if x.round == 1)
    assert slashed == sum(jury[j] for j in bought)
    got = challenger.claim(comp, play.honest)
    assert got == comp.disputes().bond() + slashed * SEAT // 2
    # What the challenge netted: half the bought seats' stake, less gas (bond back).
    net = chain.balance(play.honest.address) - before
    assert slashed * SEAT // 2 - 10**16 < net < slashed * SEAT // 2
    assert challenger.claim(comp, play.honest) == 0


@pytest.mark.parametrize("when", ["at once", "in the window's last minute"])
def test_a_liars_challenge_is_contested_by_an_honest_miner_who_takes_its_bond(
    chain: Chain, play: Play, registered: Registered, when: str
) -> None:
    game, comp = play.game, play.game.competition
    a, b = play.ids
    game.play_votes(lambda j: play.truth)  # an honest jury
    game.publish_bitmaps()
    found = challenger.decided(comp)
    assert found is not None and found.vector.root == play.truth.root
    data = (play.samples.x, play.samples.y, SPEC)
    # The honest miner agrees with the jury: nothing to challenge.
    assert (
        challenger.challenge_if_wrong(
            comp, data, play.book, play.honest, play.catalogue, play.sources
        )
        is None
    )

    # The liar proves another model of the architecture and presents it as A's, on a sample
    # where that model's verdict differs from the jury's bit for A.
    local = registered.local
    forged = binding.weights_of(architecture.pack(mlp(7), local))[1]
    forged_pred = inference.predict(
        inference.open_session(local.onnx_of(forged)), play.samples.x, 10
    )
    y = play.samples.y
    differ = np.flatnonzero((forged_pred == y) != (play.predicted[0] == y))
    liar = fund(chain, 1)[0]
    disputes = comp.disputes()
    disputes.bind(comp.address, a, play.payloads[0], sender=liar)
    for j in differ:
        proof = challenger.prove_sample(
            local, forged, play.samples.x[j], play.book.dir.parent / "liar" / str(j)
        )
        if challenger.lead_ok(proof, local):
            break
    else:
        pytest.fail("no forged proof clears the margin")
    shown = challenger.evidence(found, a, play.samples, int(j), proof)
    if when != "at once":  # too late for a contest? The contest runs a full window after it.
        # (A minute, not a second, before the end: anvil's clock runs on while the transaction
        # is built, and a loaded machine takes more than a second.)
        chain.travel_to(found.window_end - 60)
    disputes.challenge(comp.address, shown, sender=liar)
    (c,) = disputes.challenges(comp.address)
    assert c.open and c.challenger == liar.address
    assert c.contest_end == found.window_end + game.params.tally_duration
    if when != "at once":
        chain.travel_to(found.window_end + 1)
        with raises("SettlementTooEarly"):  # an open challenge holds the settlement
            comp.finalize(sender=play.honest)

    # The honest miner's pass: its scoring agrees with the jury on that sample, so it
    # computes A's commitment, which is not the proof's; the challenge fails at once.
    steps = challenger.contest_if_false(comp, play.book, play.honest, play.catalogue, play.sources)
    assert steps == len(binding.weight_chunks(binding.weights_of(play.payloads[0])[1]))
    assert challenger.resolve_due(comp, play.honest) == [c.id]
    assert disputes.credits(play.honest.address) == disputes.bond()
    assert disputes.credits(liar.address) == 0
    assert not comp.overturned(1)
    assert challenger.claim(comp, play.honest) == disputes.bond()
    game.finalize()
    summary = comp.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, b)
