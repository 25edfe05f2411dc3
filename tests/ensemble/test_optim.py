"""BatchedOptimizer against torch.optim: K members with their own learning rates."""

from __future__ import annotations

import pytest
import torch

from gatelab.ensemble.optim import BatchedOptimizer
from gatelab.ensemble.stack import NotStackable

LRS = [1e-2, 1e-3, 3e-4]
CASES = {
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
    "adam-l2": lambda p, lr: torch.optim.Adam(p, lr=lr, weight_decay=0.1),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr, betas=(0.9, 0.95), weight_decay=0.1),
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "sgd-momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, dampening=0.1),
    "nesterov": lambda p, lr: torch.optim.SGD(
        p, lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    ),
}


def gradients(step: int, shape) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(step))


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("lrs", [LRS, [1e-3] * 3], ids=["own-lrs", "shared-lr"])
def test_each_member_follows_its_own_torch_optimizer(case, lrs):
    make = CASES[case]
    start = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    singles = [torch.nn.Parameter(start[k].clone()) for k in range(3)]
    optimizers = [make([p], lr) for p, lr in zip(singles, lrs)]
    stacked = torch.nn.Parameter(start.clone())
    batched = BatchedOptimizer.like([stacked], optimizers)
    for step in range(25):
        grad = gradients(step, start.shape)
        stacked.grad = grad.clone()
        batched.step()
        for k, (p, opt) in enumerate(zip(singles, optimizers)):
            p.grad = grad[k].clone()
            opt.step()
    for k, p in enumerate(singles):
        # the same float32 operations in the same order, except that a per-member lr is a tensor
        # product where torch fuses x + alpha·y: a few ulps (measured ≤ 3.2e-7 after 25 steps)
        torch.testing.assert_close(stacked.detach()[k], p.detach(), rtol=1e-6, atol=1e-9)


def test_a_schedule_edits_a_members_group_between_steps():
    start = torch.zeros(2, 3)
    singles = [torch.nn.Parameter(start[k].clone()) for k in range(2)]
    optimizers = [torch.optim.Adam([p], lr=1e-2) for p in singles]
    stacked = torch.nn.Parameter(start.clone())
    batched = BatchedOptimizer.like([stacked], optimizers)
    for step in range(6):
        late = step >= 3  # the GELU paper's CIFAR schedule changes beta1 half-way
        for group, opt in zip(batched.groups, optimizers):
            group["betas"] = (0.5 if late else 0.9, 0.999)
            opt.param_groups[0]["betas"] = group["betas"]
        batched.groups[1]["lr"] = optimizers[1].param_groups[0]["lr"] = 1e-2 / (step + 1)
        grad = gradients(step, start.shape)
        stacked.grad = grad.clone()
        batched.step()
        for k, (p, opt) in enumerate(zip(singles, optimizers)):
            p.grad = grad[k].clone()
            opt.step()
    for k, p in enumerate(singles):
        torch.testing.assert_close(stacked.detach()[k], p.detach(), rtol=2e-7, atol=1e-9)


def test_keep_and_checkpoints_carry_the_members_state():
    params = [torch.nn.Parameter(torch.randn(3, 2))]
    optimizers = [torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr) for lr in LRS]
    batched = BatchedOptimizer.like(params, optimizers)
    params[0].grad = torch.ones(3, 2)
    batched.step()
    saved = batched.state_dict()
    kept = [torch.nn.Parameter(params[0].detach()[[2, 0]])]
    batched.keep([2, 0], kept)
    assert [g["lr"] for g in batched.groups] == [LRS[2], LRS[0]]
    assert batched.state[0]["exp_avg"].shape == (2, 2)
    restored = BatchedOptimizer(params, "adam", [])
    restored.load_state_dict(saved)
    assert restored.step_count == 1 and [g["lr"] for g in restored.groups] == LRS


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda p: torch.optim.Adam(p, amsgrad=True),
        lambda p: torch.optim.RMSprop(p),
        lambda p: torch.optim.SGD(p, lr=0.1, maximize=True),
    ],
)
def test_updates_it_cannot_reproduce_are_refused(optimizer):
    member = optimizer([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(NotStackable):
        BatchedOptimizer.like([torch.nn.Parameter(torch.zeros(1, 1))], [member])
