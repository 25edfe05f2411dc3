"""The README's demo table, made from a demo's results: print it, write it into the README, or
check that the README holds it.

    gatelab demo --out /tmp/demo
    python tools/readme_demo.py /tmp/demo                   # print the table
    python tools/readme_demo.py /tmp/demo --update README.md
    python tools/readme_demo.py /tmp/demo --check README.md  # exit 1 if the README differs,
                                                             # 3 if made on another machine

The table is the demo's own leaderboard (gatelab.stats.leaderboard, the cells `gatelab demo`
prints), cut to the columns a reader of the README needs; it sits in the README between the
markers BEGIN and END below. tests/test_readme.py runs a fresh demo and checks the README.

The opening marker names the machine that made the table (`signature`): the figures are exact
only there. torch's vectorised kernels and MKL take the widest instruction set the CPU has, and
a different one changes sums in their last bits; gelu, gelu_tanh, elu and silu absorb that, relu,
e_gem and se_gem amplify it over 10 epochs (mnist-mlp, relu, seed 0, 2026-12-03, AMD EPYC:
test accuracy 0.924 as is, 0.928 with ATEN_CPU_CAPABILITY=default, 0.923 with
MKL_CBWR=COMPATIBLE; gelu 0.922 in all three, its test loss equal to 6 digits). `--check` on
another machine exits 3 and names both.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
from pathlib import Path

BEGIN = "<!-- demo-table: made by tools/readme_demo.py from a fresh `gatelab demo` on {} -->"
END = "<!-- /demo-table -->"
BASELINE = "gelu"
OTHER_MACHINE = 3  # --check's exit status where the table was made on another machine


def cpu_vendor() -> str:
    """The CPU's vendor id (GenuineIntel, AuthenticAMD, …) where Linux says it, else ''."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def signature() -> str:
    """What the demo's exact figures depend on: architecture, torch's CPU kernel level (the
    instruction set its vectorised kernels use), CPU vendor (MKL picks its kernels by it) and
    torch's version."""
    import torch

    parts = [platform.machine(), torch.backends.cpu.get_cpu_capability(), cpu_vendor()]
    return " ".join(p for p in parts if p) + f", torch {torch.__version__.split('+')[0]}"


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


def _pattern() -> re.Pattern:
    head, tail = (re.escape(part) for part in BEGIN.split("{}"))
    return re.compile(f"{head}(?P<made_on>.*?){tail}.*?{re.escape(END)}", re.DOTALL)


def made_on(readme: str) -> str:
    """The machine signature in the README's opening marker."""
    found = _pattern().search(readme)
    if found is None:
        raise SystemExit(f"the README has no demo-table markers ({BEGIN} … {END})")
    return found["made_on"]


def with_table(readme: str, table: str, machine: str) -> str:
    """`readme` with the markers and the text between them replaced by `table`, made on
    `machine`."""
    made_on(readme)  # the markers are there
    block = f"{BEGIN.format(machine)}\n{table}\n{END}"
    return _pattern().sub(lambda _: block, readme, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a `gatelab demo --out DIR` directory")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update", type=Path, metavar="README", help="rewrite its table")
    action.add_argument(
        "--check",
        type=Path,
        metavar="README",
        help="exit 1 if it differs, 3 if its table was made on another machine",
    )
    args = parser.parse_args(argv)
    table = demo_table(args.results)
    if args.update:
        text = args.update.read_text(encoding="utf-8")
        args.update.write_text(with_table(text, table, signature()), encoding="utf-8")
    elif args.check:
        text = args.check.read_text(encoding="utf-8")
        if made_on(text) != signature():
            print(
                f"{args.check}: its demo table was made on {made_on(text)}, this machine is "
                f"{signature()}: the figures are exact only there (see tools/readme_demo.py)"
            )
            return OTHER_MACHINE
        if with_table(text, table, signature()) != text:
            print(f"{args.check}: the demo table differs from this demo's:\n{table}")
            return 1
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
