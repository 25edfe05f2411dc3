"""Ensemble training: the runs of a sweep that differ only in seed, learning rate and dropout
train together as one stacked model (gatelab.ensemble.stack), with a batched optimiser
(gatelab.ensemble.optim) and the sequential trainer's rules per member
(gatelab.ensemble.trainer). ``gatelab sweep SPEC --executor ensemble`` uses it.
"""

from .stack import NotStackable, StackedChain
from .trainer import EnsembleTrainer, train_group

__all__ = ["EnsembleTrainer", "NotStackable", "StackedChain", "train_group"]
