"""The results store: whole-or-absent records, truncated tails, latest record per run."""

from __future__ import annotations

import json
import warnings

import pytest

from gatelab.results import RECORDS, RecordWriter, flatten, load, read_records


def record(run_id: str, status: str = "ok", accuracy: float | None = 0.9, **extra) -> dict:
    return {
        "run_id": run_id, "task": "mnist-mlp", "activation": "gelu", "seed": 0, "lr": 1e-3,
        "status": status, "metrics": {"test_accuracy": accuracy, "val_accuracy": accuracy},
        "options": {"dropout": 0.5}, "history": [{"epoch": 1, "train_loss": 0.3}],
        "curves": {}, **extra,
    }  # fmt: skip


def test_append_and_read_back(tmp_path):
    writer = RecordWriter(tmp_path)
    writer.append(record("a"))
    writer.append(record("b", status="diverged", accuracy=None))
    assert [r["run_id"] for r in read_records(tmp_path)] == ["a", "b"]
    lines = (tmp_path / RECORDS).read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == 2


def test_a_truncated_last_record_is_ignored_with_a_warning_naming_the_file(tmp_path):
    RecordWriter(tmp_path).append(record("a"))
    with (tmp_path / RECORDS).open("a") as file:
        file.write(json.dumps(record("b"))[:40])  # a crash in the middle of a write
    with pytest.warns(UserWarning, match=f"{RECORDS}:2: truncated last record"):
        records = read_records(tmp_path)
    assert [r["run_id"] for r in records] == ["a"]
    # the next writer cuts the partial line off, so the next record starts on its own line
    with pytest.warns(UserWarning, match="dropping a truncated last record"):
        writer = RecordWriter(tmp_path)
    writer.append(record("c"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["run_id"] for r in read_records(tmp_path)] == ["a", "c"]


def test_the_latest_record_of_a_run_wins(tmp_path):
    writer = RecordWriter(tmp_path)
    writer.append(record("a", status="failed", accuracy=None, error="boom"))
    writer.append(record("a", status="ok", accuracy=0.8))
    (only,) = read_records(tmp_path)
    assert only["status"] == "ok" and only["metrics"]["test_accuracy"] == 0.8


def test_flatten_and_load(tmp_path):
    row = flatten(record("a", axes={"dropout": 0.5}))
    assert row["test_accuracy"] == 0.9 and row["dropout"] == 0.5
    assert row["history"] == [{"epoch": 1, "train_loss": 0.3}]
    writer = RecordWriter(tmp_path)
    writer.append(record("a"))
    writer.append(record("b", status="diverged", accuracy=None))
    frame = load(tmp_path)
    assert list(frame["run_id"]) == ["a", "b"]
    for column in ["run_id", "task", "activation", "seed", "lr", "status", "test_accuracy"]:
        assert column in frame.columns
    assert frame["test_accuracy"].isna().tolist() == [False, True]
    assert load(tmp_path / "empty").empty
