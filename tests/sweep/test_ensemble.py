"""The ensemble executor end to end: grouping, records, SIGKILL and resume, fallback, Ray."""

from __future__ import annotations

import json

import pytest

from gatelab.cli import main
from gatelab.results import RECORDS
from gatelab.sweep import parse_spec, run_sweep
from gatelab.sweep.ensemble import plan
from sweep.test_runner import kill_and_resume, table

QUIET = {"log": lambda line: None, "progress": False}
SPEC = {
    "tasks": ["mnist-mlp"],
    "activations": ["relu", "gelu"],
    "seeds": 2,
    "lrs": [1e-3, 1e-4],
    "settings": {"scale": "smoke", "epochs": 2},
    "axes": {"dropout": [0.0, 0.5]},
}
TOML = """tasks = ["mnist-mlp"]
activations = ["relu", "silu", "elu"]
seeds = 2
lrs = [1e-3, 1e-4]
[settings]
scale = "smoke"
epochs = 3
"""


def test_groups_share_everything_but_seed_lr_and_dropout():
    spec = parse_spec(SPEC)
    groups = plan(spec.points)
    assert len(groups) == 2  # one per activation: 2 seeds × 2 lrs × 2 dropouts each
    for _, members in groups:
        assert len(members) == 8 and len({p.config.activation for p in members}) == 1
    capped = plan(spec.points, size=3)
    assert [len(m) for _, m in capped] == [3, 3, 2, 3, 3, 2]
    assert plan(spec.points, size=3) == capped  # ids are stable


def test_ensemble_records_match_the_local_executors(tmp_path):
    spec = parse_spec(SPEC)
    local = run_sweep(spec, tmp_path / "local", workers=2, **QUIET)
    ensemble = run_sweep(spec, tmp_path / "ens", executor="ensemble", workers=1, **QUIET)
    assert sorted(r["run_id"] for r in ensemble) == sorted(r["run_id"] for r in local)
    by_id = {r["run_id"]: r for r in local}
    for record in ensemble:
        assert record["ensemble"]["size"] == 8
        single = by_id[record["run_id"]]
        assert record["metrics"]["test_loss"] == pytest.approx(
            single["metrics"]["test_loss"], rel=1e-5
        )
    assert not list((tmp_path / "ens").glob("groups/*/checkpoint.pt"))  # freed


def test_a_killed_ensemble_sweep_resumes_without_lost_or_duplicated_records(tmp_path):
    def group_in_training(out) -> bool:  # a group's checkpoint exists: mid-training
        return any(out.glob("groups/*/checkpoint.pt"))

    options = ["--workers", "1", "--executor", "ensemble", "--ensemble-size", "2"]
    kill_and_resume(tmp_path, TOML, options, group_in_training, total=12)


def test_a_group_killed_between_two_appends_is_completed_from_its_result_files(tmp_path):
    spec = parse_spec(SPEC)
    ref = run_sweep(spec, tmp_path, executor="ensemble", ensemble_size=3, workers=1, **QUIET)
    lines = (tmp_path / RECORDS).read_text().splitlines(keepends=True)
    # the state a SIGKILL leaves between two appends: some members' records, all result.json
    (tmp_path / RECORDS).write_text("".join(lines[:4]), encoding="utf-8")
    again = run_sweep(spec, tmp_path, executor="ensemble", ensemble_size=3, workers=1, **QUIET)
    ids = [json.loads(line)["run_id"] for line in (tmp_path / RECORDS).read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 16
    assert table(again) == table(ref)


def test_models_that_cannot_stack_train_one_by_one_with_a_notice(tmp_path, capfd):
    spec = parse_spec(
        {
            "tasks": ["resnet-norm"],
            "activations": ["gelu"],
            "seeds": 2,
            "settings": {"scale": "smoke", "epochs": 1, "dataset": "synthetic"},
        }
    )
    records = run_sweep(spec, tmp_path, executor="ensemble", workers=1, **QUIET)
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert all(r["ensemble"] is None for r in records)
    notice = [line for line in capfd.readouterr().err.splitlines() if "one by one" in line]
    assert len(notice) == 1 and "resnet-norm" in notice[0]


def test_ray_runs_groups_too(tmp_path):
    pytest.importorskip("ray")
    spec = parse_spec({**SPEC, "activations": ["relu"]})
    local = run_sweep(spec, tmp_path / "local", executor="ensemble", workers=1, **QUIET)
    remote = run_sweep(spec, tmp_path / "ray", executor="ray-ensemble", workers=2, **QUIET)
    assert table(remote) == table(local)


def test_ensemble_size_needs_an_ensemble_executor(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(TOML, encoding="utf-8")
    code = main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--ensemble-size", "4"])
    assert code == 2
    assert "--ensemble-size needs --executor ensemble" in capsys.readouterr().err


def test_a_sweep_over_dropout_prints_one_leaderboard_per_setting(tmp_path, capsys):
    # A dropout axis gives two runs per (activation, seed): one leaderboard over both would
    # pair them by seed and refuse; the CLI prints one per setting, as the report does.
    spec = tmp_path / "s.toml"
    spec.write_text(
        TOML.replace('["relu", "silu", "elu"]', '["relu", "gelu"]')
        .replace("lrs = [1e-3, 1e-4]", "lrs = [1e-3]")
        .replace("epochs = 3", "epochs = 1\n[axes]\ndropout = [0.0, 0.5]"),
        encoding="utf-8",
    )
    out = tmp_path / "o"
    argv = ["sweep", str(spec), "--out", str(out), "--executor", "ensemble", "--baseline", "gelu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "dropout=0.0:" in printed and "dropout=0.5:" in printed
    assert printed.count("baseline") == 2 and (out / "report" / "report.md").exists()
