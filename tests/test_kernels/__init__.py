"""Tests of gatelab.kernels. Not named `kernels`: pytest puts tests/ on sys.path, and a
package of that name shadowed Hugging Face's `kernels`, which transformers 5.25 imports when
it is installed (ImportError collecting tests/test_integrations.py, 2026-12-03)."""
