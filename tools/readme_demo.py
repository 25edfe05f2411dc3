"""The README's demo table, made from a demo's results: print it, write it into the README, or
check that the README holds it.

    gatelab demo --out /tmp/demo
    python tools/readme_demo.py /tmp/demo                   # print the table
    python tools/readme_demo.py /tmp/demo --update README.md
    python tools/readme_demo.py /tmp/demo --check README.md  # exit 1 if the README differs

The table is the demo's own leaderboard (gatelab.stats.leaderboard, the cells `gatelab demo`
prints), cut to the columns a reader of the README needs; it sits in the README between the
markers BEGIN and END below. tests/test_readme.py runs a fresh demo and checks the README.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

BEGIN = "<!-- demo-table: made by tools/readme_demo.py from a fresh `gatelab demo` -->"
END = "<!-- /demo-table -->"
BASELINE = "gelu"


def demo_table(directory: Path) -> str:
    """The Markdown table of the demo results in `directory`."""
    from gatelab import results, stats

    board = stats.leaderboard(results.load(directory), baseline=BASELINE)
    delta = f"Δ vs {BASELINE} (paired mean)"
    lines = [
        f"| activation | test accuracy, mean ± sd (3 seeds) | median | Δ vs {BASELINE}, paired "
        "mean [95% CI] | verdict (paired t, Holm, α = 0.05) |",
        "|---|---:|---:|---:|---|",
    ]
    for row in board.to_dict("records"):
        change = row[delta].removesuffix(" pts")
        change = "—" if change == "—" else f"{change} {row['95% CI of Δ']}"
        cells = (row["activation"], row["mean ± std"], row["median"], change, row["verdict"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def with_table(readme: str, table: str) -> str:
    """`readme` with the text between the markers replaced by `table`."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise SystemExit(f"the README has no demo-table markers ({BEGIN} … {END})")
    return pattern.sub(lambda _: f"{BEGIN}\n{table}\n{END}", readme, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a `gatelab demo --out DIR` directory")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update", type=Path, metavar="README", help="rewrite its table")
    action.add_argument("--check", type=Path, metavar="README", help="exit 1 if it differs")
    args = parser.parse_args(argv)
    table = demo_table(args.results)
    if args.update:
        text = args.update.read_text(encoding="utf-8")
        args.update.write_text(with_table(text, table), encoding="utf-8")
    elif args.check:
        text = args.check.read_text(encoding="utf-8")
        if with_table(text, table) != text:
            print(f"{args.check}: the demo table differs from this demo's:\n{table}")
            return 1
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
