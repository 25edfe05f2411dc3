"""`import gatelab` stays light: torch and numpy only."""

import subprocess
import sys


def test_import_does_not_pull_heavy_extras():
    code = (
        "import sys, gatelab; heavy = {'matplotlib', 'sympy', 'scipy', 'pandas', 'mpmath'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
