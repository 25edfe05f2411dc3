"""The declared type and rule of every run setting and task option, checked before any work.

`gatelab run`, sweep specs (:mod:`gatelab.sweep.spec`) and the Python API
(:func:`gatelab.train.complete`) check a run's values here before any data is loaded or any
directory is created, and report every problem at once, one line each, naming the key, the
value and what is allowed. The bounds keep memory and time finite (a seed count of 10¹¹, an
lr of 1e308) without ruling out any real protocol.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_EPOCHS = 100_000
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit
MAX_SEEDS = 10_000  # seeds per grid point
MAX_LR = 1e6  # far above any optimiser's stable step (divergence is then a result); 1e308 overflows
MAX_AXIS = 1_000  # values on one sweep axis
MAX_RUNS = 100_000  # runs in one sweep
MAX_NOISE_LEVELS = 1_000


def shown(value: Any, width: int = 60) -> str:
    """repr(value), shortened to `width` characters."""
    from ..registry import shortened

    return shortened(repr(value), width)


@dataclass(frozen=True)
class Rule:
    """What a value must be: a test, and the words that say what is allowed."""

    allowed: str
    accepts: Callable[[Any], bool]

    def problem(self, key: str, value: Any, where: str = "") -> str | None:
        """None if `value` is allowed, else "where key = value: what is allowed"."""
        try:
            ok = bool(self.accepts(value))
        except (TypeError, ValueError, OverflowError):
            ok = False
        return None if ok else f"{where}{key} = {shown(value)}: {self.allowed}"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(low: int, high: int) -> Rule:
    return Rule(f"an integer from {low:,} to {high:,}", lambda v: is_int(v) and low <= v <= high)


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Rule:
    brackets = ("(" if low_open else "[", ")" if high_open else "]")
    allowed = f"a number in {brackets[0]}{low:g}, {high:g}{brackets[1]}"

    def accepts(v: Any) -> bool:
        above = v > low if low_open else v >= low
        below = v < high if high_open else v <= high
        return is_number(v) and above and below

    return Rule(allowed, accepts)


def choice(*values: Any) -> Rule:
    return Rule(
        "one of " + " | ".join(map(repr, values)), lambda v: v in values and _same_type(v, values)
    )


def _same_type(value: Any, values: tuple) -> bool:
    """True unless a bool poses as an int (True == 1) or an int as a bool."""
    return any(type(value) is type(v) for v in values)


def numbers(item: Rule, most: int) -> Rule:
    return Rule(
        f"a list of 1 to {most:,} values, each {item.allowed}",
        lambda v: isinstance(v, (list, tuple)) and 0 < len(v) <= most and all(map(item.accepts, v)),
    )


TEXT = Rule("a non-empty string", lambda v: isinstance(v, str) and v.strip() != "")
BOOLEAN = Rule("true or false", lambda v: isinstance(v, bool))
_DEVICE = re.compile(r"auto|cpu|cuda(:\d{1,3})?")
DEVICE = Rule(
    "auto, cpu, cuda or cuda:N", lambda v: isinstance(v, str) and _DEVICE.fullmatch(v) is not None
)
SEED = integer(0, MAX_SEED)
LR = number(0, MAX_LR, low_open=True)


def _settings() -> dict[str, Rule]:
    from .base import SCALES

    return {
        "epochs": integer(1, MAX_EPOCHS),
        "scale": choice(*SCALES),
        "dataset": TEXT,
        "data_root": TEXT,
        "download": BOOLEAN,
        "device": DEVICE,
        "compile": BOOLEAN,
        "precision": choice("auto", "fp32", "bf16"),
    }


def _options() -> dict[str, Rule]:
    from ..data.text import TOKENIZERS
    from ..models.glu import MLP_KINDS
    from ..models.mlp import INITS
    from ..models.resnet import NORMS

    return {
        "dropout": Rule(
            "a drop probability, a number in [0, 1)", number(0, 1, high_open=True).accepts
        ),
        "init": choice(*INITS),
        "noise_levels": numbers(number(0, 100), MAX_NOISE_LEVELS),
        "norm": choice(*NORMS),
        "corpus": TEXT,
        "tokenizer": choice(*TOKENIZERS),
        "mlp": choice(*MLP_KINDS),
    }


#: RunConfig's fields besides task, activation, seed, lr and options.
SETTINGS: Mapping[str, Rule] = _settings()
#: Every task option, by name (an option means the same in every task that has it).
OPTIONS: Mapping[str, Rule] = _options()


def device_problem(device: Any, where: str = "", fallback: str = "cpu or auto") -> str | None:
    """A device this machine lacks, or a malformed one, as a problem line (else None)."""
    malformed = DEVICE.problem("device", device, where)
    if malformed or device in ("auto", "cpu"):
        return malformed
    import torch

    if not torch.cuda.is_available():
        return (
            f"{where}device = {device!r}: torch sees no CUDA device on this machine "
            f"(use {fallback})"
        )
    index = int(device.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        last = f"cuda:{count - 1}"
        return f"{where}device = {device!r}: this machine has {count} CUDA device(s), cuda:0–{last}"
    return None


def activation_problem(spec: Any) -> str | None:
    """Why `spec` cannot be a run's activation (the error's message), else None. The module is
    built once, not only parsed: what only construction checks is bad input too, before any
    data is loaded (``prelu(init=1e308)``: the slope overflows a float32 parameter)."""
    from ..modules import create

    try:
        create(spec)
    except (ValueError, TypeError) as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - a user's module_class: any failure is its own
        return f"building its module raised {type(error).__name__}: {error}"
    return None


def config_problems(config: Any, where: str = "") -> list[str]:
    """Every problem of a :class:`~gatelab.tasks.RunConfig`, one line each (empty if none)."""
    from .base import get_task

    problems: list[str] = []
    try:
        task = get_task(config.task)
    except ValueError as error:
        problems.append(f"{where}task: {error}")
        task = None
    activation = activation_problem(config.activation)
    if activation:
        problems.append(f"{where}activation: {activation}")
    problems.append(SEED.problem("seed", config.seed, where))
    if config.lr is not None:
        problems.append(LR.problem("lr", config.lr, where))
    for key, rule in SETTINGS.items():
        value = getattr(config, key)
        if value is not None:
            problems.append(rule.problem(key, value, where))
    if not DEVICE.problem("device", config.device):
        problems.append(device_problem(config.device, where))
    if task is not None:
        problems.append(dataset_problem(task, config.dataset, where))
        problems += option_problems(task, config.options, where)
    else:  # the values of options some task has are still checked
        problems += [
            OPTIONS[k].problem(k, v, where) for k, v in config.options.items() if k in OPTIONS
        ]
    return [p for p in problems if p]


def dataset_problem(task: Any, dataset: Any, where: str = "") -> str | None:
    if dataset is None or not isinstance(dataset, str) or dataset in (*task.datasets, "synthetic"):
        return None  # a non-string is TEXT's problem
    names = " | ".join(map(repr, (*task.datasets, "synthetic")))
    return f"{where}dataset = {shown(dataset)}: task {task.name} takes {names}"


def option_problems(task: Any, options: Mapping[str, Any], where: str = "") -> list[str]:
    """Options `task` does not have, and values their rule refuses."""
    problems = []
    for key, value in options.items():
        if key not in task.options:
            known = ", ".join(sorted(task.options)) or "none"
            problems.append(
                f"{where}{key}: task {task.name} has no option {key!r} (options: {known})"
            )
        elif key in OPTIONS:
            problems.append(OPTIONS[key].problem(key, value, where))
    return [p for p in problems if p]


class ConfigError(ValueError):
    """A run configuration with problems; ``problems`` lists them, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def check_config(config: Any, where: str = "") -> None:
    """Raise :class:`ConfigError` listing every problem of `config` (nothing if it has none)."""
    problems = config_problems(config, where)
    if problems:
        raise ConfigError(problems)
