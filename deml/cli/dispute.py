"""`deml dispute …`: a challenger's evidence that a jury scored a prediction wrong.

`prove` proves what a revealed model predicts on one test sample (zero-knowledge, EZKL) and
writes the evidence; `check` holds evidence against the chain. Submitting it waits for the
dispute contract (docs/disputes.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deml.chain.localnode import connect
from deml.cli.context import err, out, settings
from deml.contracts import deployment
from deml.contracts.bindings import Competition
from deml.roles import dispute, miner
from deml.storage import storage_from_settings

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
    out.print(f"proving submission {submission} on sample {sample} of {address}…")
    evidence = dispute.prove(
        comp, created, submission, sample, storage=storage, sources=sources, state_dir=s.state_dir
    )
    verdict = "right" if evidence.correct else "wrong"
    out.print(
        f"submission {submission} predicts class {evidence.predicted} on sample {sample}"
        f" (label {evidence.label}: {verdict}; its top logit leads by {evidence.margin:.3f})"
    )
    out.print(f"weights' commitment 0x{evidence.commitment}")
    out.print(f"evidence: {Path(evidence.folder) / dispute.EVIDENCE_FILE}")
    err.print(
        "[yellow]the proving key comes from a locally generated SRS: such a proof convinces"
        " you, not a contract (a deployment pins a public ceremony's SRS)[/yellow]"
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
