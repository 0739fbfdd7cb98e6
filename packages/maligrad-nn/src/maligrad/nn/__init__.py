"""maligrad.nn: modules, layers, losses, initialisers, optimizers and checkpoints.

Example:
    >>> import numpy as np, maligrad
    >>> from maligrad import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> model(maligrad.Variable(np.zeros((3, 4), np.float32))).shape
    (3, 2)
"""

from maligrad.nn import functional, init, optim, parallel, utils
from maligrad.nn.__about__ import __version__
from maligrad.nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from maligrad.nn.containers import ModuleDict, ModuleList, Sequential
from maligrad.nn.dropout import Dropout
from maligrad.nn.embedding import Embedding
from maligrad.nn.functional._threads import get_num_threads, set_num_threads
from maligrad.nn.linear import Bilinear, Flatten, Identity, Linear
from maligrad.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from maligrad.nn.module import Module
from maligrad.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from maligrad.nn.parameter import Parameter
from maligrad.nn.state import CheckpointError, load, save
from maligrad.nn.sync_batchnorm import SyncBatchNorm

__all__ = [
    "ELU",
    "GELU",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Bilinear",
    "CheckpointError",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GroupNorm",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "SyncBatchNorm",
    "Tanh",
    "__version__",
    "functional",
    "get_num_threads",
    "init",
    "load",
    "optim",
    "parallel",
    "save",
    "set_num_threads",
    "utils",
]

# --- conv, pooling, recurrent, attention (owned by conv.py, pooling.py, recurrent.py, attention.py)
# The owner of those files adds their import lines (and extends __all__) here.
from maligrad.nn.attention import MultiheadAttention, TransformerEncoderLayer
from maligrad.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from maligrad.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from maligrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ += [
    "GRU",
    "LSTM",
    "RNN",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "GRUCell",
    "LSTMCell",
    "MaxPool1d",
    "MaxPool2d",
    "MultiheadAttention",
    "RNNCell",
    "TransformerEncoderLayer",
]
