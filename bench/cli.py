"""`deml bench …` (or `python -m bench …`): the benchmarks, writing bench/results/*.json
and regenerating the README's tables from them.

Mounted on `deml` through the `deml.commands` entry point (`register`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deml.exceptions import DemlError

RESULTS = Path(__file__).resolve().parent / "results"

bench_app = typer.Typer(
    help="Run the benchmarks; results go to bench/results/.", no_args_is_help=True
)
out = Console(soft_wrap=True)
# Each command imports its benchmark when it runs: `deml --help` stays fast.


@bench_app.command("codec")
def codec_command(
    output: Annotated[Path, typer.Option("--output", "-o")] = RESULTS / "codec.json",
    seed: Annotated[int, typer.Option(help="Training seed of the reference models.")] = 0,
) -> None:
    """Size and accuracy of every codec on the reference models, against the seed's encoding."""
    from bench import codec as bench_codec

    results = bench_codec.run(seed=seed)
    bench_codec.write(results, output)
    _refresh_readme(output, RESULTS / "codec.json")
    columns = ("model", "params", "seed bytes", "zlib", "best codec", "bytes", "of seed", "Δ acc")
    table = Table(*columns)
    for model in results["models"]:
        zlib = next(c for c in model["codecs"] if c["codec"] == "zlib")
        best = bench_codec.best(model)
        delta = 100 * (best["accuracy"] - model["reference_accuracy"])
        table.add_row(
            model["name"],
            f"{model['params']:,}",
            f"{model['seed_bytes']:,}",
            f"{zlib['bytes']:,}",
            best["codec"],
            f"{best['bytes']:,}",
            f"1/{model['seed_bytes'] / best['bytes']:.1f}",
            f"{delta:+.2f} pt",
        )
    out.print(table)
    out.print(f"wrote {output}")


@bench_app.command("scoring")
def scoring_command(
    output: Annotated[Path, typer.Option("--output", "-o")] = RESULTS / "scoring.json",
    models: Annotated[int, typer.Option(min=1, help="How many models to score.")] = 20,
    rounds: Annotated[int, typer.Option(min=1, help="Timed rounds (the median is kept).")] = 5,
    tile: Annotated[
        int, typer.Option(min=1, help="Repeat the test split this many times (more samples).")
    ] = 1,
) -> None:
    """Wall time to score the models: sandboxed, in-process ONNX Runtime, native framework."""
    from bench import scoring as bench_scoring

    record, details = bench_scoring.run(models, rounds, tile)
    bench_scoring.write(record, output)
    in_process = record["in_process_s"]
    out.print(
        f"{record['models']} models x {record['samples']} samples:"
        f" sandboxed {record['sandboxed_s']:.3f} s ({record['sandboxed_s'] / in_process:.2f}x),"
        f" in-process {in_process:.3f} s, native {record['native_s']:.3f} s"
    )
    out.print(
        f"sandbox: {details.workers} children at a time; {details.spares} spares, warmed while"
        f" idle ({details.refill_s:.3f} s before each batch); start-up {details.startup_s:.2f} s,"
        " once per process"
    )
    out.print(
        f"variants: one child at a time {details.one_worker_s:.3f} s"
        f" ({details.one_worker_s / in_process:.2f}x); no spares {details.no_spares_s:.3f} s"
        f" ({details.no_spares_s / in_process:.2f}x)"
    )
    out.print(f"wrote {output}")


@bench_app.command("cost")
def cost_command(
    output: Annotated[Path, typer.Option("--output", "-o")] = RESULTS / "cost.json",
    samples: Annotated[int, typer.Option(min=64, help="Samples each probe scores.")] = 512,
    rounds: Annotated[int, typer.Option(min=1, help="Timed rounds (the median is kept).")] = 3,
) -> None:
    """CPU seconds per counted operation, for models built to be costly per operation."""
    from bench import cost as bench_cost

    record = bench_cost.run(samples, rounds, progress=lambda s: out.print(f"[dim]{s}…[/dim]"))
    bench_cost.write(record, output)
    _refresh_readme(output, RESULTS / "cost.json")
    table = Table("probe", "operations", "CPU s", "ns / operation")
    for probe in record["probes"]:
        table.add_row(
            probe["name"],
            f"{probe['operations']:,}",
            f"{probe['cpu_s']:.3f}",
            f"{probe['ns_per_operation']:.3f}",
        )
    out.print(table)
    out.print(
        f"budget {record['budget_operations']:,} operations at the slowest probe"
        f" ({record['worst_probe']}): {record['budget_at_worst_s']} s of CPU;"
        f" backstop {record['cpu_backstop_s']} s"
    )
    out.print(f"wrote {output}")
    if record["budget_at_worst_s"] > record["cpu_backstop_s"] / 2:
        raise DemlError("the budget takes over half the CPU backstop at the slowest probe")


@bench_app.command("gas")
def gas_command(
    output: Annotated[Path, typer.Option("--output", "-o")] = RESULTS / "gas.json",
) -> None:
    """Gas of every contract operation, against the targets of protocol v2 (a few minutes)."""
    from bench import gas as bench_gas

    report = bench_gas.measure(progress=lambda step: out.print(f"[dim]{step}…[/dim]"))
    bench_gas.write(report, output)
    _refresh_readme(output, RESULTS / "gas.json")
    table = Table("operation", "gas")
    for name, value in report["operations"].items():
        table.add_row(name, f"{value:,}")
    out.print(table)
    reveals = Table(
        "reveal bytes",
        "gas",
        "calldata floor",
        "execution",
        "log",
        "log paid",
        "storage design",
        title="reveal",
    )
    for row in report["reveal"]:
        reveals.add_row(
            f"{row['bytes']:,}",
            f"{row['gas']:,}",
            f"{row['calldata_floor']:,}",
            f"{row['execution']:,}",
            f"{row['log']:,}",
            f"{row['log_paid']:,}",
            f"{row['storage_design']:,}"
            + ("" if row["storage_design_fits_one_tx"] else " (> tx cap)"),
        )
    out.print(reveals)
    limit = bench_gas.TARGETS["max_call_gas_at_10000"]
    largest = Table("call", "gas", f"of {limit:,}", title="largest calls at 10,000 submissions")
    for name, row in report["largest_calls_at_10000"].items():
        largest.add_row(name, f"{row['gas']:,}", f"{row['gas'] / limit:.0%}")
    out.print(largest)
    played = report["evaluation_500x21"]
    reference = report["v1_reference"]["total"]
    parts = ", ".join(f"{name} {value:,}" for name, value in played["parts"].items())
    out.print(
        f"evaluation 500x21: {played['total']:,} gas ({parts}) against v1's {reference:,}:"
        f" 1/{reference / played['total']:.2f}"
    )
    for name, size in report["bytecode_size"].items():
        out.print(f"{name}: {size:,} bytes deployed")
    missed = report["targets_missed"]
    out.print(f"wrote {output}")
    if missed:
        raise DemlError("gas targets missed: " + "; ".join(missed))
    out.print("every gas target is met")


@bench_app.command("commands")
def commands_command(
    output: Annotated[Path, typer.Option("--output", "-o")] = RESULTS / "commands.json",
    rounds: Annotated[int, typer.Option(min=1, help="No-op runs timed (the median is kept).")] = 5,
) -> None:
    """Wall time of one-shot role commands with the machine's Prefect server up."""
    from bench import commands as bench_commands

    record = bench_commands.run(rounds, progress=lambda step: out.print(f"[dim]{step}…[/dim]"))
    bench_commands.write(record, output)
    out.print(
        f"Prefect server start {record['prefect_server_start_s']} s (once per machine);"
        f" no-op `deml mine run` {record['noop_mine_run_s']} s"
        f" (target < {record['target_noop_mine_run_s']} s)"
    )
    out.print(f"wrote {output}")
    if not record["target_met"]:
        raise DemlError("a no-op `deml mine run` took longer than its target")


@bench_app.command("zk")
def zk_command(
    output: Annotated[Path, typer.Option("--output", "-o")] = RESULTS / "zk.json",
    model: Annotated[
        list[str] | None, typer.Option("--model", help="A zoo model (repeat; default: all).")
    ] = None,
) -> None:
    """What proving one inference of each zoo model costs (EZKL): setup, proof, verify gas."""
    from bench import zk as bench_zk

    report = bench_zk.run(
        progress=lambda step: out.print(f"[dim]{step}…[/dim]"),
        names=tuple(model) if model else bench_zk.zoo.MODELS,
    )
    bench_zk.write(report, output)
    _refresh_readme(output, RESULTS / "zk.json")
    table = Table("model", "params", "logrows", "setup s", "prove s", "peak MB", "proof B",
                  "verifier B", "verify gas", "dispute gas")  # fmt: skip
    for row in report["models"]:
        if "not_disputable" in row:
            out.print(f"{row['name']}: not disputable: {row['not_disputable']}")
            continue
        table.add_row(
            row["name"], f"{row['params']:,}", str(row["logrows"]), str(row["setup_s"]),
            str(row["prove_s"]), str(row["peak_mb"]), f"{row['proof_bytes']:,}",
            f"{row['verifier_bytes']:,}", f"{row['verify_gas']:,}",
            f"{row['dispute_gas']:,}" if row.get("dispute_gas") else "–",
        )  # fmt: skip
    out.print(table)
    out.print(f"wrote {output}")


@bench_app.command("readme")
def readme_command() -> None:
    """Regenerate the README's benchmark tables from bench/results/*.json."""
    from bench import readme

    changed = readme.update()
    out.print(
        f"{readme.README}: " + ("tables regenerated" if changed else "tables already current")
    )


def _refresh_readme(output: Path, default: Path) -> None:
    """After a benchmark wrote its default JSON, bring the README's tables in line with it."""
    if output.resolve() != default.resolve():
        out.print("[dim]README tables left alone: results went elsewhere than bench/results/[/dim]")
        return
    readme_command()


def register(app: typer.Typer) -> None:
    """Mount `deml bench` on the root `deml` app (the `deml.commands` entry point)."""
    app.add_typer(bench_app, name="bench")
