"""The README's benchmark tables, rendered from bench/results/*.json.

A figure is measured once, written to JSON by `deml bench …`, and the README's tables are
regenerated from that JSON (`deml bench readme`, also run by each benchmark command), so the
README never carries a number that no benchmark produced. Each table sits between two
markers, `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`; text outside them is the author's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from bench import codec as bench_codec
from deml.exceptions import DemlError

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results"


def _gas(value: int) -> str:
    return f"{value:,}"


def gas_table(report: dict) -> str:
    """Gas per operation (protocol v2), its target where the issue set one, and the extremes."""
    ops = report["operations"]
    targets = report["targets"]
    largest = report["largest_calls_at_10000"]
    limit = targets["max_call_gas_at_10000"]
    played = report["evaluation_500x21"]
    v1 = report["v1_reference"]["total"]
    reveals = {row["bytes"]: row for row in report["reveal"]}

    def cap(name: str) -> str:
        return f"≤ {targets[name]:,}"

    rows = [
        ("create (a clone of the competition)", _gas(ops["create"]), cap("create")),
        (
            "commit (first / later by the same competitor)",
            f"{ops['commit_first']:,} / {ops['commit_later']:,}",
            cap("commit"),
        ),
    ]
    for size in sorted(reveals):
        row = reveals[size]
        rows.append(
            (
                f"reveal of {size // 1024} KiB",
                _gas(row["gas"]),
                f"calldata floor {row['calldata_floor']:,} + ≤ {targets['reveal_over_floor']:,}",
            )
        )
    rows += [
        ("revealTestKey", _gas(ops["reveal_test_key"]), ""),
        (
            "pool bond (first in an empty pool / first / later)",
            f"{ops['pool_bond_first_in_empty_pool']:,} / {ops['pool_bond_first']:,}"
            f" / {ops['pool_bond_later']:,}",
            "",
        ),
        (
            "pool requestUnbond / withdraw",
            f"{ops['pool_request_unbond']:,} / {ops['pool_withdraw']:,}",
            "",
        ),
        ("drawJury: seal", _gas(ops["draw_jury_seal"]), ""),
        ("drawJury: 21 jurors, all batches", _gas(ops["draw_jury_21"]), ""),
        (
            "commitVote / revealVote (first / later)",
            f"{ops['commit_vote']:,} / {ops['vote_reveal_first']:,} / {ops['vote_reveal_later']:,}",
            "",
        ),
        ("publishScores, per submission", _gas(ops["publish_scores_per_submission"]), ""),
        (
            "publishBitmaps (disputes), per submission",
            _gas(ops["publish_bitmaps_per_submission"]),
            "",
        ),
        ("finalize", _gas(ops["finalize"]), cap("finalize")),
        (
            "settleJurors, per juror (paid / share burned)",
            f"{ops['settle_jurors_per_juror']:,} / {ops['settle_jurors_per_juror_burned']:,}",
            "",
        ),
        (
            "claim (winner / host / juror / bounties)",
            f"{ops['claim_winner']:,} / {ops['claim_host']:,} / {ops['claim_juror']:,}"
            f" / {ops['claim_bounties']:,}",
            cap("claim"),
        ),
        (
            f"the jury's work on 500 submissions × {played['jurors']} jurors",
            _gas(played["total"]),
            f"≤ 1/{round(1 / targets['evaluation_500x21_of_v1'])} of v1's {v1:,}"
            f" (1/{v1 / played['total']:.1f})",
        ),
        (
            "the same with the winning vector's bitmaps (the dispute layer, not in v1)",
            _gas(played["disputes"]["with_disputes"]),
            f"1/{v1 / played['disputes']['with_disputes']:.1f} of v1",
        ),
    ]
    for name, row in largest.items():
        rows.append((f"at 10,000 submissions: {name}", _gas(row["gas"]), f"≤ {limit:,}"))
    for name, size in report["bytecode_size"].items():
        rows.append((f"deployed code of {name}", f"{size:,} B", f"< {targets['bytecode']:,} B"))
    lines = ["| operation | gas | target |", "|---|---:|---|"]
    lines += [f"| {name} | {gas} | {target} |" for name, gas, target in rows]
    lines += ["", *reveal_modes_table(report)]
    missed = report["targets_missed"]
    lines.append("")
    lines.append("Targets missed: " + "; ".join(missed) + "." if missed else "Every target is met.")
    return "\n".join(lines)


def _share(ratio: float) -> str:
    """1/49 for a fraction, 1.31× for more than the whole."""
    return f"1/{1 / ratio:.0f}" if ratio < 1 else f"{ratio:.2f}×"


def reveal_modes_table(report: dict) -> list[str]:
    """A model revealed in calldata and in blobs, side by side (blobs measured on anvil, priced
    at the EIP-7918 floor: execution gas + 8,192 a blob)."""
    calldata = {row["bytes"]: row for row in report["reveal"]}
    lines = [
        "| model | calldata reveal (floor at 40 / 64 gas a byte) | blob reveal: execution"
        " + blob gas | blobs | blob reveal at the blob floor | of the 40-gas floor |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["reveal_blob"]:
        size = row["bytes"]
        measured = f"{calldata[size]['gas']:,} measured; " if size in calldata else ""
        lines.append(
            f"| {size // 1024} KiB | {measured}{row['calldata_floor_40']:,} /"
            f" {row['calldata_floor_64']:,} | {row['execution_gas']:,} + {row['blob_gas']:,}"
            f" | {row['blobs']} | {row['gas_equivalent']:,}"
            f" | {_share(row['of_calldata_floor_40'])} |"
        )
    return lines


def codec_table(report: dict) -> str:
    """Per reference model: the seed's bytes, float32 + zlib, int8+lzma, the best codec."""
    lines = [
        "| model | params | seed encoding | float32 ONNX + zlib | int8+lzma (Δ acc) |"
        f" best within {100 * bench_codec.MAX_DROP:g} pt |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for model in report["models"]:
        codecs = {c["codec"]: c for c in model["codecs"]}
        reference = model["reference_accuracy"]
        int8 = codecs["int8+lzma"]
        delta = round(100 * (int8["accuracy"] - reference), 1)
        shown = "±0" if delta == 0 else f"{delta:+.1f} pt"
        best = bench_codec.best(model)
        ratio = round(model["seed_bytes"] / best["bytes"])
        lines.append(
            f"| {model['name']} | {model['params']:,} | {model['seed_bytes']:,} B"
            f" | {codecs['zlib']['bytes']:,} B | {int8['bytes']:,} B ({shown})"
            f" | {best['codec']} {best['bytes']:,} B, 1/{ratio} |"
        )
    return "\n".join(lines)


def cost_table(report: dict) -> str:
    """Per probe: operations counted, CPU seconds, nanoseconds per operation; then the worst
    case at the budget against the CPU backstop."""
    lines = [
        f"| probe ({report['samples']} samples) | operations | CPU s | ns per operation |",
        "|---|---:|---:|---:|",
    ]
    for probe in sorted(report["probes"], key=lambda p: -p["ns_per_operation"]):
        lines.append(
            f"| {probe['name']} | {probe['operations']:,} | {probe['cpu_s']:.3f}"
            f" | {probe['ns_per_operation']:.3f} |"
        )
    lines += [
        "",
        f"The budget, {report['budget_operations']:,} operations, at the slowest probe"
        f" ({report['worst_probe']}): {report['budget_at_worst_s']} s of CPU, against a"
        f" backstop of {report['cpu_backstop_s']} s.",
    ]
    return "\n".join(lines)


def zk_table(report: dict) -> str:
    """Per zoo model: the proof's cost and a whole dispute's gas, or why it cannot be had."""
    lines = [
        "| model | params | rows | setup s | prove s | peak MB | proof B | verifier B"
        " | verify gas | dispute gas | contest gas |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["models"]:
        if "not_disputable" in row:
            rows = f"2^{row['logrows']}" if "logrows" in row else "–"
            reason = row["not_disputable"].split(": ", 1)[-1]
            lines.append(
                f"| {row['name']} | {row['params']:,} | {rows} | not disputable: {reason} ||||||||"
            )
            continue
        if row.get("dispute_gas") is not None:
            dispute = f"{row['dispute_gas']:,} | {row['contest_gas']:,}"
        else:
            dispute = f"– ({row.get('dispute_refused', 'not measured')}) | –"
        lines.append(
            f"| {row['name']} | {row['params']:,} | 2^{row['logrows']} | {row['setup_s']}"
            f" | {row['prove_s']} | {row['peak_mb']:,} | {row['proof_bytes']:,}"
            f" | {row['verifier_bytes']:,} | {row['verify_gas']:,} | {dispute} |"
        )
    return "\n".join(lines)


TABLES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "gas": ("gas.json", gas_table),
    "codec": ("codec.json", codec_table),
    "cost": ("cost.json", cost_table),
    "zk": ("zk.json", zk_table),
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- bench:{name} -->\n)(.*?)(\n<!-- /bench:{name} -->)", flags=re.DOTALL)


def rendered(readme_text: str, results: Path = RESULTS) -> str:
    """The README text with every benchmark table rendered from the JSON in `results`."""
    text = readme_text
    for name, (filename, render) in TABLES.items():
        pattern = _block(name)
        if not pattern.search(text):
            raise DemlError(f"README has no <!-- bench:{name} --> … <!-- /bench:{name} --> block")
        path = results / filename
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DemlError(f"cannot read {path}: {exc}") from exc
        table = render(report)
        text = pattern.sub(lambda m, table=table: m.group(1) + table + m.group(3), text)
    return text


def update(readme: Path = README, results: Path = RESULTS) -> bool:
    """Rewrite the README's benchmark tables from `results`; True when anything changed."""
    before = readme.read_text()
    after = rendered(before, results)
    if after != before:
        readme.write_text(after)
    return after != before
