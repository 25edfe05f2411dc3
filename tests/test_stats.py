"""gatelab.stats on hand-built results tables, checked against hand-computed values and scipy."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from gatelab import stats

CNN = "cifar10-cnn9"  # a classifier: accuracy, higher is better
AE = "mnist-ae"  # the autoencoder: MSE, lower is better


def run(task=CNN, activation="gelu", seed=0, lr=1e-3, status="ok", val=None, test=None, **extra):
    """One results row; val/test fill the task's metric columns (None → NaN, as when diverged)."""
    prefix = "accuracy" if task != AE else "mse"
    nan = lambda v: math.nan if v is None else v  # noqa: E731
    return {
        "task": task, "activation": activation, "seed": seed, "lr": lr, "status": status,
        "dataset": None, "scale": "paper", "epochs": None,
        f"val_{prefix}": nan(val), f"test_{prefix}": nan(test), **extra,
    }  # fmt: skip


def runs(activation, tests, *, task=CNN, lr=1e-3, seeds=None, **kwargs):
    """Ok runs of one activation with the given test values (validation = test)."""
    seeds = range(len(tests)) if seeds is None else seeds
    return [run(task, activation, s, lr, val=v, test=v, **kwargs) for s, v in zip(seeds, tests)]


def frame(*groups):
    return pd.DataFrame([row for group in groups for row in group])


# --- metric_for ----------------------------------------------------------------------------------


def test_metric_for_follows_the_task_objective():
    assert stats.metric_for(CNN) == ("test_accuracy", "val_accuracy", True)
    assert stats.metric_for(AE) == ("test_mse", "val_mse", False)
    assert stats.metric_for("not-a-task") == ("test_accuracy", "val_accuracy", True)


# --- select_lr -----------------------------------------------------------------------------------


def test_select_lr_uses_the_median_not_the_mean():
    # lr 1e-3: median 0.90 (mean 0.77, dragged down by one bad seed); lr 1e-4: median 0.89.
    df = frame(runs("gelu", [0.90, 0.91, 0.50]), runs("gelu", [0.89, 0.895, 0.88], lr=1e-4))
    chosen = stats.select_lr(df)
    assert set(chosen["lr"]) == {1e-3} and set(chosen["chosen_lr"]) == {1e-3}
    assert len(chosen) == 3


def test_an_lr_that_diverges_half_the_time_loses():
    fast = runs("gelu", [0.97, 0.98]) + [run(seed=s, status="diverged") for s in (2, 3)]
    df = frame(fast, runs("gelu", [0.90] * 4, lr=1e-4))
    chosen = stats.select_lr(df)
    assert set(chosen["lr"]) == {1e-4}


def test_one_divergence_in_five_still_lets_the_better_lr_win_and_is_kept():
    fast = runs("gelu", [0.97, 0.97, 0.98, 0.98]) + [run(seed=4, status="diverged")]
    df = frame(fast, runs("gelu", [0.90] * 5, lr=1e-4))
    chosen = stats.select_lr(df)
    assert set(chosen["lr"]) == {1e-3}
    assert sorted(chosen["status"]) == ["diverged", "ok", "ok", "ok", "ok"]  # all statuses kept


def test_a_failed_run_counts_as_worst_even_with_metrics_of_its_last_epoch():
    fast = runs("gelu", [0.97]) + [run(seed=1, status="failed", val=0.99, test=0.99)]
    df = frame(fast, runs("gelu", [0.90, 0.90], lr=1e-4))
    assert set(stats.select_lr(df)["lr"]) == {1e-4}


def test_ties_go_to_the_smaller_lr():
    df = frame(runs("gelu", [0.9, 0.9], lr=1e-3), runs("gelu", [0.9, 0.9], lr=1e-5))
    assert set(stats.select_lr(df)["lr"]) == {1e-5}


def test_lr_selection_on_mse_prefers_lower():
    df = frame(
        runs("gelu", [0.010, 0.011], task=AE, lr=1e-3),
        runs("gelu", [0.020, 0.021], task=AE, lr=1e-4),
    )
    assert set(stats.select_lr(df)["lr"]) == {1e-3}


def test_each_group_chooses_its_own_lr():
    df = frame(
        runs("gelu", [0.9]), runs("gelu", [0.8], lr=1e-4),
        runs("relu", [0.7]), runs("relu", [0.8], lr=1e-4),
    )  # fmt: skip
    chosen = stats.select_lr(df).set_index("activation")["chosen_lr"]
    assert chosen["gelu"] == 1e-3 and chosen["relu"] == 1e-4


def test_a_missing_lr_means_the_tasks_default():
    from gatelab.tasks import get_task

    default = get_task(CNN).lr
    df = frame(runs("gelu", [0.9], lr=None), runs("gelu", [0.8], lr=default / 10, seeds=[1]))
    chosen = stats.select_lr(df)
    assert chosen["chosen_lr"].tolist() == [default]


def test_extra_axes_separate_groups_and_mixed_datasets_are_refused():
    df = frame(
        runs("gelu", [0.9, 0.9], dropout=0.0),
        runs("gelu", [0.8, 0.8], lr=1e-4, dropout=0.5),
    )
    per_dropout = stats.select_lr(df, extra_axes=("dropout",))
    assert len(per_dropout) == 4  # each dropout keeps its own (only) lr
    mixed = frame(runs("gelu", [0.9]), [dict(run(seed=1, val=0.8, test=0.8), dataset="fashion")])
    mixed.loc[0, "dataset"] = "mnist"
    with pytest.raises(ValueError, match="'dataset'.*extra_axes"):
        stats.select_lr(mixed)


def test_missing_epochs_mean_the_scales_default_and_mixed_epochs_are_refused():
    from gatelab.tasks import get_task

    df = frame(runs("gelu", [0.9, 0.8]))  # epochs None: the paper scale's epochs
    df["epochs"] = df["epochs"].astype(object)
    df.loc[1, "epochs"] = get_task(CNN).epochs["paper"]
    assert stats.summarize(df, n_boot=10)["n"].tolist() == [2]
    df.loc[1, "epochs"] = 1
    with pytest.raises(ValueError, match="'epochs'"):
        stats.summarize(df)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="status"):
        stats.select_lr(pd.DataFrame({"task": [CNN], "activation": ["gelu"], "seed": [0]}))
    with pytest.raises(ValueError, match="dropout"):
        stats.select_lr(frame(runs("gelu", [0.9])), extra_axes=("dropout",))


# --- summarize -----------------------------------------------------------------------------------


def test_summary_statistics_by_hand():
    df = frame(runs("gelu", [0.90, 0.97, 0.92]))
    row = stats.summarize(df, n_boot=2000).iloc[0]
    assert row["n"] == 3 and row["metric"] == "test_accuracy" and row["higher_is_better"]
    assert row["median"] == pytest.approx(0.92)
    assert row["mean"] == pytest.approx(0.93)
    # deviations −0.03, +0.04, −0.01: sample variance (9 + 16 + 1)·1e-4 / 2
    assert row["std"] == pytest.approx(math.sqrt(13e-4))
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    assert 0.90 - 1e-12 <= row["ci_low"] and row["ci_high"] <= 0.97 + 1e-12  # within the data


def test_bootstrap_ci_is_deterministic_and_narrows_with_more_data():
    values = np.random.default_rng(0).normal(0.9, 0.02, size=12)
    first = stats.bootstrap_ci(values, seed=3)
    assert stats.bootstrap_ci(values, seed=3) == first
    assert stats.bootstrap_ci(values, seed=4) != first
    more = stats.bootstrap_ci(np.tile(values, 4), seed=3)  # same spread, 4× the runs
    assert more[1] - more[0] < 0.7 * (first[1] - first[0])
    assert stats.bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap():
    values = np.array([0.90, 0.97, 0.92, 0.95, 0.91, 0.93, 0.88, 0.96])
    ours = stats.bootstrap_ci(values, confidence=0.9, n_boot=20_000, seed=0)
    theirs = scipy_stats.bootstrap(
        (values,), np.mean, confidence_level=0.9, n_resamples=20_000, method="percentile",
        rng=np.random.default_rng(1),
    ).confidence_interval  # fmt: skip
    assert ours == pytest.approx((theirs.low, theirs.high), abs=1.5e-3)


def test_bootstrap_ci_rejects_bad_settings():
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="n_boot"):
        stats.bootstrap_ci([1.0, 2.0], n_boot=0)


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
    assert summary.index.tolist() == ["gelu", "gem"]  # NaN medians sort last


def test_summary_sorts_best_first_in_each_tasks_direction():
    df = frame(
        runs("relu", [0.80]), runs("gelu", [0.90]),
        runs("relu", [0.010], task=AE), runs("gelu", [0.020], task=AE),
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


def paired_rows():
    return [
        *runs("gelu", GELU_TEST),
        run(activation="gelu", seed=6, status="diverged"),
        *runs("silu", SILU_TEST),
        *runs("silu", [0.99], seeds=[5]),  # no baseline partner: unpaired
    ]


def paired_frame():
    return frame(paired_rows())


def test_paired_comparison_against_scipy_and_by_hand():
    row = stats.paired_comparison(paired_frame(), "gelu").iloc[0]
    silu, gelu = np.array(SILU_TEST), np.array(GELU_TEST)
    d = silu - gelu
    assert row["activation"] == "silu" and row["n_pairs"] == 5
    assert row["mean_diff"] == pytest.approx(0.014)
    assert row["median_diff"] == pytest.approx(0.01)
    assert row["wilcoxon_p"] == pytest.approx(scipy_stats.wilcoxon(silu, gelu).pvalue)
    assert row["ttest_p"] == pytest.approx(scipy_stats.ttest_rel(silu, gelu).pvalue)
    # by hand: deviations from 0.014 are −4, 16, −4, 16, −24 (×1e-3); squares sum to 1120e-6
    sd = math.sqrt(1120e-6 / 4)
    t = 0.014 / (sd / math.sqrt(5))
    assert row["ttest_p"] == pytest.approx(2 * scipy_stats.t.sf(t, df=4))
    assert row["effect_size"] == pytest.approx(0.014 / sd)
    assert row["effect_size"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert row["better"] and row["note"] == ""


def test_better_respects_lower_is_better():
    df = frame(
        runs("gelu", [0.010, 0.012, 0.011], task=AE),
        runs("relu", [0.020, 0.023, 0.021], task=AE),
    )
    row = stats.paired_comparison(df, "gelu").iloc[0]
    assert row["mean_diff"] == pytest.approx(0.031 / 3) and not row["better"]
    assert stats.paired_comparison(df, "relu").iloc[0]["better"]


def test_too_few_pairs_or_zero_differences_give_nan_with_a_note():
    one = frame(runs("gelu", [0.9]), runs("silu", [0.95]))
    row = stats.paired_comparison(one, "gelu").iloc[0]
    assert row["n_pairs"] == 1 and math.isnan(row["wilcoxon_p"]) and math.isnan(row["ttest_p"])
    assert "pair" in row["note"]
    same = frame(runs("gelu", [0.9, 0.8, 0.7]), runs("silu", [0.9, 0.8, 0.7]))
    row = stats.paired_comparison(same, "gelu").iloc[0]
    assert row["n_pairs"] == 3 and row["mean_diff"] == 0 and math.isnan(row["wilcoxon_p"])
    assert "all differences are 0" in row["note"]
    shifted = frame(runs("gelu", [0.9, 0.8, 0.7]), runs("silu", [0.91, 0.81, 0.71]))
    row = stats.paired_comparison(shifted, "gelu").iloc[0]  # differences equal up to rounding
    assert row["wilcoxon_p"] == pytest.approx(0.25)  # exact: 2 of 8 sign patterns as extreme
    assert math.isnan(row["ttest_p"]) and math.isnan(row["effect_size"])
    assert "constant" in row["note"]


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
    df = frame(paired_rows(), runs("silu", [0.01, 0.02], task=AE))
    row = stats.paired_comparison(df, "gelu").set_index("task").loc[AE]
    assert row["n_pairs"] == 0 and "no baseline" in row["note"]


def test_duplicate_seeds_are_refused():
    df = frame(runs("gelu", [0.9, 0.8]), runs("silu", [0.9, 0.8, 0.7], seeds=[0, 0, 1]))
    with pytest.raises(ValueError, match="seed"):
        stats.paired_comparison(df, "gelu")


# --- deficit, ranks, leaderboard -----------------------------------------------------------------


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


def test_ranks_average_ties_and_put_missing_medians_last():
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


def test_leaderboard_formats_the_tables():
    board = stats.leaderboard(paired_frame(), baseline="gelu()")
    assert board["activation"].tolist() == ["silu", "gelu"]
    silu = board.iloc[0]
    assert silu["n"] == 6 and silu["median"] == "92.50%"  # 0.90 … 0.99 over 6 seeds
    assert silu["Δ vs gelu()"] == "+1.50 pts"  # median 92.5% − 91.0%
    assert silu["pairs"] == "5" and silu["p (t-test)"] != "—"
    gelu = board.iloc[1]
    assert gelu["diverged"] == 1 and gelu["Δ vs gelu()"] == "—"
    plain = stats.leaderboard(paired_frame())
    assert "p (Wilcoxon)" not in plain.columns and "95% CI" in plain.columns


def test_a_sweep_protocol_overrides_the_metrics():
    protocol = {"metric": "test_loss", "higher_is_better": False, "select_on": "test"}
    assert stats.metric_for("mnist-mlp") == ("test_accuracy", "val_accuracy", True)
    assert stats.metric_for("mnist-mlp", protocol) == ("test_loss", "test_accuracy", False)
    assert stats.metric_for("gpt2") == ("val_loss", "val_loss", False)


def test_an_axis_of_one_task_does_not_hide_another_tasks_baseline():
    rows = []
    for task, dropouts in (("mnist-mlp", (0.0, 0.5)), ("cifar10-cnn9", (float("nan"),))):
        for dropout in dropouts:
            for activation, accuracy in (("gelu", 0.90), ("relu", 0.88)):
                for seed in range(3):
                    rows.append({"task": task, "activation": activation, "seed": seed,
                                 "lr": 1e-3, "status": "ok", "dropout": dropout,
                                 "test_accuracy": accuracy + 0.01 * seed,
                                 "val_accuracy": accuracy})  # fmt: skip
    frame = pd.DataFrame(rows)
    paired = stats.paired_comparison(frame, "gelu", extra_axes=("dropout",))
    cnn = paired[paired["task"] == "cifar10-cnn9"]
    assert len(cnn) == 1 and cnn["n_pairs"].item() == 3  # NaN setting matched its baseline
    ranked = stats.ranks(stats.summarize(frame, n_boot=10, extra_axes=("dropout",)))
    assert "cifar10-cnn9" in ranked.columns and "mnist-mlp[dropout=0.5]" in ranked.columns
