"""The networks of the papers gatelab reproduces, each built around an activation spec string.

Every constructor takes ``activation`` (a gatelab spec such as ``"e_gem(N=2, eps=1e-4)"``) and
calls ``gatelab.create(activation)`` once per place the activation is used, so learnable
activations get per-layer parameters. Sizes are arguments whose defaults are the papers' values;
smaller values give quick smoke-scale versions.

| model | source |
|---|---|
| `MLP`, `window_tagger`, `frame_classifier` | Hendrycks & Gimpel §3.1, §3.3, §3.4 |
| `Autoencoder` | Hendrycks & Gimpel §3.2 |
| `CNN9` | Hendrycks & Gimpel §3.5 (CIFAR-10 shallow CNN) |
| `cifar_resnet` (`CifarResNet`) | He et al. 2016 §4.2 (ResNet-56 of Krause 2026) |
| `PreActResNet` | He et al. 2016b, selectable BN/LN/GN (stand-in for Lee 2023's residual CNN) |
| `WideResNet` | Zagoruyko & Komodakis 2016, GELU paper §3.5 block order (WRN-40-4) |
| `GPT`, `GPTConfig` | Radford et al. 2019 (GPT-2) as in nanoGPT; Krause 2026's testbed |
| `Bert`, `BertConfig` | Devlin et al. 2019; BERT-small of Turc et al. 2019 |
| `GatedMLP`, `PlainMLP`, `build_mlp` | Shazeer 2020 (GLU variants); `mlp_hidden`'s width rule |
"""

from .autoencoder import Autoencoder
from .bert import Bert, BertConfig
from .cnn9 import CNN9
from .glu import GatedMLP, PlainMLP, build_mlp, mlp_hidden
from .gpt import GPT, GPTConfig
from .mlp import MLP, frame_classifier, window_tagger
from .resnet import NORMS, CifarResNet, PreActResNet, cifar_resnet
from .wrn import WideResNet

__all__ = [
    "CNN9",
    "GPT",
    "Bert",
    "BertConfig",
    "GPTConfig",
    "GatedMLP",
    "PlainMLP",
    "build_mlp",
    "mlp_hidden",
    "MLP",
    "NORMS",
    "Autoencoder",
    "CifarResNet",
    "PreActResNet",
    "WideResNet",
    "cifar_resnet",
    "frame_classifier",
    "window_tagger",
]
