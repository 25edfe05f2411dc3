"""`import gatelab` stays light: nothing heavy until a name is used, then torch and numpy only;
the command line builds its parser without torch; every import order works."""

import ast
import subprocess
import sys

import pytest

import gatelab

HEAVY = {"matplotlib", "sympy", "scipy", "pandas", "mpmath"}


def loaded_after(code: str, modules: set[str]) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after running `code`."""
    code += f"\nimport sys; print(sorted(set({sorted(modules)!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def test_import_loads_neither_torch_nor_the_extras():
    assert loaded_after("import gatelab", {"torch", "numpy", *HEAVY}) == []


def test_the_command_line_parser_is_built_without_torch():
    # the demo prints its first line before torch loads (1–3 s on 2 cores): tests/sweep
    code = "import gatelab.cli; gatelab.cli.build_parser()"
    assert loaded_after(code, {"torch", "numpy", *HEAVY}) == []


def test_first_use_loads_torch_and_the_catalog_but_no_extras():
    code = "import gatelab; print(len(gatelab.names()), type(gatelab.create('gelu')).__name__)"
    assert loaded_after(code, {"torch", "numpy", *HEAVY}) == ["numpy", "torch"]


@pytest.mark.parametrize("first", ["gatelab.modules", "gatelab.catalog.classic", "gatelab.swap"])
def test_any_module_imported_first_sees_the_whole_catalog(first):
    # catalog/classic.py imports modules.py, which imports catalog/custom.py: the registry, not
    # the catalog package, imports the entries, so that no import order is circular
    code = f"import {first}, gatelab.registry as r; print(len(r.names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(gatelab.names())


def test_every_exported_name_resolves_and_dir_lists_it():
    for name in gatelab.__all__:
        assert getattr(gatelab, name) is not None
    assert set(gatelab.__all__) <= set(dir(gatelab))
    assert gatelab.create is gatelab.modules.create and gatelab.gated is gatelab.catalog.gated
    with pytest.raises(AttributeError, match="no attribute 'craete'; did you mean create"):
        gatelab.craete  # noqa: B018
