"""gatelab.stats.summary on hand-built results tables: summaries, the paired comparison, the
deficit and ranks, checked against hand computations and scipy."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from gatelab import stats

from .helpers import AE, CNN, frame, run, runs

# --- summarize -----------------------------------------------------------------------------------


def test_summary_statistics_by_hand():
    row = stats.summarize(frame(runs("gelu", [0.90, 0.97, 0.92]))).iloc[0]
    assert row["n"] == 3 and row["metric"] == "test_accuracy" and row["higher_is_better"]
    assert row["median"] == pytest.approx(0.92) and row["mean"] == pytest.approx(0.93)
    # deviations −0.03, +0.04, −0.01: sample variance (9 + 16 + 1)·1e-4 / 2
    assert row["std"] == pytest.approx(math.sqrt(13e-4))
    half = scipy_stats.t.ppf(0.975, 2) * math.sqrt(13e-4) / math.sqrt(3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.93 - half, 0.93 + half))
    assert math.isnan(row["median_ci_low"])  # 3 runs: no 95 % interval of the median exists


def test_the_median_interval_appears_from_six_runs():
    row = stats.summarize(frame(runs("gelu", [0.90, 0.91, 0.92, 0.93, 0.94, 0.95]))).iloc[0]
    assert (row["median_ci_low"], row["median_ci_high"]) == (0.90, 0.95)


def test_one_run_has_no_std_or_ci():
    row = stats.summarize(frame(runs("gelu", [0.9]))).iloc[0]
    assert row["n"] == 1 and row["median"] == 0.9
    assert math.isnan(row["std"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def test_a_group_with_no_ok_runs_is_listed_with_its_divergences():
    df = frame(
        runs("gelu", [0.9, 0.91]),
        [run(activation="gem", seed=s, status="diverged") for s in range(3)],
        [run(activation="gem", seed=3, status="failed")],
    )
    summary = stats.summarize(df).set_index("activation")
    gem = summary.loc["gem"]
    assert gem["n"] == 0 and gem["n_diverged"] == 3 and gem["n_failed"] == 1
    assert all(math.isnan(gem[c]) for c in ("median", "mean", "std", "ci_low", "ci_high"))
    assert summary.index.tolist() == ["gelu", "gem"]  # NaN means sort last


def test_summary_sorts_by_the_mean_best_first_in_each_tasks_direction():
    df = frame(
        runs("relu", [0.80, 0.99, 0.99]), runs("gelu", [0.90, 0.90, 0.995]),  # medians 0.99 vs
        runs("relu", [0.010], task=AE), runs("gelu", [0.020], task=AE),  # 0.90, means .927/.928
    )  # fmt: skip
    summary = stats.summarize(df)
    assert list(zip(summary["task"], summary["activation"])) == [
        (CNN, "gelu"), (CNN, "relu"), (AE, "relu"), (AE, "gelu"),
    ]  # fmt: skip
    assert summary.set_index(["task", "activation"]).loc[(AE, "relu"), "metric"] == "test_mse"


def test_spellings_of_one_activation_are_pooled_under_the_first():
    df = frame(runs("e_gem(eps=1e-4)", [0.9, 0.8]), runs("e_gem", [0.85], seeds=[2]))
    summary = stats.summarize(df)
    assert summary["activation"].tolist() == ["e_gem(eps=1e-4)"] and summary["n"].tolist() == [3]


def test_empty_table_gives_an_empty_summary_with_the_columns():
    empty = pd.DataFrame(columns=["task", "activation", "seed", "lr", "status"])
    summary = stats.summarize(empty)
    assert summary.empty and {"median", "ci_low", "n_diverged"} <= set(summary.columns)


# --- paired comparison ---------------------------------------------------------------------------

GELU_TEST = [0.90, 0.90, 0.91, 0.92, 0.91]
SILU_TEST = [0.91, 0.93, 0.92, 0.95, 0.90]  # differences 0.01, 0.03, 0.01, 0.03, −0.01


def paired_frame():
    return frame(
        runs("gelu", GELU_TEST),
        [run(activation="gelu", seed=6, status="diverged")],
        runs("silu", SILU_TEST),
        runs("silu", [0.99], seeds=[5]),  # no baseline partner: unpaired
    )


def test_paired_comparison_against_scipy_and_by_hand():
    row = stats.paired_comparison(paired_frame(), "gelu").iloc[0]
    silu, gelu = np.array(SILU_TEST), np.array(GELU_TEST)
    assert row["activation"] == "silu" and row["n_pairs"] == 5
    assert row["mean_diff"] == pytest.approx(0.014) and row["median_diff"] == pytest.approx(0.01)
    assert row["baseline_mean"] == pytest.approx(gelu.mean())
    assert row["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(silu, gelu).pvalue)
    reference = scipy_stats.ttest_rel(silu, gelu)
    assert row["ttest_p"] == pytest.approx(reference.pvalue)
    assert row["p_holm"] == row["ttest_p"]  # one comparison: Holm changes nothing
    interval = reference.confidence_interval(0.95)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((interval.low, interval.high))
    # by hand: deviations from 0.014 are −4, 16, −4, 16, −24 (×1e-3); squares sum to 1120e-6
    sd = math.sqrt(1120e-6 / 4)
    assert row["effect_size"] == pytest.approx(0.014 / sd)
    assert row["verdict"] == "no evidence"  # p = 0.11
    assert row["seeds_needed"] == stats.seeds_needed(0.014 / sd)
    assert "Wilcoxon's smallest p is 0.0625" in row["note"]  # 5 pairs cannot reach 0.05


def test_only_the_baseline_gives_an_empty_comparison():
    table = stats.paired_comparison(frame(runs("gelu", GELU_TEST)), "gelu")
    assert table.empty and "verdict" in table.columns
    assert stats.leaderboard(frame(runs("gelu", GELU_TEST)), "gelu")["verdict"].tolist() == [
        "baseline"
    ]


def test_too_few_pairs_give_no_test():
    one = frame(runs("gelu", [0.9]), runs("silu", [0.95]))
    row = stats.paired_comparison(one, "gelu").iloc[0]
    assert row["n_pairs"] == 1 and math.isnan(row["ttest_p"]) and math.isnan(row["p_holm"])
    assert "pair" in row["note"] and row["verdict"] == "no evidence"


def test_baseline_is_matched_after_canonicalisation():
    df = frame(runs("gelu()", GELU_TEST), runs("e_gem(eps=1e-4)", SILU_TEST))
    for spelling in ("gelu", "gelu()", " GELU "):
        table = stats.paired_comparison(df, spelling)
        assert table["activation"].tolist() == ["e_gem(eps=1e-4)"]  # the user's string is kept
    versus_egem = stats.paired_comparison(df, "e_gem(eps=0.0001)")
    assert versus_egem["activation"].tolist() == ["gelu()"]
    assert stats.canonical("e_gem(N=1, eps=1e-4)") == stats.canonical("egem") == "e_gem"


def test_an_absent_baseline_is_an_error_naming_the_activations():
    with pytest.raises(ValueError, match="'mish'.*gelu, silu"):
        stats.paired_comparison(paired_frame(), "mish")


def test_a_task_without_baseline_runs_is_listed_with_no_pairs():
    df = pd.concat([paired_frame(), frame(runs("silu", [0.01, 0.02], task=AE))])
    row = stats.paired_comparison(df, "gelu").set_index("task").loc[AE]
    assert row["n_pairs"] == 0 and "no baseline" in row["note"]


def test_duplicate_seeds_are_refused():
    df = frame(runs("gelu", [0.9, 0.8]), runs("silu", [0.9, 0.8, 0.7], seeds=[0, 0, 1]))
    with pytest.raises(ValueError, match="seed"):
        stats.paired_comparison(df, "gelu")


def test_bad_alpha_is_refused():
    with pytest.raises(ValueError, match="alpha"):
        stats.paired_comparison(paired_frame(), "gelu", alpha=5)


def test_an_axis_of_one_task_does_not_hide_another_tasks_baseline():
    rows = []
    for task, dropouts in (("mnist-mlp", (0.0, 0.5)), (CNN, (float("nan"),))):
        for dropout in dropouts:
            for activation, accuracy in (("gelu", 0.90), ("relu", 0.88)):
                rows += [
                    run(task, activation, seed, val=accuracy, test=accuracy + 0.01 * seed,
                        dropout=dropout)
                    for seed in range(3)
                ]  # fmt: skip
    df = pd.DataFrame(rows)
    paired = stats.paired_comparison(df, "gelu", extra_axes=("dropout",))
    cnn = paired[paired["task"] == CNN]
    assert len(cnn) == 1 and cnn["n_pairs"].item() == 3  # NaN setting matched its baseline
    ranked = stats.ranks(stats.summarize(df, extra_axes=("dropout",)))
    assert CNN in ranked.columns and "mnist-mlp[dropout=0.5]" in ranked.columns


# --- deficit, ranks, scores ----------------------------------------------------------------------


def test_deficit_signs_for_accuracy_and_mse():
    df = frame(
        runs("gelu", [0.92, 0.93, 0.91]), runs("gem", [0.90, 0.89, 0.91]),
        runs("gelu", [0.010, 0.011], task=AE), runs("gem", [0.012, 0.013], task=AE),
    )  # fmt: skip
    table = stats.deficit(df).set_index("task")
    assert table.loc[CNN, "deficit"] == pytest.approx(2.0)  # 92% − 90%: 2 points worse
    assert table.loc[CNN, "unit"] == "pts"
    assert table.loc[AE, "deficit"] == pytest.approx(0.002)  # 0.0125 − 0.0105: worse
    better = stats.deficit(df, baseline="gem").set_index("task")
    assert better.loc[CNN, "deficit"] == pytest.approx(-2.0)
    assert better.loc[AE, "deficit"] == pytest.approx(-0.002)


def test_ranks_average_ties_and_put_missing_means_last():
    df = frame(
        runs("gelu", [0.9]), runs("silu", [0.9]), runs("relu", [0.8]),
        [run(activation="gem", status="diverged")],
        runs("gelu", [0.03], task=AE), runs("silu", [0.01], task=AE),
        runs("relu", [0.02], task=AE),
    )  # fmt: skip
    table = stats.ranks(stats.summarize(df)).set_index("activation")
    assert table.loc["gelu", CNN] == 1.5 and table.loc["silu", CNN] == 1.5
    assert table.loc["relu", CNN] == 3 and table.loc["gem", CNN] == 4
    assert table.loc["silu", AE] == 1 and table.loc["gelu", AE] == 3
    assert table.loc["silu", "mean_rank"] == 1.25 and table.loc["silu", "n_tasks"] == 2
    assert table.loc["gem", "n_tasks"] == 1 and math.isnan(table.loc["gem", AE])
    assert table.index[0] == "silu"


def test_ranks_with_extra_axes_rank_each_setting():
    df = frame(
        runs("gelu", [0.9], norm="batch"), runs("relu", [0.8], norm="batch"),
        runs("gelu", [0.7], norm="layer"), runs("relu", [0.8], norm="layer"),
    )  # fmt: skip
    table = stats.ranks(stats.summarize(df, extra_axes=("norm",))).set_index("activation")
    assert table.loc["gelu", f"{CNN}[norm=batch]"] == 1
    assert table.loc["gelu", f"{CNN}[norm=layer]"] == 2
    assert table.loc["gelu", "mean_rank"] == 1.5


def test_run_scores_give_one_value_per_run_at_the_chosen_lr():
    df = frame(
        runs("gelu", [0.9, 0.8]), runs("gelu", [0.1, 0.1], lr=1e-4),
        [run(activation="gelu", seed=2, status="diverged")],
        runs("gelu", [0.02], task=AE),
    )  # fmt: skip
    scores = stats.run_scores(df)
    cnn = scores[scores["setting"] == CNN]
    assert sorted(cnn["value"].fillna(-1)) == [-1, 0.8, 0.9] and cnn["higher_is_better"].all()
    assert scores.loc[scores["setting"] == AE, "higher_is_better"].tolist() == [False]
