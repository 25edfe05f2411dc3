"""benchmarks/peak_memory.py: the saved-tensor count it reports, checked on a tiny MLP against
what autograd must keep by hand: each Linear's input (for its weight gradient) and each
activation's input (gatelab's autograd Function saves nothing else)."""

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

import gatelab

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "peak_memory.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gatelab_bench_peak_memory", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BATCH, WIDTH, DEPTH = 3, 5, 2


@pytest.mark.parametrize("name", ["gelu", "gem", "e_gem", "se_gem", "gelu_tanh", "silu", "mish"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gatelab_saves_only_linear_and_activation_inputs(bench, name, dtype):
    got = bench.measure(name, "gatelab", width=WIDTH, depth=DEPTH, batch=BATCH, dtype=dtype)
    item = torch.finfo(dtype).bits // 8
    # DEPTH Linear inputs (the first is the model input) and DEPTH activation inputs (the Linear
    # outputs), each BATCH × WIDTH; the weights are parameters and not counted.
    assert got == 2 * DEPTH * BATCH * WIDTH * item


@pytest.mark.parametrize("name", ["gelu", "gem"])
def test_gatelab_saves_strictly_less_than_naive(bench, name):
    kwargs = dict(width=WIDTH, depth=DEPTH, batch=BATCH)
    gatelab_bytes = bench.measure(name, "gatelab", **kwargs)
    naive_bytes = bench.measure(name, "naive", **kwargs)
    assert gatelab_bytes < naive_bytes
    # The naive composition saves at least two BATCH × WIDTH tensors per activation:
    # gelu = 0.5·x·(1 + erf(x/√2)) keeps x/√2 for erf′ and both factors of the product.
    layer = BATCH * WIDTH * 4
    assert naive_bytes >= gatelab_bytes + DEPTH * layer


def test_saved_bytes_counts_each_storage_once_and_skips_parameters(bench):
    # An independent model with a known answer: y = (x·W)² saves x (for W's gradient) and
    # h = x·W twice (both factors of h·h) — one storage; W is a parameter.
    class Square(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(4, 6))

        def forward(self, x):
            h = x @ self.weight
            return h * h

    x = torch.randn(2, 4)
    assert bench.saved_bytes(Square(), x) == x.nbytes + 2 * 6 * 4


def test_naive_module_computes_the_textbook_formula(bench):
    x = torch.linspace(-4, 4, 33, dtype=torch.float64)
    torch.testing.assert_close(
        bench.NaiveActivation("gelu")(x), torch.nn.functional.gelu(x), rtol=1e-12, atol=1e-15
    )
    torch.testing.assert_close(
        bench.NaiveActivation("gem(N=2)")(x), torch.where(x > 0, x**5 / (1 + x**4), 0.0)
    )


def test_main_prints_a_row_per_activation_and_impl(bench, capsys):
    bench.main(["--activations", "gelu,gem", "--width", "8", "--depth", "2", "--batch", "4"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[3:]]
    assert [row[:2] for row in rows] == [
        ["gelu", "gatelab"], ["gelu", "naive"], ["gem", "gatelab"], ["gem", "naive"],
    ]  # fmt: skip
    gatelab_bytes = int(rows[0][2].replace(",", ""))
    assert gatelab_bytes == 2 * 2 * 4 * 8 * 4
    assert float(rows[1][-1]) > 1.0


def test_gatelab_lookup_has_naive_for_default_activations(bench):
    for name in bench.DEFAULT_ACTIVATIONS.split(","):
        assert gatelab.lookup(name).naive is not None
