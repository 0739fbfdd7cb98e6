"""Comparisons ``== != < <= > >=``: elementwise, boolean, outside the graph.

They return Variables that do not require grad (a step function has no useful
gradient), like numpy's comparison ufuncs::

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> (Variable(np.array([1.0, 2.0])) > 1.5).data
    array([False,  True])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _compare(ufunc: Callable[..., Any], name: str) -> Callable[[Any, Any], Any]:
    def compare(a: Any, b: Any) -> Any:
        from maligrad.variable import Variable

        x = a.data if isinstance(a, Variable) else a
        y = b.data if isinstance(b, Variable) else b
        try:
            out = ufunc(x, y)
        except ValueError:
            raise ValueError(
                f"{name}: operands could not be broadcast together with shapes "
                f"{np.shape(x)} and {np.shape(y)}"
            ) from None
        v = object.__new__(Variable)
        v.data = np.asarray(out)
        return v

    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` of two Variables or arrays (no gradient)."
    return compare


equal = _compare(np.equal, "equal")
not_equal = _compare(np.not_equal, "not_equal")
less = _compare(np.less, "less")
less_equal = _compare(np.less_equal, "less_equal")
greater = _compare(np.greater, "greater")
greater_equal = _compare(np.greater_equal, "greater_equal")
