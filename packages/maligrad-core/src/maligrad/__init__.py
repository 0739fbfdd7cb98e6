"""maligrad: a readable, fast, verified numpy autograd engine.

>>> import numpy as np
>>> import maligrad as mg
>>> x = mg.Variable(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad.data
array([2., 4.], dtype=float32)
"""

import typing as _typing
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)  # maligrad.nn and maligrad.data ship separately

from maligrad import functional, random
from maligrad.__about__ import __version__
from maligrad._namespace import install as _install_namespace_hint
from maligrad._namespace import lazy_subpackage as _lazy_subpackage
from maligrad.autograd import grad
from maligrad.dot import to_dot
from maligrad.engine import queue_callback
from maligrad.function import Function
from maligrad.grad_mode import (
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
)
from maligrad.gradcheck import GradcheckError, gradcheck, gradgradcheck
from maligrad.memory import _apply_default as _keep_freed_memory_by_default
from maligrad.memory import keep_freed_memory
from maligrad.ops.broadcast import sum_to
from maligrad.ops.comparison import (
    equal,
    greater,
    greater_equal,
    less,
    less_equal,
    not_equal,
)
from maligrad.ops.elementwise import maximum, minimum, where
from maligrad.ops.erf import erf
from maligrad.ops.functions import (
    abs,
    argmax,
    argmin,
    as_variable,
    broadcast_to,
    clip,
    cos,
    cumsum,
    exp,
    expand_dims,
    expm1,
    flatten,
    flip,
    log,
    log1p,
    logsumexp,
    matmul,
    max,
    mean,
    min,
    permute,
    prod,
    relu,
    repeat,
    reshape,
    roll,
    sigmoid,
    sin,
    softplus,
    sqrt,
    squeeze,
    std,
    sum,
    swapaxes,
    tan,
    tanh,
    tile,
    transpose,
    unsqueeze,
    var,
)
from maligrad.ops.join import concatenate, pad, split, stack
from maligrad.ops.linalg import einsum, tensordot
from maligrad.random import manual_seed
from maligrad.variable import Variable

_install_namespace_hint()
_keep_freed_memory_by_default()

# `maligrad.nn` / `maligrad.data` on first use; hidden from type checkers, which should
# still ask for `import maligrad.nn`.
if not _typing.TYPE_CHECKING:
    __getattr__ = _lazy_subpackage

__all__ = [
    "Function",
    "GradcheckError",
    "Variable",
    "__version__",
    "abs",
    "argmax",
    "argmin",
    "as_variable",
    "broadcast_to",
    "clip",
    "concatenate",
    "cos",
    "cumsum",
    "einsum",
    "enable_grad",
    "equal",
    "erf",
    "exp",
    "expand_dims",
    "expm1",
    "flatten",
    "flip",
    "functional",
    "get_default_dtype",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "greater",
    "greater_equal",
    "is_grad_enabled",
    "keep_freed_memory",
    "less",
    "less_equal",
    "log",
    "log1p",
    "logsumexp",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "no_grad",
    "not_equal",
    "pad",
    "permute",
    "prod",
    "queue_callback",
    "random",
    "relu",
    "repeat",
    "reshape",
    "roll",
    "set_default_dtype",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "softplus",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "sum_to",
    "swapaxes",
    "tan",
    "tanh",
    "tensordot",
    "tile",
    "to_dot",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]
