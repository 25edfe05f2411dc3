"""Sweep specs: a TOML grid of tasks × activations × seeds × learning rates × any option.

    name = "gelu-vs-gem"
    tasks = ["mnist-mlp", "mnist-ae"]
    activations = ["gelu", "relu", "gem(N=1)", "e_gem(N=1, eps=1e-4)"]
    seeds = 3                      # 0, 1, 2 — or a list [0, 7, 9]
    lrs = "grid"                   # "default" (the task's lr), "grid" (its lr grid) or [1e-3, 1e-4]

    [settings]                     # fixed for every run: trainer fields or task options
    scale = "paper"
    epochs = 10
    dataset = "mnist-5k"

    [axes]                         # further grid axes, same keys as [settings]
    dropout = [0.0, 0.5]           # a task option: applies to the tasks that have it

    [overrides.mnist-ae]           # per task: seeds, lrs, activations, settings keys, [axes]
    epochs = 5

    [protocol]                     # how the statistics read the results
    select_on = "val"              # the split whose median picks the lr ("val"; "test" allowed)
    metric = "test_accuracy"       # default: each task's own (test_accuracy / test_mse)
    higher_is_better = true

The whole spec is checked before anything runs; :class:`SpecError` lists every problem at once.
Activation strings are kept exactly as written (they label tables and figures).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from gatelab.models.mlp import INITS
from gatelab.tasks import RunConfig, get_task

TOP_LEVEL = {
    "name",
    "tasks",
    "activations",
    "seeds",
    "lrs",
    "settings",
    "axes",
    "overrides",
    "protocol",
}
#: RunConfig fields a spec may set (task, activation, seed and lr are grid dimensions).
TRAINER_FIELDS = {f.name for f in fields(RunConfig)} - {
    "task",
    "activation",
    "seed",
    "lr",
    "options",
}
OVERRIDE_KEYS = {"seeds", "lrs", "activations", "axes"}
PROTOCOL_KEYS = {"select_on", "metric", "higher_is_better"}


class SpecError(ValueError):
    """A sweep spec with problems; the message lists all of them, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"the sweep spec has {len(problems)} problem(s):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class GridPoint:
    """One run of the grid: its stable id, its config and its values on the swept axes."""

    run_id: str
    config: RunConfig
    axes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepSpec:
    name: str
    points: tuple[GridPoint, ...]
    protocol: Mapping[str, Any]
    source: Mapping[str, Any]  # the spec as parsed, for DIR/sweep.json

    @property
    def tasks(self) -> list[str]:
        return sorted({p.config.task for p in self.points})


def run_id(config: RunConfig) -> str:
    """A stable id from the fields that decide the result: task-<12 hex of their sha1>."""
    identity = json.dumps(config.identity(), sort_keys=True, default=list)
    return f"{config.task}-{hashlib.sha1(identity.encode()).hexdigest()[:12]}"


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a TOML sweep spec."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError([f"{path}: not valid TOML: {error}"]) from None
    return parse_spec(raw, default_name=path.stem)


def parse_spec(raw: Mapping[str, Any], default_name: str = "sweep") -> SweepSpec:
    """Validate a spec (as parsed from TOML) and expand its grid; raises :class:`SpecError`."""
    problems: list[str] = []
    _unknown(raw, TOP_LEVEL, "top level", problems)
    tasks = _tasks(raw.get("tasks"), problems)
    overrides = raw.get("overrides", {}) or {}
    for task in overrides:
        if task not in tasks:
            problems.append(f"[overrides.{task}]: {task} is not in tasks = {tasks}")
    protocol = dict(raw.get("protocol", {}) or {})
    _unknown(protocol, PROTOCOL_KEYS, "[protocol]", problems)
    _check_protocol(protocol, problems)
    points: list[GridPoint] = []
    for name in tasks:
        local = overrides.get(name, {}) or {}
        points += _task_points(name, raw, local, problems)
    if not problems and not points:
        problems.append("the grid is empty: give at least one task, activation and seed")
    ids = [p.run_id for p in points]
    if len(ids) != len(set(ids)):
        problems.append("the grid lists the same run twice (duplicate activations, seeds or lrs)")
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    name = str(raw.get("name", default_name))
    return SweepSpec(name, tuple(points), protocol, dict(raw))


def _check_protocol(protocol: Mapping[str, Any], problems: list[str]) -> None:
    from gatelab.results import METRICS

    if protocol.get("select_on", "val") not in ("val", "test"):
        problems.append(f'[protocol] select_on = {protocol["select_on"]!r}: use "val" or "test"')
    if "metric" in protocol and protocol["metric"] not in METRICS:
        problems.append(f"[protocol] metric = {protocol['metric']!r}: one of {', '.join(METRICS)}")
    if not isinstance(protocol.get("higher_is_better", True), bool):
        problems.append("[protocol] higher_is_better: true or false")


def _unknown(table: Any, allowed: set[str], where: str, problems: list[str]) -> None:
    if not isinstance(table, Mapping):
        problems.append(f"{where}: expected a table, got {table!r}")
        return
    for key in table:
        if key not in allowed:
            problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _tasks(value: Any, problems: list[str]) -> list[str]:
    names = [value] if isinstance(value, str) else list(value or [])
    if not names:
        problems.append('tasks: give at least one task, e.g. tasks = ["mnist-mlp"]')
    valid = []
    for name in names:
        try:
            get_task(name)
            valid.append(name)
        except ValueError as error:
            problems.append(f"tasks: {error}")
    return valid


def _task_points(name: str, raw: Mapping, local: Mapping, problems: list[str]) -> list[GridPoint]:
    task = get_task(name)
    where = f"[overrides.{name}]"
    _unknown(local, OVERRIDE_KEYS | TRAINER_FIELDS | set(task.options), where, problems)
    activations = _activations(local.get("activations", raw.get("activations")), problems)
    seeds = _seeds(local.get("seeds", raw.get("seeds", 1)), problems)
    lrs = _lrs(local.get("lrs", raw.get("lrs", "default")), task, problems)
    settings = {
        **(raw.get("settings") or {}),
        **{k: v for k, v in local.items() if k not in OVERRIDE_KEYS},
    }
    axes = {**(raw.get("axes") or {}), **(local.get("axes") or {})}
    fixed = _split_keys(settings, task, "[settings]", problems, fixed=True)
    swept = _split_keys(axes, task, "[axes]", problems, fixed=False)
    points = []
    axis_names = list(swept)
    for values in itertools.product(*swept.values()):
        point_axes = dict(zip(axis_names, values))
        trainer = {k: v for k, v in {**fixed, **point_axes}.items() if k in TRAINER_FIELDS}
        options = {k: v for k, v in {**fixed, **point_axes}.items() if k not in TRAINER_FIELDS}
        for activation, seed, lr in itertools.product(activations, seeds, lrs):
            config = RunConfig(
                task=name, activation=activation, seed=seed, lr=lr, options=options, **trainer
            )
            config = _complete(config, problems)
            if config is not None:
                points.append(GridPoint(run_id(config), config, point_axes))
    return points


def _complete(config: RunConfig, problems: list[str]) -> RunConfig | None:
    from gatelab.train import complete

    try:
        completed = complete(config)
    except (ValueError, TypeError) as error:
        problems.append(f"{config.task} with activation {config.activation!r}: {error}")
        return None
    # keep the activation as written: it labels the tables
    return replace(completed, activation=config.activation)


def _activations(value: Any, problems: list[str]) -> list[str]:
    from gatelab.registry import resolve

    names = [value] if isinstance(value, str) else list(value or [])
    if not names:
        problems.append('activations: give at least one, e.g. activations = ["gelu", "relu"]')
    valid = []
    for spec in names:
        try:
            resolve(spec)
            valid.append(spec)
        except (ValueError, TypeError) as error:
            problems.append(f"activations: {spec!r}: {error}")
    return valid


def _seeds(value: Any, problems: list[str]) -> list[int]:
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) and value >= 1:
        return list(range(value))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
    ):
        return value
    problems.append(f"seeds = {value!r}: give a count (seeds = 3) or a list of non-negative ints")
    return []


def _lrs(value: Any, task, problems: list[str]) -> list[float]:
    if value == "default":
        return [task.lr]
    if value == "grid":
        return list(task.lr_grid)
    values = value if isinstance(value, list) else [value]
    if values and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        for v in values
    ):
        return [float(v) for v in values]
    problems.append(f'lrs = {value!r}: use "default", "grid" or a list of positive numbers')
    return []


def _split_keys(
    table: Mapping[str, Any], task, where: str, problems: list[str], fixed: bool
) -> dict[str, Any]:
    """Trainer fields and this task's options; options of no task in the sweep are errors
    (reported by the caller through `_unknown` on overrides, here for shared tables)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in TRAINER_FIELDS and key not in task.options:
            if not _option_of_any_task(key):
                settings = ", ".join(sorted(TRAINER_FIELDS))
                problems.append(
                    f"{where}: unknown key {key!r}: not a trainer setting ({settings}) "
                    "nor a task option"
                )
            continue
        for item in [value] if fixed or not isinstance(value, list) else value:
            _check_setting(key, item, where, problems)
        if fixed:
            out[key] = value
        elif isinstance(value, list) and value:
            out[key] = value
        else:
            problems.append(f"{where} {key} = {value!r}: an axis needs a non-empty list of values")
    return out


CHOICES = {
    "scale": ("smoke", "paper"),
    "precision": ("auto", "fp32", "bf16"),
    "compile": (True, False),
    "download": (True, False),
    "init": INITS,  # the MLP tasks' option
}


def _check_setting(key: str, value: Any, where: str, problems: list[str]) -> None:
    """Settings whose values can be checked without building a run."""
    if key in CHOICES and value not in CHOICES[key]:
        choices = " | ".join(map(repr, CHOICES[key]))
        problems.append(f"{where} {key} = {value!r}: use {choices}")
    if key == "epochs" and not (
        isinstance(value, int) and not isinstance(value, bool) and value > 0
    ):
        problems.append(f"{where} epochs = {value!r}: a positive integer")


def _option_of_any_task(key: str) -> bool:
    from gatelab.tasks import TASKS

    return any(key in task.options for task in TASKS.values())
