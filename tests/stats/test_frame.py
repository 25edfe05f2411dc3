"""gatelab.stats.frame: the objective read from the records, input checks and lr selection."""

import pandas as pd
import pytest

from gatelab import stats

from .helpers import AE, CNN, frame, run, runs

# --- the objective -------------------------------------------------------------------------------


def test_the_objective_comes_from_the_records_not_the_task_registry():
    df = frame(runs("gelu", [0.9]))
    assert stats.objective(df) == ("test_accuracy", "val_accuracy", True)
    renamed = df.assign(task="a-task-gatelab-has-never-heard-of")
    assert stats.objective(renamed) == ("test_accuracy", "val_accuracy", True)
    assert stats.summarize(renamed)["metric"].tolist() == ["test_accuracy"]
    assert stats.objective(frame(runs("gelu", [0.01], task=AE))) == ("test_mse", "val_mse", False)


def test_runs_that_do_not_state_their_objective_are_refused_with_the_fix():
    df = frame(runs("gelu", [0.9])).drop(columns=["metric", "val_metric", "higher_is_better"])
    with pytest.raises(ValueError, match="metric, val_metric, higher_is_better.*results.load"):
        stats.summarize(df)


def test_a_failed_run_without_an_objective_takes_its_tasks():
    failed = dict(run(seed=1, status="failed"), metric=None, val_metric=None)
    failed["higher_is_better"] = None
    summary = stats.summarize(frame(runs("gelu", [0.9]), [failed]))
    assert summary["n_failed"].tolist() == [1] and summary["metric"].tolist() == ["test_accuracy"]


def test_runs_of_one_task_that_disagree_on_the_metric_are_refused():
    df = frame(runs("gelu", [0.9]), [dict(run(seed=1), metric="test_loss")])
    with pytest.raises(ValueError, match="disagree on metric"):
        stats.summarize(df)


def test_a_sweep_protocol_overrides_the_metrics():
    df = frame(runs("gelu", [0.9]))
    protocol = {"metric": "test_loss", "higher_is_better": False, "select_on": "test"}
    assert stats.objective(df, protocol) == ("test_loss", "test_accuracy", False)


# --- lr selection --------------------------------------------------------------------------------


def test_select_lr_uses_the_median_not_the_mean():
    # lr 1e-3: median 0.90 (mean 0.77, dragged down by one bad seed); lr 1e-4: median 0.89.
    df = frame(runs("gelu", [0.90, 0.91, 0.50]), runs("gelu", [0.89, 0.895, 0.88], lr=1e-4))
    chosen = stats.select_lr(df)
    assert set(chosen["lr"]) == {1e-3} and set(chosen["chosen_lr"]) == {1e-3}
    assert len(chosen) == 3


def test_an_lr_that_diverges_half_the_time_loses():
    fast = runs("gelu", [0.97, 0.98]) + [run(seed=s, status="diverged") for s in (2, 3)]
    df = frame(fast, runs("gelu", [0.90] * 4, lr=1e-4))
    assert set(stats.select_lr(df)["lr"]) == {1e-4}


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


def test_a_missing_lr_is_refused():
    df = frame(runs("gelu", [0.9], lr=None))
    with pytest.raises(ValueError, match="no lr"):
        stats.select_lr(df)


def test_extra_axes_separate_groups_and_mixed_designs_are_refused():
    df = frame(
        runs("gelu", [0.9, 0.9], dropout=0.0),
        runs("gelu", [0.8, 0.8], lr=1e-4, dropout=0.5),
    )
    assert len(stats.select_lr(df, extra_axes=("dropout",))) == 4  # each dropout its own lr
    mixed = frame(runs("gelu", [0.9]), [dict(run(seed=1, val=0.8, test=0.8), dataset="fashion")])
    mixed.loc[0, "dataset"] = "mnist"
    with pytest.raises(ValueError, match="'dataset'.*extra_axes"):
        stats.select_lr(mixed)
    epochs = frame(runs("gelu", [0.9, 0.8]))
    epochs.loc[1, "epochs"] = 1
    with pytest.raises(ValueError, match="'epochs'"):
        stats.summarize(epochs)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="status"):
        stats.select_lr(pd.DataFrame({"task": [CNN], "activation": ["gelu"], "seed": [0]}))
    with pytest.raises(ValueError, match="dropout"):
        stats.select_lr(frame(runs("gelu", [0.9])), extra_axes=("dropout",))
