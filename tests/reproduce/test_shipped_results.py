"""The reproductions shipped in docs/results/ are whole: every file the reports link exists, the
CSV has one row per run the report counts, and each names the protocol it came from."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from gatelab.reproduce.protocols import PROTOCOLS

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
SHIPPED = sorted(name for name in PROTOCOLS if (RESULTS / name).is_dir())


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_result_is_whole(name):
    folder = RESULTS / name
    for part in ("report.md", "reproduction.md", "runs.csv"):
        assert (folder / part).is_file(), part
    for page in ("report.md", "reproduction.md"):
        text = (folder / page).read_text()
        for link in re.findall(r"\]\(([^)#]+)\)", text):
            if not link.startswith("http"):
                assert (folder / link).exists(), f"{page} links missing {link}"
    reproduction = (folder / "reproduction.md").read_text()
    assert f"gatelab reproduce {name}" in reproduction
    runs = int(re.search(r"- runs: (\d+)", reproduction).group(1))
    with open(folder / "runs.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == runs
