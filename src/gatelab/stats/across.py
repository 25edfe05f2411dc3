"""Comparisons of activations across tasks and settings: normalised aggregates, probability of
improvement, and the Friedman test with Nemenyi's post-hoc.

    from gatelab.stats import across
    across.aggregate(scores)                        # IQM / mean / median with bootstrap CIs
    across.probability_of_improvement(scores, "gelu")
    across.friedman(scores).summary()               # "Friedman χ²(6) = 12.3, p = 0.031 …"

`scores` is a long table with one row per run and the columns ``setting`` (a task, or a task and
its sweep axes), ``activation``, ``seed``, ``value`` (NaN for a run that diverged, failed or has
no metric) and ``higher_is_better`` (constant within a setting). Non-finite values (NaN, ±inf)
count as missing runs. Activations are matched by their exact strings.

Formulas and sources:

- **Normalised score** (min–max per setting, direction-aware): s = (v − worst)/(best − worst)
  with worst/best the setting's extreme finite values, or fixed anchors given as `reference`
  (Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice", NeurIPS, §2, which
  normalises by reference scores).
- **IQM**: the 25 % trimmed mean over all runs of all settings pooled; **mean** and **median**:
  of the per-setting mean scores (Agarwal et al. 2021, §4.1; rliable ``metrics.aggregate_iqm``,
  ``aggregate_mean``, ``aggregate_median``).
- **Stratified bootstrap**: runs resampled with replacement within each (setting, activation)
  cell, percentile interval (Agarwal et al. 2021, §3 and App. A; Efron & Tibshirani 1993, §13.3).
- **Probability of improvement**: P(X > Y) + ½ P(X = Y) per setting, = U/(n·m) with U the
  Mann–Whitney statistic, averaged over settings (Agarwal et al. 2021, §4.3; Mann & Whitney 1947).
- **Friedman test**: ranks within each setting (1 = best, ties averaged), χ²_F =
  12N/(k(k+1)) [Σ_j R_j² − k(k+1)²/4] with tie correction (Friedman 1937; Demšar 2006, JMLR 7,
  §3.2.2, eq. of χ²_F; scipy ``friedmanchisquare``).
- **Nemenyi post-hoc**: CD = q_α √(k(k+1)/(6N)), q_α = studentized-range quantile(1 − α; k, ∞)/√2;
  pairwise p = P(range of k standard normals > √2 |R_i − R_j| / √(k(k+1)/(6N)))
  (Nemenyi 1963; Demšar 2006, §3.2.2 and Table 5a).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

COLUMNS = ("setting", "activation", "seed", "value", "higher_is_better")
AGGREGATE_COLUMNS = [
    "activation", "n_settings", "n_runs",
    "iqm", "iqm_ci_low", "iqm_ci_high", "mean", "mean_ci_low", "mean_ci_high",
    "median", "median_ci_low", "median_ci_high",
]  # fmt: skip
IMPROVEMENT_COLUMNS = ["activation", "baseline", "n_settings", "probability", "ci_low", "ci_high"]
#: A vectorised statistic: per-cell arrays with a leading replicate axis → one value per replicate.
Statistic = Callable[[list[np.ndarray]], np.ndarray]


# --- input checks ------------------------------------------------------------------------------


def validate(scores: pd.DataFrame) -> pd.DataFrame:
    """The checked table: required columns, one direction per setting, one row per run."""
    missing = [c for c in COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lacks column(s) {', '.join(missing)}")
    if len(scores) == 0:
        raise ValueError("scores has no rows")
    if not scores["higher_is_better"].isin([True, False]).all():
        raise ValueError("higher_is_better must be True or False in every row")
    mixed = scores.groupby("setting")["higher_is_better"].nunique()
    if (mixed > 1).any():
        names = ", ".join(map(str, mixed.index[mixed > 1]))
        raise ValueError(f"higher_is_better varies within setting(s) {names}")
    duplicated = scores.duplicated(["setting", "activation", "seed"])
    if duplicated.any():
        first = scores.loc[duplicated, ["setting", "activation", "seed"]].iloc[0].tolist()
        raise ValueError(f"more than one row per run, e.g. (setting, activation, seed) = {first}")
    return scores.reset_index(drop=True).assign(value=scores["value"].astype(float).to_numpy())


def restrict_to_common(
    scores: pd.DataFrame, *, common_only: bool
) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """Refuse activations missing from some setting, or with `common_only` drop the settings
    that lack one; returns (scores, {dropped setting: the activations it lacks})."""
    present = pd.crosstab(scores["setting"], scores["activation"]) > 0
    if present.to_numpy().all():
        return scores, {}
    if not common_only:
        lacking = [a for a in present.columns if not present[a].all()]
        gaps = "; ".join(
            f"{a!r} in {', '.join(map(str, present.index[~present[a]]))}" for a in lacking
        )
        raise ValueError(
            f"activations without runs in some settings: {gaps}. "
            "Pass common_only=True to compare on the settings every activation shares"
        )
    complete = present.all(axis=1)
    if not complete.any():
        raise ValueError("no setting has runs of every activation")
    excluded = {s: tuple(present.columns[~present.loc[s]]) for s in present.index[~complete]}
    return scores[scores["setting"].isin(present.index[complete])], excluded


def directions(scores: pd.DataFrame) -> pd.Series:
    """higher_is_better per setting."""
    return scores.groupby("setting")["higher_is_better"].first().astype(bool)


def goodness(scores: pd.DataFrame) -> np.ndarray:
    """Values oriented so that larger is better; non-finite runs are −inf (worse than any)."""
    sign = np.where(scores["higher_is_better"].astype(bool), 1.0, -1.0)
    value = scores["value"].to_numpy(dtype=float) * sign
    return np.where(np.isfinite(value), value, -np.inf)


# --- normalisation ---------------------------------------------------------------------------


def normalized_scores(
    scores: pd.DataFrame,
    *,
    missing: str = "worst",
    reference: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """`scores` with a column ``score``: per setting (v − worst)/(best − worst) (Agarwal et al.
    2021, §2).

    Without `reference`, worst and best are the setting's extreme finite values, so scores lie
    in [0, 1] (best run 1, worst 0, lower-is-better flipped). This depends on which activations
    are compared: adding one can move every score. A setting whose finite values are all equal
    has no scale: all its finite runs get 0.5. `reference` maps every setting to fixed
    ``(worst, best)`` anchors (rliable's random/human scores); scores are then not clipped and
    may leave [0, 1]. Non-finite runs get the setting's lowest score, min(0, lowest finite score),
    with ``missing="worst"``, or are dropped with ``missing="drop"``.
    """
    if missing not in ("worst", "drop"):
        raise ValueError(f"missing must be 'worst' or 'drop', got {missing!r}")
    scores = validate(scores)
    finite = np.isfinite(scores["value"])
    worst, best = anchors(scores, reference)
    span = best - worst
    raw = (scores["value"] - worst) / span.where(span != 0)
    score = raw.where(span != 0, 0.5).where(finite)
    floor = score.groupby(scores["setting"]).transform("min").clip(upper=0.0).fillna(0.0)
    scores = scores.assign(score=score.fillna(floor))
    return scores[finite].reset_index(drop=True) if missing == "drop" else scores


def anchors(
    scores: pd.DataFrame, reference: Mapping[str, tuple[float, float]] | None
) -> tuple[pd.Series, pd.Series]:
    """Per run, the (worst, best) anchors of its setting: observed extremes or `reference`."""
    setting = scores["setting"]
    if reference is None:
        finite = scores["value"].where(np.isfinite(scores["value"]))
        low = finite.groupby(setting).transform("min")
        high = finite.groupby(setting).transform("max")
        higher = scores["higher_is_better"].astype(bool)
        return low.where(higher, high), high.where(higher, low)
    absent = sorted(set(setting) - set(reference))
    if absent:
        raise ValueError(f"reference has no (worst, best) anchors for setting(s) {absent}")
    for name, higher in directions(scores).items():
        worst, best = map(float, reference[name])
        if not (best > worst if higher else best < worst):
            side = "above" if higher else "below"
            raise ValueError(f"reference for {name!r}: best {best} must lie {side} worst {worst}")
    return (
        setting.map(lambda s: float(reference[s][0])),
        setting.map(lambda s: float(reference[s][1])),
    )


# --- aggregates and the stratified bootstrap -------------------------------------------------


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean of all values pooled: scipy.stats.trim_mean(x, 0.25) as rliable's
    ``metrics.aggregate_iqm`` (Agarwal et al. 2021, §4.1)."""
    return float(scipy_stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=None))


def iqm_statistic(cells: list[np.ndarray]) -> np.ndarray:
    """IQM of the runs of all cells pooled, per replicate (rliable ``aggregate_iqm``)."""
    return scipy_stats.trim_mean(np.concatenate(cells, axis=-1), 0.25, axis=-1)


def mean_statistic(cells: list[np.ndarray]) -> np.ndarray:
    """Mean over settings of the per-setting mean (rliable ``aggregate_mean``)."""
    return np.mean(np.stack([cell.mean(axis=-1) for cell in cells]), axis=0)


def median_statistic(cells: list[np.ndarray]) -> np.ndarray:
    """Median over settings of the per-setting mean (rliable ``aggregate_median``)."""
    return np.median(np.stack([cell.mean(axis=-1) for cell in cells]), axis=0)


def stratified_bootstrap(
    cells: Sequence[Sequence[float] | np.ndarray],
    statistic: Statistic,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of `statistic` with each cell's runs resampled with replacement
    independently (rliable's StratifiedBootstrap, Agarwal et al. 2021, App. A; Efron &
    Tibshirani 1993, §13.3).

    `statistic` receives one ``(n_boot, n_runs)`` array per cell, in the order given (cells may
    hold different numbers of runs), and returns ``n_boot`` values. The draws come from
    ``numpy.random.default_rng(seed)``, cell after cell.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    arrays = [np.asarray(cell, dtype=float) for cell in cells]
    if not arrays or any(a.ndim != 1 or a.size == 0 for a in arrays):
        raise ValueError("stratified_bootstrap needs one non-empty 1-D array of runs per cell")
    rng = np.random.default_rng(seed)
    resampled = [a[rng.integers(0, a.size, size=(n_boot, a.size))] for a in arrays]
    replicates = np.asarray(statistic(resampled), dtype=float)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def cells_of(frame: pd.DataFrame, column: str) -> list[np.ndarray]:
    """The runs' `column` per setting, settings in sorted order."""
    return [group[column].to_numpy(dtype=float) for _, group in frame.groupby("setting")]


def aggregate(
    scores: pd.DataFrame,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    reference: Mapping[str, tuple[float, float]] | None = None,
    common_only: bool = False,
) -> pd.DataFrame:
    """Per activation the IQM, mean and median of normalised scores with stratified-bootstrap
    percentile CIs, best IQM first (Agarwal et al. 2021, §4.1 and App. A).

    As in rliable's ``metrics`` (checked against rliable 1.2), the IQM pools every run of every
    setting, while the mean and the median are taken over the per-setting mean scores. Failed
    runs score as the worst run (:func:`normalized_scores`, ``missing="worst"``). An activation
    without runs in some setting is refused; ``common_only=True`` keeps only the settings every
    activation has (the dropped ones are in ``result.attrs["excluded"]``). Each activation is
    bootstrapped with the same `seed`, so its row does not depend on the other activations.
    """
    scores, excluded = restrict_to_common(validate(scores), common_only=common_only)
    scores = normalized_scores(scores, reference=reference)
    statistics = {"iqm": iqm_statistic, "mean": mean_statistic, "median": median_statistic}
    rows = []
    for activation, frame in scores.groupby("activation"):
        cells = cells_of(frame, "score")
        row = {"activation": activation, "n_settings": len(cells), "n_runs": len(frame)}
        for name, statistic in statistics.items():
            row[name] = float(statistic(cells))
            interval = stratified_bootstrap(
                cells, statistic, confidence=confidence, n_boot=n_boot, seed=seed
            )
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = interval
        rows.append(row)
    table = pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)
    table = table.sort_values(["iqm", "activation"], ascending=[False, True], kind="stable")
    table = table.reset_index(drop=True)
    table.attrs["excluded"] = excluded
    return table


# --- probability of improvement --------------------------------------------------------------


def improvement_statistic(n_settings: int) -> Statistic:
    """P(X > Y) + ½ P(X = Y) per setting averaged over settings, for cells ordered as the X
    cells then the Y cells (Agarwal et al. 2021, §4.3; = Mann–Whitney U/(n·m))."""

    def statistic(cells: list[np.ndarray]) -> np.ndarray:
        per_setting = []
        for x, y in zip(cells[:n_settings], cells[n_settings:]):
            x, y = x[..., :, None], y[..., None, :]
            wins = (x > y).sum(axis=(-2, -1)) + 0.5 * (x == y).sum(axis=(-2, -1))
            per_setting.append(wins / (x.shape[-2] * y.shape[-1]))
        return np.mean(np.stack(per_setting), axis=0)

    return statistic


def probability_of_improvement(
    scores: pd.DataFrame,
    baseline: str,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    common_only: bool = False,
) -> pd.DataFrame:
    """Per activation ≠ `baseline`, the average over settings of P(X > Y) + ½ P(X = Y), X a run of
    the activation and Y one of the baseline, with a stratified-bootstrap CI (Agarwal et al.
    2021, §4.3; rliable ``metrics.probability_of_improvement`` and StratifiedIndependentBootstrap).

    Works on raw values, direction-aware (lower is better flips the comparison): P depends only
    on the order of the runs within a setting, so any increasing per-setting transform (such as
    min–max normalisation) leaves it unchanged. Non-finite runs rank below every finite run and
    tie with each other. Missing cells are handled as in :func:`aggregate`.
    """
    scores, _ = restrict_to_common(validate(scores), common_only=common_only)
    present = sorted(scores["activation"].unique())
    if baseline not in present:
        raise ValueError(f"baseline {baseline!r} is not among the activations {present}")
    scores = scores.assign(goodness=goodness(scores))
    base = cells_of(scores[scores["activation"] == baseline], "goodness")
    statistic = improvement_statistic(len(base))
    rows = []
    for activation, frame in scores[scores["activation"] != baseline].groupby("activation"):
        cells = cells_of(frame, "goodness") + base
        low, high = stratified_bootstrap(
            cells, statistic, confidence=confidence, n_boot=n_boot, seed=seed
        )
        probability = float(statistic(cells))
        rows.append([activation, baseline, len(base), probability, low, high])
    table = pd.DataFrame(rows, columns=IMPROVEMENT_COLUMNS)
    table = table.sort_values(["probability", "activation"], ascending=[False, True])
    return table.reset_index(drop=True)


# --- Friedman and Nemenyi --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FriedmanResult:
    """The Friedman test over settings (blocks) and activations, with Nemenyi's post-hoc."""

    statistic: float
    pvalue: float
    n_blocks: int
    k: int
    mean_ranks: dict[str, float]  # best (lowest rank) first
    critical_difference: float
    nemenyi_p: pd.DataFrame  # k × k, in the order of mean_ranks
    alpha: float
    cliques: list[tuple[str, ...]]
    excluded: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: "Friedman χ²(k−1) = …, p = … over N settings; Nemenyi CD = … at α = …"."""
        return (
            f"Friedman χ²({self.k - 1}) = {self.statistic:.3g}, p = {self.pvalue:.2g} over "
            f"{self.n_blocks} settings; Nemenyi CD = {self.critical_difference:.3g} "
            f"at α = {self.alpha:g}"
        )


def nemenyi_q(alpha: float, k: int) -> float:
    """q_α = studentized range quantile(1 − α; k, ∞)/√2 (Demšar 2006, Table 5a)."""
    return float(scipy_stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)


def critical_difference(alpha: float, k: int, n_blocks: int) -> float:
    """Nemenyi's CD = q_α √(k(k+1)/(6N)) (Demšar 2006, §3.2.2)."""
    return nemenyi_q(alpha, k) * math.sqrt(k * (k + 1) / (6 * n_blocks))


def nemenyi_pvalues(mean_ranks: Mapping[str, float], n_blocks: int) -> pd.DataFrame:
    """Pairwise p = P(Q > √2 |R_i − R_j| / √(k(k+1)/(6N))), Q the range of k standard normals
    (Nemenyi 1963; Demšar 2006, §3.2.2)."""
    names, ranks = list(mean_ranks), np.array(list(mean_ranks.values()))
    k = len(names)
    z = np.abs(ranks[:, None] - ranks[None, :]) / math.sqrt(k * (k + 1) / (6 * n_blocks))
    p = scipy_stats.studentized_range.sf(z * math.sqrt(2), k, np.inf)
    np.fill_diagonal(p, 1.0)
    return pd.DataFrame(p, index=names, columns=names)


def rank_cliques(mean_ranks: Mapping[str, float], cd: float) -> list[tuple[str, ...]]:
    """The maximal runs of consecutive activations (by mean rank) spanning less than `cd`, of
    two or more: the bars of a CD diagram (Demšar 2006, §3.2.2, Fig. 1)."""
    names, ranks = list(mean_ranks), list(mean_ranks.values())
    cliques, reach = [], 0
    for i in range(len(names)):
        end = max(j for j in range(i, len(names)) if ranks[j] - ranks[i] < cd)
        if end > i and end > reach:
            cliques.append(tuple(names[i : end + 1]))
        reach = max(reach, end)
    return cliques


def block_ranks(scores: pd.DataFrame, statistic: str) -> pd.DataFrame:
    """Settings × activations ranks of the per-cell mean (or median) over finite seeds, 1 = best,
    ties averaged; a cell without a finite run ranks last (Demšar 2006, §3.2.2)."""
    finite = scores.assign(value=scores["value"].where(np.isfinite(scores["value"])))
    table = finite.groupby(["setting", "activation"])["value"].agg(statistic).unstack()
    sign = np.where(directions(scores).reindex(table.index), 1.0, -1.0)
    oriented = np.nan_to_num(table.to_numpy() * sign[:, None], nan=-np.inf)
    ranks = scipy_stats.rankdata(-oriented, axis=1, method="average")
    return pd.DataFrame(ranks, index=table.index, columns=table.columns)


def friedman(
    scores: pd.DataFrame,
    *,
    alpha: float = 0.05,
    statistic: str = "mean",
    common_only: bool = False,
) -> FriedmanResult:
    """Friedman's test with settings as blocks and activations as treatments, one value per
    (setting, activation): the mean (or median) over its finite seeds; then Nemenyi's critical
    difference, pairwise p-values and rank cliques (Friedman 1937; Nemenyi 1963; Demšar 2006,
    §3.2.2). A cell without a finite run ranks last in its setting. Missing cells are handled
    as in :func:`aggregate` (`excluded`: the settings dropped by ``common_only``)."""
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic must be 'mean' or 'median', got {statistic!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    scores, excluded = restrict_to_common(validate(scores), common_only=common_only)
    ranks = block_ranks(scores, statistic)
    n_blocks, k = ranks.shape
    if n_blocks < 3:
        raise ValueError(f"the Friedman test needs at least 3 tasks or settings, got {n_blocks}")
    if k < 3:
        raise ValueError(
            f"the Friedman test needs at least 3 activations, got {k}; compare two with a paired "
            "test (Wilcoxon signed-rank, gatelab.stats.paired_comparison)"
        )
    chi2, pvalue = scipy_stats.friedmanchisquare(*ranks.to_numpy().T)
    means = ranks.mean(axis=0)
    order = sorted(means.index, key=lambda a: (means[a], a))
    mean_ranks = {str(a): float(means[a]) for a in order}
    cd = critical_difference(alpha, k, n_blocks)
    return FriedmanResult(
        statistic=float(chi2),
        pvalue=float(pvalue),
        n_blocks=n_blocks,
        k=k,
        mean_ranks=mean_ranks,
        critical_difference=cd,
        nemenyi_p=nemenyi_pvalues(mean_ranks, n_blocks),
        alpha=alpha,
        cliques=rank_cliques(mean_ranks, cd),
        excluded=excluded,
    )
