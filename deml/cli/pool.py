"""`deml pool …`: a miner's bond in the factory's pool, from which every jury is drawn."""

from __future__ import annotations

from typing import Annotated

import typer

from deml._clock import local_time
from deml.chain.client import Chain
from deml.chain.localnode import connect
from deml.cli.context import ether, out, settings
from deml.contracts import deployment
from deml.contracts.bindings import MinerPool

pool_app = typer.Typer(
    help="Bond in the miner pool juries are drawn from; unbond and withdraw.", no_args_is_help=True
)
Account = Annotated[int, typer.Option(help="Which configured signer (dev accounts: 0-9).", min=0)]
Units = Annotated[int, typer.Argument(help="Seat units (one unit backs one jury seat).", min=1)]


def _pool() -> tuple[MinerPool, Chain]:
    s = settings()
    chain = connect(s)
    factory = deployment.factory(chain, s)
    out.print(f"factory {factory.address}")
    return factory.pool(), chain


@pool_app.command("status")
def pool_status(account: Account = 4) -> None:
    """The pool's size and the account's bond: bonded, locked in juries, waiting, unbonding."""
    pool, chain = _pool()
    who = chain.signer(account)
    stake = pool.seat_stake()
    out.print(
        f"pool {pool.address}: {pool.total_units()} seat units bonded, seat stake {ether(stake)},"
        f" unbonding delay {pool.unbonding_delay() / 86_400:g} days"
    )
    j = pool.juror(who.address)
    if not j.index:
        out.print(f"{who.address} has never bonded; `deml pool bond UNITS` bonds")
        return
    out.print(
        f"{who.address}: {j.units} units bonded ({j.locked} locked in juries, {j.free} free),"
        f" {j.pending_units} waiting for a draw to finish, {j.unbonding} unbonding"
        + (f" (withdrawable {local_time(j.unbond_at)})" if j.unbonding else "")
    )


@pool_app.command("bond")
def pool_bond(units: Units, account: Account = 4) -> None:
    """Bond UNITS seats' worth (while a draw is sealed, they join the pool after it)."""
    pool, chain = _pool()
    who = chain.signer(account)
    pool.bond(units, sender=who)
    out.print(f"bonded {units} units ({ether(units * pool.seat_stake())}) for {who.address}")


@pool_app.command("unbond")
def pool_unbond(units: Units, account: Account = 4) -> None:
    """Ask for UNITS free units back; they leave the draws now, withdrawable after the delay."""
    pool, chain = _pool()
    who = chain.signer(account)
    pool.request_unbond(units, sender=who)
    out.print(
        f"unbonding {units} units; withdrawable {local_time(pool.juror(who.address).unbond_at)}"
    )


@pool_app.command("withdraw")
def pool_withdraw(account: Account = 4) -> None:
    """Withdraw the units whose unbonding delay has passed."""
    pool, chain = _pool()
    who = chain.signer(account)
    units = pool.juror(who.address).unbonding
    pool.withdraw(sender=who)
    out.print(f"withdrew {ether(units * pool.seat_stake())} to {who.address}")
