"""gatelab.stats.across against hand computations and the reference libraries: rliable (IQM,
mean, median, probability of improvement), scipy (Friedman, an independent bootstrap), autorank
(mean ranks, CD, cliques) and scikit-posthocs (Nemenyi p-values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import stats as scipy_stats

from gatelab.stats import across


def long_table(cells, higher=True):
    """{setting: {activation: [values per seed]}} → the long scores table; `higher` is a bool or
    {setting: bool}."""
    rows = []
    for setting, by_activation in cells.items():
        hib = higher if isinstance(higher, bool) else higher[setting]
        for activation, values in by_activation.items():
            for seed, value in enumerate(values):
                rows.append((setting, activation, seed, value, hib))
    return pd.DataFrame(rows, columns=list(across.COLUMNS))


def random_table(n_settings=6, activations=("a", "b", "c", "d"), seeds=5, rng_seed=1, higher=True):
    """A well-conditioned example: activation i has mean 0.3·i on every setting, noise sd 1."""
    rng = np.random.default_rng(rng_seed)
    cells = {
        f"task{s}": {
            a: list(rng.normal(0.3 * i + s, 1.0, seeds)) for i, a in enumerate(activations)
        }
        for s in range(n_settings)
    }
    return long_table(cells, higher)


def matrix(frame, activation, column):
    """runs × settings, as rliable takes it."""
    part = frame[frame["activation"] == activation]
    return part.pivot(index="seed", columns="setting", values=column).to_numpy()


# --- input checks ------------------------------------------------------------------------------


def test_missing_columns_are_named():
    frame = random_table().drop(columns=["seed", "higher_is_better"])
    with pytest.raises(ValueError, match="seed, higher_is_better"):
        across.aggregate(frame)


def test_mixed_direction_within_a_setting_is_refused():
    frame = random_table()
    frame.loc[0, "higher_is_better"] = False
    with pytest.raises(ValueError, match="task0"):
        across.normalized_scores(frame)
    frame = frame.astype({"higher_is_better": object})
    frame.loc[0, "higher_is_better"] = None
    with pytest.raises(ValueError, match="True or False"):
        across.normalized_scores(frame)


def test_duplicate_runs_are_refused():
    frame = random_table()
    with pytest.raises(ValueError, match="more than one row per run"):
        across.friedman(pd.concat([frame, frame.iloc[:1]]))


# --- normalisation -----------------------------------------------------------------------------

HAND = {
    "acc": {"a": [0.5, 0.9], "b": [0.7, math.nan]},
    "loss": {"a": [2.0, 4.0], "b": [3.0, 1.0]},
    "flat": {"a": [0.3, 0.3], "b": [0.3, math.nan]},
}
HAND_HIGHER = {"acc": True, "loss": False, "flat": True}


def scores_of(frame):
    return {(s, a, k): v for s, a, k, v in frame[["setting", "activation", "seed", "score"]].values}


def test_normalisation_by_hand_both_directions_nan_and_constant():
    got = scores_of(across.normalized_scores(long_table(HAND, HAND_HIGHER)))
    expected = {
        ("acc", "a", 0): 0.0, ("acc", "a", 1): 1.0, ("acc", "b", 0): 0.5, ("acc", "b", 1): 0.0,
        ("loss", "a", 0): 2 / 3, ("loss", "a", 1): 0.0, ("loss", "b", 0): 1 / 3,
        ("loss", "b", 1): 1.0,
        ("flat", "a", 0): 0.5, ("flat", "a", 1): 0.5, ("flat", "b", 0): 0.5, ("flat", "b", 1): 0.0,
    }  # fmt: skip
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_missing_drop_removes_failed_runs_and_inf_counts_as_failed():
    cells = {**HAND, "acc": {"a": [0.5, 0.9], "b": [0.7, math.inf]}}
    frame = across.normalized_scores(long_table(cells, HAND_HIGHER), missing="drop")
    assert len(frame) == 10
    assert frame["score"].between(0, 1).all()
    got = scores_of(frame)
    assert got[("acc", "b", 0)] == pytest.approx(0.5)  # +inf did not become the best run
    with pytest.raises(ValueError, match="missing"):
        across.normalized_scores(long_table(HAND, HAND_HIGHER), missing="zero")


def test_reference_anchors_are_used_unclipped():
    reference = {"acc": (0.6, 1.0), "loss": (5.0, 0.0), "flat": (0.0, 0.6)}
    got = scores_of(across.normalized_scores(long_table(HAND, HAND_HIGHER), reference=reference))
    assert got[("acc", "a", 0)] == pytest.approx(-0.25)  # below the worst anchor: not clipped
    assert got[("acc", "a", 1)] == pytest.approx(0.75)
    assert got[("acc", "b", 1)] == pytest.approx(-0.25)  # a failed run: the setting's lowest
    assert got[("loss", "a", 0)] == pytest.approx(0.6)
    assert got[("loss", "b", 1)] == pytest.approx(0.8)
    assert got[("flat", "a", 0)] == pytest.approx(0.5)
    assert got[("flat", "b", 1)] == pytest.approx(0.0)


def test_reference_must_cover_every_setting_and_point_the_right_way():
    frame = long_table(HAND, HAND_HIGHER)
    with pytest.raises(ValueError, match="flat"):
        across.normalized_scores(frame, reference={"acc": (0, 1), "loss": (5, 0)})
    with pytest.raises(ValueError, match="'loss'.*below"):
        across.normalized_scores(frame, reference={"acc": (0, 1), "loss": (0, 5), "flat": (0, 1)})


# --- IQM, mean, median vs rliable ------------------------------------------------------------


def test_iqm_by_hand_and_as_rliable():
    metrics = pytest.importorskip("rliable.metrics")
    assert across.iqm(np.arange(1.0, 9.0)) == 4.5  # mean of 3, 4, 5, 6
    x = np.random.default_rng(3).normal(size=(7, 5))
    assert across.iqm(x) == pytest.approx(metrics.aggregate_iqm(x), abs=1e-12)


def test_aggregate_point_estimates_equal_rliable():
    metrics = pytest.importorskip("rliable.metrics")
    frame = random_table(seeds=7)
    table = across.aggregate(frame, n_boot=10).set_index("activation")
    normalised = across.normalized_scores(frame)
    for activation in "abcd":
        m = matrix(normalised, activation, "score")
        row = table.loc[activation]
        assert row["iqm"] == pytest.approx(metrics.aggregate_iqm(m), abs=1e-12)
        assert row["mean"] == pytest.approx(metrics.aggregate_mean(m), abs=1e-12)
        assert row["median"] == pytest.approx(metrics.aggregate_median(m), abs=1e-12)
        assert (row["n_settings"], row["n_runs"]) == (6, 42)
    assert list(table.index) == list(table["iqm"].sort_values(ascending=False).index)
    assert list(table.index)[0] == "d"  # the best activation by construction


def test_aggregate_ragged_cells_by_hand():
    cells = {"s0": {"a": [0.0, 1.0, 0.5], "b": [1.0, 0.0, 0.2]}, "s1": {"a": [1.0], "b": [0.0]}}
    table = across.aggregate(long_table(cells), n_boot=200).set_index("activation")
    # normalised: s0 is already in [0, 1]; s1 gives a 1, b 0
    assert table.loc["a", "mean"] == pytest.approx((0.5 + 1.0) / 2)
    assert table.loc["a", "median"] == pytest.approx(0.75)
    assert table.loc["a", "iqm"] == pytest.approx(scipy_stats.trim_mean([0, 1, 0.5, 1], 0.25))
    assert table.loc["b", "n_runs"] == 4
    # s1 has one run per activation: its resamples never vary, only s0 contributes width
    assert table.loc["a", "mean_ci_low"] >= 0.5 and table.loc["a", "mean_ci_high"] <= 1.0


# --- the stratified bootstrap ------------------------------------------------------------------


def reference_interval(cells, statistic, n_resamples=20000):
    """scipy.stats.bootstrap resamples each sample independently: a stratified bootstrap with
    another RNG and code path."""
    result = scipy_stats.bootstrap(
        cells,
        lambda *c, axis=-1: statistic(list(c)),
        vectorized=True,
        method="percentile",
        n_resamples=n_resamples,
        rng=np.random.default_rng(123),
    )
    return result.confidence_interval


@pytest.mark.parametrize("name", ["iqm", "mean", "median"])
def test_aggregate_intervals_agree_with_an_independent_stratified_bootstrap(name):
    frame = random_table(seeds=10)
    table = across.aggregate(frame, n_boot=2000).set_index("activation")
    normalised = across.normalized_scores(frame)
    statistic = {"iqm": across.iqm_statistic, "mean": across.mean_statistic}.get(
        name, across.median_statistic
    )
    for activation in ("a", "d"):
        cells = list(matrix(normalised, activation, "score").T)
        low, high = reference_interval(cells, statistic)
        width = high - low
        assert abs(table.loc[activation, f"{name}_ci_low"] - low) < 0.1 * width
        assert abs(table.loc[activation, f"{name}_ci_high"] - high) < 0.1 * width
        assert abs(table.loc[activation, f"{name}_ci_low"] - low) < 0.02


def test_intervals_agree_with_rliable_where_its_bootstrap_runs():
    try:  # rliable.library needs arch, whose releases (7.2, 8.0) do not run with pandas 3
        from rliable import library as rly
        from rliable import metrics

        np.random.seed(0)  # rliable draws from numpy's global RNG
        m = np.random.default_rng(5).uniform(size=(10, 6))
        _, intervals = rly.get_interval_estimates(
            {"x": m}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=5000
        )
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"rliable's bootstrap does not run here: {error!r:.120}")
    low, high = across.stratified_bootstrap(list(m.T), across.iqm_statistic, n_boot=5000)
    assert low == pytest.approx(intervals["x"][0, 0], abs=0.02)
    assert high == pytest.approx(intervals["x"][1, 0], abs=0.02)


def test_stratified_bootstrap_resamples_within_each_cell():
    seen = []

    def record(cells):
        seen.extend(cells)
        return across.mean_statistic(cells)

    cells = [[0.0, 1.0], [10.0, 11.0, 12.0]]
    low, high = across.stratified_bootstrap(cells, record, n_boot=500, seed=2)
    assert [c.shape for c in seen] == [(500, 2), (500, 3)]
    assert set(np.unique(seen[0])) == {0.0, 1.0} and set(np.unique(seen[1])) == {10.0, 11.0, 12.0}
    assert 5.0 <= low < high <= 6.5  # mean of the two cell means, each within its own cell
    assert (low, high) == across.stratified_bootstrap(cells, record, n_boot=500, seed=2)
    assert (low, high) != across.stratified_bootstrap(cells, record, n_boot=500, seed=3)


def test_stratified_bootstrap_draws_are_the_documented_ones():
    cells = [np.array([0.1, 0.5, 0.2]), np.array([0.9, 0.4]), np.array([0.3, 0.6, 0.7, 0.8])]
    rng = np.random.default_rng(7)
    resampled = [c[rng.integers(0, c.size, size=(300, c.size))] for c in cells]
    replicates = across.iqm_statistic(resampled)
    expected = np.percentile(replicates, [5, 95])
    got = across.stratified_bootstrap(
        cells, across.iqm_statistic, confidence=0.9, n_boot=300, seed=7
    )
    assert got == pytest.approx(tuple(expected), abs=0)


def test_bootstrap_argument_checks():
    with pytest.raises(ValueError, match="confidence"):
        across.stratified_bootstrap([[1.0]], across.mean_statistic, confidence=95)
    with pytest.raises(ValueError, match="non-empty"):
        across.stratified_bootstrap([[1.0], []], across.mean_statistic)


# --- missing cells -------------------------------------------------------------------------------


def test_an_activation_missing_from_a_setting_is_refused_or_restricted():
    frame = random_table()
    frame = frame[~((frame["activation"] == "c") & frame["setting"].isin(["task1", "task4"]))]
    for function in (across.aggregate, across.friedman):
        with pytest.raises(ValueError, match="'c' in task1, task4.*common_only=True"):
            function(frame)
    with pytest.raises(ValueError, match="'c' in task1, task4"):
        across.probability_of_improvement(frame, "a")
    table = across.aggregate(frame, n_boot=50, common_only=True)
    assert set(table["n_settings"]) == {4}
    assert table.attrs["excluded"] == {"task1": ("c",), "task4": ("c",)}
    result = across.friedman(frame, common_only=True)
    assert result.n_blocks == 4 and result.excluded == {"task1": ("c",), "task4": ("c",)}


# --- probability of improvement --------------------------------------------------------------


def test_probability_of_improvement_equals_rliable():
    metrics = pytest.importorskip("rliable.metrics")
    frame = random_table(seeds=6)
    frame["value"] = frame["value"].round(1)  # ties between runs
    table = across.probability_of_improvement(frame, "b", n_boot=300).set_index("activation")
    assert list(table.index) == list(table["probability"].sort_values(ascending=False).index)
    assert set(table.index) == {"a", "c", "d"} and set(table["baseline"]) == {"b"}
    for activation in "acd":
        expected = metrics.probability_of_improvement(
            matrix(frame, activation, "value"), matrix(frame, "b", "value")
        )
        assert table.loc[activation, "probability"] == pytest.approx(expected, abs=1e-12)
        assert table.loc[activation, "ci_low"] <= expected <= table.loc[activation, "ci_high"]
    assert table.loc["a", "probability"] < 0.5 < table.loc["d", "probability"]


def test_probability_of_improvement_lower_is_better_flips():
    metrics = pytest.importorskip("rliable.metrics")
    higher = random_table(seeds=6)
    lower = higher.assign(higher_is_better=False)
    up = across.probability_of_improvement(higher, "a", n_boot=10).set_index("activation")
    down = across.probability_of_improvement(lower, "a", n_boot=10).set_index("activation")
    for activation in "bcd":
        assert down.loc[activation, "probability"] == pytest.approx(
            1 - up.loc[activation, "probability"], abs=1e-12
        )
        expected = metrics.probability_of_improvement(
            -matrix(lower, activation, "value"), -matrix(lower, "a", "value")
        )
        assert down.loc[activation, "probability"] == pytest.approx(expected, abs=1e-12)
    # invariant under the (increasing) min–max normalisation
    normalised = across.normalized_scores(lower).assign(value=lambda f: f["score"])
    normalised = normalised.assign(higher_is_better=True).drop(columns="score")
    same = across.probability_of_improvement(normalised, "a", n_boot=10).set_index("activation")
    assert same["probability"].to_dict() == pytest.approx(down["probability"].to_dict(), abs=1e-12)


def test_probability_of_improvement_by_hand_with_failed_runs():
    cells = {
        "s0": {"x": [3.0, math.nan], "y": [1.0, 3.0]},  # pairs: >,=,<,< → (1 + 0.5)/4
        "s1": {"x": [1.0, 2.0], "y": [math.nan, math.nan]},  # every finite run beats a failed one
    }
    table = across.probability_of_improvement(long_table(cells), "y", n_boot=100)
    assert table.loc[0, "probability"] == pytest.approx((1.5 / 4 + 1.0) / 2)
    assert table.loc[0, "n_settings"] == 2


def test_probability_of_improvement_interval_agrees_with_an_independent_bootstrap():
    frame = random_table(seeds=8, n_settings=5)
    table = across.probability_of_improvement(frame, "a", n_boot=2000).set_index("activation")
    x, y = matrix(frame, "c", "value").T, matrix(frame, "a", "value").T
    low, high = reference_interval([*x, *y], across.improvement_statistic(5), n_resamples=5000)
    assert table.loc["c", "ci_low"] == pytest.approx(low, abs=0.02)
    assert table.loc["c", "ci_high"] == pytest.approx(high, abs=0.02)


def test_unknown_baseline_lists_the_activations():
    with pytest.raises(ValueError, match=r"'GELU'.*\['a', 'b', 'c', 'd'\]"):
        across.probability_of_improvement(random_table(), "GELU")


# --- Friedman and Nemenyi ----------------------------------------------------------------------

#: Ranks (1 = best) of A, B, C on four settings: rank sums 5, 8, 11.
HAND_RANKS = [(1, 2, 3), (1, 3, 2), (2, 1, 3), (1, 2, 3)]


def hand_table(higher=True):
    """Accuracies (or, with higher=False, losses) ordered as HAND_RANKS, two seeds per cell."""
    cells = {}
    for block, ranks in enumerate(HAND_RANKS):
        cells[f"s{block}"] = {
            name: [v + 0.01, v - 0.01]
            for name, rank in zip("ABC", ranks)
            for v in [(4 - rank) / 4 if higher else rank / 4]
        }
    return long_table(cells, higher)


def range_cdf(q, k):
    """P(range of k iid standard normals ≤ q) = k ∫ φ(x) [Φ(x + q) − Φ(x)]^(k−1) dx."""
    norm = scipy_stats.norm
    integrand = lambda x: k * norm.pdf(x) * (norm.cdf(x + q) - norm.cdf(x)) ** (k - 1)  # noqa: E731
    return integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13)[0]


@pytest.mark.parametrize("higher", [True, False])
def test_friedman_hand_example(higher):
    result = across.friedman(hand_table(higher))
    assert result.mean_ranks == {"A": 1.25, "B": 2.0, "C": 2.75}
    # χ²_F = 12N/(k(k+1)) [Σ R_j² − k(k+1)²/4] = 4 · (13.125 − 12) (Demšar 2006, §3.2.2)
    assert result.statistic == pytest.approx(4.5, abs=1e-12)
    assert result.pvalue == pytest.approx(math.exp(-2.25), abs=1e-12)  # χ²(2) survival
    # q_0.05 = 2.343 for k = 3 (Demšar 2006, Table 5a): CD = 2.343 · √(12/24)
    assert result.critical_difference == pytest.approx(2.343 * math.sqrt(0.5), abs=1e-3)
    # A vs C: z = 1.5/√0.5, q = z√2 = 3
    assert result.nemenyi_p.loc["A", "C"] == pytest.approx(1 - range_cdf(3.0, 3), abs=1e-8)
    assert result.nemenyi_p.loc["C", "A"] == result.nemenyi_p.loc["A", "C"]
    assert result.nemenyi_p.loc["B", "B"] == 1.0
    assert result.cliques == [("A", "B", "C")]  # 1.5 < CD ≈ 1.657
    assert (result.n_blocks, result.k, result.alpha) == (4, 3, 0.05)
    assert result.summary() == (
        "Friedman χ²(2) = 4.5, p = 0.11 over 4 settings; Nemenyi CD = 1.66 at α = 0.05"
    )


def test_nemenyi_q_matches_demsar_table_5a():
    table_5a = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102}
    table_5a[10] = 3.164
    for k, q in table_5a.items():
        assert across.nemenyi_q(0.05, k) == pytest.approx(q, abs=1e-3), k  # 3 decimals printed
    assert across.nemenyi_q(0.10, 4) == pytest.approx(2.291, abs=1e-3)
    # Demšar's worked example, k = 4, N = 14: CD = 2.569 · √(4·5/(6·14)) ≈ 1.25
    assert across.critical_difference(0.05, 4, 14) == pytest.approx(1.25, abs=5e-3)


def cell_means(frame, higher=True):
    table = frame.groupby(["setting", "activation"])["value"].mean().unstack()
    return table if higher else -table


def test_friedman_equals_scipy_and_autorank():
    autorank = pytest.importorskip("autorank")
    frame = random_table(n_settings=8, activations=tuple("abcdef"), seeds=3, rng_seed=4)
    result = across.friedman(frame)
    data = cell_means(frame)
    chi2, p = scipy_stats.friedmanchisquare(*data.to_numpy().T)
    assert result.statistic == pytest.approx(chi2, abs=1e-12)
    assert result.pvalue == pytest.approx(p, abs=1e-12)
    reference = autorank.autorank(
        data.reset_index(drop=True).rename_axis(columns=None),
        alpha=0.05,
        order="descending",  # rank 1 = the highest value
        force_mode="nonparametric",
    )
    assert reference.omnibus == "friedman"
    assert result.mean_ranks == pytest.approx(reference.rankdf["meanrank"].to_dict(), abs=1e-12)
    assert list(result.mean_ranks) == list(reference.rankdf.index[::-1])  # autorank: worst first
    assert result.pvalue == pytest.approx(reference.pvalue, abs=1e-12)
    # autorank's qsturng is statsmodels' approximation of the studentized range quantile
    assert result.critical_difference == pytest.approx(reference.cd, rel=1e-4)
    _, names, groups = autorank._util.get_sorted_rank_groups(reference, reverse=True)
    assert result.cliques == [tuple(names[i : j + 1]) for i, j in groups]
    assert len(result.cliques) >= 2  # a non-trivial grouping was compared


def test_friedman_lower_is_better_equals_autorank_ascending():
    autorank = pytest.importorskip("autorank")
    frame = random_table(n_settings=7, activations=tuple("abcde"), rng_seed=8, higher=False)
    result = across.friedman(frame)
    reference = autorank.autorank(
        cell_means(frame).reset_index(drop=True).rename_axis(columns=None),
        order="ascending",  # rank 1 = the lowest loss
        force_mode="nonparametric",
    )
    assert result.mean_ranks == pytest.approx(reference.rankdf["meanrank"].to_dict(), abs=1e-12)
    assert next(iter(result.mean_ranks)) == "a"  # the lowest values by construction


def test_nemenyi_pvalues_equal_scikit_posthocs():
    posthocs = pytest.importorskip("scikit_posthocs")
    frame = random_table(n_settings=9, activations=tuple("abcde"), seeds=2, rng_seed=6)
    result = across.friedman(frame)
    data = cell_means(frame)
    expected = posthocs.posthoc_nemenyi_friedman(data.to_numpy())
    expected.index = expected.columns = data.columns
    got = result.nemenyi_p.loc[data.columns, data.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert (got.to_numpy() < 0.05).any()  # some pair differs: the check covers small p too


def test_friedman_ties_are_averaged_and_failed_cells_rank_last():
    cells = {
        "s0": {"a": [0.9], "b": [0.9], "c": [0.1], "d": [math.nan]},
        "s1": {"a": [0.8], "b": [0.7], "c": [0.7], "d": [0.1]},
        "s2": {"a": [0.5, math.nan], "b": [0.6], "c": [0.4], "d": [0.3]},  # a: mean of finite
    }
    result = across.friedman(long_table(cells))
    # ranks: s0 a 1.5, b 1.5, c 3, d 4; s1 a 1, b 2.5, c 2.5, d 4; s2 b 1, a 2, c 3, d 4
    assert result.mean_ranks == pytest.approx({"a": 1.5, "b": 5 / 3, "c": 17 / 6, "d": 4.0})
    ranks = np.array([[1.5, 1.5, 3, 4], [1, 2.5, 2.5, 4], [2, 1, 3, 4]])
    assert result.statistic == pytest.approx(scipy_stats.friedmanchisquare(*ranks.T).statistic)
    median = across.friedman(long_table(cells), statistic="median")
    assert median.mean_ranks == result.mean_ranks


def test_friedman_refuses_too_few_settings_or_activations():
    frame = random_table(n_settings=2)
    with pytest.raises(ValueError, match="at least 3 tasks or settings"):
        across.friedman(frame)
    two = random_table(activations=("a", "b"))
    with pytest.raises(ValueError, match="at least 3 activations.*paired"):
        across.friedman(two)
    with pytest.raises(ValueError, match="statistic"):
        across.friedman(random_table(), statistic="trimmed")


def test_rank_cliques_are_maximal_runs_within_the_cd():
    ranks = {"a": 1.0, "b": 1.5, "c": 2.4, "d": 3.0, "e": 4.4, "f": 6.0}
    # b–d differ by exactly the CD: significant (Demšar: "at least the critical difference")
    assert across.rank_cliques(ranks, 1.5) == [("a", "b", "c"), ("c", "d"), ("d", "e")]
    assert across.rank_cliques(ranks, 0.1) == []
