"""Comparisons ``== != < <= > >=``: elementwise, boolean, outside the graph.

They return Variables that do not require grad (a step function has no useful
gradient), like numpy's comparison ufuncs::

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> (Variable(np.array([1.0, 2.0])) > 1.5).data
    array([False,  True])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.variable import Variable

_new = object.__new__


def _compare(ufunc: np.ufunc, name: str, a: Any, b: Any) -> Variable:
    x = a.data if isinstance(a, Variable) else a
    y = b.data if isinstance(b, Variable) else b
    try:
        out = ufunc(x, y)
    except ValueError:
        raise ValueError(
            f"{name}: operands could not be broadcast together with shapes "
            f"{np.shape(x)} and {np.shape(y)}"
        ) from None
    v = _new(Variable)
    v.data = np.asarray(out)
    return v


def equal(a: Any, b: Any) -> Variable:
    """``a == b`` elementwise, as a boolean Variable (broadcasting).

    A step function: no gradient flows through it (the result does not require grad).

        >>> import maligrad as mg
        >>> mg.equal(mg.Variable([1.0, 2.0]), 2.0).data
        array([False,  True])
    """
    return _compare(np.equal, "equal", a, b)


def not_equal(a: Any, b: Any) -> Variable:
    """``a != b`` elementwise, as a boolean Variable (broadcasting).

    A step function: no gradient flows through it (the result does not require grad).

        >>> import maligrad as mg
        >>> mg.not_equal(mg.Variable([1.0, 2.0]), 2.0).data
        array([ True, False])
    """
    return _compare(np.not_equal, "not_equal", a, b)


def less(a: Any, b: Any) -> Variable:
    """``a < b`` elementwise, as a boolean Variable (broadcasting).

    A step function: no gradient flows through it (the result does not require grad).

        >>> import maligrad as mg
        >>> mg.less(mg.Variable([1.0, 2.0]), 2.0).data
        array([ True, False])
    """
    return _compare(np.less, "less", a, b)


def less_equal(a: Any, b: Any) -> Variable:
    """``a <= b`` elementwise, as a boolean Variable (broadcasting).

    A step function: no gradient flows through it (the result does not require grad).

        >>> import maligrad as mg
        >>> mg.less_equal(mg.Variable([1.0, 3.0]), 2.0).data
        array([ True, False])
    """
    return _compare(np.less_equal, "less_equal", a, b)


def greater(a: Any, b: Any) -> Variable:
    """``a > b`` elementwise, as a boolean Variable (broadcasting).

    A step function: no gradient flows through it (the result does not require grad).

        >>> import maligrad as mg
        >>> mg.greater(mg.Variable([1.0, 3.0]), 2.0).data
        array([False,  True])
    """
    return _compare(np.greater, "greater", a, b)


def greater_equal(a: Any, b: Any) -> Variable:
    """``a >= b`` elementwise, as a boolean Variable (broadcasting).

    A step function: no gradient flows through it (the result does not require grad).

        >>> import maligrad as mg
        >>> mg.greater_equal(mg.Variable([1.0, 2.0]), 2.0).data
        array([False,  True])
    """
    return _compare(np.greater_equal, "greater_equal", a, b)
