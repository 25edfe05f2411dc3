"""MemberOptimizer against torch.optim: K members with their own learning rates."""

from __future__ import annotations

import pytest
import torch

from gatelab.ensemble.optim import MemberOptimizer, select_members
from gatelab.ensemble.stack import NotStackable
from gatelab.tasks.base import adam

LRS = [1e-2, 1e-3, 3e-4]
CASES = {
    "adam (fused, the MLP tasks')": adam,
    "adam-l2": lambda p, lr: torch.optim.Adam(p, lr=lr, weight_decay=0.1),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr, betas=(0.9, 0.95), weight_decay=0.1),
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "nesterov": lambda p, lr: torch.optim.SGD(
        p, lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    ),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
}
SHAPES = [(3, 4, 5), (3, 5)]


def gradients(step: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(step)
    return [torch.randn(shape, generator=generator) for shape in SHAPES]


def fresh() -> tuple[list[torch.nn.Parameter], list[list[torch.nn.Parameter]]]:
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(shape, generator=generator) for shape in SHAPES]
    stacked = [torch.nn.Parameter(t.clone()) for t in start]
    singles = [[torch.nn.Parameter(t[k].clone()) for t in start] for k in range(3)]
    return stacked, singles


def step_both(step: int, stacked, batched, singles, optimizers) -> None:
    """One step of the stacked members and of their own optimisers, on the same gradients."""
    grads = gradients(step)
    for p, g in zip(stacked, grads):
        p.grad = g.clone()
    batched.step()
    for k, (params, opt) in enumerate(zip(singles, optimizers)):
        for p, g in zip(params, grads):
            p.grad = g[k].clone()
        opt.step()


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_member_follows_its_own_torch_optimizer_bit_for_bit(case):
    make = CASES[case]
    stacked, singles = fresh()
    batched = MemberOptimizer(stacked, make, LRS)
    optimizers = [make(params, lr) for params, lr in zip(singles, LRS)]
    for step in range(25):
        step_both(step, stacked, batched, singles, optimizers)
    for k, params in enumerate(singles):
        for p, q in zip(stacked, params):
            assert torch.equal(p.detach()[k], q.detach())  # the same kernels on the same data


def test_a_schedule_edits_a_members_group_between_steps():
    stacked, singles = fresh()
    batched = MemberOptimizer(stacked, adam, LRS)
    optimizers = [adam(params, lr) for params, lr in zip(singles, LRS)]
    for step in range(6):
        late = step >= 3  # the GELU paper's CIFAR schedule changes beta1 half-way
        for group, opt in zip(batched.param_groups, optimizers):
            for g in (group, opt.param_groups[0]):
                g["betas"] = (0.5 if late else 0.9, 0.999)
                g["lr"] = g["lr"] * 0.5
        step_both(step, stacked, batched, singles, optimizers)
    for k, params in enumerate(singles):
        assert torch.equal(stacked[0].detach()[k], params[0].detach())


def test_keep_carries_the_kept_members_state_and_groups():
    stacked, _ = fresh()
    batched = MemberOptimizer(stacked, adam, LRS)
    for p, g in zip(stacked, gradients(0)):
        p.grad = g
    batched.step()
    before = batched.state_dict()
    kept = [torch.nn.Parameter(p.detach()[[2, 0]].clone()) for p in stacked]
    batched.keep([2, 0], kept)
    assert [g["lr"] for g in batched.param_groups] == [LRS[2], LRS[0]]
    after = batched.state_dict()
    for new, old in ((0, 2), (1, 0)):
        for i in range(len(SHAPES)):
            torch.testing.assert_close(
                after["state"][new * 2 + i]["exp_avg"], before["state"][old * 2 + i]["exp_avg"]
            )
    assert select_members(before, [1], 2)["param_groups"][0]["params"] == [0, 1]


def test_lbfgs_is_refused():
    stacked, _ = fresh()
    with pytest.raises(NotStackable, match="LBFGS"):
        MemberOptimizer(stacked, lambda p, lr: torch.optim.LBFGS(p, lr=lr), LRS)
