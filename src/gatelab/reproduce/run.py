"""`gatelab reproduce NAME`: run a named protocol (resumable, ensembles where they apply), then
write its report, its claims' verdicts and what it took (command, wall time, machine, versions,
date) beside the per-run metrics as CSV."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from .._io import atomic_write_text
from .claims import Verdict
from .protocols import Protocol, get_protocol

BASELINE = "gelu"
CSV_COLUMNS = (
    "run_id", "task", "activation", "seed", "lr", "dropout", "init", "status", "epochs",
    "dataset", "val_accuracy", "test_accuracy", "test_loss", "val_mse", "test_mse",
    "final_train_loss", "wall_seconds", "threads",
)  # fmt: skip


def reproduce(
    name: str,
    out: str | Path,
    *,
    variant: str = "full",
    executor: str | None = None,
    workers: int | None = None,
    ensemble_size: int | None = None,
    alpha: float = 0.05,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Run protocol `name` (`variant` full, quick or smoke) into `out` and write
    ``out/report/``: report.md (the sweep report), reproduction.md (claims, deviations,
    provenance) and runs.csv. Returns the path of reproduction.md."""
    from .. import results
    from ..report.render import write_report
    from ..sweep import parse_spec, run_sweep

    protocol = get_protocol(name)
    spec = parse_spec(protocol.spec(variant))
    out = Path(out)
    started = time.perf_counter()
    executor = executor or protocol.executor
    if "ensemble" in executor:
        ensemble_size = ensemble_size or protocol.ensemble_size
    run_sweep(spec, out, executor=executor, workers=workers, ensemble_size=ensemble_size, log=log)
    sitting = time.perf_counter() - started
    df = results.load(out)
    report = out / "report"
    write_report(out, report, baseline=BASELINE, title=protocol.title, alpha=alpha)
    write_csv(df, report / "runs.csv")
    text = reproduction_text(protocol, variant, df, protocol.verdicts(df), sitting, out)
    return atomic_write_text(report / "reproduction.md", text)


def write_csv(df, path: Path) -> Path:
    """The per-run metrics (no histories) as CSV."""
    from .claims import final_train_loss

    frame = df.assign(final_train_loss=[final_train_loss(row) for _, row in df.iterrows()])
    columns = [c for c in CSV_COLUMNS if c in frame.columns]
    return atomic_write_text(path, frame[columns].to_csv(index=False))


def verdict_table(verdicts: list[Verdict]) -> str:
    lines = ["| claim | verdict | evidence (medians; paired verdicts) |", "|---|---|---|"]
    for v in verdicts:
        cells = [c.replace("|", r"\|") for c in (v.claim, f"**{v.outcome}**", v.evidence)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reproduction_text(
    protocol: Protocol, variant: str, df, verdicts: list[Verdict], sitting: float, out: Path
) -> str:
    """The Markdown of reproduction.md."""
    from ..report.render import compute_seconds, duration, elapsed_seconds, versions

    command = f"gatelab reproduce {protocol.name}{' --quick' * (variant == 'quick')} --out {out}"
    if variant == "smoke":  # the tests' variant has no CLI flag
        command = f"gatelab.reproduce.reproduce({protocol.name!r}, {str(out)!r}, variant='smoke')"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    variant_line = {
        "full": "the full protocol",
        "quick": f"the quick variant ({protocol.quick}); not the paper's scale",
        "smoke": "the smoke variant (synthetic data, tiny models): a test of the machinery only",
    }[variant]
    parts = [
        f"# {protocol.title}",
        f"Paper: {protocol.paper}. Variant: {variant_line}.",
        "\n".join(
            [
                f"- command: `{command}`",
                f"- runs: {len(df)} ({(df['status'] == 'ok').sum()} ok)",
                f"- elapsed: {duration(elapsed_seconds(df))}; compute: "
                f"{duration(compute_seconds(df))}; this sitting: {duration(sitting)} "
                f"(expected for the full protocol on 2 CPU cores: {protocol.minutes:g} min)",
                f"- machine: {platform.machine()}, {cores} cores, {platform.system()} "
                f"{platform.release()}, Python {sys.version.split()[0]}",
                f"- versions: {versions(df) or 'not recorded'}",
                f"- date: {stamp}",
            ]
        ),
        "## Claims",
        "Each claim judged by seed-paired comparisons (paired t-test, Holm-adjusted, α = 0.05) "
        "at the lr chosen on validation; see gatelab.reproduce.claims for the outcomes.",
        verdict_table(verdicts),
        "## Deviations from the paper",
        "\n".join(f"- {d}" for d in protocol.deviations),
        "## Report",
        "The sweep report with tables, figures and the published numbers: [report.md](report.md); "
        "per-run metrics: [runs.csv](runs.csv).",
    ]
    return "\n\n".join(parts) + "\n"
