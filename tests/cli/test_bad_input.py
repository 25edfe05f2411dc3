"""Bad input to every command: all problems in one pass, one `gatelab: error:` line each, exit
status 2, before any data is read — and nothing written (no run directory, no sweep folder)."""

import argparse
import os

import pytest
import torch

from gatelab.cli import build_parser, main

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")


@pytest.fixture
def in_empty_dir(tmp_path, monkeypatch):
    """Run in an empty directory, and check it is still empty afterwards."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert os.listdir(tmp_path) == [], "bad input left files behind"


def errors(capsys, *argv):
    """(exit status, the error lines) of `gatelab argv`; stdout must stay empty."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    return code, err.splitlines()


def assert_lines(lines, expected):
    assert len(lines) == len(expected), lines
    for line, fragment in zip(lines, expected):
        assert line.startswith("gatelab: error: ") and fragment in line, (line, fragment)


# --- gatelab run ------------------------------------------------------------------------------


def test_run_lists_every_problem_at_once(capsys, in_empty_dir):
    code, lines = errors(
        capsys, "run", "mnist-mlp", "--activation", "gleu", "--epochs", "0", "--lr", "1e308",
        "--set", "dropout=abc", "--set", "init=wide", "--device", "cuda:../x",
    )  # fmt: skip
    assert code == 2
    assert_lines(lines, [
        "activation: unknown activation 'gleu'; did you mean: gelu",
        "lr = 1e+308: a number in (0, 1e+06]",
        "epochs = 0: an integer from 1 to 100,000",
        "device = 'cuda:../x': auto, cpu, cuda or cuda:N",
        "dropout = 'abc': a drop probability, a number in [0, 1)",
        "init = 'wide': one of 'paper' | 'kaiming' | 'gain'",
    ])  # fmt: skip


@pytest.mark.parametrize(
    "option, line",
    [
        ("dropout=abc", "dropout = 'abc': a drop probability, a number in [0, 1)"),
        ("dropout=1.5", "dropout = 1.5: a drop probability, a number in [0, 1)"),
        ("norm=group", "norm: task mnist-mlp has no option 'norm' (options: dropout, init)"),
    ],
)
def test_run_refuses_a_bad_option_before_loading_data(capsys, in_empty_dir, option, line):
    code, lines = errors(capsys, "run", "mnist-mlp", "--set", option)
    assert code == 2
    assert_lines(lines, [line])


#: Specs that parse and validate, but whose module cannot be built: a learnable initial value
#: that overflows a float32 parameter (only construction knows the parameter's dtype).
UNBUILDABLE = [
    ("prelu(init=1e308)", "init = 1e+308 overflows torch.float32 (largest 3.403e+38)"),
    ("gelu_general(sigma=1e39, learnable=True)", "sigma = 1e+39 overflows torch.float32"),
]


@pytest.mark.parametrize(("spec", "line"), UNBUILDABLE)
def test_run_refuses_an_activation_whose_module_cannot_be_built(capsys, in_empty_dir, spec, line):
    code, lines = errors(capsys, "run", "mnist-mlp", "--activation", spec)
    assert code == 2  # was: a run that loaded the data, failed, and left its result.json
    assert_lines(lines, [f"activation: {line}"])


@NO_CUDA
def test_run_on_a_missing_gpu_is_bad_input(capsys, in_empty_dir):
    code, lines = errors(capsys, "run", "mnist-mlp", "--device", "cuda")
    assert code == 2
    assert_lines(lines, ["device = 'cuda': torch sees no CUDA device on this machine"])


# --- gatelab sweep ----------------------------------------------------------------------------

SIX_MISTAKES = """\
name = "six"
tasks = ["mnist-mlp", "mnist-mpl"]
activations = ["gelu", "gleu"]
seeds = 3
lrs = [1e-3, -1]
colour = "red"
[settings]
epochs = "ten"
dataset = "mnist-6k"
"""


def sweep_errors(capsys, directory, text):
    (directory / "spec.toml").write_text(text)
    code, lines = errors(capsys, "sweep", "spec.toml", "--out", "out")
    (directory / "spec.toml").unlink()  # what is left must be nothing
    return code, lines


def test_a_sweep_file_with_six_mistakes_is_answered_in_one_pass(capsys, in_empty_dir):
    (in_empty_dir / "spec.toml").write_text(SIX_MISTAKES)
    code, lines = errors(capsys, "sweep", "spec.toml", "--out", "out", "--baseline", "gleu")
    (in_empty_dir / "spec.toml").unlink()
    assert code == 2
    assert lines.pop().startswith("gatelab: error: --baseline: unknown activation 'gleu'")
    assert_lines(lines, [
        "spec.toml: top level: unknown key 'colour'",
        "spec.toml: tasks: unknown task 'mnist-mpl' (did you mean mnist-mlp",
        "spec.toml: activations: 'gleu': unknown activation 'gleu'",
        "spec.toml: lrs = [0.001, -1]: \"default\", \"grid\" or a list of at most 1,000",
        "spec.toml: [settings] epochs = 'ten': an integer from 1 to 100,000",
        "spec.toml: [settings] dataset = 'mnist-6k': task mnist-mlp takes 'mnist-5k'",
    ])  # fmt: skip


VALID = {
    "tasks": 'tasks = ["mnist-mlp"]',
    "activations": 'activations = ["gelu"]',
    "seeds": "seeds = 1",
}


def spec_with(top: str = "", setting: str = "") -> str:
    """A valid one-run spec with one top-level line or one [settings] line replaced/added."""
    key = top.split(" =")[0]
    lines = [line for name, line in VALID.items() if name != key] + ([top] if top else [])
    if key != "settings":
        lines += ["[settings]", 'dataset = "synthetic"', "epochs = 1", setting]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "top, setting, line",
    [
        ("activations = 3", "", "activations = 3: a string or a non-empty list of strings"),
        ("tasks = 5", "", "tasks = 5: a string or a non-empty list of strings"),
        ('tasks = [["mnist-mlp"]]', "", "tasks = [['mnist-mlp']]: a string or a non-empty list"),
        ("seeds = 100000000000", "", "seeds = 100000000000: a count from 1 to 10,000"),
        ("settings = [1]", "", "[settings]: expected a table of keys, got [1]"),
        ("overrides = 5", "", "[overrides]: expected a table of keys, got 5"),
        ("overrides = {mnist-mlp = 5}", "", "[overrides.mnist-mlp]: expected a table of keys"),
        ("protocol = [1]", "", "[protocol]: expected a table of keys, got [1]"),
        ("lrs = [1e308]", "", 'lrs = [1e+308]: "default", "grid" or a list'),
        ("axes = {dropout = [[0.5]]}", "", "[axes] dropout = [0.5]: a drop probability"),
        ("", "device = 0", "[settings] device = 0: auto, cpu, cuda or cuda:N"),
        ("", "dropout = 7.0", "[settings] dropout = 7.0: a drop probability, a number in [0, 1)"),
        ("", "dropout = -1.0", "[settings] dropout = -1.0: a drop probability"),
        ("", 'dropout = "lots"', "[settings] dropout = 'lots': a drop probability"),
        ("", "data_root = 5", "[settings] data_root = 5: a non-empty string"),
        ("", 'device = "cuda:../../x"', "[settings] device = 'cuda:../../x': auto, cpu, cuda"),
        ("", "epochs = true", "[settings] epochs = True: an integer from 1 to 100,000"),
    ],
)
def test_each_wrong_sweep_value_is_one_line(capsys, in_empty_dir, top, setting, line):
    if "epochs = true" in setting:  # replaces the valid epochs line
        text = spec_with(top).replace("epochs = 1", setting)
    else:
        text = spec_with(top, setting)
    code, lines = sweep_errors(capsys, in_empty_dir, text)
    assert code == 2
    assert_lines(lines, ["spec.toml: " + line])


def test_a_sweep_refuses_activations_whose_modules_cannot_be_built(capsys, in_empty_dir):
    specs = ", ".join(f"'{spec}'" for spec, _ in UNBUILDABLE)
    code, lines = sweep_errors(capsys, in_empty_dir, spec_with(f"activations = [{specs}]"))
    assert code == 2
    assert_lines(lines, [f"spec.toml: activations: {spec!r}: {line}" for spec, line in UNBUILDABLE])


@NO_CUDA
def test_a_sweep_on_a_missing_gpu_is_bad_input(capsys, in_empty_dir):
    code, lines = sweep_errors(capsys, in_empty_dir, spec_with(setting='device = "cuda"'))
    assert code == 2
    assert_lines(lines, ["spec.toml: [settings] device = 'cuda': torch sees no CUDA device"])


# --- demo, bench, analyze, report ------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [["--workers", "0"], ["--workers", "100000"], ["--ensemble-size", "-3"]]
)
def test_demo_bounds_its_counts(capsys, in_empty_dir, argv):
    assert main(["demo", *argv]) == 2
    assert "must be from 1 to 1,024" in capsys.readouterr().err


def test_bench_lists_every_problem(capsys, in_empty_dir):
    code, lines = errors(
        capsys, "bench", "gelu", "relu2x", "--dtype", "float8", "--impls", "fast",
        "--numel", "0", "--device", "tpu",
    )  # fmt: skip
    assert code == 2
    assert_lines(lines, [
        "--dtype 'float8': choose from float32",
        "--impls 'fast': choose from gatelab",
        "--numel 0: sizes from 2 to",
        "--device 'tpu': cpu, cuda or cuda:N",
        "unknown activation 'relu2x'",
    ])  # fmt: skip
    code, lines = errors(capsys, "bench", UNBUILDABLE[0][0])  # its MLP could not be built
    assert code == 2
    assert_lines(lines, [UNBUILDABLE[0][1]])


@NO_CUDA
def test_bench_on_a_missing_gpu_is_bad_input(capsys, in_empty_dir):
    code, lines = errors(capsys, "bench", "gelu", "--device", "cuda")
    assert code == 2
    assert_lines(lines, ["--device 'cuda': torch sees no CUDA device on this machine"])


def test_analyze_lists_every_problem(capsys, in_empty_dir):
    (in_empty_dir / "file").write_text("")
    code, lines = errors(
        capsys, "analyze", "gleu", "gem(N=0)", "gelu", "--reference", "rleu", "--out", "file"
    )
    (in_empty_dir / "file").unlink()
    assert code == 2
    assert_lines(lines, [
        "unknown activation 'gleu'",
        "parameter 'N' of gem must be a positive integer",
        "--out file: exists and is not a directory",
        "--reference: unknown activation 'rleu'",
    ])  # fmt: skip


def test_report_lists_every_problem(capsys, in_empty_dir):
    code, lines = errors(capsys, "report", "nowhere", "--baseline", "gleu")
    assert code == 2
    assert_lines(lines, [
        "nowhere: no such directory (give the directory of a sweep)",
        "--baseline: unknown activation 'gleu'",
    ])  # fmt: skip


# --- the parser itself ------------------------------------------------------------------------


def test_every_option_of_every_command_has_help():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert missing == []


def test_help_shows_defaults_once(capsys):
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default 0)" in text and "(default: 0)" not in text  # --seed states its own
    assert "(default: paper)" in text and "(default: gelu)" in text  # added by the formatter
    assert "default: None" not in text and "default: False" not in text
