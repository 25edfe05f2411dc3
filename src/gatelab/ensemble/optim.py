"""One optimiser step for K stacked members, each with its own hyper-parameters.

:class:`BatchedOptimizer` updates parameters of shape [K, …] (gatelab.ensemble.stack) as K
independent optimisers would: Adam, AdamW and SGD (momentum, dampening, Nesterov, weight
decay) with the update rules of torch.optim's single-tensor implementations (torch/optim/
adam.py ``_single_tensor_adam``, sgd.py ``_single_tensor_sgd``), op for op, so that a member
matches a torch.optim run of its own up to the rounding of its gradients. A hyper-parameter
that all members share stays a Python float (the very scalar torch.optim uses); one that
differs (the learning rate across a grid) becomes a [K, 1, …] tensor.

The optimiser of a member is built by the task (``make_optimizer``) and read back: its type
and defaults decide the update; anything else (amsgrad, maximize, other optimisers) raises
NotStackable so the runs train one by one instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .stack import NotStackable

#: hyper-parameters read from a member's param group, per kind
HYPER = {
    "adam": ("lr", "betas", "eps", "weight_decay"),
    "adamw": ("lr", "betas", "eps", "weight_decay"),
    "sgd": ("lr", "momentum", "dampening", "weight_decay", "nesterov"),
}


def kind_of(optimizer: torch.optim.Optimizer) -> str:
    """ "adam", "adamw" or "sgd" for a torch optimiser the batched update reproduces."""
    defaults = optimizer.defaults
    name = type(optimizer).__name__
    kind = {"Adam": "adam", "AdamW": "adamw", "SGD": "sgd"}.get(name)
    if kind is None or type(optimizer).__module__.split(".")[:2] != ["torch", "optim"]:
        raise NotStackable(f"{name} has no batched update (Adam, AdamW and SGD have)")
    for flag in ("amsgrad", "maximize", "differentiable", "capturable"):
        if defaults.get(flag):
            raise NotStackable(f"{name}({flag}=True) has no batched update")
    if kind == "adam" and defaults.get("decoupled_weight_decay"):
        kind = "adamw"
    return kind


class BatchedOptimizer:
    """`kind`'s update on stacked parameters with per-member hyper-parameters.

    ``groups[k]`` is member k's param group (a dict like torch.optim's, which a task's
    schedule may edit between steps: lr, betas, momentum)."""

    def __init__(self, params: Sequence[Tensor], kind: str, groups: Sequence[dict[str, Any]]):
        self.params = list(params)
        self.kind = kind
        self.groups = [dict(g) for g in groups]
        self.step_count = 0
        self.state: list[dict[str, Tensor]] = [{} for _ in self.params]

    @classmethod
    def like(cls, params: Sequence[Tensor], members: Sequence[torch.optim.Optimizer]):
        """A batched optimiser for `params` whose member k follows `members[k]` (their type and
        param group; they need own no parameters of interest)."""
        kinds = {kind_of(m) for m in members}
        if len(kinds) != 1:
            raise NotStackable(f"the members use different optimisers: {sorted(kinds)}")
        kind = kinds.pop()
        groups = [{k: m.param_groups[0][k] for k in HYPER[kind]} for m in members]
        return cls(params, kind, groups)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _hyper(self, name: str, like: Tensor, index: int | None = None) -> float | Tensor:
        """Member values of `name` (element `index` of a tuple): a float when all agree, else
        a tensor [K, 1, …] broadcasting against `like`."""
        values = [g[name] if index is None else g[name][index] for g in self.groups]
        if all(v == values[0] for v in values):
            return float(values[0])
        return _column(values, like)

    @torch.no_grad()
    def step(self) -> None:
        self.step_count += 1
        for param, state in zip(self.params, self.state):
            if param.grad is None:
                continue
            if self.kind == "sgd":
                self._sgd(param, param.grad, state)
            else:
                self._adam(param, param.grad, state)

    def _adam(self, param: Tensor, grad: Tensor, state: dict[str, Tensor]) -> None:
        if not state:
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros_like(param)
        step = float(self.step_count)
        lr, eps = self._hyper("lr", param), self._hyper("eps", param)
        beta1, beta2 = self._hyper("betas", param, 0), self._hyper("betas", param, 1)
        weight_decay = self._hyper("weight_decay", param)
        if _nonzero(weight_decay):
            if self.kind == "adamw":
                param.mul_(1 - lr * weight_decay)
            else:
                grad = _added(grad, param, weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        if torch.is_tensor(beta2):
            exp_avg_sq.mul_(beta2).add_(grad * grad * (1 - beta2))
        else:
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self._per_member(
            lambda g: g["lr"] / (1 - g["betas"][0] ** step), param
        )  # torch: step_size = lr / (1 - beta1**step), a Python float per optimiser
        bias_correction2_sqrt = self._per_member(
            lambda g: (1 - g["betas"][1] ** step) ** 0.5, param
        )
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        if torch.is_tensor(step_size):  # addcdiv_(a, b, value=-s) computes (-s·a)/b
            param.add_(exp_avg * step_size.neg() / denom)
        else:
            param.addcdiv_(exp_avg, denom, value=-step_size)

    def _sgd(self, param: Tensor, grad: Tensor, state: dict[str, Tensor]) -> None:
        weight_decay = self._hyper("weight_decay", param)
        if _nonzero(weight_decay):
            grad = _added(grad, param, weight_decay)
        momentum = self._hyper("momentum", param)
        if _nonzero(momentum):
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.clone(grad).detach()
            else:
                dampening = self._hyper("dampening", param)
                buffer = state["momentum_buffer"].mul_(momentum)
                _add_(buffer, grad, 1 - dampening)
            buffer = state["momentum_buffer"]
            nesterov = {bool(g["nesterov"]) for g in self.groups}
            if len(nesterov) > 1:
                raise NotStackable("the members differ in nesterov")
            grad = _added(grad, buffer, momentum) if nesterov.pop() else buffer
        _add_(param, grad, -self._hyper("lr", param))

    def _per_member(self, value, like: Tensor) -> float | Tensor:
        values = [value(g) for g in self.groups]
        if all(v == values[0] for v in values):
            return values[0]
        return _column(values, like)

    # --- members come and go; checkpoints ------------------------------------------------------

    @torch.no_grad()
    def keep(self, members: Sequence[int], params: Sequence[Tensor]) -> None:
        """Keep the state of `members` only, for the new stacked `params` (StackedChain.keep)."""
        index = torch.as_tensor(list(members), dtype=torch.long)
        self.params = list(params)
        self.groups = [self.groups[i] for i in members]
        self.state = [{k: v[index.to(v.device)] for k, v in state.items()} for state in self.state]

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "step": self.step_count,
            "groups": [dict(g, betas=list(g["betas"])) if "betas" in g else dict(g)
                       for g in self.groups],
            "state": self.state,
        }  # fmt: skip

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        if saved["kind"] != self.kind or len(saved["state"]) != len(self.params):
            raise ValueError("the checkpoint's optimiser does not match this ensemble")
        self.step_count = int(saved["step"])
        self.groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else dict(g)
                       for g in saved["groups"]]  # fmt: skip
        self.state = [
            {k: v.to(p.device) for k, v in state.items()}
            for state, p in zip(saved["state"], self.params)
        ]


def _column(values: Sequence[float], like: Tensor) -> Tensor:
    """Per-member values as a float tensor [K, 1, …] that broadcasts against `like`."""
    column = torch.tensor([float(v) for v in values], dtype=like.dtype, device=like.device)
    return column.view(-1, *([1] * (like.dim() - 1)))


def _nonzero(value: float | Tensor) -> bool:
    return bool((value != 0).any()) if torch.is_tensor(value) else value != 0


def _added(x: Tensor, y: Tensor, alpha: float | Tensor) -> Tensor:
    """x + alpha·y (torch's ``x.add(y, alpha=alpha)`` for a float alpha)."""
    return x.add(y * alpha) if torch.is_tensor(alpha) else x.add(y, alpha=alpha)


def _add_(x: Tensor, y: Tensor, alpha: float | Tensor) -> Tensor:
    """In place: x += alpha·y."""
    return x.add_(y * alpha) if torch.is_tensor(alpha) else x.add_(y, alpha=alpha)
