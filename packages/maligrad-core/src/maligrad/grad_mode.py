"""Whether operations record the graph: ``no_grad``, ``enable_grad`` and the default dtype.

This is the one piece of global state in maligrad, and it is only ever changed through
the context managers below (which are also decorators)::

    >>> import numpy as np
    >>> from maligrad import Variable, no_grad
    >>> x = Variable(np.ones(3, dtype=np.float32), requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


class GradMode:
    """Process-wide switches read by every op (class attributes, never instantiated)."""

    enabled: bool = True
    default_dtype: np.dtype = np.dtype(np.float32)


def is_grad_enabled() -> bool:
    """True when new operations record the graph for backward.

    >>> import maligrad as mg
    >>> with mg.no_grad():
    ...     print(mg.is_grad_enabled())
    False
    """
    return GradMode.enabled


class _SetGradMode:
    mode: bool

    def __enter__(self) -> None:
        self._prev = GradMode.enabled
        GradMode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        GradMode.enabled = self._prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_SetGradMode):
    """Context manager and decorator: operations inside record no graph.

    Results inside do not require grad, and ops cost little more than their numpy call.
    Use it for inference and for updating parameters in place.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> w = mg.Variable(np.ones(2), requires_grad=True)
        >>> with mg.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    mode = False


class enable_grad(_SetGradMode):
    """Context manager and decorator: turn graph recording back on inside ``no_grad``.

    >>> import numpy as np
    >>> import maligrad as mg
    >>> w = mg.Variable(np.ones(2), requires_grad=True)
    >>> with mg.no_grad(), mg.enable_grad():
    ...     y = w * 2
    >>> y.requires_grad
    True
    """

    mode = True


class set_grad_enabled(_SetGradMode):
    """Context manager and decorator setting graph recording to ``mode`` (True or False).

    >>> import numpy as np
    >>> import maligrad as mg
    >>> w = mg.Variable(np.ones(2), requires_grad=True)
    >>> with mg.set_grad_enabled(False):
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def get_default_dtype() -> np.dtype:
    """The float dtype given to Python floats and lists (float32 unless changed).

    >>> import maligrad as mg
    >>> mg.get_default_dtype().name
    'float32'
    """
    return GradMode.default_dtype


def set_default_dtype(dtype: Any) -> None:
    """Set the float dtype for Python floats and lists, e.g. ``np.float64`` for gradcheck.

    Numpy arrays always keep their own dtype. A non-floating dtype is a TypeError.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.set_default_dtype(np.float64)
        >>> mg.Variable([1.0]).dtype.name
        'float64'
        >>> mg.set_default_dtype(np.float32)
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"default dtype must be a floating dtype, got {dt}")
    GradMode.default_dtype = dt
