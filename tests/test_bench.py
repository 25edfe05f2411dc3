"""gatelab.bench and `gatelab bench`: timing recipe, row contents, the CLI and its errors."""

import contextlib
import io
import json
import math

import pytest
import torch

import gatelab
from gatelab import bench, cli
from gatelab.cli import bench as cli_bench

ROW_KEYS = {"activation", "impl", "device", "dtype", "numel", "pass", "seconds", "gbps",
            "ratio_to_copy", "peak_bytes", "compile_seconds", "copy_seconds",
            "copy_into_seconds", "fraction_of_bandwidth", "ratio_to_native",
            "error"}  # fmt: skip


def run_cli(capsys, *argv, stderr=False):
    parser = cli.build_parser([cli_bench.add])
    args = parser.parse_args(["bench", *argv])
    status = args.handler(args)
    captured = capsys.readouterr()
    return (status, captured.out, captured.err) if stderr else (status, captured.out)


def json_lines(text):
    """--json output: one JSON object per line (JSON Lines)."""
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def json_rows():
    parser = cli.build_parser([cli_bench.add])
    argv = ["bench", "e_gem", "gelu", "--numel", "1024", "--quick", "--json",
            "--impls", "gatelab,native,naive"]  # fmt: skip
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args) == 0
    return json_lines(out.getvalue())


def test_json_rows_have_the_documented_keys(json_rows):
    assert json_rows and all(set(row) == ROW_KEYS for row in json_rows)
    assert all(row["seconds"] > 0 and row["gbps"] > 0 for row in json_rows)
    assert all(row["error"] is None for row in json_rows)
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


def test_both_copy_baselines_are_positive_and_finite(json_rows):
    for row in json_rows:
        for key in ("copy_seconds", "copy_into_seconds", "fraction_of_bandwidth"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["activation"], key)


def test_fraction_of_bandwidth_is_over_the_copy_into_a_reused_buffer(json_rows):
    for row in json_rows:
        copy_into_gbps = 2 * 1024 * 4 / row["copy_into_seconds"] / 1e9
        assert row["fraction_of_bandwidth"] == pytest.approx(row["gbps"] / copy_into_gbps)
    (copy,) = [r for r in json_rows if r["impl"] == "copy"]  # the clone's share of copy_'s
    assert copy["fraction_of_bandwidth"] == pytest.approx(
        copy["copy_into_seconds"] / copy["copy_seconds"]
    )


def test_ratio_to_native_divides_natives_seconds_of_the_same_pass(json_rows):
    seconds = {(r["activation"], r["impl"], r["pass"]): r["seconds"] for r in json_rows}
    for row in json_rows:
        native = seconds.get((row["activation"], "native", row["pass"]))
        if row["activation"] == "gelu":
            assert math.isfinite(row["ratio_to_native"]) and row["ratio_to_native"] > 0
            assert row["ratio_to_native"] == pytest.approx(native / row["seconds"])
        else:  # torch has no E-GEM; the copy row has no native op either
            assert native is None and row["ratio_to_native"] is None
    # native is measured first, so every gelu row already has its ratio when it streams out
    gelu = [r["impl"] for r in json_rows if r["activation"] == "gelu"]
    assert gelu[:3] == ["native"] * 3


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


def test_the_help_names_what_the_bench_accepts():
    # cli/bench.py keeps the names itself so that its parser is built without torch
    assert cli_bench.IMPL_NAMES == bench.IMPLS
    assert cli_bench.DTYPE_NAMES == tuple(bench.DTYPES)


def test_table_output(capsys):
    status, out = run_cli(capsys, "relu", "--numel", "64", "--quick", "--impls", "native",
                          "--no-memory")  # fmt: skip
    lines = out.strip().splitlines()
    assert status == 0 and lines[0].split()[:3] == ["activation", "impl", "dtype"]
    assert lines[0].split()[5:10] == ["ms", "GB/s", "×copy", "of", "BW"]
    assert lines[0].split()[10] == "×native"
    assert lines[1].split()[:2] == ["copy", "copy"]
    assert lines[1].split()[-1] == "-"  # a copy has no native op
    assert [line.split()[4] for line in lines[2:]] == list(bench.PASSES)
    assert all(line.split()[-1] == "1.00" for line in lines[2:])  # native against itself


def _fail_for(monkeypatch, activation, error):
    """Make `implementation` raise `error` for one activation (by its spec name)."""
    real = bench.implementation

    def implementation(spec, params, impl):
        if spec.name == activation:
            raise error
        return real(spec, params, impl)

    monkeypatch.setattr(bench, "implementation", implementation)


def test_a_failing_implementation_is_an_error_row_and_the_bench_goes_on(capsys, monkeypatch):
    _fail_for(monkeypatch, "gelu", TypeError("bad\nargument"))
    status, out, err = run_cli(capsys, "relu", "gelu", "silu", "--numel", "64", "--quick",
                               "--impls", "native", "--no-memory", stderr=True)  # fmt: skip
    lines = out.strip().splitlines()[1:]
    assert status == 1
    assert err.strip().splitlines()[-1] == "gatelab bench: 3 of 10 rows failed"
    failed = [line for line in lines if line.startswith("gelu ")]
    assert [line.split()[4] for line in failed] == list(bench.PASSES)
    assert all(line.endswith("error: TypeError: bad argument") for line in failed)
    for name in ("relu", "silu"):  # before and after the failure
        assert [line.split()[4] for line in lines if line.startswith(f"{name} ")] == list(
            bench.PASSES
        )


def test_json_streams_rows_measured_before_a_failure(capsys, monkeypatch):
    """Rows are printed (and flushed) as they are measured: a crash that escaped the bench would
    still leave every earlier row parseable on stdout."""
    real = bench.median_seconds
    calls = []

    def median_seconds(run, device, settings, setup=None):
        calls.append(None)
        if len(calls) == 6:  # copy ×2 (group), copy ×2 (relu), relu's forward: then backward
            raise RuntimeError("timer broke")
        return real(run, device, settings, setup)

    monkeypatch.setattr(bench, "median_seconds", median_seconds)
    status, out, err = run_cli(capsys, "relu", "--numel", "64", "--quick", "--impls", "native",
                               "--no-memory", "--json", stderr=True)  # fmt: skip
    rows = json_lines(out)
    assert status == 1 and "1 of 4 rows failed" in err
    assert [(r["impl"], r["pass"], r["error"]) for r in rows] == [
        ("copy", "copy", None),
        ("native", "forward", None),
        ("native", "backward", "RuntimeError: timer broke"),
        ("native", "forward+backward", None),
    ]
    (broken,) = [r for r in rows if r["error"]]
    for key in ("seconds", "gbps", "ratio_to_copy", "fraction_of_bandwidth", "ratio_to_native"):
        assert broken[key] is None
    assert rows[3]["ratio_to_native"] == 1.0  # forward+backward still has native's own time

    class Escaped(KeyboardInterrupt):
        pass

    def interrupted(run, device, settings, setup=None):
        if setup is not None:  # the first backward
            raise Escaped
        return real(run, device, settings, setup)

    monkeypatch.setattr(bench, "median_seconds", interrupted)
    with pytest.raises(Escaped):  # never caught
        run_cli(capsys, "relu", "--numel", "64", "--quick", "--impls", "native,naive",
                "--no-memory", "--json")  # fmt: skip
    rows = json_lines(capsys.readouterr().out)
    assert [(r["impl"], r["pass"]) for r in rows] == [("copy", "copy"), ("native", "forward")]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["gelu", "--dtype", "float8"], "--dtype 'float8'"),
        (["gelu", "--impls", "triton"], "--impls 'triton'"),
        (["gelu", "--numel", "1"], "--numel 1: sizes from 2 to"),
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


def test_a_fused_kernel_that_failed_to_build_gives_no_rows(monkeypatch):
    """Without the C library (a failed build), gelu's fused CPU path does not exist: no
    gatelab_cpu row, never the exact path timed under that name."""
    from gatelab.kernels import cpu_native

    monkeypatch.setattr(cpu_native, "library", lambda: None)
    x = torch.randn(1024)
    settings = bench.Settings(warmup=1, repeats=1, memory=False)
    rows = bench.measure_activation("gelu", ["gatelab_cpu", "native"], x, None, settings)
    assert {row.impl for row in rows} == {"native"}
