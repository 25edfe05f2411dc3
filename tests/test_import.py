"""`import gatelab` stays light: torch and numpy only."""

import ast
import subprocess
import sys


def loaded_after(imports: str, modules: set[str]) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after ``import {imports}``."""
    code = f"import sys, {imports}; print(sorted(set({sorted(modules)!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(out.stdout.strip())


def test_import_does_not_pull_heavy_extras():
    assert loaded_after("gatelab", {"matplotlib", "sympy", "scipy", "pandas", "mpmath"}) == []
