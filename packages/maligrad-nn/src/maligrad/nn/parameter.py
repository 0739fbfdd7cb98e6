"""``Parameter``: a [`Variable`][maligrad.Variable] that a [`Module`][maligrad.nn.Module] learns.

Assigning a Parameter to a Module attribute registers it, so that ``parameters()``,
``state_dict()`` and optimizers find it. It requires grad unless told otherwise.

    >>> import numpy as np
    >>> from maligrad.nn import Parameter
    >>> p = Parameter([1.0, 2.0])
    >>> p.requires_grad, p.dtype
    (True, dtype('float32'))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import Variable, get_default_dtype


class Parameter(Variable):
    """A learnable Variable: requires grad, float32 by default for Python data.

    Args:
        data: a numpy array (its floating dtype is kept), a Variable (its array is shared),
            a Python scalar or nested list (converted to the default float dtype), or None
            for an empty float32 array.
        requires_grad: whether the parameter is trained (default True).
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty((0,), dtype=get_default_dtype())
        elif isinstance(data, Variable):
            array = data.data
        elif isinstance(data, np.ndarray):
            array = data
        else:
            array = np.asarray(data)
            if array.dtype.kind in "iub" or array.dtype == np.float64:
                array = array.astype(get_default_dtype())
        if array.dtype.kind not in "fc":
            raise TypeError(
                f"a Parameter must hold floating point data, got dtype {array.dtype}; "
                "convert it with .astype(np.float32) first"
            )
        self.data = array
        self.requires_grad = bool(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self.data, self.requires_grad))


def parameter_dtype(dtype: Any = None) -> np.dtype:
    """The dtype for a layer's parameters: ``dtype``, or the default float dtype (float32
    unless ``maligrad.set_default_dtype`` changed it)."""
    return np.dtype(get_default_dtype() if dtype is None else dtype)
