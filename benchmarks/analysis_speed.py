"""Wall time of `gatelab.analysis.analyze` per catalog entry (targets: gelu < 10 s, the whole
catalog < 2 minutes on 2 cores).

    python benchmarks/analysis_speed.py
"""

from __future__ import annotations

import time

import gatelab
from gatelab.analysis import analyze


def main() -> None:
    total = 0.0
    print("| spec | seconds |\n|---|---|")
    for name in gatelab.names():
        start = time.perf_counter()
        analyze(name)
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"| {name} | {elapsed:.1f} |")
    print(f"| **whole catalog** | **{total:.1f}** |")


if __name__ == "__main__":
    main()
