"""`gatelab tasks`: the training tasks, a row each."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_command
from .format import render_table


def run_tasks(args: argparse.Namespace) -> int:
    from ..tasks import TASKS

    rows = [
        {
            "name": t.name,
            "summary": t.summary,
            "citation": t.citation,
            "datasets": list(t.datasets),
            "lr": t.lr,
            "lr_grid": list(t.lr_grid),
            "epochs": dict(t.epochs),
            "metric": t.metric,
            "options": {k: list(v) if isinstance(v, tuple) else v for k, v in t.options.items()},
        }
        for t in TASKS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    table = [
        [[r["name"]], r["datasets"], [f"{r['lr']:g}"], [str(r["epochs"]["paper"])], [r["summary"]]]
        for r in rows
    ]
    print(render_table(["task", "datasets", "lr", "epochs", "protocol"], table))
    return 0


def add(subparsers: Any) -> None:
    parser = add_command(subparsers, "tasks", run_tasks, help="list the training tasks")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {name, summary, citation, datasets, lr, lr_grid, epochs, "
        "metric, options}",
    )
