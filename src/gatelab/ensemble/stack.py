"""K members of one architecture as one batched model: the ensemble's forward pass.

A member is a *chain* model — ``flatten(1)`` then Linear / activation / Dropout layers in
order (gatelab's MLP, window tagger, frame classifier and autoencoder declare theirs with a
``chain()`` method). :class:`StackedChain` holds every Linear of the K members as one weight
of shape [K, out, in] and computes a layer for all members with one ``torch.baddbmm``.

Why batched layers rather than ``torch.func.stack_module_state`` + ``functional_call`` +
``vmap``: on 2 CPU cores, one Adam step of the §3.1 MLP (8×128, batch 128) costs 1.53 ms per
member with baddbmm and 2.57 ms with vmap at K = 15 (1.55 vs 2.28 at K = 30; a single model:
2.78 ms), measured in one process. vmap still serves the learnable activations (PReLU, the
learnable Gaussian GELU), whose per-member parameters go through ``functional_call``.

Dropout draws each member's mask from that member's own generator with the very call of
gatelab's MLP dropout (gatelab.models.mlp.dropout), so a member's masks equal its sequential
run's bit for bit. A chain with torch's own ``nn.Dropout`` (whose CPU masks come from
``bernoulli_``) is refused rather than given other masks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from ..models.mlp import Dropout, dropout_scale
from ..modules import Activation


class NotStackable(ValueError):
    """The members cannot train as one batched model (the message says why)."""


def _normalised(model: nn.Module) -> list[tuple[str, str, nn.Module | float]]:
    """The chain of `model` as (kind, name, module) with a dropout slot (kind "dropout", the
    probability) after every activation; Dropout(0) and a missing Dropout are the same."""
    chain = getattr(model, "chain", None)
    if not callable(chain):
        raise NotStackable(
            f"{type(model).__name__} does not declare a chain of Linear / activation / Dropout "
            "layers (BatchNorm, convolutions and attention need their own runs)"
        )
    ops: list[tuple[str, str, nn.Module | float]] = []
    for name, module in chain():
        if isinstance(module, nn.Linear):
            ops.append(("linear", name, module))
        elif isinstance(module, Activation):
            ops += [("activation", name, module), ("dropout", name, 0.0)]
        elif isinstance(module, Dropout):
            if not ops or ops[-1][0] != "dropout" or ops[-1][2] != 0.0:
                raise NotStackable(f"{name}: a Dropout must directly follow an activation")
            ops[-1] = ("dropout", name, float(module.p))
        elif isinstance(module, nn.Dropout):
            raise NotStackable(
                f"{name}: torch's nn.Dropout draws CPU masks with bernoulli_, which a member "
                "cannot reproduce per generator; use gatelab.models.mlp.Dropout"
            )
        else:
            raise NotStackable(f"{name}: {type(module).__name__} layers cannot be stacked")
    buffers = [name for name, _ in model.named_buffers()]
    if buffers:  # state besides parameters is not stacked: refuse rather than lose it
        raise NotStackable(f"{type(model).__name__} has buffers ({', '.join(buffers[:3])})")
    return ops


def _signature(ops: list[tuple[str, str, nn.Module | float]]) -> list[tuple]:
    shape = []
    for kind, _, module in ops:
        if kind == "linear":
            shape.append((kind, module.in_features, module.out_features, module.bias is not None))
        elif kind == "activation":
            shape.append((kind, repr(module), type(module).__name__))
        else:
            shape.append((kind,))
    return shape


class StackedLinear(nn.Module):
    """K Linear layers: ``weight_t`` [K, in, out] (each member's weight transposed), bias
    [K, out]; input [K, B, in] → [K, B, out] with one baddbmm.

    The transposed layout costs 3.0 ms against 3.9 ms for baddbmm on ``weight.transpose``
    (forward + backward of the 784→128 layer at K = 15, batch 128, 2 cores, measured)."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight_t = nn.Parameter(torch.stack([layer.weight.detach().t() for layer in layers]))
        has_bias = layers[0].bias is not None
        self.bias = (
            nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))
            if has_bias
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:  # one input shared by all members (evaluation)
            x = x.unsqueeze(0).expand(self.weight_t.shape[0], *x.shape)
        if self.bias is None:
            return torch.bmm(x, self.weight_t)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight_t)


class StackedActivation(nn.Module):
    """One activation for all members; learnable parameters are stacked [K, …] and applied
    per member with vmap(functional_call) (gatelab activations support vmap)."""

    def __init__(self, modules: Sequence[Activation]) -> None:
        super().__init__()
        self.template = modules[0]
        self.learnable = any(True for _ in modules[0].parameters())
        if self.learnable:
            params, _ = stack_module_state(list(modules))
            self.stacked = nn.ParameterDict(
                {name.replace(".", "__"): nn.Parameter(v.detach()) for name, v in params.items()}
            )
            self.template = _meta_copy(modules[0])

    def forward(self, x: Tensor) -> Tensor:
        if not self.learnable:
            return self.template(x)
        params = {name.replace("__", "."): value for name, value in self.stacked.items()}
        return vmap(lambda p, h: functional_call(self.template, p, (h,)))(params, x)


class StackedDropout(nn.Module):
    """Per-member dropout probabilities; each member's mask comes from its own generator."""

    def __init__(self, probabilities: Sequence[float]) -> None:
        super().__init__()
        self.p = list(probabilities)
        self.generators: list[torch.Generator] | None = None  # set by the trainer each epoch

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not any(self.p):
            return x
        if self.generators is None:
            raise RuntimeError("StackedDropout needs its members' generators before training")
        scale = torch.empty_like(x, requires_grad=False)
        for k, (p, generator) in enumerate(zip(self.p, self.generators)):
            if p == 0:
                scale[k].fill_(1.0)
            else:  # gatelab.models.mlp.dropout's mask, from the member's own generator
                dropout_scale(x[k], p, generator, out=scale[k])
        return x * scale


class StackedChain(nn.Module):
    """The K members of one chain architecture as one model: input [K, B, …] (or [B, …] shared
    by all) → output [K, B, out]. Members may differ in their Dropout probabilities."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        if not models:
            raise NotStackable("an ensemble needs at least one member")
        chains = [_normalised(model) for model in models]
        first = _signature(chains[0])
        for index, chain in enumerate(chains[1:], start=1):
            if _signature(chain) != first:
                raise NotStackable(f"member {index} has another architecture than member 0")
        self.size = len(models)
        self.member_names: list[list[str]] = [[] for _ in models]
        layers: list[nn.Module] = []
        for position, (kind, _, _) in enumerate(chains[0]):
            column = [chain[position] for chain in chains]
            if kind == "linear":
                layers.append(StackedLinear([module for _, _, module in column]))
                suffixes = ["weight"] + (["bias"] if column[0][2].bias is not None else [])
            elif kind == "activation":
                layers.append(StackedActivation([module for _, _, module in column]))
                suffixes = [n for n, _ in column[0][2].named_parameters()]
            else:
                layers.append(StackedDropout([p for _, _, p in column]))
                suffixes = []
            for member, (_, name, _) in enumerate(column):
                self.member_names[member] += [f"{name}.{s}" for s in suffixes]
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor, shared: bool = False) -> Tensor:
        """`x` is [K, B, …], one batch per member, or with `shared` one batch [B, …] that every
        member sees (evaluation); the output is [K, B, out]."""
        x = x.flatten(1) if shared else x.flatten(2)
        for layer in self.layers:
            x = layer(x)
        return x

    def stacked_parameters(self) -> list[nn.Parameter]:
        """The parameters in a fixed order matching :attr:`member_names` (for each member)."""
        params: list[nn.Parameter] = []
        for layer in self.layers:
            if isinstance(layer, StackedLinear):
                params += [layer.weight_t] + ([layer.bias] if layer.bias is not None else [])
            elif isinstance(layer, StackedActivation) and layer.learnable:
                params += list(layer.stacked.values())
        return params

    def member_state(self, member: int, grads: bool = False) -> dict[str, Tensor]:
        """Member `member`'s parameters (with `grads`, their gradients) under the names of its
        own model's state_dict."""
        take = (lambda p: p.grad[member]) if grads else (lambda p: p.detach()[member])  # noqa: E731
        values = []
        for layer in self.layers:
            if isinstance(layer, StackedLinear):
                values.append(take(layer.weight_t).t())
                if layer.bias is not None:
                    values.append(take(layer.bias))
            elif isinstance(layer, StackedActivation) and layer.learnable:
                values += [take(p) for p in layer.stacked.values()]
        return dict(zip(self.member_names[member], values))

    def dropouts(self) -> list[StackedDropout]:
        return [layer for layer in self.layers if isinstance(layer, StackedDropout)]

    @torch.no_grad()
    def keep(self, members: Sequence[int]) -> None:
        """Keep only `members` (in that order), e.g. to drop diverged ones; the parameters
        become new tensors, so an optimiser must be rebuilt or told (BatchedOptimizer.keep)."""
        index = torch.as_tensor(list(members), dtype=torch.long)
        for layer in self.layers:
            if isinstance(layer, StackedLinear):
                layer.weight_t = nn.Parameter(layer.weight_t[index.to(layer.weight_t.device)])
                if layer.bias is not None:
                    layer.bias = nn.Parameter(layer.bias[index.to(layer.bias.device)])
            elif isinstance(layer, StackedActivation) and layer.learnable:
                for name, value in list(layer.stacked.items()):
                    layer.stacked[name] = nn.Parameter(value[index.to(value.device)])
            elif isinstance(layer, StackedDropout):
                layer.p = [layer.p[i] for i in members]
        self.member_names = [self.member_names[i] for i in members]
        self.size = len(members)


def _meta_copy(module: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(module).to("meta")
