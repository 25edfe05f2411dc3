"""gatelab.analysis.plots: the sampled f, f′, f″ (checked against closed forms derived here,
not against the library), the jump breaking and y-limits, and the PNG files themselves."""

import math
import struct

import numpy as np
import pytest

pytest.importorskip("matplotlib")
plots = pytest.importorskip("gatelab.analysis.plots")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEN = ["gelu", "gelu_tanh", "gelu_sigmoid", "silu", "gem", "gem(N=2)", "e_gem", "se_gem"]
TEN += ["relu", "elu"]


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def Phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- sample -----------------------------------------------------------------------------------


def test_sample_gelu_matches_closed_forms():
    xs = np.linspace(-6, 6, 241)
    s = plots.sample("gelu", xs)
    assert set(s) == {"x", "f", "df", "d2f", "gate"}
    assert all(s[k].dtype == np.float64 and s[k].shape == xs.shape for k in s)
    np.testing.assert_array_equal(s["x"], xs)
    for i, x in enumerate(xs):  # f = xΦ, f′ = Φ + xφ, f″ = (2 − x²)φ, gate Φ
        assert s["f"][i] == pytest.approx(x * Phi(x), rel=1e-13, abs=1e-300)
        assert s["df"][i] == pytest.approx(Phi(x) + x * phi(x), rel=1e-12, abs=1e-15)
        assert s["d2f"][i] == pytest.approx((2 - x * x) * phi(x), rel=1e-12, abs=1e-15)
        assert s["gate"][i] == pytest.approx(Phi(x), rel=1e-13, abs=1e-300)
    assert s["d2f"][120] == pytest.approx(math.sqrt(2 / math.pi), rel=1e-15)  # x = 0


def test_sample_piecewise_entries():
    xs = np.array([-4.0, -2.0, -0.5, 0.5, 2.0, 4.0])
    relu = plots.sample("relu", xs)
    np.testing.assert_array_equal(relu["df"], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(relu["d2f"], np.zeros(6))  # f′ piecewise constant
    hs = plots.sample("hardswish", xs)  # x(x + 3)/6 on [−3, 3]: f′ = (2x + 3)/6, f″ = 1/3
    inside = np.abs(xs) < 3
    np.testing.assert_allclose(hs["df"][inside], (2 * xs[inside] + 3) / 6, rtol=1e-15)
    np.testing.assert_allclose(hs["d2f"][inside], 1 / 3, rtol=1e-15)
    np.testing.assert_array_equal(hs["d2f"][~inside], 0.0)
    gem = plots.sample("gem(N=2)", xs)  # x·t/(1 + t), t = x⁴ for x > 0
    t = np.maximum(xs, 0) ** 4
    np.testing.assert_allclose(gem["f"], xs * t / (1 + t), rtol=1e-15)
    np.testing.assert_allclose(gem["gate"], t / (1 + t), rtol=1e-15)
    assert "gate" not in plots.sample("tanh", xs)
    with pytest.raises(ValueError, match="unknown activation"):
        plots.sample("gleu", xs)


# --- jumps and limits -------------------------------------------------------------------------


def test_break_jumps_splits_discontinuities_only():
    xs = np.linspace(-5, 5, 4001)
    relu = plots.sample("relu", xs)
    x, y = plots.break_jumps(xs, relu["df"])
    assert np.isnan(y).sum() == 1 and x.size == xs.size + 1
    gap = int(np.flatnonzero(np.isnan(y))[0])
    assert x[gap - 1] < x[gap] < x[gap + 1] and abs(x[gap]) < 0.01
    hs = plots.sample("hardswish", xs)
    for key in ("df", "d2f"):  # jumps at x = ±3
        x, y = plots.break_jumps(xs, hs[key])
        assert sorted(np.round(x[np.isnan(y)], 2)) == [-3.0, 3.0]
    for spec in ("gelu", "gem(N=3)", "e_gem"):  # continuous, however steep
        s = plots.sample(spec, xs)
        for key in ("f", "df"):
            x, y = plots.break_jumps(xs, s[key])
            assert not np.isnan(y).any(), (spec, key)
    x, y = plots.break_jumps(xs, np.zeros_like(xs))
    assert x.size == xs.size and not np.isnan(y).any()


def test_robust_limits_clip_spikes_not_bumps():
    xs = np.linspace(-5, 5, 4001)
    bump = plots.sample("gem(N=3)", xs)["d2f"]  # a peak ~5.6 a few tenths wide
    limits, clipped = plots.robust_limits([bump, np.zeros_like(xs)])
    assert not clipped and limits[0] < bump.min() and limits[1] > bump.max()
    spike = plots.sample("e_gem", xs)["d2f"]  # ±O(1/√ε) within 0.05 of zero
    limits, clipped = plots.robust_limits([spike, plots.sample("gelu", xs)["d2f"]])
    assert clipped and limits[1] < spike.max() / 4 and limits[1] > 0.8  # gelu″(0) ≈ 0.798
    assert plots.robust_limits([np.zeros(10)]) == ((-0.5, 0.5), False)
    assert plots.robust_limits([np.full(3, np.nan)]) == (None, False)


# --- the figures ------------------------------------------------------------------------------


def test_plot_functions_writes_legible_pngs(tmp_path):
    paths = plots.plot_functions(TEN, tmp_path / "figs")
    names = [p.name for p in paths]
    assert names == ["functions.png", "gates.png", "difference_to_relu.png"]
    for path in paths:
        assert path.parent == tmp_path / "figs" and path.stat().st_size > 30_000
    width, height = png_size(paths[0])  # (15, 4.5) inches plus a legend, at 130 dpi
    assert 1800 <= width <= 2100 and 550 <= height <= 800
    for path in paths[1:]:
        width, height = png_size(path)
        assert 1000 <= width <= 1500 and 500 <= height <= 800


def test_plot_functions_without_gated_specs(tmp_path):
    paths = plots.plot_functions(["tanh", "elu", "ELU"], tmp_path, x_range=(-2, 2))
    assert [p.name for p in paths] == ["functions.png", "difference_to_relu.png"]
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in paths)


def test_plot_functions_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown activation"):
        plots.plot_functions(["gleu"], tmp_path)
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_functions([], tmp_path)
    with pytest.raises(ValueError, match="increasing"):
        plots.plot_functions(["gelu"], tmp_path, x_range=(1, -1))


def test_styles_distinct_beyond_six():
    pytest.importorskip("matplotlib")
    styles = plots._styles(12)
    pairs = {(s["color"], s.get("linestyle", "-")) for s in styles}
    assert len(pairs) == 12
    assert {s.get("linestyle") for s in styles} == set(plots.LINESTYLES)
    assert all("linestyle" not in s for s in plots._styles(5))
