"""Fused kernels behind :func:`gatelab.autograd.apply`.

``dispatch`` chooses a path per call: the Triton kernels (``triton_gated``, ``triton_fused``) for
CUDA tensors when Triton is installed, the torch path otherwise. Nothing here imports Triton at
package import; the Triton modules are loaded on first use.
"""
