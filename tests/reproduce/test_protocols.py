"""gatelab.reproduce: the protocols are the papers', the claims' verdicts follow the statistics
on hand-made results, and the smoke variants run end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gatelab.cli import main
from gatelab.reproduce import PROTOCOLS, get_protocol, reproduce
from gatelab.reproduce import claims as claims_module
from gatelab.sweep import parse_spec


def points(name: str, variant: str = "full"):
    return parse_spec(get_protocol(name).spec(variant)).points


# --- the protocols ------------------------------------------------------------------------------


def test_gelu_mnist_is_the_papers_section_3_1_on_fashion_mnist():
    grid = points("gelu-mnist")
    assert len(grid) == 120  # 4 activations × 3 lrs × 5 seeds × (no dropout, dropout 0.5)
    assert {p.config.lr for p in grid} == {1e-3, 1e-4, 1e-5}
    assert {p.config.seed for p in grid} == set(range(5))
    assert {p.config.epochs for p in grid} == {50} and {p.config.dataset for p in grid} == {
        "fashion-mnist"
    }
    assert {p.config.activation for p in grid} == {"gelu", "relu", "elu", "silu"}
    dropout = {p.config.task: p.config.options.get("dropout") for p in grid}
    assert dropout == {"mnist-mlp": 0.5, "mnist-noise": None}  # noise runs are the no-dropout ones


def test_gelu_ae_and_gem_ablation_grids():
    ae = points("gelu-ae")
    assert len(ae) == 18 and {p.config.lr for p in ae} == {1e-3, 1e-4}
    gem = points("gem-ablation")
    assert len(gem) == 9 * 2 * 3 and {p.config.options["init"] for p in gem} == {"paper", "gain"}


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_quick_and_smoke_variants_change_only_data_scale_and_epochs(name):
    full, quick = points(name), points(name, "quick")
    assert {p.config.dataset for p in quick} == {"mnist-5k"}
    assert max(p.config.epochs for p in quick) <= 10
    key = lambda p: (p.config.task, p.config.activation, p.config.lr, p.config.seed)  # noqa: E731
    assert sorted(map(key, quick)) == sorted(map(key, full))
    smoke = points(name, "smoke")
    assert {p.config.scale for p in smoke} == {"smoke"} and {p.config.seed for p in smoke} == {0, 1}
    with pytest.raises(ValueError, match="unknown variant"):
        get_protocol(name).spec("huge")


def test_list_names_every_protocol_with_its_times(capsys):
    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    for protocol in PROTOCOLS.values():
        assert protocol.name in listed and f"full ≈ {protocol.minutes:g} min" in listed


def test_an_unknown_protocol_is_refused_with_the_closest(capsys):
    assert main(["reproduce", "gelu-mnst"]) == 2
    assert "did you mean gelu-mnist" in capsys.readouterr().err


# --- claims on hand-made results ----------------------------------------------------------------


def frame(losses: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for activation, values in losses.items():
        for seed, loss in enumerate(values):
            rows.append({
                "task": "mnist-noise", "activation": activation, "seed": seed, "lr": 1e-3,
                "status": "ok", "metric": "test_accuracy", "val_metric": "val_accuracy",
                "higher_is_better": True, "val_accuracy": 0.9, "test_accuracy": 0.9,
                "history": [{"epoch": 1, "train_loss": loss}],
            })  # fmt: skip
    return pd.DataFrame(rows)


BASE = list(0.10 + np.random.default_rng(0).normal(0, 0.01, 6))


def lowest_loss(df: pd.DataFrame) -> str:
    claim = claims_module.Claim("GELU lowest", "mnist-noise", claims_module.final_train_loss,
                                False, rivals=("relu", "elu"))  # fmt: skip
    return claim.judge(df).outcome


def shifted(shift: float, seed: int) -> list[float]:
    return list(np.add(BASE, shift) + np.random.default_rng(seed).normal(0, 0.001, 6))


def test_the_lowest_loss_claim_gets_each_outcome():
    assert lowest_loss(frame({"gelu": BASE, "relu": shifted(0.02, 1), "elu": shifted(0.03, 2)})) \
        == "holds"  # fmt: skip
    assert lowest_loss(frame({"gelu": BASE, "relu": shifted(-0.02, 1), "elu": shifted(0.03, 2)})) \
        == "contradicted"  # fmt: skip
    noisy = lambda shift, seed: list(  # noqa: E731
        np.add(BASE, shift) + np.random.default_rng(seed).normal(0, 0.03, 6)
    )
    mixed = frame({"gelu": BASE, "relu": noisy(0.002, 3), "elu": noisy(0.03, 4)})
    assert lowest_loss(mixed) in ("consistent, not significant", "does not hold")
    assert lowest_loss(frame({"gelu": BASE, "relu": noisy(-0.003, 5), "elu": noisy(0.0, 6)})) \
        == "does not hold"  # fmt: skip
    assert lowest_loss(frame({"relu": BASE, "elu": BASE})) == "not run"


def test_noise_values_average_the_curve_above_zero():
    row = pd.Series({"curves": {"noise": [{"a": 0.0, "accuracy": 1.0}, {"a": 1.0, "accuracy": 0.5},
                                          {"a": 2.0, "accuracy": 0.3}]}})  # fmt: skip
    assert claims_module.noisy("accuracy")(row) == pytest.approx(0.4)
    assert math.isnan(claims_module.noisy("accuracy")(pd.Series({"curves": {}})))


# --- end to end at smoke scale --------------------------------------------------------------------


def test_gelu_mnist_smoke_runs_end_to_end_with_verdicts_and_provenance(tmp_path):
    path = reproduce("gelu-mnist", tmp_path / "out", variant="smoke", workers=1,
                     log=lambda line: None)  # fmt: skip
    text = path.read_text(encoding="utf-8")
    report = path.parent
    for claim in get_protocol("gelu-mnist").claims:
        (line,) = [x for x in text.splitlines() if x.startswith(f"| {claim.text}")]
        outcome = line.split("**")[1]
        assert outcome in {"holds", "not contradicted", "consistent, not significant",
                           "does not hold", "contradicted", "undecided (all tied)"}  # fmt: skip
    assert "command: `gatelab.reproduce.reproduce('gelu-mnist'" in text and "versions: " in text
    assert "Fashion-MNIST stands in for MNIST" in text
    csv = pd.read_csv(report / "runs.csv")
    assert len(csv) == 2 * 4 * 3 * 2 and csv["final_train_loss"].notna().all()
    assert (report / "report.md").exists() and (
        report / "figures" / "noise_robustness.png"
    ).exists()


def test_reproduce_without_a_name_says_what_to_name(capsys):
    assert main(["reproduce", "--quick"]) == 2
    assert "name a protocol" in capsys.readouterr().err


def test_the_init_effect_pairs_only_finished_runs():
    from gatelab.reproduce.protocols import _init_effect

    rows = []
    for init, accuracies in (("paper", [0.50, 0.52, 0.51]), ("gain", [0.60, None, 0.62])):
        for seed, accuracy in enumerate(accuracies):
            rows.append({
                "task": "mnist-mlp", "activation": "relu", "seed": seed, "init": init,
                "status": "ok" if accuracy is not None else "diverged",
                "metric": "test_accuracy", "test_accuracy": accuracy or math.nan,
            })  # fmt: skip
    verdict = _init_effect(pd.DataFrame(rows))
    assert "relu +10.5 pts" in verdict.evidence  # seeds 0 and 2 only: (0.10 + 0.11) / 2
