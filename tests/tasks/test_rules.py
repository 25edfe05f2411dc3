"""gatelab.tasks.rules through the Python API: complete() and parse_spec() list every problem of a
configuration at once, each naming the key, the value and what is allowed."""

import pytest

from gatelab.sweep import SpecError, parse_spec
from gatelab.tasks import RunConfig
from gatelab.tasks.rules import (
    LR,
    OPTIONS,
    SETTINGS,
    ConfigError,
    choice,
    integer,
    number,
)
from gatelab.train import complete


def test_complete_lists_every_problem():
    config = RunConfig(
        "mnist-mlp", activation="gleu", seed=-1, lr=float("nan"), epochs=2.5, scale="huge",
        data_root=5, download="yes", device="cuda:../x", precision="fp8",
        options={"dropout": 1.0, "init": "wide", "norm": "batch"},
    )  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        complete(config)
    assert caught.value.problems == [
        "activation: unknown activation 'gleu'; did you mean: gelu, lrelu, gem, elu, silu? "
        "(`gatelab list` shows all 20 names)",
        "seed = -1: an integer from 0 to 4,294,967,295",
        "lr = nan: a number in (0, 1e+06]",
        "epochs = 2.5: an integer from 1 to 100,000",
        "scale = 'huge': one of 'smoke' | 'paper'",
        "data_root = 5: a non-empty string",
        "download = 'yes': true or false",
        "device = 'cuda:../x': auto, cpu, cuda or cuda:N",
        "precision = 'fp8': one of 'auto' | 'fp32' | 'bf16'",
        "dropout = 1.0: a drop probability, a number in [0, 1)",
        "init = 'wide': one of 'paper' | 'kaiming' | 'gain'",
        "norm: task mnist-mlp has no option 'norm' (options: dropout, init)",
    ]
    assert isinstance(caught.value, ValueError)  # callers catching ValueError still do


def test_an_activation_whose_module_cannot_be_built_is_a_config_problem():
    # the spec parses and validates; only building the module meets the float32 parameter
    with pytest.raises(ConfigError) as caught:
        complete(RunConfig("mnist-mlp", activation="prelu(init=1e308)", epochs=0))
    assert caught.value.problems == [
        "activation: init = 1e+308 overflows torch.float32 (largest 3.403e+38) as a learnable "
        "parameter; use a value of magnitude ≤ 3.403e+38",
        "epochs = 0: an integer from 1 to 100,000",
    ]


def test_a_user_module_that_fails_to_build_is_a_config_problem():
    import dataclasses

    from gatelab.modules import Activation
    from gatelab.registry import lookup, register, unregister

    class Broken(Activation):
        def __init__(self, spec, **params):
            raise RuntimeError("no weights for you")

    register(dataclasses.replace(lookup("relu"), name="broken_relu", aliases=(),
                                 module_class=Broken))  # fmt: skip
    try:
        with pytest.raises(ConfigError) as caught:
            complete(RunConfig("mnist-mlp", activation="broken_relu"))
    finally:
        unregister("broken_relu")
    assert caught.value.problems == [
        "activation: building its module raised RuntimeError: no weights for you"
    ]


def test_an_unknown_task_still_gets_its_other_values_checked():
    with pytest.raises(ConfigError) as caught:
        complete(RunConfig("mnist-mpl", epochs=0, options={"dropout": "abc"}))
    problems = caught.value.problems
    assert problems[0].startswith("task: unknown task 'mnist-mpl' (did you mean mnist-mlp")
    assert problems[1:] == [
        "epochs = 0: an integer from 1 to 100,000",
        "dropout = 'abc': a drop probability, a number in [0, 1)",
    ]


def test_rules_by_hand():
    assert integer(1, 3).problem("k", 2) is None
    assert integer(1, 3).problem("k", True) == "k = True: an integer from 1 to 3"  # not an int
    assert number(0, 1, high_open=True).problem("p", 1.0) == "p = 1.0: a number in [0, 1)"
    assert number(0, 1, high_open=True).problem("p", 0.0) is None
    assert LR.problem("lr", float("inf")) == "lr = inf: a number in (0, 1e+06]"
    assert choice(True, False).problem("b", 1) == "b = 1: one of True | False"  # 1 == True
    assert choice("a").problem("c", ["a"]) == "c = ['a']: one of 'a'"  # unhashable: no crash
    long = "x" * 500
    assert len(choice("a").problem("c", long)) < 100  # long values are shortened


def test_every_task_option_and_setting_has_a_rule():
    from gatelab.sweep.spec import TRAINER_FIELDS
    from gatelab.tasks import TASKS

    assert set(SETTINGS) == TRAINER_FIELDS
    for task in TASKS.values():
        for option, default in task.options.items():
            assert option in OPTIONS, (task.name, option)
            assert OPTIONS[option].problem(option, default) is None, (task.name, option)


def test_a_spec_problem_is_listed_once_not_per_activation():
    spec = {
        "tasks": ["mnist-mlp"], "activations": ["gelu", "relu", "elu"], "seeds": 3,
        "settings": {"dataset": "synthetic", "dropout": 2.0},
    }  # fmt: skip
    with pytest.raises(SpecError) as caught:
        parse_spec(spec)
    assert caught.value.problems == [
        "[settings] dropout = 2.0: a drop probability, a number in [0, 1)"
    ]


def test_the_grid_size_is_bounded_before_it_is_built():
    spec = {
        "tasks": ["mnist-mlp"], "activations": ["gelu"] * 1, "seeds": 10_000,
        "lrs": [1e-3 * (i + 1) for i in range(20)],
    }  # fmt: skip
    with pytest.raises(SpecError, match="the grid has 200,000 runs: at most 100,000"):
        parse_spec(spec)
