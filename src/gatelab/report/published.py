"""The papers' published numbers as data, each with its citation, for paper-vs-ours tables.

Transcribed from the sources gatelab reproduces (see the project's reference notes):

- Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415 v4 (2020), §3.3–3.5:
  GELU vs ReLU vs ELU. Every experiment there used the tanh approximation, so GELU is recorded
  as ``"gelu_tanh"``. MNIST (§3.1–3.2) gives curves only and has no entry.
- Krause, "Geometric Monomial (GEM)", arXiv:2604.21677 (2026), abstract: only the abstract
  was available, so settings the abstract does not state (ε of E-GEM on MNIST and CIFAR-100, N of
  SE-GEM and of the unsuffixed "GEM" on GPT-2) are given the registry default or the paper's own
  guidance, and the entry's note says which.
- He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", arXiv:1512.03385, §4.2,
  Table 6: the ReLU ResNet-56 reference for the GEM paper's testbed.

Lee (arXiv:2305.12073) publishes curves only; its result tables were not available.
"""

from __future__ import annotations

from dataclasses import dataclass

#: metric → (description, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "test_error_pct": ("test error, %", False),
    "test_accuracy_pct": ("test accuracy, %", True),
    "deficit_vs_gelu_pts": ("GELU's accuracy minus this activation's, percentage points", False),
    "perplexity": ("validation perplexity", False),
    "val_loss": ("validation loss", False),
}

GELU = 'Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415 v4 (2020)'
GEM = (
    'Krause, "Geometric Monomial (GEM): a family of rational 2N-differentiable activation '
    'functions", arXiv:2604.21677 (2026), abstract'
)
RESNET = (
    'He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", arXiv:1512.03385 '
    "(2016), §4.2, Table 6"
)
WRN = 'Zagoruyko & Komodakis, "Wide Residual Networks", arXiv:1605.07146 (2016)'


@dataclass(frozen=True)
class Published:
    """One published number: which paper, where in it, for which task/setting and activation."""

    paper: str
    citation: str
    task: str | None  # the gatelab task it matches; None for a setting gatelab does not run
    setting: str
    activation: str  # a gatelab spec string
    metric: str  # a key of METRICS
    value: float
    note: str = ""

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric][1]


def _gelu_paper(
    section: str, task: str, setting: str, values: tuple[float, float, float], note: str = ""
) -> tuple[Published, ...]:
    """The GELU paper's GELU / ReLU / ELU triple of median test errors of one experiment."""
    return tuple(
        Published(
            paper="Hendrycks & Gimpel 2016",
            citation=f"{GELU}, {section}",
            task=task,
            setting=setting,
            activation=activation,
            metric="test_error_pct",
            value=value,
            note=note,
        )
        for activation, value in zip(("gelu_tanh", "relu", "elu"), values)
    )


def _gem_paper(
    task: str | None, setting: str, activation: str, metric: str, value: float, note: str = ""
) -> Published:
    """One number from the GEM paper's abstract."""
    return Published("Krause 2026", GEM, task, setting, activation, metric, value, note)


PUBLISHED: tuple[Published, ...] = (
    *_gelu_paper(
        "§3.3", "twitter-pos", "Twitter POS tagging, 2 × 256 MLP, dropout keep 0.8",
        (12.57, 12.67, 12.91), "median of 5 runs",
    ),
    *_gelu_paper(
        "§3.4", "timit", "TIMIT frame classification, 5 × 2048 MLP, dropout 0.5",
        (29.3, 29.5, 29.6), "median of 5 runs",
    ),
    *_gelu_paper(
        "§3.5", "cifar10-cnn9", "CIFAR-10, shallow 9-layer CNN, ZCA, Adam 200 epochs",
        (7.89, 8.16, 8.41), "median of 3 runs",
    ),
    *_gelu_paper(
        "§3.5", "cifar100-wrn40-4", "CIFAR-100, Wide ResNet 40-4, dropout keep 0.7, SGDR 50 epochs",
        (20.74, 21.77, 22.98), "median of 3 runs",
    ),
    Published(
        paper="Zagoruyko & Komodakis 2016, quoted by Hendrycks & Gimpel 2016",
        citation=f"{GELU}, §3.5, quoting {WRN}",
        task="cifar100-wrn40-4",
        setting="CIFAR-100, the original ReLU Wide ResNet 40-4 and its training recipe",
        activation="relu",
        metric="test_error_pct",
        value=22.89,
        note="the original WRN result, not a run of the GELU paper's protocol",
    ),
    _gem_paper(
        None, "MNIST (network not published)", "e_gem", "test_accuracy_pct", 99.23,
        "ties the best baseline; ε not stated in the abstract (registry default shown)",
    ),
    _gem_paper(
        "cifar10-resnet56", "CIFAR-10, ResNet-56", "se_gem(eps=1e-4)", "test_accuracy_pct",
        92.51, "N not stated in the abstract (N=1, the paper's advice for deep CNNs)",
    ),
    _gem_paper("cifar10-resnet56", "CIFAR-10, ResNet-56", "gelu", "test_accuracy_pct", 92.44),
    _gem_paper(
        "cifar100-resnet56", "CIFAR-100, ResNet-56", "gem(N=2)", "deficit_vs_gelu_pts", 6.10
    ),
    _gem_paper(
        "cifar100-resnet56", "CIFAR-100, ResNet-56", "gem(N=1)", "deficit_vs_gelu_pts", 2.12
    ),
    _gem_paper(
        "cifar100-resnet56", "CIFAR-100, ResNet-56", "e_gem", "deficit_vs_gelu_pts", 0.62,
        "ε not stated in the abstract (registry default 1e-4, the paper's advice for deep CNNs)",
    ),
    _gem_paper(
        None, "GPT-2 124M language model", "gem(N=2)", "perplexity", 72.57,
        "best of all; the abstract says 'GEM' without N (N=2, its advice for transformers, "
        "as the N=1 result is listed separately)",
    ),
    _gem_paper(None, "GPT-2 124M language model", "gem(N=1)", "perplexity", 73.32),
    _gem_paper(None, "GPT-2 124M language model", "gelu", "perplexity", 73.76),
    _gem_paper(
        None, "BERT-small", "e_gem(eps=10)", "val_loss", 6.656, "best of all activations"
    ),
    Published(
        paper="He et al. 2016",
        citation=RESNET,
        task="cifar10-resnet56",
        setting="CIFAR-10, ResNet-56, the original recipe (the GEM paper's testbed)",
        activation="relu",
        metric="test_accuracy_pct",
        value=93.03,
        note="published as 6.97% test error",
    ),
)  # fmt: skip


def published_for(task: str) -> list[Published]:
    """The published numbers for a gatelab task name, in the order above ([] if none)."""
    return [entry for entry in PUBLISHED if entry.task == task]


def from_accuracy(accuracy: float, metric: str) -> float:
    """Our test accuracy (a fraction) in a published metric's units: ``test_error_pct`` or
    ``test_accuracy_pct``. Deficits come from :func:`gatelab.stats.deficit` instead."""
    if metric == "test_error_pct":
        return 100.0 * (1.0 - accuracy)
    if metric == "test_accuracy_pct":
        return 100.0 * accuracy
    raise ValueError(
        f"metric {metric!r} is not derived from accuracy; convertible metrics: "
        "test_error_pct, test_accuracy_pct"
    )
