"""The written report (Markdown and HTML), its tables and `gatelab report`.

Expected values are derived by hand from the synthetic results of test_figures.py (lr 1e-3 is
chosen everywhere; see the constants there).
"""

from __future__ import annotations

import math
import re
import sys

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("scipy")

from gatelab.cli import UsageError, build_parser  # noqa: E402
from gatelab.cli.report import add as add_report  # noqa: E402
from gatelab.cli.report import missing_report_extra  # noqa: E402
from gatelab.report import render, tables  # noqa: E402
from gatelab.results import METRICS, RecordWriter  # noqa: E402
from report.test_figures import synthetic_results  # noqa: E402


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return synthetic_results()


@pytest.fixture(scope="module")
def markdown(results, tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp("md")
    path = render.write_report(results, out)
    return path, path.read_text(encoding="utf-8")


def table_rows(text: str, first_cells: tuple[str, ...]) -> list[list[str]]:
    """The Markdown table rows whose leading cells are `first_cells`."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| "):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if tuple(cells[: len(first_cells)]) == first_cells:
                rows.append(cells)
    return rows


def section(text: str, heading: str) -> str:
    """The text of the `## heading` section."""
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


# --- the Markdown report ------------------------------------------------------------------------


def test_report_embeds_every_figure_it_writes(markdown):
    path, text = markdown
    assert path.name == "report.md"
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(links) == [
        "figures/critical_difference.png",
        "figures/final_metric.png",
        "figures/learning_curves_test.png",
        "figures/learning_curves_train_loss.png",
        "figures/noise_robustness.png",
    ]
    for link in links:
        assert (path.parent / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_summary_counts_runs_by_status(markdown):
    runs = section(markdown[1], "Runs")
    assert "runs: 54 (52 ok, 1 diverged, 1 failed)" in runs
    assert "seeds: 0, 1, 2" in runs
    assert "compute: 9 min 00 s (run wall times summed" in runs  # 54 runs × 10 s
    assert "elapsed: unknown" in runs  # the synthetic records have no finish times
    assert "devices: cpu" in runs


def test_leaderboard_shows_the_hand_computed_medians(markdown):
    board = section(markdown[1], "Leaderboard")
    # cifar10-cnn9 gelu at lr 1e-3: 0.920 + offsets (0, .001, .002) → median 92.10 %
    (gelu,) = table_rows(board, ("cifar10-cnn9", "gelu"))
    assert gelu[2:5] == ["0.001", "3", "92.10 ± 0.10%"]
    # t-interval: 92.10 ± t(0.975, 2)·0.10/√3 = 92.10 ± 0.2484
    assert gelu[5] == "[91.85%, 92.35%]" and gelu[6] == "92.10%"
    assert gelu[-1] == "baseline"
    # mnist-ae relu: seed 2 diverged; 0.0050 and 0.0050·1.05 → median 0.005125, n = 2
    (relu,) = table_rows(board, ("mnist-ae", "relu"))
    assert relu[3] == "2" and relu[6] == "0.005125"
    assert relu[7] == "1"  # diverged
    # best mean first in each task's direction: gelu, e_gem, relu in all three
    order = [row[1] for row in table_rows(board, ("cifar10-cnn9",))]
    assert order == ["gelu", "e_gem(N=1, eps=1e-4)", "relu"]


def test_paired_tests_match_hand_derived_p_values(markdown):
    paired = section(markdown[1], "Paired comparison against gelu")
    (relu,) = table_rows(paired, ("cifar10-cnn9", "relu", "gelu"))
    # differences relu − gelu per seed: −0.004, −0.006, −0.004 (mean −0.467 pp, sd 0.2/√3 pp)
    assert relu[3:5] == ["3", "-0.47 pts"]
    half = 4.302653 * 0.2 / math.sqrt(3) / math.sqrt(3)  # t(0.975, 2) · sd / √n, in pp
    assert relu[5] == f"[{-0.4667 - half:+.2f}, {-0.4667 + half:+.2f}] pts" == "[-0.75, -0.18] pts"
    assert relu[6] == "-0.40 pts"
    # t = −7 with 2 degrees of freedom: p = 1 − 7/√51 (closed form of the t(2) CDF)
    assert relu[7] == f"{1 - 7 / math.sqrt(51):.3f}" == "0.020"
    # e_gem − gelu: 0, −0.003, −0.003: t = −2, p = 1 − 2/√6 = 0.184; Holm over the 2
    # comparisons doubles the smaller p: 2·(1 − 7/√51) = 0.040 < 0.05 → worse
    assert relu[8] == f"{2 * (1 - 7 / math.sqrt(51)):.3f}" == "0.040"
    assert relu[9] == "worse"
    (egem,) = table_rows(paired, ("cifar10-cnn9", "e_gem(N=1, eps=1e-4)", "gelu"))
    assert egem[7] == egem[8] == f"{1 - 2 / math.sqrt(6):.3f}" and egem[9] == "no evidence"
    # exact Wilcoxon, 3 pairs of one sign: p = 2 / 2³ = 0.25, which 3 pairs cannot go below
    assert relu[10] == "0.250" and "3 pairs: Wilcoxon's smallest p is 0.25" in relu[13]
    assert relu[11] == f"{-0.014 / 3 / (0.002 / math.sqrt(3)):+.2f}"  # d_z = mean / sd
    assert relu[12] == "4"  # d_z ≈ −4 at α/m = 0.025: 3 pairs give 61 % power, 4 give 95 %


def test_deficits_ranks_and_divergences(markdown):
    text = markdown[1]
    (deficit,) = table_rows(section(text, "Deficit against gelu"), ("mnist-noise", "relu"))
    assert deficit[3:] == ["98.10%", "97.60%", "+0.50 pts"]
    ranks = section(text, "Across tasks")
    assert table_rows(ranks, ("gelu",))[0][1:3] == ["1", "3"]
    failures = section(text, "Divergences and failures")
    assert table_rows(failures, ("mnist-ae", "relu", "0.001")) == [
        ["mnist-ae", "relu", "0.001", "3", "1", "0", "3"]
    ]
    assert "RuntimeError: out of memory" in failures
    assert "Traceback" not in failures  # only the first line of the error


def test_across_tasks_ranks_and_tests_the_three_tasks(markdown):
    across = section(markdown[1], "Across tasks")
    # gelu is best, e_gem second, relu third in all three tasks: mean ranks 1, 2, 3;
    # χ²_F = 12N/(k(k+1))·(Σ R² − k(k+1)²/4) = 3·(14 − 12) = 6, p = exp(−6/2) = 0.0498;
    # Nemenyi CD = q(0.05; 3)·√(k(k+1)/(6N)) = 2.343·√(2/3) = 1.91: gelu–relu (2) differ.
    assert "Friedman χ²(2) = 6, p = 0.05 over 3 settings; Nemenyi CD = 1.91" in across
    assert "gelu, e_gem(N=1, eps=1e-4); e_gem(N=1, eps=1e-4), relu" in across
    assert table_rows(across, ("relu",))[-1][1:] == ["3.00", "no"]
    assert "IQM [95% CI]" in across and "P(activation > baseline)" in across
    (relu,) = [row for row in table_rows(across, ("relu",)) if row[1] == "gelu"]
    assert relu[2:] == ["3", "0.000 [0.000, 0.000]"]  # no relu run beats a gelu run anywhere


def test_paper_vs_ours_lists_published_numbers_with_ours_converted(markdown):
    paper = section(markdown[1], "Published numbers beside ours")
    (gelu_tanh,) = table_rows(paper, ("cifar10-cnn9",))[:1]
    assert gelu_tanh[2] == "gelu_tanh" and gelu_tanh[4] == "7.89% [1]"
    assert gelu_tanh[5] == "—"  # gelu_tanh was not run
    (relu,) = [row for row in table_rows(paper, ("cifar10-cnn9",)) if row[2] == "relu"]
    # relu median accuracy 0.915 + 0.001 → test error 100·(1 − 0.916) = 8.40 %
    assert relu[4:6] == ["8.16% [1]", "8.40% (n=3)"]
    assert "[1] Hendrycks & Gimpel" in paper and "§3.5" in paper


def test_methods_section_states_the_procedure(markdown):
    methods = section(markdown[1], "How these numbers were computed")
    for words in ("median validation metric", "t-interval", "Holm", "Wilcoxon", "d_z"):
        assert words in methods
    assert "bootstrap of the mean" not in methods


def test_paper_vs_ours_gives_our_deficit_vs_gelu_where_the_gem_paper_does():
    rows = [
        {"activation": a, "seed": seed, "test_accuracy": acc, "val_accuracy": acc}
        for a, accs in {
            "gelu": (0.70, 0.72),
            "gem(N=2)": (0.64, 0.66),
            "e_gem": (0.69, 0.71),
        }.items()
        for seed, acc in enumerate(accs)
    ]
    df = pd.DataFrame(rows).assign(
        task="cifar100-resnet56", lr=0.1, status="ok",
        metric="test_accuracy", val_metric="val_accuracy", higher_is_better=True,
    )  # fmt: skip
    table = tables.paper_vs_ours_table(df)
    ours = {(row[2], row[3]): (row[4], row[5]) for row in table.rows}
    # deficit = 100 · (median gelu − median gem(N=2)) = 100 · (0.71 − 0.65) = 6.00 points
    assert ours[("gem(N=2)", "GELU's accuracy minus this activation's, percentage points")] == (
        "6.10 pts [1]",
        "6.00 pts",
    )
    deficits = {row[2]: row[5] for row in table.rows if "minus" in row[3]}
    assert deficits == {"gem(N=2)": "6.00 pts", "gem(N=1)": "—", "e_gem": "1.00 pts"}
    accuracy = {row[2]: row[5] for row in table.rows if row[3] == "test accuracy, %"}
    assert accuracy == {}  # the GEM paper gives CIFAR-100 deficits only
    assert table.notes[0].startswith("[1] Krause")


# --- HTML ---------------------------------------------------------------------------------------


def test_html_report_escapes_names_from_the_results(results, tmp_path):
    odd = "x<b>&'\""
    df = results[results["task"] == "cifar10-cnn9"].copy()
    df.loc[df["activation"] == "relu", "activation"] = odd
    path = render.write_report(df, tmp_path, format="html", title="A <sweep> & co")
    text = path.read_text(encoding="utf-8")
    assert path.name == "report.html" and text.startswith("<!DOCTYPE html>")
    assert "<title>A &lt;sweep&gt; &amp; co</title>" in text
    assert "x&lt;b&gt;&amp;&#x27;&quot;" in text
    assert odd not in text
    assert '<img src="figures/final_metric.png"' in text


def test_tables_escape_markdown_pipes_and_html():
    table = tables.Table(("a|b", "c"), (("1|2", "<i>"),), ("l", "r"))
    assert "a\\|b" in tables.to_markdown(table) and "1\\|2" in tables.to_markdown(table)
    assert "&lt;i&gt;" in tables.to_html(table)
    with pytest.raises(ValueError, match="do not have 2 cells"):
        tables.Table(("a", "b"), (("1",),))


def test_number_formats():
    assert tables.format_p(0.0312) == "0.031"
    assert tables.format_p(0.0004) == "<0.001"
    assert tables.format_p(math.nan) == "—"
    assert tables.format_metric(0.98123, "test_accuracy") == "98.12%"
    assert tables.format_metric(0.0041234, "test_mse") == "0.004123"
    assert tables.format_difference(-0.0047, "test_accuracy") == "-0.47 pts"


# --- options and errors -------------------------------------------------------------------------


def test_baseline_defaults_to_gelu_and_must_have_runs(results):
    assert render.choose_baseline(results, None) == "gelu"
    assert render.choose_baseline(results, "gelu()") == "gelu"  # matched canonically
    assert render.choose_baseline(results[results["activation"] != "gelu"], None) is None
    with pytest.raises(ValueError, match="silu.*no runs.*e_gem"):
        render.choose_baseline(results, "silu")


def test_bad_inputs_raise_clear_errors(results, tmp_path):
    with pytest.raises(ValueError, match="use 'md' or 'html'"):
        render.write_report(results, tmp_path, format="pdf")
    with pytest.raises(ValueError, match="no runs"):
        render.write_report(results.iloc[:0], tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        render.write_report(tmp_path / "missing", tmp_path)


def test_sweep_axes_are_options_that_vary_within_a_task(results):
    assert render.sweep_axes(results) == ()
    varied = results.assign(dropout=[0.0, 0.5] * (len(results) // 2), width=128)
    assert render.sweep_axes(varied) == ("dropout",)


def with_dropout_axis(results: pd.DataFrame) -> pd.DataFrame:
    """mnist-ae run at dropout 0 and 0.5 (0.5 multiplies the MSE by 1.2); cifar10-cnn9 has no
    dropout option (NaN in that column, as the results store gives it)."""
    two = results[results["task"].isin(["cifar10-cnn9", "mnist-ae"])]
    no_dropout = two.assign(dropout=[0.0 if t == "mnist-ae" else math.nan for t in two.task])
    ae = two[two["task"] == "mnist-ae"]
    dropout = ae.assign(
        dropout=0.5,
        test_mse=ae["test_mse"] * 1.2,
        val_mse=ae["val_mse"] * 1.2,
        run_id=ae["run_id"] + "-dropout",
    )
    return pd.concat([no_dropout, dropout], ignore_index=True)


def test_an_option_swept_in_one_task_is_kept_apart(results, tmp_path):
    df = with_dropout_axis(results)
    assert render.sweep_axes(df) == ("dropout",)
    text = render.write_report(df, tmp_path).read_text(encoding="utf-8")
    board = section(text, "Leaderboard")
    assert "### dropout=0.0" in board and "### other tasks" in board
    half = board[board.index("### dropout=0.5") :]
    assert table_rows(half, ("mnist-ae", "gelu"))[0][6] == "0.00504"  # 0.0042 · 1.2
    paired = section(text, "Paired comparison against gelu")
    (cifar,) = table_rows(paired, ("cifar10-cnn9", "relu"))  # a task without the axis pairs
    assert cifar[3] == "3"
    (ae_relu,) = table_rows(paired, ("mnist-ae (dropout=0.5)", "relu"))
    # one Holm family per task (both dropout settings): the leaderboard shows the same p
    (board_relu,) = table_rows(half, ("mnist-ae", "relu"))
    assert board_relu[11] == ae_relu[8] and board_relu[12] == ae_relu[9]
    ranks = section(text, "Across tasks")
    assert "| cifar10-cnn9 |" in ranks and "mnist-ae[dropout=0.5]" in ranks
    assert "nan" not in ranks
    paper = section(text, "Published numbers beside ours")
    (relu,) = [row for row in table_rows(paper, ("cifar10-cnn9",)) if row[2] == "relu"]
    assert relu[5] == "8.40% (n=3)"


# --- gatelab report -----------------------------------------------------------------------------


def as_record(row: dict) -> dict:
    """A flattened row back as the trainer's record (what the results store holds)."""
    row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
    metrics = {m: row[m] for m in METRICS if m in row}
    keep = {k: v for k, v in row.items() if k not in METRICS}
    return {**keep, "metrics": metrics, "options": {}}


def run_cli(argv: list[str]) -> int:
    args = build_parser([add_report]).parse_args(["report", *argv])
    return args.handler(args)


def test_cli_writes_the_report_of_a_results_directory(results, tmp_path, capsys):
    writer = RecordWriter(tmp_path)
    for row in results[results["task"] == "mnist-ae"].to_dict("records"):
        writer.append(as_record(row))
    assert run_cli([str(tmp_path), "--baseline", "relu", "--format", "html"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(tmp_path / "report" / "report.html")
    assert "Paired comparison against relu" in (tmp_path / "report" / "report.html").read_text()
    with pytest.raises(UsageError, match="baseline 'silu' has no runs.*pass one of: .*gelu"):
        run_cli([str(tmp_path), "--baseline", "silu"])


def test_cli_alpha_sets_the_verdicts_level_and_is_checked(results, tmp_path, capsys):
    writer = RecordWriter(tmp_path)
    for row in results[results["task"] == "cifar10-cnn9"].to_dict("records"):
        writer.append(as_record(row))
    text_at = {}
    for alpha in ("0.05", "0.01"):
        assert run_cli([str(tmp_path), "--alpha", alpha, "--out", str(tmp_path / alpha)]) == 0
        text_at[alpha] = (tmp_path / alpha / "report.md").read_text(encoding="utf-8")
    # relu − gelu: Holm p = 0.040 — worse at α = 0.05, no evidence at α = 0.01
    for alpha, verdict in (("0.05", "worse"), ("0.01", "no evidence")):
        (relu,) = table_rows(section(text_at[alpha], "Paired comparison against gelu"),
                             ("cifar10-cnn9", "relu", "gelu"))  # fmt: skip
        assert relu[9] == verdict and f"α = {float(alpha):g}" in text_at[alpha]
    capsys.readouterr()
    for bad in ("2", "0", "abc"):
        with pytest.raises(SystemExit) as exit_info:
            run_cli([str(tmp_path), "--alpha", bad])
        assert exit_info.value.code == 2
        assert "--alpha" in capsys.readouterr().err


def test_cli_rejects_missing_or_empty_directories(tmp_path):
    with pytest.raises(UsageError, match="no such directory"):
        run_cli([str(tmp_path / "nope")])
    with pytest.raises(UsageError, match="no runs in .*: run a sweep into it first"):
        run_cli([str(tmp_path)])
    assert missing_report_extra(ImportError(name="something_else")) is None


def test_cli_names_the_extra_to_install_when_pandas_is_missing(tmp_path, monkeypatch):
    for module in ("gatelab.report.render", "gatelab.stats"):
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with pytest.raises(UsageError, match=r"needs pandas.*pip install 'gatelab\[report\]'"):
        run_cli([str(tmp_path)])


def test_an_ensemble_groups_wall_time_counts_once():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "wall_seconds": [100.0, 100.0, 100.0, 7.0, 5.0],
            "ensemble_group": ["g", "g", "g", None, None],
        }
    )
    assert render.compute_seconds(frame) == 112.0  # one group of 3 (100 s) + two runs
    assert render.compute_seconds(frame.drop(columns="ensemble_group")) == 312.0


def test_ensemble_groups_are_not_sweep_axes():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "task": ["t"] * 4,
            "dropout": [0.0, 0.5, 0.0, 0.5],
            "ensemble_group": ["a", "a", "b", "b"],
            "ensemble_size": [2, 2, 2, 2],
        }
    )
    assert render.sweep_axes(frame) == ("dropout",)
