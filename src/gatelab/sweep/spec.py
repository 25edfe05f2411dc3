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

from gatelab.tasks import RunConfig, get_task
from gatelab.tasks.rules import (
    LR,
    MAX_AXIS,
    MAX_RUNS,
    MAX_SEEDS,
    OPTIONS,
    SEED,
    SETTINGS,
    ConfigError,
    activation_problem,
    dataset_problem,
    device_problem,
    is_int,
    shown,
)

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
    """Validate a spec (as parsed from TOML) and expand its grid; raises :class:`SpecError`
    listing every problem at once (each key's type and rule, see :mod:`gatelab.tasks.rules`),
    before anything is built."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise SpecError([f"the spec must be a table of keys, got {shown(raw)}"])
    _unknown(raw, TOP_LEVEL, "top level", problems)
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"name = {shown(name)}: a non-empty string")
    tasks = _tasks(raw.get("tasks"), problems)
    overrides = _table(raw.get("overrides", {}), "[overrides]", problems)
    for task in overrides:
        error = _task_error(task)
        if error:
            problems.append(f"[overrides.{task}]: {error}")
        elif task not in tasks:
            problems.append(f"[overrides.{task}]: {task} is not in tasks = {tasks}")
    protocol = _table(raw.get("protocol", {}), "[protocol]", problems)
    _unknown(protocol, PROTOCOL_KEYS, "[protocol]", problems)
    _check_protocol(protocol, problems)
    plans = [_task_plan(name_, raw, overrides.get(name_, {}), problems) for name_ in tasks]
    total = sum(plan.size for plan in plans)
    if total > MAX_RUNS:
        problems.append(f"the grid has {total:,} runs: at most {MAX_RUNS:,} per sweep")
    points: list[GridPoint] = []
    if not problems:
        for plan in plans:
            points += _task_points(plan, problems)
    if not problems and not points:
        problems.append("the grid is empty: give at least one task, activation and seed")
    ids = [p.run_id for p in points]
    if len(ids) != len(set(ids)):
        problems.append("the grid lists the same run twice (duplicate activations, seeds or lrs)")
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    return SweepSpec(str(name), tuple(points), dict(protocol), dict(raw))


def _check_protocol(protocol: Mapping[str, Any], problems: list[str]) -> None:
    from gatelab.results import METRICS

    select_on = protocol.get("select_on", "val")
    if not isinstance(select_on, str) or select_on not in ("val", "test"):
        problems.append(f'[protocol] select_on = {shown(select_on)}: use "val" or "test"')
    metric = protocol.get("metric")
    if "metric" in protocol and (not isinstance(metric, str) or metric not in METRICS):
        problems.append(f"[protocol] metric = {shown(metric)}: one of {', '.join(METRICS)}")
    if not isinstance(protocol.get("higher_is_better", True), bool):
        problems.append("[protocol] higher_is_better: true or false")


def _table(value: Any, where: str, problems: list[str]) -> Mapping[str, Any]:
    """`value` if it is a table, else {} and a problem."""
    if isinstance(value, Mapping):
        return value
    problems.append(f"{where}: expected a table of keys, got {shown(value)}")
    return {}


def _unknown(table: Any, allowed: set[str], where: str, problems: list[str]) -> None:
    if not isinstance(table, Mapping):
        return  # _table reported it
    for key in table:
        if key not in allowed:
            problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _task_error(name: str) -> str | None:
    try:
        get_task(name)
    except ValueError as error:
        return str(error)
    return None


def _names(value: Any, key: str, example: str, problems: list[str]) -> list[str]:
    """A string or a list of strings (else a problem): task names, activation specs."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    problems.append(
        f"{key} = {shown(value)}: a string or a non-empty list of strings, e.g. {example}"
    )
    return []


def _tasks(value: Any, problems: list[str]) -> list[str]:
    valid = []
    for name in _names(value, "tasks", 'tasks = ["mnist-mlp"]', problems):
        error = _task_error(name)
        if error:
            problems.append(f"tasks: {error}")
        else:
            valid.append(name)
    return valid


@dataclass
class _Plan:
    """One task's part of the grid, checked: the values to take the product of."""

    task: Any
    activations: list[str]
    seeds: list[int]
    lrs: list[float]
    fixed: dict[str, Any]
    swept: dict[str, list[Any]]

    @property
    def size(self) -> int:
        axes = math.prod(len(v) for v in self.swept.values())
        return len(self.activations) * len(self.seeds) * len(self.lrs) * axes


def _task_plan(name: str, raw: Mapping, local: Any, problems: list[str]) -> _Plan:
    task = get_task(name)
    where = f"[overrides.{name}]"
    local = _table(local, where, problems)
    _unknown(local, OVERRIDE_KEYS | TRAINER_FIELDS | set(task.options), where, problems)
    in_local = "activations" in local
    activations = _activations(
        local["activations"] if in_local else raw.get("activations"),
        f"{where} activations" if in_local else "activations",
        problems,
    )
    seeds = _seeds(local.get("seeds", raw.get("seeds", 1)), problems)
    lrs = _lrs(local.get("lrs", raw.get("lrs", "default")), task, problems)
    settings = {
        **_table(raw.get("settings", {}), "[settings]", problems),
        **{k: v for k, v in local.items() if k not in OVERRIDE_KEYS},
    }
    axes = {
        **_table(raw.get("axes", {}), "[axes]", problems),
        **_table(local.get("axes", {}), f"{where} axes", problems),
    }
    fixed = _split_keys(settings, task, "[settings]", problems, fixed=True)
    swept = _split_keys(axes, task, "[axes]", problems, fixed=False)
    return _Plan(task, activations, seeds, lrs, fixed, swept)


def _task_points(plan: _Plan, problems: list[str]) -> list[GridPoint]:
    points = []
    axis_names = list(plan.swept)
    for values in itertools.product(*plan.swept.values()):
        point_axes = dict(zip(axis_names, values))
        merged = {**plan.fixed, **point_axes}
        trainer = {k: v for k, v in merged.items() if k in TRAINER_FIELDS}
        options = {k: v for k, v in merged.items() if k not in TRAINER_FIELDS}
        for activation, seed, lr in itertools.product(plan.activations, plan.seeds, plan.lrs):
            config = RunConfig(
                task=plan.task.name, activation=activation, seed=seed, lr=lr, options=options,
                **trainer,
            )  # fmt: skip
            config = _complete(config, problems)
            if config is not None:
                points.append(GridPoint(run_id(config), config, point_axes))
    return points


def _complete(config: RunConfig, problems: list[str]) -> RunConfig | None:
    from gatelab.train import complete

    try:
        completed = complete(config)
    except ConfigError as error:  # checked above key by key: only what needs a whole run
        problems += [f"{config.task}: {p}" for p in error.problems]
        return None
    # keep the activation as written: it labels the tables
    return replace(completed, activation=config.activation)


def _activations(value: Any, key: str, problems: list[str]) -> list[str]:
    if value is None:
        problems.append(f'{key}: give at least one, e.g. activations = ["gelu", "relu"]')
        return []
    valid = []
    for spec in _names(value, key, 'activations = ["gelu", "relu"]', problems):
        problem = activation_problem(spec)
        if problem:
            problems.append(f"{key}: {spec!r}: {problem}")
        else:
            valid.append(spec)
    return valid


def _seeds(value: Any, problems: list[str]) -> list[int]:
    if is_int(value) and 1 <= value <= MAX_SEEDS:
        return list(range(value))
    if (
        isinstance(value, list)
        and 0 < len(value) <= MAX_SEEDS
        and all(SEED.accepts(s) for s in value)
    ):
        return value
    problems.append(
        f"seeds = {shown(value)}: a count from 1 to {MAX_SEEDS:,} (seeds = 3) or a list of at "
        f"most {MAX_SEEDS:,} seeds, each {SEED.allowed}"
    )
    return []


def _lrs(value: Any, task, problems: list[str]) -> list[float]:
    if value == "default":
        return [task.lr]
    if value == "grid":
        return list(task.lr_grid)
    values = value if isinstance(value, list) else [value]
    if values and len(values) <= MAX_AXIS and all(LR.accepts(v) for v in values):
        return [float(v) for v in values]
    problems.append(
        f'lrs = {shown(value)}: "default", "grid" or a list of at most {MAX_AXIS:,} learning '
        f"rates, each {LR.allowed}"
    )
    return []


def _split_keys(
    table: Mapping[str, Any], task, where: str, problems: list[str], fixed: bool
) -> dict[str, Any]:
    """Trainer fields and this task's options, each value checked by its rule; options of no
    task are problems, options of other tasks are skipped for this one."""
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
        if not fixed and not (isinstance(value, list) and 0 < len(value) <= MAX_AXIS):
            problems.append(
                f"{where} {key} = {shown(value)}: an axis needs a list of 1 to {MAX_AXIS:,} values"
            )
            continue
        for item in [value] if fixed else value:
            problems += _value_problems(key, item, task, f"{where} ")
        out[key] = value
    return out


def _value_problems(key: str, value: Any, task, where: str) -> list[str]:
    """The rule of a trainer setting or task option applied to one value."""
    rule = SETTINGS.get(key) or OPTIONS.get(key)
    problem = rule.problem(key, value, where) if rule else None
    if problem:
        return [problem]
    if key == "device":
        return [p for p in [device_problem(value, where)] if p]
    if key == "dataset":
        return [p for p in [dataset_problem(task, value, where)] if p]
    return []


def _option_of_any_task(key: str) -> bool:
    from gatelab.tasks import TASKS

    return any(key in task.options for task in TASKS.values())
