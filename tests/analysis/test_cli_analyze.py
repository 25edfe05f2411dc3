"""`gatelab analyze`: JSON and text output, the report folder, and one-line errors with exit
status 2. The real analysis runs once (gelu and gem); the other tests replace
gatelab.analysis.analyze by a stub that returns those cards, to stay fast."""

import contextlib
import io
import json
import math
import subprocess
import sys

import pytest

from gatelab.cli import main

analysis = pytest.importorskip("gatelab.analysis")
if not hasattr(analysis, "analyze"):
    pytest.skip("gatelab.analysis.analyze does not exist yet", allow_module_level=True)

KEYS = {
    "name", "spec", "params", "family", "formula_latex", "citation", "symbolic", "precision",
    "derivative_latex", "second_derivative_latex", "smoothness", "junctions", "limit_neg_inf",
    "limit_pos_inf", "asymptote_neg_inf", "asymptote_pos_inf", "zeros", "zero_intervals",
    "stationary_points", "min_value", "argmin", "bounded_below", "max_value", "bounded_above",
    "monotonic", "decreasing_intervals", "convex", "non_convex_intervals", "lipschitz",
    "lipschitz_argmax", "sup_second_derivative", "gated", "gate_is_cdf", "normal_mean",
    "normal_second_moment", "normal_derivative_second_moment", "init_gain",
    "normal_moments_by_scale", "range_3s", "lp_distance_to_relu", "reference", "max_abs_error",
    "max_rel_error", "max_abs_error_derivative", "max_rel_error_derivative",
}  # fmt: skip


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def strict_json(text):
    def refuse(name):
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def real_cards():
    """`gatelab analyze gelu gem --json`, run once for the module."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["analyze", "gelu", "gem", "--json"])
    assert (code, err.getvalue()) == (0, "")
    return strict_json(out.getvalue())


@pytest.fixture
def stub(monkeypatch, real_cards):
    """gatelab.analysis.analyze replaced: returns the real card of the same name (else gelu's,
    renamed), and records its calls."""
    calls = []
    by_spec = {card["spec"]: card for card in real_cards}

    def analyze(spec, reference=None):
        calls.append((spec, reference))
        card = dict(by_spec.get(spec, {**by_spec["gelu"], "spec": spec, "name": spec}))
        if reference is not None:
            card.update(
                reference=reference,
                max_abs_error=0.125,
                max_rel_error=0.5,
                max_abs_error_derivative=0.25,
                max_rel_error_derivative=1.0,
            )
        return card

    monkeypatch.setattr(analysis, "analyze", analyze)
    return calls


# --- the real analysis ------------------------------------------------------------------------


def test_json_cards(real_cards):
    assert [card["spec"] for card in real_cards] == ["gelu", "gem"]
    for card in real_cards:
        assert KEYS <= set(card), KEYS - set(card)
        assert "lp_table_over_eps" not in card
        assert card["reference"] is None and card["max_abs_error"] is None
        assert set(card["lp_distance_to_relu"]) == {"1", "2", "inf"}
        assert card["gated"] is True and card["symbolic"] is True
    gelu, gem = real_cards
    assert gelu["params"] == {} and gem["params"] == {"N": 1}
    assert gelu["smoothness"] == "inf" and gelu["limit_pos_inf"] == "inf"
    # GELU's closed forms: f′ = Φ + xφ = 0 at the minimum, E[xΦ(x)] = 1/(2√π), f″(0) = √(2/π)
    assert gelu["argmin"] == pytest.approx(-0.7517915246935645, rel=1e-9)
    assert gelu["min_value"] == pytest.approx(-0.16997120747990366, rel=1e-9)
    assert gelu["normal_mean"] == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=1e-9)
    assert gelu["sup_second_derivative"] == pytest.approx(math.sqrt(2 / math.pi), rel=1e-9)
    assert gelu["init_gain"] == pytest.approx(gelu["normal_second_moment"] ** -0.5, rel=1e-12)
    assert gem["min_value"] == 0 and gem["monotonic"] is True


# --- output, with the stub --------------------------------------------------------------------


def test_text_summary(capsys, stub):
    code, out, err = run(capsys, "analyze", "gelu", "gem")
    assert (code, err) == (0, "")
    gelu, gem = out.split("\n\n")
    assert gelu.startswith("gelu  (gelu family") and gem.startswith("gem  (gem family")
    assert "  minimum:     -0.169971 at x = -0.751792" in gelu.splitlines()
    assert "C^∞" in gelu and "C^2" in gem and "0 on (-∞, 0]" in gem
    assert "report:" not in out and stub == [("gelu", None), ("gem", None)]


def test_specs_are_canonical_and_analysed_once(capsys, stub):
    cards = strict_json(
        run(capsys, "analyze", "gelu", "GELU_ERF", "swish(beta=2)", "--json", "--reference",
            "Quick_GELU")[1]
    )  # fmt: skip
    assert stub == [("gelu", "gelu_sigmoid"), ("silu(beta=2.0)", "gelu_sigmoid")]
    assert [c["spec"] for c in cards] == ["gelu", "silu(beta=2.0)"]
    assert cards[0]["reference"] == "gelu_sigmoid" and cards[0]["max_abs_error"] == 0.125


def test_reference_in_text(capsys, stub):
    code, out, _ = run(capsys, "analyze", "gem", "--reference", "relu")
    assert code == 0 and "  vs relu:" in out and "max abs error 0.125" in out


def test_json_is_strict(capsys, monkeypatch, real_cards):
    card = {**real_cards[0], "min_value": float("nan"), "max_value": float("inf")}
    monkeypatch.setattr(analysis, "analyze", lambda spec, reference=None: card)
    code, out, err = run(capsys, "analyze", "gelu", "--json")
    assert (code, err) == (0, "")
    data = strict_json(out)
    assert data[0]["min_value"] is None and data[0]["max_value"] == "inf"


def test_out_writes_the_report(capsys, stub, tmp_path):
    out_dir = tmp_path / "report"
    code, out, err = run(capsys, "analyze", "gelu", "gem(N=1)", "--out", str(out_dir))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"report: {out_dir / 'comparison.md'}"
    names = {p.name for p in out_dir.iterdir()}
    assert {"comparison.md", "gelu.md", "gem.md", "cards.json", "functions.png"} <= names
    assert [c["spec"] for c in json.loads((out_dir / "cards.json").read_text())] == [
        "gelu",
        "gem",
    ]
    # with --json, stdout is the JSON alone
    code, out, _ = run(capsys, "analyze", "gelu", "--json", "--out", str(tmp_path / "j"))
    assert code == 0 and strict_json(out)[0]["spec"] == "gelu"
    assert (tmp_path / "j" / "comparison.md").is_file()


# --- errors -----------------------------------------------------------------------------------


def assert_one_line_error(result, fragment):
    code, out, err = result
    assert code == 2 and out == ""
    assert err.startswith("gatelab: error: ") and err.count("\n") == 1
    assert fragment in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["gelu", "gleu"], "unknown activation 'gleu'"),
        (["gem(N=0)"], "must be a positive integer"),
        (["gelu", "--reference", "nope"], "unknown activation 'nope'"),
        (["gelu("], "cannot parse activation spec"),
    ],
)
def test_bad_specs(capsys, stub, argv, fragment):
    assert_one_line_error(run(capsys, "analyze", *argv), fragment)
    assert stub == []  # checked before any analysis starts


def test_out_is_a_file(capsys, stub, tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    assert_one_line_error(run(capsys, "analyze", "gelu", "--out", str(path)), "is not a directory")
    assert stub == []


def test_analysis_value_error(capsys, monkeypatch):
    def analyze(spec, reference=None):
        raise ValueError("no way\nto do it")

    monkeypatch.setattr(analysis, "analyze", analyze)
    assert_one_line_error(run(capsys, "analyze", "gelu"), "cannot analyze gelu: no way to do it")


def test_missing_extra_inside_analyze(capsys, monkeypatch):
    def analyze(spec, reference=None):
        raise ModuleNotFoundError("No module named 'scipy'", name="scipy")

    monkeypatch.setattr(analysis, "analyze", analyze)
    assert_one_line_error(run(capsys, "analyze", "gelu"), "pip install 'gatelab[analysis]'")


def test_missing_matplotlib_for_the_report(capsys, stub, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    result = run(capsys, "analyze", "gelu", "--out", str(tmp_path / "r"))
    assert_one_line_error(result, "needs matplotlib")
    assert "pip install 'gatelab[analysis]'" in result[2]


def test_other_import_errors_are_not_hidden(monkeypatch):
    def analyze(spec, reference=None):
        raise ImportError("cannot import name 'x' from 'gatelab.analysis.card'")

    monkeypatch.setattr(analysis, "analyze", analyze)
    with pytest.raises(ImportError, match="cannot import name"):
        main(["analyze", "gelu"])


def test_missing_extra_in_a_fresh_interpreter():
    code = (
        "import sys\n"
        "sys.modules['sympy'] = None  # as if the analysis extra were not installed\n"
        "from gatelab.cli import main\n"
        "sys.exit(main(['analyze', 'gelu']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("gatelab: error: gatelab analyze needs sympy")
    assert "pip install 'gatelab[analysis]'" in done.stderr


def test_help_does_not_import_the_extras():
    code = (
        "import sys, io, contextlib, gatelab.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert gatelab.cli.main(['analyze', '--help']) == 0\n"
        "    assert gatelab.cli.main(['analyze', 'gleu']) == 2\n"
        "heavy = {'matplotlib', 'sympy', 'scipy', 'mpmath'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
