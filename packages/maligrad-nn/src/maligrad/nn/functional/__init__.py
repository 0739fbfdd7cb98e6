"""Functional forms of the layers and losses in [`maligrad.nn`][maligrad.nn].

Example:
    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> x = maligrad.Variable(np.array([[1.0, 2.0, 3.0]], np.float32))
    >>> F.softmax(x, dim=-1).data.round(3)
    array([[0.09 , 0.245, 0.665]], dtype=float32)
"""

from maligrad.nn.functional.activation import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from maligrad.nn.functional.dropout import dropout
from maligrad.nn.functional.embedding import embedding, one_hot
from maligrad.nn.functional.linear import bilinear, linear
from maligrad.nn.functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from maligrad.nn.functional.normalization import batch_norm, group_norm, layer_norm

__all__ = [
    "batch_norm",
    "bilinear",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "gelu",
    "group_norm",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "tanh",
]

# --- conv, pooling, recurrent, attention (owned by conv.py, pooling.py, recurrent.py, attention.py)
# The owner of those files adds their import lines (and extends __all__) here.
from maligrad.nn.functional.attention import scaled_dot_product_attention
from maligrad.nn.functional.convolution import (
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
)
from maligrad.nn.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "scaled_dot_product_attention",
]
