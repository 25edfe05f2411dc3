"""The critical-difference diagram: a valid PNG, the cliques it draws are the result's, and its
labels stay apart for few and many activations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("scipy")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib depends on pillow)

from gatelab.report.cd_diagram import cd_figure, critical_difference_diagram  # noqa: E402
from gatelab.stats import across  # noqa: E402

TEN = (
    "gelu", "relu", "silu", "e_gem(N=1, eps=1e-4)", "mish", "elu", "tanh", "softplus",
    "leaky_relu(0.01)", "swiglu",
)  # fmt: skip


def result_for(activations, n_settings=12, seed=2):
    """Friedman over settings where activation i scores 0.3·i + noise: several cliques."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"task{s}", name, k, 0.3 * i + s + rng.normal(), True)
        for s in range(n_settings)
        for i, name in enumerate(activations)
        for k in range(3)
    ]
    return across.friedman(pd.DataFrame(rows, columns=list(across.COLUMNS)))


def drawn_cliques(fig, result):
    """The activations whose mean rank lies under each clique bar, top bar first."""
    ax = fig.axes[0]
    bars = [line for line in ax.get_lines() if line.get_gid() == "clique"]
    cliques = []
    for bar in sorted(bars, key=lambda line: -line.get_ydata()[0]):
        low, high = sorted(bar.get_xdata())
        assert bar.get_ydata()[0] < 0  # below the rank axis
        cliques.append(tuple(n for n, r in result.mean_ranks.items() if low <= r <= high))
    return cliques


def test_writes_a_png_of_plausible_size(tmp_path):
    result = result_for(TEN)
    path = critical_difference_diagram(result, tmp_path / "figs" / "cd.png", title="Across tasks")
    assert path == tmp_path / "figs" / "cd.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        width, height = image.size
        assert image.info.get("dpi", (150, 150))[0] == pytest.approx(150, abs=1)
    assert 1000 < width < 3000 and 250 < height < 1200  # 10 activations at 150 dpi
    assert [p.name for p in path.parent.iterdir()] == ["cd.png"]  # no temporary file left


@pytest.mark.parametrize("activations", [TEN, ("gelu", "relu", "silu")])
def test_cliques_drawn_are_the_results(activations):
    result = result_for(activations)
    assert drawn_cliques(cd_figure(result), result) == result.cliques


def test_several_cliques_are_drawn_for_ten_activations():
    result = result_for(TEN)
    assert len(result.cliques) >= 3  # the example exercises stacked bars
    assert drawn_cliques(cd_figure(result), result) == result.cliques


@pytest.mark.parametrize("activations", [TEN, ("gelu", "relu", "silu")])
def test_labels_name_every_activation_and_do_not_overlap(activations):
    result = result_for(activations)
    fig = cd_figure(result, title="Across tasks")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    labels = {t.get_text() for t in texts}
    for name, rank in result.mean_ranks.items():
        assert f"{name} ({rank:.2f})" in labels
    boxes = [t.get_window_extent(renderer) for t in texts]
    for (a, box_a), (b, box_b) in itertools.combinations(zip(texts, boxes), 2):
        assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())
    best = next(iter(result.mean_ranks))
    label = next(t for t in texts if t.get_text().startswith(f"{best} ("))
    axis_left = fig.axes[0].transData.transform((1, 0))[0]
    assert label.get_window_extent(renderer).x1 < axis_left  # the best is labelled on the left


def test_styles_colour_the_lines():
    result = result_for(("gelu", "relu", "silu"))
    fig = cd_figure(result, styles={"gelu": {"color": "#123456"}})
    colours = {to_hex(line.get_color()) for line in fig.axes[0].get_lines()}
    assert "#123456" in colours
    assert {"#737373"} <= colours  # relu and silu, not in styles: grey as in figures.style_of
