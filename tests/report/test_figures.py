"""The report's figures, drawn from a synthetic results table whose values are known by hand.

`synthetic_results()` (also used by test_render.py) builds the table the results store would
give for 3 tasks × 3 activations × 3 seeds × 2 learning rates: cifar10-cnn9 (accuracy),
mnist-noise (accuracy + noise curves) and mnist-ae (MSE), with one diverged and one failed run.
lr 1e-3 is better on validation everywhere, so every statistic is taken at lr 1e-3.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("scipy")

from matplotlib.colors import to_rgba  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib depends on pillow)

from gatelab.report import figures  # noqa: E402

ACTIVATIONS = ("gelu", "relu", "e_gem(N=1, eps=1e-4)")
SEEDS = (0, 1, 2)
LRS = (1e-3, 1e-4)
EPOCHS = 5
NOISE_LEVELS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
#: final test accuracy at lr 1e-3 before the seed's offset (SEED_OFFSET); lr 1e-4 subtracts 0.02.
ACCURACY = {
    "cifar10-cnn9": {"gelu": 0.920, "relu": 0.915, "e_gem(N=1, eps=1e-4)": 0.918},
    "mnist-noise": {"gelu": 0.980, "relu": 0.975, "e_gem(N=1, eps=1e-4)": 0.978},
}
#: the seeds' accuracy offsets: median 0.001 for each activation, differences vary by seed.
SEED_OFFSET = {
    "gelu": (0.000, 0.001, 0.002),
    "relu": (0.001, 0.000, 0.003),
    "e_gem(N=1, eps=1e-4)": (0.002, 0.000, 0.001),
}
#: training losses of the classifiers differ by this factor per activation
TRAIN_LOSS_FACTOR = {"gelu": 1.0, "relu": 1.15, "e_gem(N=1, eps=1e-4)": 1.07}
#: final test MSE of mnist-ae at lr 1e-3 and seed 0; each seed multiplies by 1 + 0.05·seed,
#: lr 1e-4 by 1.5.
MSE = {"gelu": 0.0040, "relu": 0.0050, "e_gem(N=1, eps=1e-4)": 0.0045}
#: how fast accuracy falls with the noise amplitude a
NOISE_DECAY = {"gelu": 0.10, "relu": 0.20, "e_gem(N=1, eps=1e-4)": 0.15}
DIVERGED = ("mnist-ae", "relu", 1e-3, 2)  # task, activation, lr, seed
FAILED = ("cifar10-cnn9", "e_gem(N=1, eps=1e-4)", 1e-4, 1)


def final_accuracy(task: str, activation: str, lr: float, seed: int) -> float:
    offset = SEED_OFFSET[activation][seed]
    return ACCURACY[task][activation] + offset - (0.02 if lr == 1e-4 else 0.0)


def final_mse(activation: str, lr: float, seed: int) -> float:
    return MSE[activation] * (1 + 0.05 * seed) * (1.5 if lr == 1e-4 else 1.0)


def classifier_row(task: str, activation: str, lr: float, seed: int) -> dict:
    accuracy = final_accuracy(task, activation, lr, seed)
    history = [
        {
            "epoch": e,
            "train_loss": 0.8
            * math.exp(-0.5 * e)
            * (1 + 0.1 * seed)
            * TRAIN_LOSS_FACTOR[activation],
            "val_loss": 0.3,
            "val_accuracy": accuracy + 0.002 - 0.04 * (EPOCHS - e) / EPOCHS,
            "test_loss": 0.3,
            "test_accuracy": accuracy - 0.04 * (EPOCHS - e) / EPOCHS,
            "seconds": 2.0,
        }
        for e in range(1, EPOCHS + 1)
    ]
    curves = {}
    if task == "mnist-noise":
        curves = {
            "noise": [
                {
                    "a": a,
                    "accuracy": accuracy * math.exp(-NOISE_DECAY[activation] * a * a),
                    "loss": 0.05 + NOISE_DECAY[activation] * a * a * (1 + 0.1 * seed),
                }
                for a in NOISE_LEVELS
            ]
        }
    metrics = {
        "val_accuracy": accuracy + 0.002,
        "val_loss": 0.1,
        "test_accuracy": accuracy,
        "test_loss": 0.1,
        "val_mse": math.nan,
        "test_mse": math.nan,
    }
    objective = {"metric": "test_accuracy", "val_metric": "val_accuracy", "higher_is_better": True}
    return {**metrics, **objective, "history": history, "curves": curves}


def autoencoder_row(activation: str, lr: float, seed: int) -> dict:
    mse = final_mse(activation, lr, seed)
    history = [
        {
            "epoch": e,
            "train_loss": mse * (1 + 0.5 * (EPOCHS - e)),
            "val_mse": mse * (1 + 0.4 * (EPOCHS - e)),
            "test_mse": mse * (1 + 0.4 * (EPOCHS - e)),
            "seconds": 3.0,
        }
        for e in range(1, EPOCHS + 1)
    ]
    metrics = {"val_mse": mse, "test_mse": mse}
    metrics |= {"val_accuracy": math.nan, "test_accuracy": math.nan}
    metrics |= {"val_loss": math.nan, "test_loss": math.nan}
    objective = {"metric": "test_mse", "val_metric": "val_mse", "higher_is_better": False}
    return {**metrics, **objective, "history": history, "curves": {}}


def synthetic_results() -> pd.DataFrame:
    """54 runs in the columns of gatelab.results.load (one diverged, one failed)."""
    rows = []
    for task in ("cifar10-cnn9", "mnist-noise", "mnist-ae"):
        for activation in ACTIVATIONS:
            for lr in LRS:
                for seed in SEEDS:
                    if task == "mnist-ae":
                        row = autoencoder_row(activation, lr, seed)
                    else:
                        row = classifier_row(task, activation, lr, seed)
                    row |= {
                        "run_id": f"{task}-{activation}-{lr:g}-{seed}",
                        "task": task,
                        "activation": activation,
                        "seed": seed,
                        "lr": lr,
                        "status": "ok",
                        "dataset": "synthetic",
                        "scale": "smoke",
                        "epochs": EPOCHS,
                        "error": None,
                        "diverged_epoch": None,
                        "wall_seconds": 10.0,
                        "samples_per_second": 1000.0,
                        "device": "cpu",
                    }
                    key = (task, activation, lr, seed)
                    if key == DIVERGED:
                        row |= {"status": "diverged", "diverged_epoch": 3}
                        row |= {"val_mse": math.nan, "test_mse": math.nan}
                        row["history"] = row["history"][:2]
                    if key == FAILED:
                        row |= {"status": "failed", "history": [], "curves": {}}
                        row |= {"error": "RuntimeError: out of memory\nTraceback (most recent…)"}
                        row |= {"val_accuracy": math.nan, "test_accuracy": math.nan}
                    rows.append(row)
    return pd.DataFrame(rows)


# --- helpers ------------------------------------------------------------------------------------


def visible_axes(fig) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def band_of(ax, color) -> np.ndarray:
    """The y values of the min–max band drawn in `color`."""
    (band,) = [c for c in ax.collections if same_colour(c.get_facecolor()[0], color)]
    return band.get_paths()[0].vertices[:, 1]


def same_colour(rgba, color) -> bool:
    return np.allclose(rgba[:3], to_rgba(color)[:3])


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return synthetic_results()


@pytest.fixture(scope="module")
def runs(results) -> pd.DataFrame:
    return figures.finished_runs(results)


@pytest.fixture(scope="module")
def styles(results) -> dict:
    return figures.activation_styles(results["activation"])


# --- styles -------------------------------------------------------------------------------------


def test_each_activation_keeps_one_colour_whatever_the_subset():
    full = figures.activation_styles(["relu", "gelu", "silu", "gelu"])
    assert len({s["color"] for s in full.values()}) == 3
    assert set(full) == {"gelu", "relu", "silu"}
    many = figures.activation_styles(f"act{i:02d}" for i in range(40))
    assert len({many[f"act{i:02d}"]["color"] for i in range(10)}) == 10
    assert len({(s["color"], s["marker"]) for s in many.values()}) == 40  # never one style twice
    assert many["act10"]["color"] == many["act00"]["color"]
    assert many["act10"]["marker"] != many["act00"]["marker"]


def test_no_two_activations_of_a_demo_sized_report_get_look_alike_colours():
    # The report: orange/vermillion and blue/sky blue went to gem/elu and e_gem/relu.
    names = ["gelu", "gelu_tanh", "relu", "elu", "silu", "gem(N=1)", "e_gem", "se_gem"]
    lab = np.array([cielab(figures.activation_styles(names)[n]["color"]) for n in names])
    distances = np.linalg.norm(lab[:, None] - lab[None, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    assert cielab("#0072B2") @ [1, 0, 0] > 0  # sanity: a lightness
    assert np.linalg.norm(cielab("#0072B2") - cielab("#56B4E9")) < 30  # the old look-alike pair
    assert distances.min() > 35  # ΔE*76: clearly different colours


def cielab(hex_colour: str) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB colour (IEC 61966-2-1 and CIE 15:2004 formulas)."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


# --- learning curves ----------------------------------------------------------------------------


def test_selected_runs_are_the_finished_runs_at_lr_1e3(runs):
    assert set(runs["lr"]) == {1e-3}
    assert (runs["status"] == "ok").all()
    assert len(runs) == 3 * 3 * 3 - 1  # the diverged mnist-ae relu seed is left out


def test_learning_curves_draw_the_median_and_the_min_max_band(runs, styles):
    fig = figures.learning_curve_figure(runs, "test", styles=styles)
    panels = visible_axes(fig)
    assert [ax.get_title() for ax in panels] == ["cifar10-cnn9", "mnist-ae", "mnist-noise"]
    cifar = lines_by_label(panels[0])
    assert set(cifar) == set(ACTIVATIONS)
    x, y = cifar["gelu"].get_data()
    np.testing.assert_array_equal(x, np.arange(1, EPOCHS + 1))
    # final epoch, seeds 0-2: 0.920, 0.921, 0.922 → median 92.1 %, band 92.0–92.2
    assert y[-1] == pytest.approx(92.1)
    assert y[0] == pytest.approx(100 * (0.921 - 0.04 * 4 / 5))
    band = band_of(panels[0], styles["gelu"]["color"])
    assert band.min() == pytest.approx(100 * (0.920 - 0.04 * 4 / 5))
    assert band.max() == pytest.approx(92.2)
    assert panels[1].get_yscale() == "log"  # MSE
    assert panels[0].get_yscale() == "linear"
    assert "%" in panels[0].get_ylabel()
    # relu on mnist-ae: two finished seeds, MSE 0.005 and 0.00525 → median 0.005125
    _, ae_relu = lines_by_label(panels[1])["relu"].get_data()
    assert ae_relu[-1] == pytest.approx(0.005125)


def test_tables_without_histories_give_no_learning_curves(results, tmp_path):
    assert figures.learning_curves(results.drop(columns=["history"]), tmp_path) == []
    assert figures.noise_curves(results.drop(columns=["curves"]), tmp_path) == []
    assert figures.learning_curves(results.iloc[:0], tmp_path) == []


def test_train_loss_curves_use_a_log_axis(runs, styles):
    fig = figures.learning_curve_figure(runs, "train_loss", styles=styles)
    panels = visible_axes(fig)
    assert len(panels) == 3
    assert all(ax.get_yscale() == "log" for ax in panels)
    _, y = lines_by_label(panels[0])["gelu"].get_data()
    assert y[0] == pytest.approx(0.8 * math.exp(-0.5) * 1.1)  # median over the seeds' factors


def test_learning_curves_write_two_pngs_with_three_panels(results, tmp_path):
    paths = figures.learning_curves(results, tmp_path)
    assert [p.name for p in paths] == [
        "learning_curves_test.png",
        "learning_curves_train_loss.png",
    ]
    width, height = png_size(paths[0])
    assert width == pytest.approx(3 * figures.PANEL_SIZE[0] * figures.DPI, rel=0.1)  # tight bbox
    assert height > figures.PANEL_SIZE[1] * figures.DPI


def test_colours_agree_across_figures(runs, styles):
    test = figures.learning_curve_figure(runs, "test", styles=styles)
    noise = figures.noise_figure(runs[runs["task"] == "mnist-noise"], styles=styles)
    for fig in (test, noise):
        for ax in visible_axes(fig):
            for label, line in lines_by_label(ax).items():
                assert line.get_color() == styles[label]["color"]


# --- noise robustness ---------------------------------------------------------------------------


def test_noise_curves_show_accuracy_and_log_loss_against_a(runs, styles):
    fig = figures.noise_figure(runs[runs["task"] == "mnist-noise"], styles=styles)
    accuracy, loss = visible_axes(fig)
    assert "accuracy" in accuracy.get_ylabel() and "loss" in loss.get_ylabel()
    assert accuracy.get_xlabel() == "noise amplitude a"
    a, y = lines_by_label(accuracy)["relu"].get_data()
    np.testing.assert_allclose(a, NOISE_LEVELS)
    expected = [100 * 0.976 * math.exp(-0.2 * x * x) for x in NOISE_LEVELS]  # median: seed 0
    np.testing.assert_allclose(y, expected)
    _, y = lines_by_label(loss)["gelu"].get_data()
    np.testing.assert_allclose(y, [0.05 + 0.1 * x * x * 1.1 for x in NOISE_LEVELS])


def test_noise_curves_skip_results_without_mnist_noise(results, tmp_path):
    assert figures.noise_curves(results[results["task"] != "mnist-noise"], tmp_path) == []
    paths = figures.noise_curves(results, tmp_path)
    assert [p.name for p in paths] == ["noise_robustness.png"]
    assert png_size(paths[0])[0] > 0


# --- final metric with CIs ----------------------------------------------------------------------


def summary_rows() -> pd.DataFrame:
    """A summarize()-shaped table written by hand."""
    return pd.DataFrame(
        {
            "task": ["cifar10-cnn9"] * 3 + ["mnist-ae"] * 2,
            "activation": ["relu", "gelu", "silu", "gelu", "relu"],
            "metric": ["test_accuracy"] * 3 + ["test_mse"] * 2,
            "higher_is_better": [True] * 3 + [False] * 2,
            "n": [3, 3, 1, 3, 2],
            "mean": [0.981, 0.984, 0.979, 0.0040, 0.0050],
            "ci_low": [0.980, 0.983, math.nan, 0.0039, 0.0049],
            "ci_high": [0.982, 0.985, math.nan, 0.0041, 0.0052],
        }
    )


def test_final_metric_is_sorted_best_first_and_zoomed_on_the_intervals(styles):
    summary = summary_rows()
    fig = figures.interval_figure(summary, styles=figures.activation_styles(summary.activation))
    cifar, ae = visible_axes(fig)
    labels = [t.get_text() for t in cifar.get_yticklabels()]
    positions = list(cifar.get_yticks())
    top_down = [label for _, label in sorted(zip(positions, labels), reverse=True)]
    assert top_down == ["gelu  (n=3)", "relu  (n=3)", "silu  (n=1)"]  # higher is better
    low, high = cifar.get_xlim()
    assert 97.8 < low < 97.9 and 98.5 < high < 98.6  # 97.9 – 98.5 % padded by 12 %
    ae_labels = [t.get_text() for t in ae.get_yticklabels()]
    ae_top = [label for _, label in sorted(zip(ae.get_yticks(), ae_labels), reverse=True)]
    assert ae_top[0].startswith("gelu")  # lower MSE is better
    assert ae.get_xlim() == pytest.approx((0.0039 - 0.12 * 0.0013, 0.0052 + 0.12 * 0.0013))


def test_final_metric_bars_write_one_png_or_nothing(tmp_path):
    summary = summary_rows()
    assert figures.final_metric_bars(summary.iloc[:0], tmp_path) == []
    all_nan = summary.assign(mean=math.nan)
    assert figures.final_metric_bars(all_nan, tmp_path) == []
    (path,) = figures.final_metric_bars(summary, tmp_path)
    assert path.name == "final_metric.png"
    assert png_size(path)[0] == pytest.approx(2 * 5.6 * figures.DPI, rel=0.1)  # tight bbox


def test_an_activation_at_chance_is_marked_off_scale_not_squashing_the_others():
    # The demo: seven activations near 92 % with intervals of ±1–3 pts, gem(N=1) at 10 %.
    means = [0.931, 0.928, 0.925, 0.923, 0.922, 0.917, 0.906, 0.100]
    names = ["se_gem", "e_gem", "relu", "gelu", "gelu_tanh", "elu", "silu", "gem(N=1)"]
    summary = pd.DataFrame(
        {
            "task": ["mnist-mlp"] * 8, "activation": names,
            "metric": ["test_accuracy"] * 8, "higher_is_better": [True] * 8, "n": [3] * 8,
            "mean": means,
            "ci_low": [m - 0.015 for m in means[:-1]] + [0.100],
            "ci_high": [m + 0.015 for m in means[:-1]] + [0.100],
        }
    )  # fmt: skip
    fig = figures.interval_figure(summary, styles=figures.activation_styles(names))
    (ax,) = visible_axes(fig)
    low, high = ax.get_xlim()
    assert 88 < low < 89.5 and 94.5 < high < 95.5  # zoomed on 89.1–94.6 %
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["10.00% (off scale)"]
    # two activations, however far apart, are both drawn to scale
    pair = summary[summary["activation"].isin(["gelu", "gem(N=1)"])]
    (ax,) = visible_axes(figures.interval_figure(pair, styles=figures.activation_styles(names)))
    assert len(ax.texts) == 0 and ax.get_xlim()[0] < 10
