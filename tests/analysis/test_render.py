"""gatelab.analysis.render: Markdown cards, the comparison table, the report folder and the
terminal summary, from property cards written here by hand (values computed here with mpmath
from GELU's closed forms), so these tests do not depend on gatelab.analysis.analyze."""

import copy
import json
import math
import re

import pytest

mp = pytest.importorskip("mpmath")
render = pytest.importorskip("gatelab.analysis.render")


def gelu_facts():
    """GELU's facts from f = xΦ, f′ = Φ + xφ, f″ = (2 − x²)φ."""
    with mp.workdps(30):
        Phi, phi = mp.ncdf, mp.npdf
        f = lambda x: x * Phi(x)  # noqa: E731
        df = lambda x: Phi(x) + x * phi(x)  # noqa: E731
        argmin = mp.findroot(df, -0.75)
        lip_at = mp.sqrt(2)  # f″ = 0
        d = lambda x: f(x) - max(x, 0)  # noqa: E731

        def moments(s):
            def expect(g):
                return mp.quad(lambda u: g(s * u) * phi(u), [-mp.inf, 0, mp.inf])

            return {
                "s": s,
                "mean": float(expect(f)),
                "second_moment": float(expect(lambda x: f(x) ** 2)),
                "derivative_second_moment": float(expect(lambda x: df(x) ** 2)),
            }

        rows = [moments(s) for s in (0.25, 0.5, 1.0, 2.0, 4.0)]
        l2 = mp.sqrt(mp.quad(lambda x: d(x) ** 2, [-mp.inf, 0, mp.inf]))
        return {
            "argmin": float(argmin),
            "min_value": float(f(argmin)),
            "lipschitz_argmax": float(lip_at),
            "lipschitz": float(df(lip_at)),
            "sup_second_derivative": float(2 * phi(0)),
            "normal_moments_by_scale": rows,
            "l2": float(l2),
            "range_hi": float(f(3)),
        }


FACTS = gelu_facts()
UNIT = FACTS["normal_moments_by_scale"][2]

GELU = {
    "name": "gelu",
    "spec": "gelu",
    "params": {},
    "family": "gelu",
    "formula_latex": r"x\,\Phi(x) = \tfrac{x}{2}\left(1 + \operatorname{erf}(x/\sqrt{2})\right)",
    "citation": "Hendrycks & Gimpel, 'Gaussian Error Linear Units (GELUs)', arXiv:1606.08415",
    "symbolic": True,
    "precision": "mpmath, 30 digits",
    "derivative_latex": r"\Phi(x) + x \phi(x)",
    "second_derivative_latex": r"\left(2 - x^{2}\right) \phi(x)",
    "smoothness": "inf",
    "junctions": [],
    "limit_neg_inf": 0.0,
    "limit_pos_inf": "inf",
    "asymptote_neg_inf": {"slope": 0.0, "intercept": 0.0},
    "asymptote_pos_inf": {"slope": 1.0, "intercept": 0.0},
    "zeros": [0.0],
    "zero_intervals": [],
    "stationary_points": [FACTS["argmin"]],
    "min_value": FACTS["min_value"],
    "argmin": FACTS["argmin"],
    "bounded_below": True,
    "max_value": "inf",
    "bounded_above": False,
    "monotonic": False,
    "decreasing_intervals": [["-inf", FACTS["argmin"]]],
    "convex": False,
    "non_convex_intervals": [["-inf", -math.sqrt(2)], [math.sqrt(2), "inf"]],
    "lipschitz": FACTS["lipschitz"],
    "lipschitz_argmax": FACTS["lipschitz_argmax"],
    "sup_second_derivative": FACTS["sup_second_derivative"],
    "gated": True,
    "gate_is_cdf": True,
    "normal_mean": UNIT["mean"],
    "normal_second_moment": UNIT["second_moment"],
    "normal_derivative_second_moment": UNIT["derivative_second_moment"],
    "init_gain": 1 / math.sqrt(UNIT["second_moment"]),
    "normal_moments_by_scale": FACTS["normal_moments_by_scale"],
    "range_3s": [FACTS["min_value"], FACTS["range_hi"]],
    "lp_distance_to_relu": {"1": 0.5, "2": FACTS["l2"], "inf": -FACTS["min_value"]},
    "reference": None,
    "max_abs_error": None,
    "max_rel_error": None,
    "max_abs_error_derivative": None,
    "max_rel_error_derivative": None,
}

RELU_VS_GELU = {
    **copy.deepcopy(GELU),
    "name": "relu",
    "spec": "relu",
    "family": "baseline",
    "formula_latex": r"\max(x, 0)",
    "smoothness": 0,
    "junctions": [0.0],
    "min_value": 0.0,
    "argmin": ["-inf", 0.0],
    "monotonic": True,
    "decreasing_intervals": [],
    "convex": True,
    "non_convex_intervals": [],
    "lipschitz": 1.0,
    "lipschitz_argmax": [0.0, "inf"],
    "sup_second_derivative": 0.0,
    "lp_distance_to_relu": {"1": 0.0, "2": 0.0, "inf": 0.0},
    "reference": "gelu",
    "max_abs_error": -FACTS["min_value"],
    "max_rel_error": 1.0,
    "max_abs_error_derivative": 0.5,
    "max_rel_error_derivative": 1.0,
}

E_GEM = {
    **copy.deepcopy(GELU),
    "name": "e_gem",
    "spec": "e_gem(N=2)",
    "params": {"N": 2, "eps": 1e-4},
    "family": "gem",
    "smoothness": 4,
    "lp_distance_to_relu": {"1": "inf", "2": 0.00123456789, "inf": 0.0050000001},
    "lp_table_over_eps": [
        {"eps": eps, "N": 2, "1": "inf", "2": 0.1 * eps**0.25, "inf": 0.5 * eps**0.25}
        for eps in (1e-1, 1e-2, 1e-4, 1e-6)
    ],
}

USER = {  # a user activation without a sympy form: symbolic fields unavailable
    **copy.deepcopy(GELU),
    "name": "my_act",
    "spec": "my_act",
    "family": "user",
    "formula_latex": "",
    "symbolic": False,
    "precision": "float64 (numeric only)",
    "derivative_latex": None,
    "second_derivative_latex": None,
    "smoothness": None,
    "asymptote_neg_inf": None,
    "asymptote_pos_inf": None,
    "gate_is_cdf": None,
    "lipschitz": None,
    "lipschitz_argmax": None,
}


def test_hand_written_facts_are_gelus():  # the card above holds GELU's known constants
    assert FACTS["min_value"] == pytest.approx(-0.16997120747990, rel=1e-12)
    assert FACTS["argmin"] == pytest.approx(-0.75179152469356, rel=1e-12)
    assert UNIT["mean"] == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=1e-14)
    assert FACTS["lipschitz"] == pytest.approx(1.12890414518515, rel=1e-12)


# --- formatting helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (-0.16997120747990366, "-0.169971"),
        (1.1289041451851547, "1.1289"),
        (0.5, "0.5"),
        (2, "2"),
        (0.0, "0"),
        (-0.0, "0"),
        (1.5260207627370283e20, "1.52602e+20"),
        ("inf", "∞"),
        ("-inf", "-∞"),
        (math.inf, "∞"),
        (None, "unavailable"),
        (math.nan, "unavailable"),
        (True, "yes"),
    ],
)
def test_number(value, text):
    assert render.number(value) == text


def test_intervals_locations_and_extrema():
    assert render.interval(["-inf", 0.0]) == "(-∞, 0]"
    assert render.interval([1.4142135623730951, "inf"]) == "[1.41421, ∞)"
    assert render.interval([-3.0, -1.5]) == "[-3, -1.5]"
    assert render.items([]) == "none" and render.items(None) == "unavailable"
    assert render.items([1, 2, 3, 4, 5], limit=2) == "1, 2, … (3 more)"
    assert render.extremum(GELU["min_value"], GELU["argmin"]) == "-0.169971 at x = -0.751792"
    assert render.extremum(0.0, ["-inf", 0.0]) == "0 on (-∞, 0]"
    assert render.extremum(-1.0, "-inf") == "-1, approached as x → -∞ (not attained)"
    assert render.extremum(1.0, "inf") == "1, approached as x → +∞ (not attained)"
    assert render.extremum("inf", None) == "∞ (unbounded)"
    assert render.extremum(None, 1.0) == "unavailable"
    assert render.smoothness("inf").startswith("C^∞") and render.smoothness(2) == "C^2"
    assert render.smoothness(0).startswith("C^0") and render.smoothness(None) == "unavailable"


@pytest.mark.parametrize(
    "line, text",
    [
        ({"slope": 1.0, "intercept": 0.0}, "y = x"),
        ({"slope": 0.0, "intercept": 0.0}, "y = 0"),
        ({"slope": 0.0, "intercept": -1.0}, "y = -1"),
        ({"slope": 0.01, "intercept": 0.0}, "y = 0.01·x"),
        ({"slope": 2.0, "intercept": -0.5}, "y = 2·x - 0.5"),
        ({"slope": -1.0, "intercept": 0.25}, "y = -x + 0.25"),
    ],
)
def test_asymptote(line, text):
    assert render.asymptote(line) == text


def test_asymptote_missing():
    assert render.asymptote(None, symbolic=True) == "none"
    assert render.asymptote(None, symbolic=False) == "unavailable"


def test_json_ready_is_strict_json():
    data = {"a": (1.0, math.nan, math.inf, -math.inf), 2: [True, None, "x"]}
    ready = render.json_ready(data)
    assert ready == {"a": [1.0, None, "inf", "-inf"], "2": [True, None, "x"]}
    json.dumps(ready, allow_nan=False)
    assert render.json_ready(GELU) == GELU
    np = pytest.importorskip("numpy")
    assert render.json_ready({"x": np.float64(0.5), "y": np.arange(2)}) == {"x": 0.5, "y": [0, 1]}
    assert render.json_ready(mp.mpf("0.25")) == 0.25


@pytest.mark.parametrize(
    "spec, name",
    [
        ("gelu", "gelu"),
        ("e_gem(N=2)", "e_gem_N=2"),
        ("e_gem(N=2, eps=0.001)", "e_gem_N=2_eps=0_001"),
        ("silu(beta=2.0)", "silu_beta=2_0"),
        ("leaky_relu(negative_slope=-0.2)", "leaky_relu_negative_slope=-0_2"),
        ("../../etc/passwd", "etc_passwd"),
        ("()", "activation"),
    ],
)
def test_safe_name(spec, name):
    assert render.safe_name(spec) == name
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", name)


def test_card_files_are_unique():
    cards = [{"spec": "gelu"}, {"spec": "gelu"}, {"spec": "comparison"}, {"spec": "gelu"}]
    assert render.card_files(cards) == ["gelu.md", "gelu-2.md", "comparison-2.md", "gelu-3.md"]


# --- Markdown ---------------------------------------------------------------------------------


def tables(markdown):
    """The Markdown tables in `markdown`, as lists of rows of cells (escaped pipes kept)."""
    found, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif current:
            found.append(current)
            current = []
    return found


def assert_well_formed(markdown):
    for rows in tables(markdown):
        widths = {len(row) for row in rows}
        assert len(widths) == 1, rows
        assert all(re.fullmatch(r"-{3,}:?", c) for c in rows[1]), rows[1]


def test_card_markdown_gelu():
    text = render.card_markdown(GELU)
    assert_well_formed(text)
    assert text.startswith("# `gelu`\n")
    assert f"$$\nf(x) = {GELU['formula_latex']}\n$$" in text
    assert "f'(x) = \\Phi(x) + x \\phi(x)" in text and GELU["citation"] in text
    for heading in ("## Properties", "## Under normalised inputs", "## Distance to ReLU"):
        assert heading in text
    assert "Against the reference" not in text and "ε-GEM" not in text
    props = dict(tables(text)[0][2:])
    assert props["Smoothness"].startswith("C^∞")
    assert props["Limit as x → -∞"] == "0" and props["Limit as x → +∞"] == "∞"
    assert props["Asymptote as x → +∞"] == "y = x"
    assert props["Minimum"] == "-0.169971 at x = -0.751792"
    assert props["Maximum"] == "∞ (unbounded)" and props["Bounded above"] == "no"
    assert props["Monotonic"] == "no: decreasing on (-∞, -0.751792]"
    assert props["Convex"] == "no: not convex on (-∞, -1.41421], [1.41421, ∞)"
    assert props["Lipschitz constant sup \\|f′\\|"] == "1.1289 at x = 1.41421"
    assert props["sup \\|f″\\|"] == "0.797885"
    assert props["Gate F is a CDF (rises from 0 to 1)"] == "yes"
    moments = tables(text)[1]
    assert moments[0] == ["s", "E[f(z)]", "E[f(z)²]", "E[f′(z)²]"]
    assert [row[0] for row in moments[2:]] == ["0.25", "0.5", "1", "2", "4"]
    assert moments[4][1:] == ["0.282095", "0.425221", "0.455851"]
    assert "Initialisation gain 1/√E[f(z)²] at s = 1: **1.53353**" in text
    assert "[-0.169971, 2.99595]" in text
    assert tables(text)[2][2] == ["0.5", "0.248526", "0.169971"]


def test_card_markdown_reference_and_eps_table():
    text = render.card_markdown(RELU_VS_GELU)
    assert_well_formed(text)
    assert "## Against the reference `gelu`" in text
    errors = tables(text)[-1]
    assert errors[2] == ["max abs error", "0.169971", "0.5"]
    assert errors[3] == ["max rel error", "1", "1"]
    props = dict(tables(text)[0][2:])
    assert props["Minimum"] == "0 on (-∞, 0]" and props["Monotonic"] == "yes"
    assert props["Lipschitz constant sup \\|f′\\|"] == "1 on [0, ∞)"
    text = render.card_markdown(E_GEM)
    assert_well_formed(text)
    assert text.startswith("# `e_gem(N=2)`") and "N = 2, eps = 0.0001" in text
    eps = tables(text)[-1]
    assert eps[0] == ["ε", "N", "L1", "L2", "L∞"]
    assert [row[0] for row in eps[2:]] == ["0.1", "0.01", "0.0001", "1e-06"]
    assert eps[2][2] == "∞ (diverges)"
    assert tables(text)[2][2][:2] == ["∞ (diverges)", "0.00123457"]


def test_card_markdown_unavailable_fields():
    text = render.card_markdown(USER)
    assert_well_formed(text)
    props = dict(tables(text)[0][2:])
    assert props["Smoothness"] == "unavailable"
    assert props["Asymptote as x → -∞"] == "unavailable"
    assert props["Lipschitz constant sup \\|f′\\|"] == "unavailable"
    assert props["Gate F is a CDF (rises from 0 to 1)"] == "unavailable"
    assert "Symbolic derivatives: unavailable" in text and "numeric" in text
    assert "Formula: unavailable" in text
    bare = render.card_markdown({"spec": "bare"})  # nothing but a name: still renders
    assert bare.startswith("# `bare`") and "unavailable" in bare
    assert_well_formed(bare)


def test_comparison_markdown():
    text = render.comparison_markdown([GELU, E_GEM, USER], links={"gelu": "gelu.md"})
    assert_well_formed(text)
    rows = tables(text)[0]
    assert rows[0] == [
        "spec", "smoothness", "min (argmin)", "Lipschitz (at)", "monotonic", "convex",
        "E[f(z)]", "E[f(z)²]", "init gain", "L2 to ReLU",
    ]  # fmt: skip
    assert rows[2] == [
        "[`gelu`](gelu.md)", "C^∞", "-0.169971 (-0.751792)", "1.1289 (1.41421)", "no", "no",
        "0.282095", "0.425221", "1.53353", "0.248526",
    ]  # fmt: skip
    assert rows[3][0] == "`e_gem(N=2)`" and rows[3][1] == "C^4"
    assert rows[4][1] == "unavailable" and rows[4][3] == "unavailable"


def test_comparison_markdown_with_reference():
    same = {**RELU_VS_GELU, "spec": "relu"}
    rows = tables(render.comparison_markdown([same, {**GELU, "reference": "gelu"}]))[0]
    assert rows[0][-1] == "max abs error vs `gelu`" and len(rows[0]) == 11
    assert rows[2][2] == "0 (on (-∞, 0])" and rows[2][-1] == "0.169971"
    mixed = tables(render.comparison_markdown([RELU_VS_GELU, GELU]))[0]
    assert mixed[0][-2:] == ["reference", "max abs error"]
    assert mixed[2][-2:] == ["`gelu`", "0.169971"] and mixed[3][-2:] == ["-", "-"]


# --- the report folder and the terminal summary -----------------------------------------------


def test_write_report(tmp_path):
    pytest.importorskip("matplotlib")
    cards = [GELU, E_GEM, RELU_VS_GELU]
    out = tmp_path / "report" / "nested"
    paths = render.write_report(cards, out)
    names = [p.name for p in paths]
    assert names[0] == "comparison.md"
    assert set(names) == {
        "comparison.md", "gelu.md", "e_gem_N=2.md", "relu.md", "cards.json",
        "functions.png", "gates.png", "difference_to_relu.png",
    }  # fmt: skip
    assert all(p.parent == out and p.is_file() for p in paths)
    assert json.loads((out / "cards.json").read_text()) == render.json_ready(cards)
    assert (out / "gelu.md").read_text() == render.card_markdown(GELU)
    comparison = (out / "comparison.md").read_text()
    assert_well_formed(comparison)
    links = re.findall(r"\]\(([^)]+)\)", comparison)
    assert {"functions.png", "gates.png", "difference_to_relu.png", "cards.json"} <= set(links)
    assert {"gelu.md", "e_gem_N=2.md", "relu.md"} <= set(links)
    assert all((out / link).is_file() for link in links)  # every link is relative and resolves
    assert "![" in comparison and "`gelu`" in comparison


def test_write_report_needs_cards(tmp_path):
    with pytest.raises(ValueError):
        render.write_report([], tmp_path)


def test_summary_text():
    text = render.summary_text(GELU)
    lines = text.splitlines()
    assert lines[0].startswith("gelu  (gelu family")
    assert "  minimum:     -0.169971 at x = -0.751792" in lines
    assert any(line.startswith("  smoothness:") and "C^∞" in line for line in lines)
    assert any("init gain = 1.53353" in line for line in lines)
    assert not any(line.lstrip().startswith("vs ") for line in lines)
    text = render.summary_text(RELU_VS_GELU)
    assert "  vs gelu:" in text and "max abs error 0.169971" in text
    many = {**GELU, "decreasing_intervals": [[i, i + 0.5] for i in range(9)]}
    assert "… (5 more)" in render.summary_text(many)
    assert "unavailable" in render.summary_text(USER)
