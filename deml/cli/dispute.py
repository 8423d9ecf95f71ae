"""`deml dispute …`: the dispute game (docs/disputes.md) by hand.

`register` publishes and registers an architecture (the registrar); `pack` turns a model of it
into a disputable payload (a competitor); `submit` challenges a decided root where this
miner's scores prove it wrong, and `settle` contests false challenges, resolves those due and
claims (a miner: the miner flow does both on every pass); `prove` and `check` make and check
one proven prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deml._clock import local_time
from deml.chain.localnode import connect
from deml.cli.context import err, ether, out, settings
from deml.contracts import deployment
from deml.contracts.bindings import Competition
from deml.dataset.npz import read_npz
from deml.roles import challenger, dispute, miner
from deml.roles.architectures import Catalogue, catalogue_for
from deml.storage import storage_from_settings
from deml.zk import architecture, binding, verifier

dispute_app = typer.Typer(
    help="Prove what a revealed model predicts on one test sample; check such evidence.",
    no_args_is_help=True,
)
Address = Annotated[str, typer.Argument(help="The competition's address.")]


@dispute_app.command("prove")
def prove(
    address: Address,
    submission: Annotated[int, typer.Option(help="The submission whose model is proven.", min=1)],
    sample: Annotated[int, typer.Option(help="The test sample (0-based) it is proven on.", min=0)],
) -> None:
    """Prove what SUBMISSION predicts on test SAMPLE, once the key is out (about 10 s for the
    zoo MLP; a first run on a chain also makes its keys). Writes evidence.json and the proof."""
    s = settings()
    chain = connect(s)
    comp = Competition(chain, address)
    created = deployment.factory(chain, s).created(address)
    storage = storage_from_settings(s)
    sources = miner.blob_sources_for(comp, storage, s.active_network.beacon_url)
    catalogue = catalogue_for(comp, storage, s.state_dir)
    out.print(f"proving submission {submission} on sample {sample} of {address}…")
    evidence = dispute.prove(
        comp, created, submission, sample, storage=storage, sources=sources,
        catalogue=catalogue, state_dir=s.state_dir,
    )  # fmt: skip
    verdict = "right" if evidence.correct else "wrong"
    out.print(
        f"submission {submission} predicts class {evidence.predicted} on sample {sample}"
        f" (label {evidence.label}: {verdict}; its top logit leads by {evidence.margin:.3f})"
    )
    out.print(f"weights' commitment 0x{evidence.commitment}")
    out.print(f"evidence: {Path(evidence.folder) / dispute.EVIDENCE_FILE}")
    if evidence.disputable:
        out.print("on the architecture's registered circuit: `deml dispute submit` can use it")
        return
    err.print(
        "[yellow]the model is not disputable (not an architecture's payload): this proof, on a"
        " circuit calibrated here, convinces you, not the contract[/yellow]"
    )


@dispute_app.command("check")
def check(
    evidence_file: Annotated[Path, typer.Argument(help="An evidence.json from `dispute prove`.")],
) -> None:
    """Hold evidence against the chain: the sample against the host's samples root, the model
    against the submission's revealed hash, the proof against its key and the sample."""
    evidence = dispute.load(evidence_file)
    comp = Competition(connect(settings()), evidence.competition)
    problems = dispute.check(comp, evidence)
    for problem in problems:
        err.print(f"[red]✗[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    verdict = "right" if evidence.correct else "wrong"
    out.print(
        f"✓ submission {evidence.submission} predicts class {evidence.predicted} on the host's"
        f" sample {evidence.sample} (label {evidence.label}: {verdict})"
    )


Account = Annotated[int, typer.Option(help="Which configured signer (dev accounts: 0-9).", min=0)]


@dispute_app.command("register")
def register(
    zoo_model: Annotated[str, typer.Argument(help="The zoo model: torch-mlp or keras-mlp.")],
    spec: Annotated[
        Path,
        typer.Option(help="Dataset manifest (JSON with input_shape and classes).", dir_okay=False),
    ],
    data: Annotated[
        Path,
        typer.Option(
            help="The training split (.npz, X and y): its range fixes the input scale, its"
            " first rows calibrate the circuit.",
            dir_okay=False,
        ),
    ],
    srs: Annotated[
        Path | None,
        typer.Option(
            help="A public ceremony's SRS file; without it one is made here (dev chains only:"
            " whoever made it could forge proofs).",
            dir_okay=False,
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="What people call it.")] = None,
    account: Account = 0,
) -> None:
    """Publish ZOO_MODEL trained on DATA as a disputable architecture (template, circuit
    settings and SRS, by CID) and register its verifier: the registry's registrar only."""
    from deml.model import export, zoo
    from deml.model.spec import ModelSpec

    s = settings()
    chain = connect(s)
    if srs is None and not s.active_network.dev:
        raise typer.BadParameter("off a dev chain, pass --srs: a public ceremony's SRS file")
    registry = deployment.factory(chain, s).disputes().architectures()
    who = chain.signer(account)
    if registry.registrar().lower() != who.address.lower():
        raise typer.BadParameter(
            f"only the registrar {registry.registrar()} registers; account {account} is"
            f" {who.address}"
        )
    model_spec = ModelSpec.from_file(spec)
    x, _ = read_npz(data, f"the training split {data}")
    template = export.to_onnx(
        zoo.build(zoo_model, model_spec, seed=0, scale=zoo.input_scale(x)), model_spec
    )
    storage = storage_from_settings(s)
    folder = s.state_dir / "zk" / "register" / zoo_model
    out.print(f"calibrating {zoo_model}'s circuit on {min(len(x), dispute.CALIBRATION_ROWS)} rows…")
    arch = architecture.publish(
        storage, name or f"{zoo_model} on {data.stem}", template,
        x[: dispute.CALIBRATION_ROWS], folder, srs,
    )  # fmt: skip
    out.print(f"architecture 0x{arch.id.hex()} (bundle {architecture.cid_of(arch.id)})")
    if registry.weights(arch.id):
        out.print("already registered")
        return
    local = architecture.prepare(arch, storage, s.state_dir / "zk" / "architectures")
    weights = len(binding.message(template, arch.param_scale))
    pinned = binding.registration(local.circuit, weights, arch.margin)
    out.print("generating and compiling its verifier…")
    built = verifier.compile_verifier(verifier.solidity(local.circuit, folder / "evm"))
    deployed = chain.deploy(built, sender=who)
    registry.register(arch.id, pinned.as_abi(deployed.address), sender=who)
    out.print(
        f"registered: verifier {deployed.address} ({built.deployed_size:,} B), {weights:,}"
        f" weights, param scale {arch.param_scale}, margin {arch.margin:g}"
    )


@dispute_app.command("pack")
def pack(
    model: Annotated[
        Path, typer.Argument(help="The trained model as an .onnx file.", dir_okay=False)
    ],
    architecture_id: Annotated[
        str, typer.Option("--architecture", help="The registered architecture's id (0x…).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the payload.")],
) -> None:
    """Pack MODEL.onnx as a disputable payload of a registered architecture: its weights at
    the circuit's scale (uncompressed: a contract reads them), submitted like any payload."""
    s = settings()
    chain = connect(s)
    registry = deployment.factory(chain, s).disputes().architectures()
    catalogue = Catalogue(registry, storage_from_settings(s), s.state_dir / "zk" / "architectures")
    try:
        local = catalogue.local(bytes.fromhex(architecture_id.removeprefix("0x")))
    except ValueError as exc:
        raise typer.BadParameter(f"{architecture_id} is not a 32-byte hex id") from exc
    payload = architecture.pack(model.read_bytes(), local)
    output.write_bytes(payload)
    out.print(
        f"wrote {output}: {len(payload):,} bytes, a {local.architecture.name} payload"
        " (submit it with a competition whose cap holds it)"
    )


@dispute_app.command("submit")
def submit(address: Address, account: Account = 4) -> None:
    """Challenge ADDRESS's decided root where this miner's scores prove it wrong: find a
    sample where a disputable model's bit differs, prove it, bind the model, challenge."""
    s = settings()
    chain = connect(s)
    comp = Competition(chain, address)
    who = chain.signer(account)
    book = miner.MinerBook(s.state_dir, address, who.address)
    if not book.load().scores:
        raise typer.BadParameter(f"{who.address} has scored nothing in {address}: mine first")
    found = challenger.decided(comp)
    if found is None:
        out.print("no decided root with its bitmaps out: nothing to challenge yet")
        return
    storage = storage_from_settings(s)
    created = deployment.factory(chain, s).created(address)
    data = miner.fetch_test_split(comp, created, storage, book)
    if data is None:
        raise typer.BadParameter("the test split is the host's fault: nothing is disputed")
    differ = challenger.disagreements(found, book, len(data[1]))
    out.print(f"round {found.round}: this miner disagrees on {len(differ)} submissions")
    sent = challenger.challenge_if_wrong(
        comp, data, book, who,
        catalogue_for(comp, storage, s.state_dir),
        miner.blob_sources_for(comp, storage, s.active_network.beacon_url),
    )  # fmt: skip
    if sent is None:
        out.print("nothing provable (not disputable, inside the margin, or tried this round)")
        return
    (c,) = [c for c in comp.disputes().challenges(address) if c.id == sent]
    verdict = "open until " + local_time(c.contest_end) if c.open else "decided"
    out.print(
        f"challenge {sent}: submission {c.submission} predicts {c.predicted} on sample"
        f" {c.sample}; {verdict} (`deml dispute settle` resolves and claims)"
    )


@dispute_app.command("settle")
def settle(address: Address, account: Account = 4) -> None:
    """Contest false challenges this miner's scores refute (computing the commitment they lied
    about), resolve the challenges that are due, and claim bonds and slashed stakes won."""
    s = settings()
    chain = connect(s)
    comp = Competition(chain, address)
    who = chain.signer(account)
    storage = storage_from_settings(s)
    book = miner.MinerBook(s.state_dir, address, who.address)
    catalogue = catalogue_for(comp, storage, s.state_dir)
    sources = miner.blob_sources_for(comp, storage, s.active_network.beacon_url)
    if steps := challenger.contest_if_false(comp, book, who, catalogue, sources):
        out.print(f"contested: {steps} commitment steps sent")
    resolved = challenger.resolve_due(comp, who)
    out.print(f"resolved challenges: {resolved or 'none due'}")
    out.print(f"claimed {ether(challenger.claim(comp, who))}")
