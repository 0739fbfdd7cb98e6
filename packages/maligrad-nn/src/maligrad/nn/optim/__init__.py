"""Optimizers and learning-rate schedulers.

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> model = nn.Linear(3, 1)
>>> opt = nn.optim.Adam(model.parameters(), lr=1e-2)
>>> loss = model(maligrad.Variable(np.ones((2, 3), np.float32))).sum()
>>> loss.backward(); opt.step(); opt.zero_grad()
"""

from maligrad.nn.optim import lr_scheduler
from maligrad.nn.optim.adagrad import Adagrad
from maligrad.nn.optim.adam import Adam, AdamW
from maligrad.nn.optim.optimizer import Optimizer
from maligrad.nn.optim.rmsprop import RMSprop
from maligrad.nn.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
