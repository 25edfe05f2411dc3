"""The package metadata: a license file and an SPDX license expression (PEP 639), the
protocols shipped as package data, gatelab's output directories ignored by git."""

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    requires = PYPROJECT["build-system"]["requires"]
    assert any(r.startswith("setuptools>=") and int(r.split(">=")[1]) >= 77 for r in requires)


def test_protocols_are_package_data():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["gatelab"]
    assert "reproduce/protocols/*.toml" in data
    assert list((ROOT / "src/gatelab/reproduce/protocols").glob("*.toml"))


def test_default_output_directories_are_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    for directory in ("gatelab-demo/", "gatelab-runs/", "gatelab-reproduce/"):
        assert directory in ignored
