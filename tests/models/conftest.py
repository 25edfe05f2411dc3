"""Fixtures of the transformer tests."""

import pytest

from gatelab.data.text import load_text


@pytest.fixture(scope="module")
def stdlib_bytes(tmp_path_factory):
    """The standard library's source as byte tokens, cached once per test session."""
    cache = tmp_path_factory.getbasetemp() / "gatelab-tokens"
    return load_text("stdlib", "bytes", cache_dir=cache)
