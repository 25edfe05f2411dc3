"""The report's comparison across tasks: ranks per task or setting; from 2 settings the IQM of
normalised scores and the probability of improvement over the baseline (Agarwal et al. 2021);
from 3 settings and 3 activations the Friedman test with Nemenyi's critical difference and its
diagram (Demšar 2006). Too few settings for a test is said in one line, not left out silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import stats
from ..stats import across
from . import tables
from .cd_diagram import critical_difference_diagram

#: Resamples of the stratified bootstrap and its generator seed.
N_BOOT = 2000
BOOT_SEED = 0
CONFIDENCE = 0.95


def interval_cell(value: float, low: float, high: float) -> str:
    """ "0.812 [0.705, 0.903]" for a score in [0, 1]."""
    if tables.is_missing(value):
        return tables.MISSING
    if tables.is_missing(low):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def interval_table(
    table: Any, plain: Sequence[str], intervals: Sequence[str], headers: Sequence[str]
) -> tables.Table:
    """A Table with the `plain` columns as text, then each of `intervals` (a column with its
    ``_ci_low``/``_ci_high`` siblings, or ``ci_low``/``ci_high`` for "probability") as
    "value [low, high]"."""

    def bounds(name: str) -> tuple[str, str]:
        return (
            ("ci_low", "ci_high")
            if name == "probability"
            else (f"{name}_ci_low", f"{name}_ci_high")
        )

    rows = tuple(
        tuple(str(row[c]) for c in plain)
        + tuple(interval_cell(row[c], *(row[b] for b in bounds(c))) for c in intervals)
        for row in table.to_dict("records")
    )
    align = (
        ("l",) + tuple("l" if c == "baseline" else "r" for c in plain[1:]) + ("r",) * len(intervals)
    )
    return tables.Table(tuple(headers), rows, align)


def aggregate_table(table: Any) -> tables.Table:
    """:func:`gatelab.stats.across.aggregate` as a Table of scores with their CIs."""
    headers = ("activation", "settings", "runs", "IQM [95% CI]", "mean [95% CI]", "median [95% CI]")
    plain = ("activation", "n_settings", "n_runs")
    return interval_table(table, plain, ("iqm", "mean", "median"), headers)


def improvement_table(table: Any) -> tables.Table:
    """:func:`gatelab.stats.across.probability_of_improvement` as a Table."""
    headers = ("activation", "baseline", "settings", "P(activation > baseline) [95% CI]")
    plain = ("activation", "baseline", "n_settings")
    return interval_table(table, plain, ("probability",), headers)


def mean_rank_table(result: across.FriedmanResult) -> tables.Table:
    """The Friedman mean ranks, best first, with the activations within one CD of the best."""
    best = next(iter(result.mean_ranks.values()))
    rows = tuple(
        (
            name,
            f"{rank:.2f}",
            "yes" if rank - best < result.critical_difference else "no",
        )
        for name, rank in result.mean_ranks.items()
    )
    headers = ("activation", "mean rank", "within one CD of the best")
    return tables.Table(headers, rows, ("l", "r", "l"))


def across_section(
    df: Any,
    summary: Any,
    baseline: str | None,
    extra_axes: Sequence[str],
    figures_dir: Path,
    styles: Mapping[str, Any],
    *,
    alpha: float = 0.05,
) -> list:
    """The blocks of the section "Across tasks" (writes the CD diagram on the way)."""
    from .render import FIGURES_DIR, Heading, Image, Paragraph

    blocks: list = [
        Heading("Across tasks"),
        Paragraph("Rank of the mean per task or setting (1 = best) and the mean rank."),
        tables.ranks_table(stats.ranks(summary)),
    ]
    scores = stats.run_scores(df, tuple(extra_axes))
    n_settings = scores["setting"].nunique()
    if n_settings < 2:
        blocks.append(
            Paragraph(
                f"{n_settings} task or setting: no aggregate across tasks (needs 2) and no "
                "Friedman test (needs 3)."
            )
        )
        return blocks
    blocks += aggregate_blocks(scores, baseline)
    activations = scores["activation"].nunique()
    if n_settings < 3 or activations < 3:
        blocks.append(
            Paragraph(
                f"{n_settings} settings and {activations} activations: the Friedman test needs "
                "at least 3 of each."
            )
        )
        return blocks
    try:
        result = across.friedman(scores, alpha=alpha, common_only=True)
    except ValueError as error:  # too few settings left where every activation was run
        blocks.append(Paragraph(f"No Friedman test: {error}."))
        return blocks
    path = critical_difference_diagram(
        result, figures_dir / "critical_difference.png", styles=styles
    )
    cliques = "; ".join(", ".join(c) for c in result.cliques) or "none"
    blocks += [
        Heading("Friedman test and critical difference", level=3),
        Paragraph(
            f"{result.summary()}. Activations joined by a bar (mean ranks closer than the CD) "
            f"are not told apart by the Nemenyi test: {cliques}." + _excluded(result.excluded)
        ),
        mean_rank_table(result),
        Image(f"{FIGURES_DIR}/{path.name}", "critical difference diagram"),
    ]
    return blocks


def aggregate_blocks(scores: Any, baseline: str | None) -> list:
    from .render import Heading, Paragraph

    options = {"confidence": CONFIDENCE, "n_boot": N_BOOT, "seed": BOOT_SEED, "common_only": True}
    table = across.aggregate(scores, **options)
    blocks = [
        Heading("Aggregates of normalised scores", level=3),
        Paragraph(
            "Each run's test metric normalised per setting, best run = 1, worst = 0 (diverged "
            "runs score 0), so scores depend on the activations compared; IQM, mean and median "
            f"with {CONFIDENCE:.0%} stratified-bootstrap CIs ({N_BOOT} resamples, seed "
            f"{BOOT_SEED}; Agarwal et al. 2021)." + _excluded(table.attrs.get("excluded"))
        ),
        aggregate_table(table),
    ]
    if baseline is not None and baseline in set(scores["activation"]):
        improvement = across.probability_of_improvement(scores, baseline, **options)
        blocks += [
            Paragraph(
                f"Probability of improvement over {baseline}: the chance that a run of the "
                f"activation beats a run of {baseline} in the same setting (ties count ½), "
                "averaged over settings; 0.5 = no difference."
            ),
            improvement_table(improvement),
        ]
    return blocks


def _excluded(excluded: Mapping[str, Any] | None) -> str:
    if not excluded:
        return ""
    parts = [
        f"{name} ({', '.join(map(str, why)) if not isinstance(why, str) else why})"
        for name, why in excluded.items()
    ]
    return " Left out (not run in every setting): " + "; ".join(parts) + "."
