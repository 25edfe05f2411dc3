"""The GEM paper's transformer testbeds (Krause 2026): GPT-2 124M and BERT-small.

- ``gpt2``: a nanoGPT-style GPT-2 (:mod:`gatelab.models.gpt`), causal LM on a token stream;
  AdamW (β = 0.9, 0.95; weight decay 0.1 on matrices only), lr 6e-4 with linear warm-up over
  the first 5 % of steps then cosine decay to lr/10 (nanoGPT's GPT-2 recipe); batch 12 ×
  1,024 tokens per step (nanoGPT accumulates 40 such micro-batches; gatelab takes one step per
  micro-batch). Metrics: val_loss and val_perplexity on fixed validation windows.
- ``bert-small``: BERT-small (4 layers, 512 wide, 8 heads; :mod:`gatelab.models.bert`) trained
  with masked-LM (15 % of tokens, 80/10/10), AdamW (0.9, 0.999, wd 0.01), lr 1e-4 with 5 %
  warm-up and linear decay (Devlin et al. 2019's recipe), batch 128 × 128 tokens. Metric:
  val_loss on fixed masked validation windows.

The GEM paper's data, steps and seeds are not available: the defaults are ours (10,000 steps,
an evaluation every 250; the smoke scale takes 200 steps of 16 × 64 tokens). Data: option
``corpus`` — "stdlib" (the Python standard library's source, present on every installation:
offline), a local file or folder, or "hf:NAME[:CONFIG]" (Hugging Face datasets); option
``tokenizer`` — "auto" (GPT-2 BPE through tiktoken when its files load, else bytes), "gpt2" or
"bytes". Option ``mlp`` — "plain" or a gated GLU ("geglu", "swiglu", "reglu", "gemglu"), whose
hidden width keeps the parameter count of the plain MLP.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .base import Experiment, RunConfig, Task, register_task

GEM_PAPER = "Krause, Geometric Monomial (GEM), arXiv:2604.21677"
OPTIONS = {"corpus": "stdlib", "tokenizer": "auto", "mlp": "plain"}
#: scale → (steps per evaluation, batch size, evaluation batches)
SIZES = {"smoke": (50, 16, 4), "paper": (250, 12, 40)}
BERT_SIZES = {"smoke": (50, 16, 4), "paper": (250, 128, 20)}


def warmup_then(decay: str, warmup: float = 0.05, floor: float = 0.1):
    """Linear warm-up over the first `warmup` fraction of steps, then cosine decay to
    `floor`·lr (nanoGPT) or linear decay to 0 (BERT)."""

    def schedule(optimizer: torch.optim.Optimizer, step: int, total: int, base_lr: float) -> None:
        ramp = max(1, round(warmup * total))
        if step < ramp:
            lr = base_lr * (step + 1) / ramp
        else:
            progress = (step - ramp) / max(1, total - ramp)
            if decay == "cosine":
                lr = base_lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
            else:
                lr = base_lr * (1 - progress)
        for group in optimizer.param_groups:
            group["lr"] = lr

    return schedule


def adamw(betas: tuple[float, float], weight_decay: float):
    """AdamW with weight decay on matrices only (nanoGPT's configure_optimizers)."""

    def make(params, lr: float) -> torch.optim.Optimizer:
        params = [p for p in params if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr, betas=betas)

    return make


def text(config: RunConfig):
    from gatelab.data.text import load_text

    return load_text(config.options["corpus"], tokenizer=config.options["tokenizer"])


def own_loss(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """The models compute their loss themselves: forward(x, targets) → (logits, loss)."""
    return model(x, y)[1]


def build_gpt2(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.models.gpt import GPT, GPTConfig

    data = text(config)
    preset = "smoke" if config.scale == "smoke" else "124m"
    sizes = GPTConfig.preset(preset, vocab_size=data.vocab_size, activation=config.activation,
                             mlp=config.options["mlp"])  # fmt: skip
    steps, batch, eval_batches = SIZES[config.scale]
    context = sizes.context

    def batches(generator: torch.Generator, epoch: int):
        for _ in range(steps):
            yield data.train.sample(batch, context, generator)

    def evaluate(model: nn.Module, split: str) -> dict[str, float]:
        total, count = 0.0, 0
        for x, y in data.val.sequential(batch, context, max_batches=eval_batches):
            total += model(x.to(device), y.to(device))[1].item() * len(x)
            count += len(x)
        loss = total / count
        return {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}

    return Experiment(
        GPT(sizes), data, "language", batch, adamw((0.9, 0.95), 0.1), warmup_then("cosine"),
        train_batches=batches, steps_per_epoch=steps, step_loss=own_loss, evaluate=evaluate,
        eval_splits=("val",), tokens_per_sample=context,
    )  # fmt: skip


def build_bert(config: RunConfig, device: torch.device) -> Experiment:
    from gatelab.data.text import mask_tokens
    from gatelab.models.bert import Bert, BertConfig

    data = text(config)
    preset = "smoke" if config.scale == "smoke" else "small"
    sizes = BertConfig.preset(preset, vocab_size=data.vocab_size, activation=config.activation,
                              mlp=config.options["mlp"])  # fmt: skip
    steps, batch, eval_batches = BERT_SIZES[config.scale]
    context = min(sizes.context, 128)

    def batches(generator: torch.Generator, epoch: int):
        for _ in range(steps):
            yield data.train.mlm_batch(batch, context, generator)

    def evaluate(model: nn.Module, split: str) -> dict[str, float]:
        masks = torch.Generator().manual_seed(0)  # the same masked positions every evaluation
        total, count = 0.0, 0
        for ids, _ in data.val.sequential(batch, context, max_batches=eval_batches):
            ids, labels = mask_tokens(ids, data.val.specials, masks)
            total += model(ids.to(device), labels.to(device))[1].item() * len(ids)
            count += len(ids)
        return {"loss": total / count}

    return Experiment(
        Bert(sizes), data, "language", batch, adamw((0.9, 0.999), 0.01), warmup_then("linear"),
        train_batches=batches, steps_per_epoch=steps, step_loss=own_loss, evaluate=evaluate,
        eval_splits=("val",), tokens_per_sample=context,
    )  # fmt: skip


register_task(
    Task(
        name="gpt2",
        summary="GPT-2 (124M; nanoGPT recipe) causal LM, any MLP activation or GLU (GEM paper)",
        citation=f"{GEM_PAPER}; nanoGPT's GPT-2 124M configuration",
        datasets=("text",),
        lr=6e-4,
        lr_grid=(1e-3, 6e-4, 3e-4),
        epochs={"smoke": 4, "paper": 40},
        objective="language",
        build=build_gpt2,
        options=OPTIONS,
    )
)
register_task(
    Task(
        name="bert-small",
        summary="BERT-small (4×512, 8 heads) masked LM, 15% masking (GEM paper)",
        citation=f"{GEM_PAPER}; Devlin et al. 2019; Turc et al. 2019 (BERT-small)",
        datasets=("text",),
        lr=1e-4,
        lr_grid=(3e-4, 1e-4, 3e-5),
        epochs={"smoke": 4, "paper": 40},
        objective="language",
        build=build_bert,
        options=OPTIONS,
    )
)
