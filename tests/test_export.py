"""torch.compile and ONNX export of every catalog entry.

Compiled forward and backward must equal eager, and match an independent float64 reference:
the Spec's textbook `naive` formula differentiated by torch's own autograd (not gatelab's
closed-form derivatives). Exported ONNX graphs, run by onnxruntime, must equal eager and
tests/reference.py's mpmath values. torch.compile is slow on CPU, so only a representative
subset runs by default; the rest is marked `slow` (pytest --runslow).
"""

import copy
import logging
import math
import warnings

import numpy as np
import pytest
import reference as R
import torch
from torch import nn

import gatelab
from gatelab.registry import resolve

SPECS = sorted(gatelab.names()) + [
    "gem(N=2)",
    "silu(beta=1.5)",
    "gelu_general(learnable=True)",
    "prelu(num_parameters=8)",
]
COMPILED_BY_DEFAULT = {"gelu", "gem(N=2)", "se_gem", "prelu", "gelu_general(learnable=True)"}
WIDTH = 8


def _model(spec, seed=0):
    torch.manual_seed(seed)
    act = gatelab.create(spec)
    with torch.no_grad():  # move learnable parameters off their defaults, so they matter
        if hasattr(act, "weight"):  # prelu
            act.weight.copy_(torch.linspace(0.1, 0.8, act.weight.numel()))
        if hasattr(act, "mu"):  # gelu_general(learnable=True)
            act.mu.fill_(0.3)
            act.log_sigma.fill_(math.log(0.7))
    return nn.Sequential(nn.Linear(WIDTH, WIDTH), act)


def _input(seed=1):
    return 3 * torch.randn(16, WIDTH, generator=torch.Generator().manual_seed(seed))


def _params(act, x):
    """The values the formula receives: bound constants and (learnable) tensor parameters."""
    return {**act.params, **act.tensor_params(x)}


# --- torch.compile ----------------------------------------------------------------------------


def _naive_reference(model, x, upstream):
    """Output and gradients of a float64 copy of `model` whose activation is the naive formula
    differentiated by torch's autograd."""
    ref = copy.deepcopy(model).double()
    linear, act = ref
    x = x.detach().double().requires_grad_(True)
    h = linear(x)
    out = act.spec.naive(h, **_params(act, h))
    out.backward(upstream.double())
    return out, x.grad, {name: p.grad for name, p in ref.named_parameters()}


@pytest.mark.parametrize(
    "spec",
    [pytest.param(s, marks=() if s in COMPILED_BY_DEFAULT else pytest.mark.slow) for s in SPECS],
)
def test_torch_compile_forward_and_backward_equal_eager(spec):
    from torch._dynamo.utils import counters

    eager = _model(spec)
    compiled_model = copy.deepcopy(eager)
    torch._dynamo.reset()  # every test compiles afresh, never hitting the recompile limit
    counters.clear()
    compiled = torch.compile(compiled_model, fullgraph=True)

    x = _input()
    upstream = torch.randn(16, WIDTH, generator=torch.Generator().manual_seed(2))
    x_eager, x_compiled = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out_eager, out_compiled = eager(x_eager), compiled(x_compiled)
    out_eager.backward(upstream)
    out_compiled.backward(upstream)
    assert counters["stats"]["unique_graphs"] == 1  # the whole model ran as one compiled graph

    tol = dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out_compiled, out_eager, **tol)
    torch.testing.assert_close(x_compiled.grad, x_eager.grad, **tol)
    grads_eager = dict(eager.named_parameters())
    for name, p in compiled_model.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, grads_eager[name].grad, **tol, msg=name)

    ref_out, ref_x_grad, ref_grads = _naive_reference(eager, x, upstream)
    loose = dict(rtol=1e-4, atol=1e-5)  # float32 vs float64
    torch.testing.assert_close(out_compiled.double(), ref_out, **loose)
    torch.testing.assert_close(x_compiled.grad.double(), ref_x_grad, **loose)
    for name, p in compiled_model.named_parameters():
        torch.testing.assert_close(p.grad.double(), ref_grads[name], **loose, msg=name)


# --- ONNX -------------------------------------------------------------------------------------


def _export(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            return torch.onnx.export(model, (x,), dynamo=True, opset_version=20, verbose=False)
        finally:
            logging.disable(previous)


def _op_types(proto):
    nodes = list(proto.graph.node) + [n for f in proto.functions for n in f.node]
    return {n.op_type for n in nodes}


def _mpmath_reference(spec, model, x):
    """f(h) for h = W·x + b computed in float64, from tests/reference.py's 60-digit formulas."""
    linear, act = model
    entry, _ = resolve(spec)
    _, _, given = gatelab.parse(spec)
    with torch.no_grad():
        h = torch.nn.functional.linear(x.double(), linear.weight.double(), linear.bias.double())
        h = h.numpy()
    out = np.empty_like(h)
    for j in range(h.shape[1]):
        params = dict(given)
        if entry.name == "prelu":
            params["init"] = float(act.weight.detach()[j if act.weight.numel() > 1 else 0])
        if entry.name == "gelu_general" and act.params["learnable"]:
            params.update(mu=float(act.mu.detach()), sigma=float(act.log_sigma.detach().exp()))
        out[:, j] = [float(v) for v in R.reference(entry.name, h[:, j], params)]
    return torch.from_numpy(out)


@pytest.mark.parametrize("spec", SPECS)
def test_onnx_export_runs_in_onnxruntime(spec):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = _model(spec).eval()
    x = _input()
    program = _export(model, x)
    session = ort.InferenceSession(
        program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    got = torch.from_numpy(got)
    with torch.no_grad():
        eager = model(x)
    assert got.shape == eager.shape and got.dtype == torch.float32
    torch.testing.assert_close(got, eager, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        got.double(), _mpmath_reference(spec, model, x), rtol=1e-5, atol=1e-6
    )
    ops = _op_types(program.model_proto)
    assert "Gemm" in ops or "MatMul" in ops


def test_onnx_gelu_is_one_gelu_op():
    pytest.importorskip("onnxscript")
    for spec, approximate in [("gelu", "none"), ("gelu_tanh", "tanh")]:
        proto = _export(_model(spec).eval(), _input()).model_proto
        ops = _op_types(proto)
        assert "Gelu" in ops and "Erf" not in ops and "Tanh" not in ops, (spec, ops)
        (node,) = [n for n in proto.graph.node if n.op_type == "Gelu"]
        attributes = {a.name: a.s.decode() for a in node.attribute}
        assert attributes.get("approximate", "none") == approximate
