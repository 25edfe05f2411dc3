"""Sweep specs: grid expansion, stable run ids, and one error listing every problem."""

from __future__ import annotations

import pytest

from gatelab.sweep import SpecError, load_spec, parse_spec, run_id
from gatelab.tasks import RunConfig

BASE = {
    "tasks": ["mnist-mlp", "mnist-ae"],
    "activations": ["gelu", "e_gem(N=1, eps=1e-4)"],
    "seeds": 2,
    "lrs": "grid",
    "settings": {"scale": "smoke", "epochs": 1},
    "axes": {"dropout": [0.0, 0.5]},
    "overrides": {"mnist-ae": {"seeds": [5], "lrs": [1e-3]}},
}


def test_grid_expands_per_task_with_overrides_and_option_axes():
    spec = parse_spec(BASE)
    mlp = [p for p in spec.points if p.config.task == "mnist-mlp"]
    ae = [p for p in spec.points if p.config.task == "mnist-ae"]
    assert len(mlp) == 2 * 2 * 3 * 2  # activations × seeds × lr grid × dropout
    assert len(ae) == 2 * 1 * 1  # dropout is not an option of mnist-ae
    assert {p.config.lr for p in mlp} == {1e-3, 1e-4, 1e-5}
    assert {p.config.options["dropout"] for p in mlp} == {0.0, 0.5}
    assert {p.axes["dropout"] for p in mlp} == {0.0, 0.5}
    assert {p.config.seed for p in ae} == {5}
    assert {p.config.activation for p in spec.points} == {"gelu", "e_gem(N=1, eps=1e-4)"}
    assert all(p.config.epochs == 1 and p.config.scale == "smoke" for p in spec.points)


def test_run_ids_are_stable_and_distinct():
    first, second = parse_spec(BASE), parse_spec(BASE)
    assert [p.run_id for p in first.points] == [p.run_id for p in second.points]
    assert len({p.run_id for p in first.points}) == len(first.points)
    a = RunConfig("mnist-mlp", seed=1, lr=1e-3, epochs=2, scale="smoke", dataset="mnist-5k")
    assert run_id(a) == run_id(RunConfig(**{**a.__dict__, "device": "cuda"}))  # not identity
    assert run_id(a) != run_id(RunConfig(**{**a.__dict__, "seed": 2}))


def test_every_problem_is_listed_at_once():
    bad = {
        "tasks": ["mnist-mlp", "cifar10-resnet65"],
        "activations": ["gelu", "gelo", "gem(N=0)"],
        "seeds": -1,
        "lrs": [0.1, -2],
        "settings": {"scale": "huge", "epochz": 3},
        "axes": {"dropout": 0.5},
        "overrides": {"mnist-ae": {"epochs": 2}},
        "protocol": {"select_on": "train", "metrik": "x"},
        "colour": "blue",
    }
    with pytest.raises(SpecError) as caught:
        parse_spec(bad)
    message = str(caught.value)
    for expected in [
        "unknown key 'colour'",
        "cifar10-resnet65",
        "did you mean cifar10-resnet56",
        "'gelo'",
        "gem(N=0)",
        "seeds = -1",
        "lrs = [0.1, -2]",
        "'epochz'",
        "an axis needs a list of 1 to 1,000 values",
        "[overrides.mnist-ae]: mnist-ae is not in tasks",
        "select_on = 'train'",
        "unknown key 'metrik'",
    ]:
        assert expected in message, expected
    assert len(caught.value.problems) >= 12


def test_bad_settings_values_are_reported_per_run_config():
    with pytest.raises(SpecError, match="scale = .huge."):
        parse_spec({**BASE, "settings": {"scale": "huge"}})
    with pytest.raises(SpecError, match="dataset"):
        parse_spec({**BASE, "settings": {"dataset": "cifar10"}})


def test_toml_files_and_their_errors(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        'tasks = ["mnist-mlp"]\nactivations = ["gelu"]\nseeds = [0, 1]\n'
        '[settings]\nscale = "smoke"\n',
        encoding="utf-8",
    )
    spec = load_spec(path)
    assert spec.name == "s" and len(spec.points) == 2
    path.write_text("tasks = [", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(path)
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "missing.toml")


def test_an_unknown_init_is_reported_before_any_run():
    from gatelab.sweep import SpecError

    raw = {"tasks": ["mnist-mlp"], "activations": ["gelu"], "settings": {"init": "xavier"}}
    with pytest.raises(SpecError, match="init = 'xavier': use 'paper' | 'kaiming' | 'gain'"):
        parse_spec(raw)
