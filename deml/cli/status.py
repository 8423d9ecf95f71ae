"""`deml status`, `deml claim` and `deml config`: a competition's standing, pulling what an
account is owed, and the settings in force."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from deml._clock import deadline, local_time
from deml.chain.localnode import connect
from deml.cli.context import ether, out, settings
from deml.contracts.bindings import Competition
from deml.roles import challenger, settlement, standing
from deml.settings import config_dir

Account = Annotated[int, typer.Option(help="Which configured signer (dev accounts: 0-9).", min=0)]
Address = Annotated[str, typer.Argument(help="The competition's address.")]


def status(
    address: Address, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Phase, deadlines, leaderboard, votes, jury and payouts of a competition."""
    report = read_report(address)
    if as_json:
        out.print_json(json.dumps(report))
    else:
        print_report(report)


def claim(address: Address, account: Account = 0) -> None:
    """Claim what the account is owed (winnings, refunds, stake and rewards)."""
    chain = connect(settings())
    who = chain.signer(account)
    amount = settlement.claim_if_owed(Competition(chain, address), who)
    out.print(
        f"{who.address} claimed {ether(amount)}"
        if amount
        else f"{who.address}: nothing to claim now"
    )


def show_config() -> None:
    """Show the settings in force (secrets hidden) and where they come from."""
    s = settings()
    table = Table(title=f"settings (from {config_dir()} and DEML_* variables)", show_header=False)
    net = s.active_network
    rows = {
        "network": s.network,
        "rpc_url": net.rpc_url,
        "chain_id": net.chain_id,
        "dev chain": net.dev,
        "state_dir": s.state_dir,
        "signer": "private key"
        if s.private_key
        else "keystore"
        if s.keystore
        else "dev mnemonic"
        if net.dev
        else "none",
        "ipfs_backend": s.ipfs_backend,
        "ipfs_api_url": s.ipfs_api_url,
        "mlflow_tracking_uri": s.resolved_mlflow_uri,
        "prefect_home": s.resolved_prefect_home,
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    out.print(table)


def read_report(address: str) -> dict[str, Any]:
    """The standing of the competition at `address` on the configured chain, as JSON data."""
    chain = connect(settings())
    comp = Competition(chain, address)
    report = standing.report(comp, comp.balance(), chain.timestamp())
    report["dispute_window"] = challenger.window(comp)
    return report


def print_report(r: dict[str, Any]) -> None:
    """A report (see deml.roles.standing.report) as tables."""
    out.print(
        f"competition {r['competition']}: phase [bold]{r['phase']}[/bold], outcome {r['outcome']}"
        + (f", vote {r['round']} (the re-vote)" if r["round"] == 2 else "")
    )
    now = r.get("chain_time")
    out.print("deadlines:")
    for phase, at in r["deadlines"].items():
        shown = deadline(at, now) if now is not None else local_time(at)
        out.print(f"  {phase:<12} ends {shown}")
    size = r["test_set_size"]
    board = Table(
        "id", "owner", "status", "correct", f"of {size}", "scored by", title="leaderboard"
    )
    for row in r["leaderboard"]:
        score = row["score"]
        board.add_row(
            str(row["id"]),
            row["owner"],
            row["status"] + (" (winner)" if row["winner"] else ""),
            "-" if score is None else str(score),
            "-" if score is None else f"{score / size:.1%}",
            row["scored_by"] or "-",
        )
    out.print(board)
    in_blobs = [row for row in r["leaderboard"] if row.get("revealed_in") == "blob"]
    if r.get("reveal_mode") == "blob":
        out.print("models are revealed in EIP-4844 blobs; the versioned hashes of each:")
        for row in in_blobs:
            out.print(f"  {row['id']}: {', '.join(row['versioned_hashes'])}")
    unrevealed = [row["id"] for row in r["leaderboard"] if row["status"] == "committed"]
    if unrevealed:
        if r["phase"] in ("submit", "reveal"):
            out.print(f"committed, not revealed yet: submissions {unrevealed}")
        else:
            out.print(f"never revealed (buy-ins forfeited): submissions {unrevealed}")
    if r["votes"]:
        votes = Table("vote", "round", "says", "seats", "majority", title="votes")
        for vote in r["votes"]:
            says = (
                "HOST_FAULT"
                if vote["host_fault"]
                else f"winner {vote['winner_id']} ({vote['winner_score']} correct)"
            )
            votes.add_row(
                vote["vote"][:12] + "…", str(vote["round"]), says, str(vote["seats"]),
                "yes" if vote["majority"] else "no",
            )  # fmt: skip
        out.print(votes)
    if r["jurors"]:
        jury = Table("juror", "round", "seats", "state", "stake", title="jury")
        for juror in r["jurors"]:
            stake = f"burned: {juror['slash_reason']}" if juror["slashed"] else "kept"
            jury.add_row(
                juror["address"], str(juror["round"]), f"{juror['backed']}/{juror['seats']}",
                juror["state"], stake,
            )  # fmt: skip
        out.print(jury)
    if window := r.get("dispute_window"):
        out.print(_describe_window(window, now))
        for c in window["challenges"]:
            state = f"open until {deadline(c['contest_end'], now)}" if c["open"] else "resolved"
            out.print(
                f"  challenge {c['id']} by {c['challenger']}: submission {c['submission']}"
                f" predicts {c['predicted']} on sample {c['sample']}; {state}"
            )
    if r["winner"]:
        out.print(f"winner: submission {r['winner']['id']} by {r['winner']['address']}")
    if r["payouts"]:
        paid = Table("account", "roles", "owed", "claimed", title="payouts")
        for entry in r["payouts"]["entries"]:
            paid.add_row(
                entry["address"],
                ", ".join(entry["roles"]),
                ether(int(entry["owed"])),
                ether(int(entry["claimed"])),
            )
        out.print(paid)
        out.print(f"burned: {ether(int(r['payouts']['burned']))}")
    if r["slashed"]:
        out.print("seats burned: " + ", ".join(r["slashed"]))
    out.print(f"contract balance: {r['balance']} wei")


def _describe_window(w: dict[str, Any], now: int | None) -> str:
    """One line on a decided root's dispute window."""
    if w["overturned"]:
        return f"the root of vote {w['round']} was overturned (a dispute, or bitmaps withheld)"
    ends = deadline(w["ends"], now) if now is not None else local_time(w["ends"])
    return (
        f"dispute window of vote {w['round']}: ends {ends}; bitmaps {w['bitmaps']} of"
        f" {w['leaves']} published; {len(w['challenges'])} challenges"
    )
