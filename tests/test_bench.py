"""gatelab.bench and `gatelab bench`: timing recipe, row contents, the CLI and its errors."""

import contextlib
import io
import json

import pytest
import torch

import gatelab
from gatelab import bench, cli

ROW_KEYS = {"activation", "impl", "device", "dtype", "numel", "pass", "seconds", "gbps",
            "ratio_to_copy", "peak_bytes", "compile_seconds", "copy_seconds"}  # fmt: skip


def run_cli(capsys, *argv):
    parser = cli.build_parser([bench.add_bench])
    args = parser.parse_args(["bench", *argv])
    status = args.handler(args)
    return status, capsys.readouterr().out


@pytest.fixture(scope="module")
def json_rows():
    parser = cli.build_parser([bench.add_bench])
    argv = ["bench", "e_gem", "gelu", "--numel", "1024", "--quick", "--json",
            "--impls", "gatelab,native,naive"]  # fmt: skip
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args) == 0
    return json.loads(out.getvalue())


def test_json_rows_have_the_documented_keys(json_rows):
    assert json_rows and all(set(row) == ROW_KEYS for row in json_rows)
    assert all(row["seconds"] > 0 and row["gbps"] > 0 for row in json_rows)
    found = {(r["activation"], r["impl"], r["pass"]) for r in json_rows}
    for impl in ("gatelab", "naive"):
        for pass_ in bench.PASSES:
            assert ("e_gem", impl, pass_) in found
    assert ("gelu", "native", "forward") in found
    assert ("e_gem", "native", "forward") not in found  # torch has no E-GEM


def test_ratio_to_copy_uses_the_same_runs_copy(json_rows):
    (copy,) = [r for r in json_rows if r["impl"] == "copy"]
    assert copy["ratio_to_copy"] == 1.0 and copy["numel"] == 1024
    traffic = {"forward": 2, "backward": 3, "forward+backward": 5}
    for row in json_rows:
        if row["impl"] == "copy":
            continue
        nbytes = traffic[row["pass"]] * 1024 * 4  # float32: 4 bytes per element
        assert row["gbps"] == pytest.approx(nbytes / row["seconds"] / 1e9)
        copy_gbps = 2 * 1024 * 4 / row["copy_seconds"] / 1e9  # the copy just before it
        assert row["ratio_to_copy"] == pytest.approx(row["gbps"] / copy_gbps)


def test_memory_column_shows_the_lean_autograd(json_rows):
    saved = {
        (r["activation"], r["impl"]): r["peak_bytes"]
        for r in json_rows
        if r["pass"] == "forward+backward"
    }
    assert all(r["peak_bytes"] is None for r in json_rows if r["pass"] != "forward+backward")
    # gatelab saves x only; the naive x³/(ε + x²) also keeps x², x³ and ε + x².
    assert saved[("e_gem", "gatelab")] < saved[("e_gem", "naive")]


def test_median_seconds_times_only_run_after_warmup(monkeypatch):
    ticks = iter(float(t) for t in [0, 100, 0, 100, 0, 5, 10, 11, 20, 29])
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(ticks))
    calls = []
    settings = bench.Settings(warmup=2, repeats=3)
    seconds = bench.median_seconds(calls.append, torch.device("cpu"), settings,
                                   setup=lambda: len(calls))  # fmt: skip
    assert calls == [0, 1, 2, 3, 4]  # setup's value is passed to each run
    assert seconds == 5.0  # median of 5, 1, 9: the two 100 s warm-ups are left out


def test_table_output(capsys):
    status, out = run_cli(capsys, "relu", "--numel", "64", "--quick", "--impls", "native",
                          "--no-memory")  # fmt: skip
    lines = out.strip().splitlines()
    assert status == 0 and lines[0].split()[:3] == ["activation", "impl", "dtype"]
    assert lines[1].split()[:2] == ["copy", "copy"]
    assert [line.split()[4] for line in lines[2:]] == list(bench.PASSES)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gelu", "--dtype", "float8"], "--dtype 'float8'"),
        (["gelu", "--impls", "triton"], "--impls 'triton'"),
        (["gelu", "--numel", "1"], "at least 2"),
        (["geluu"], "unknown activation"),
    ],
)
def test_bad_input_is_a_usage_error(capsys, argv, message):
    with pytest.raises(cli.UsageError, match=message):
        run_cli(capsys, *argv)


def test_every_implementation_keeps_half_types():
    """The MLP memory column chains Linear layers: an impl returning float32 for bfloat16 input
    (se_gem's naive form once did, through torch.where with Python scalars) breaks the bench."""
    x = torch.randn(64, dtype=torch.bfloat16)
    for name in gatelab.names():
        spec, params = bench.resolve(name)
        for impl in ("gatelab", "native", "naive"):
            fn = bench.implementation(spec, params, impl)
            if fn is not None:
                assert fn(x).dtype == torch.bfloat16, (name, impl)


@pytest.mark.parametrize("name", ["elu", "celu", "gelu_general"])
def test_a_fused_kernel_that_skips_the_memory_mlp_leaves_its_memory_out(name):
    """gatelab_cpu covers these entries at 2^16 elements but not at the MLP's 64×512
    activations: the row is measured and its memory is None (it crashed with
    'linear(): argument input must be Tensor, not NoneType')."""
    from gatelab.kernels.select import select
    from gatelab.registry import resolve

    spec, params = resolve(name)
    x = torch.randn(1 << 16)
    if select(spec, x, params) is None:
        pytest.skip(f"no fused CPU kernel covers {name} here")
    settings = bench.Settings(warmup=1, repeats=1)
    rows = bench.measure_activation(name, ["gatelab_cpu"], x, bench.measure_copy(x, settings),
                                    settings)  # fmt: skip
    assert {row.pass_ for row in rows} == set(bench.PASSES)
    mlp_input = torch.empty(64, 512, requires_grad=True)
    covered = select(spec, mlp_input, params) is not None
    memory = next(row.peak_bytes for row in rows if row.pass_ == "forward+backward")
    assert (memory is not None) == covered
