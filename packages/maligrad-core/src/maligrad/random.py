"""The default random number generator, and ``manual_seed`` to make a run reproducible.

Public API (what maligrad-nn and user code may use): ``manual_seed``,
``default_generator`` and ``generator_or_default``. Everything random in maligrad
(initialisers, dropout, layers that initialise themselves) takes an optional ``generator``
argument, as PyTorch does: ``None`` draws from ``default_generator`` (which
``manual_seed`` resets), an ``int`` seeds a new ``numpy.random.Generator``, and a
``numpy.random.Generator`` is used as it is. ``generator_or_default`` turns such an
argument into the Generator to draw from::

    >>> import maligrad as mg
    >>> _ = mg.manual_seed(0)
    >>> a = mg.random.default_generator().normal()
    >>> _ = mg.manual_seed(0)
    >>> a == mg.random.default_generator().normal()
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["default_generator", "generator_or_default", "manual_seed"]


class _State:
    generator: np.random.Generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator (and return it), so that a run is reproducible.

    Everything random in maligrad that is given no ``generator`` draws from it.

        >>> import maligrad as mg
        >>> a = mg.manual_seed(0).integers(100)
        >>> bool(a == mg.manual_seed(0).integers(100))
        True
    """
    _State.generator = np.random.default_rng(seed)
    return _State.generator


def default_generator() -> np.random.Generator:
    """The ``numpy.random.Generator`` used when a function is not given one.

    [manual_seed][maligrad.manual_seed] replaces it.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> isinstance(mg.random.default_generator(), np.random.Generator)
        True
    """
    return _State.generator


def generator_or_default(generator: Any = None) -> np.random.Generator:
    """The Generator a ``generator`` argument stands for.

    >>> import numpy as np, maligrad as mg
    >>> g = np.random.default_rng(1)
    >>> mg.random.generator_or_default(g) is g
    True
    >>> a = mg.random.generator_or_default(7).integers(100)
    >>> bool(a == np.random.default_rng(7).integers(100))
    True

    Args:
        generator: ``None`` (the default generator, see ``manual_seed``), an ``int`` seed
            (a new ``numpy.random.default_rng(seed)``, so each call with the same seed draws
            the same numbers) or a ``numpy.random.Generator`` (returned as it is).

    Raises:
        TypeError: for anything else (a bool, a float, a legacy ``RandomState``...).
        ValueError: for a negative seed.
    """
    if generator is None:
        return _State.generator
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, (bool, np.bool_)):
        if generator < 0:
            raise ValueError(f"generator: a seed must be non-negative, got {generator}")
        return np.random.default_rng(int(generator))
    raise TypeError(
        "generator must be None, an int seed or a numpy.random.Generator, got "
        f"{type(generator).__name__}"
    )
