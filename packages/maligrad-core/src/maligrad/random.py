"""The default random number generator, and ``manual_seed`` to make a run reproducible.

Everything random in maligrad (initialisers, dropout, shuffling helpers) takes an optional
``numpy.random.Generator``; when none is given it draws from :func:`default_generator`,
which ``manual_seed`` resets::

    >>> import maligrad as mg
    >>> _ = mg.manual_seed(0)
    >>> a = mg.random.default_generator().normal()
    >>> _ = mg.manual_seed(0)
    >>> a == mg.random.default_generator().normal()
    True
"""

from __future__ import annotations

import numpy as np


class _State:
    generator: np.random.Generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator (and return it)."""
    _State.generator = np.random.default_rng(seed)
    return _State.generator


def default_generator() -> np.random.Generator:
    """The generator used when a function is not given one."""
    return _State.generator


def generator_or_default(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator`` itself, or the default one when it is None."""
    return _State.generator if generator is None else generator
