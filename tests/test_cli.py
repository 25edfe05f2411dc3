"""The `gatelab` command line: `list`, `show`, --version/--help, one-line errors with status 2,
the console script and `python -m gatelab`. Values are checked against closed forms derived
here, not against the library."""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gatelab
from gatelab import cli
from gatelab.cli import main

DEFAULT_POINTS = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def Phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@pytest.fixture
def user_entry():
    spec = gatelab.gated(
        lambda x: 0.5 + torch.atan(x) / math.pi, name="cli_cauchy_gelu", summary="test entry"
    )
    yield spec
    gatelab.unregister(spec.name)


# --- list -------------------------------------------------------------------------------------


def test_list_table_shows_every_activation(capsys):
    code, out, err = run(capsys, "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "ALIASES", "PARAMETERS", "FAMILY"]
    first_words = {line.split()[0] for line in lines[2:] if line and not line.startswith(" ")}
    assert set(gatelab.names()) <= first_words
    assert max(map(len, lines)) <= 120
    e_gem_row = next(line for line in lines if line.startswith("e_gem "))
    assert "egem" in e_gem_row and "N=1, eps=0.0001" in e_gem_row and " gem " in e_gem_row
    assert f"{len(gatelab.names())} activations" in out


def test_list_json_matches_the_registry(capsys):
    records = run_json(capsys, "list")
    by_name = {r["name"]: r for r in records}
    assert sorted(by_name) == gatelab.names() and len(records) == len(by_name)
    for name, record in by_name.items():
        spec = gatelab.lookup(name)
        assert set(record) == {
            "name", "aliases", "family", "summary", "formula_latex", "citation", "params",
        }  # fmt: skip
        assert record["aliases"] == list(spec.aliases)
        assert record["family"] == spec.family and record["summary"] == spec.summary
        assert record["formula_latex"] == spec.formula and record["citation"] == spec.citation
        assert [p["name"] for p in record["params"]] == [p.name for p in spec.params]
        for param, p in zip(record["params"], spec.params):
            assert param == {
                "name": p.name, "default": p.default, "type": p.kind.__name__,
                "rule": p.rule, "doc": p.doc,
            }  # fmt: skip
    # facts stated independently of the registry
    assert [(p["name"], p["default"], p["type"]) for p in by_name["e_gem"]["params"]] == [
        ("N", 1, "int"),
        ("eps", 1e-4, "float"),
    ]
    assert by_name["gelu"]["params"] == [] and "gelu_erf" in by_name["gelu"]["aliases"]
    assert by_name["gelu_general"]["params"][2]["type"] == "bool"


def test_list_family_filter(capsys):
    records = run_json(capsys, "list", "--family", "gem")
    assert {r["name"] for r in records} == {"gem", "e_gem", "se_gem"}
    code, out, _ = run(capsys, "list", "--family", "baseline")
    assert code == 0 and "relu_squared" in out and "gelu_tanh" not in out
    assert run_json(capsys, "list", "--family", "user") == []


def test_list_shows_user_entries(capsys, user_entry):
    records = run_json(capsys, "list", "--family", "user")
    assert [r["name"] for r in records] == ["cli_cauchy_gelu"]
    code, out, _ = run(capsys, "list")
    assert code == 0 and "cli_cauchy_gelu" in out


# --- show -------------------------------------------------------------------------------------


def test_show_gelu_values(capsys):
    data = run_json(capsys, "show", "gelu")
    assert data["spec"] == "gelu" and data["gated"] is True and data["params"] == []
    points = {p["x"]: p for p in data["points"]}
    assert list(points) == DEFAULT_POINTS
    assert points[1.0]["f"] == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-15)
    assert points[0.0]["df"] == 0.5
    assert points[0.0]["d2f"] == pytest.approx(math.sqrt(2 / math.pi), rel=1e-15)
    for x, p in points.items():  # f = xΦ, f' = Φ + xφ, f'' = (2 − x²)φ
        assert p["f"] == pytest.approx(x * Phi(x), rel=1e-14, abs=1e-300)
        assert p["df"] == pytest.approx(Phi(x) + x * phi(x), rel=1e-14)
        assert p["d2f"] == pytest.approx((2 - x * x) * phi(x), rel=1e-14)


@pytest.mark.parametrize("N", [1, 2, 3])
def test_show_gem_values(capsys, N):
    data = run_json(capsys, "show", f"gem(N={N})")
    assert data["spec"] == ("gem" if N == 1 else f"gem(N={N})")
    for p in data["points"]:
        x = p["x"]
        if x <= 0:
            assert p["f"] == 0 and p["df"] == 0
            continue
        t = x ** (2 * N)
        assert p["f"] == pytest.approx(x * t / (1 + t), rel=1e-15)
        assert p["df"] == pytest.approx(t * (2 * N + 1 + t) / (1 + t) ** 2, rel=1e-14)
    at_one = next(p for p in data["points"] if p["x"] == 1.0)
    assert at_one["f"] == 0.5 and at_one["df"] == pytest.approx((2 * N + 2) / 4, rel=1e-15)


def test_show_e_gem_text(capsys):
    code, out, err = run(capsys, "show", "e_gem(N=2, eps=1e-4)")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "e_gem(N=2)"  # canonical: eps is the default
    spec = gatelab.lookup("e_gem")
    assert spec.formula in out and "ε-GEM" in out and "arXiv:2604.21677" in out
    assert "gated:     yes" in out
    n_row = next(line.split() for line in lines if line.strip().startswith("N "))
    eps_row = next(line.split() for line in lines if line.strip().startswith("eps "))
    assert n_row[:4] == ["N", "2", "1", "a"] and eps_row[:3] == ["eps", "0.0001", "0.0001"]
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["x", "f(x)"])
    table = [[float(v) for v in line.split()] for line in lines[header + 2 :]]
    assert [row[0] for row in table] == DEFAULT_POINTS
    for x, f, df, _ in table:  # f = x·t/(ε + t), f' = ((2N+1)εt + t²)/(ε + t)², t = x^{2N}
        t, eps = max(x, 0.0) ** 4, 1e-4
        assert f == pytest.approx(x * t / (eps + t) if x > 0 else 0.0, rel=1e-15)
        assert df == pytest.approx(
            (5 * eps * t + t * t) / (eps + t) ** 2 if x > 0 else 0.0, rel=1e-14
        )


def test_show_json_parameters(capsys):
    data = run_json(capsys, "show", "se_gem(2, alpha=0.5)")
    assert data["spec"] == "se_gem(N=2, alpha=0.5)" and data["name"] == "se_gem"
    assert [(p["name"], p["value"], p["default"]) for p in data["params"]] == [
        ("N", 2, 1),
        ("eps", 1e-4, 1e-4),
        ("alpha", 0.5, 0.01),
    ]
    assert data["params"][0]["rule"].startswith("a positive integer")
    by_x = {p["x"]: p for p in data["points"]}
    assert by_x[-1.0]["f"] == pytest.approx(-0.5 / (1 + 1e-4), rel=1e-15)  # −α·x⁵/(ε + x⁴)


def test_show_aliases_resolve_to_canonical_name(capsys):
    assert run_json(capsys, "show", "Quick_GELU")["spec"] == "gelu_sigmoid"
    assert run_json(capsys, "show", "swish(beta=2)")["spec"] == "silu(beta=2.0)"


def test_show_piecewise_linear_has_zero_second_derivative(capsys):
    points = run_json(capsys, "show", "leaky_relu(0.2)", "--points=-2,2")["points"]
    assert points == [
        {"x": -2.0, "f": -0.4, "df": 0.2, "d2f": 0.0},
        {"x": 2.0, "f": 2.0, "df": 1.0, "d2f": 0.0},
    ]
    assert run_json(capsys, "show", "relu")["gated"] is True
    assert run_json(capsys, "show", "tanh")["gated"] is False


@pytest.mark.parametrize(
    "argv",
    [
        ["--points", "2, -1.5,1e-3"],
        ["--points=2,-1.5,1e-3"],
        ["--points", "-1.5,2"],  # a leading minus is not taken for an option
        ["--points", "-.5"],
    ],
)
def test_show_points(capsys, argv):
    points = run_json(capsys, "show", "silu", *argv)["points"]
    expected = [float(v) for v in argv[-1].split("=")[-1].split(",")]
    assert [p["x"] for p in points] == expected
    for p in points:  # silu: f = xσ(x), f' = σ(x)(1 + x(1 − σ(x)))
        s = 1 / (1 + math.exp(-p["x"]))
        assert p["f"] == pytest.approx(p["x"] * s, rel=1e-15)
        assert p["df"] == pytest.approx(s * (1 + p["x"] * (1 - s)), rel=1e-14)


def test_every_entry_can_be_shown(capsys):
    for name in gatelab.names():
        data = run_json(capsys, "show", name)
        assert len(data["points"]) == len(DEFAULT_POINTS), name
        assert all(math.isfinite(v) for p in data["points"] for v in p.values()), name
        code, out, _ = run(capsys, "show", name)
        assert code == 0 and out.startswith(name)


def test_second_derivative_at_zero_through_logistic_gates(capsys):
    at_zero = run_json(capsys, "show", "silu", "--points=0")["points"][0]
    assert at_zero["d2f"] == pytest.approx(0.5)  # silu'' = σ'(x)(2 + x(1 − 2σ)) → 2·¼


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["show", "gleu"], "unknown activation 'gleu'; did you mean: gelu"),
        (["show", "e_gem(N=0)"], "must be a positive integer"),
        (["show", "e_gem(N=2.5)"], "must be a positive integer"),
        (["show", "e_gem(M=1)"], "unknown parameter(s) 'M'"),
        (["show", "gelu("], "cannot parse activation spec"),
        (["show", "gelu\n("], "cannot parse activation spec"),
        (["show", "e_gem(N=__import__('os'))"], "literal numbers"),
        (["show", "gelu", "--points", "1,abc"], "--points: 'abc' is not a number"),
        (["show", "gelu", "--points", "1,,2"], "--points: '' is not a number"),
        (["show", "gelu", "--points", "__import__('os')"], "is not a number"),
        (["show", "gelu", "--points=inf"], "not a finite number"),
        (["show", "e_gem(N=99999999999999999999999)"], "positive integer ≤ 1024"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("gatelab: error: ") and err.count("\n") == 1
    assert fragment in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv", [[], ["bogus"], ["show"], ["list", "--family", "foo"], ["list", "--nope"]]
)
def test_argparse_errors_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and "usage: gatelab" in err and "error:" in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith(f"gatelab {gatelab.__version__} ")


def subcommands():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return list(action.choices)


@pytest.mark.parametrize("command", [[], *([c] for c in subcommands())])
def test_help_on_every_command(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and out.startswith(f"usage: gatelab {' '.join(command)}".rstrip())
    assert {"list", "show"} <= set(subcommands())


def test_new_subcommands_plug_in(capsys, monkeypatch):
    def add_hello(subparsers):
        parser = cli.add_command(subparsers, "hello", handler, help="say hello")
        parser.add_argument("who")

    def handler(args):
        if args.who == "nobody":
            raise cli.UsageError("nobody to greet\n(second line folded)")
        print(f"hello {args.who}")
        return 0

    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, add_hello])
    assert run(capsys, "hello", "world") == (0, "hello world\n", "")
    code, out, err = run(capsys, "hello", "nobody")
    assert (code, out) == (2, "")
    assert err == "gatelab: error: nobody to greet (second line folded)\n"


# --- the installed entry points ---------------------------------------------------------------


def test_console_script_and_python_m():
    script = shutil.which("gatelab", path=str(Path(sys.executable).parent))
    assert script is not None, "the gatelab console script is not installed next to python"
    for launcher in ([sys.executable, "-m", "gatelab"], [script]):
        ok = subprocess.run([*launcher, "list"], capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0 and ok.stderr == ""
        assert "e_gem" in ok.stdout and "N=1, eps=0.0001" in ok.stdout
        bad = subprocess.run(
            [*launcher, "show", "gleu"], capture_output=True, text=True, timeout=120
        )
        assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
        assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("gatelab: error: unknown")
        usage = subprocess.run([*launcher, "bogus"], capture_output=True, text=True, timeout=120)
        assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_cli_does_not_import_heavy_extras():
    code = (
        "import sys, io, contextlib, gatelab.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    gatelab.cli.main(['list']); gatelab.cli.main(['show', 'gelu', '--json'])\n"
        "heavy = {'matplotlib', 'sympy', 'scipy', 'pandas', 'mpmath'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_command_gets_the_closest_names(capsys):
    from gatelab.cli import main

    assert main(["lsit"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'lsit' (did you mean list?)" in err and "reproduce" in err
    assert main(["zzzz"]) == 2 and "did you mean" not in capsys.readouterr().err


def test_store_warnings_are_shown_by_one_handler_however_often_main_runs():
    import warnings

    from gatelab.cli import main

    main(["list", "--json"])
    first = warnings.showwarning
    main(["list", "--json"])
    assert warnings.showwarning is first and getattr(first, "gatelab_store", False)
