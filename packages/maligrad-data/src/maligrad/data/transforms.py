"""Batch transforms: whole NCHW batches at once, vectorised, random ones seeded.

Each transform is a callable taking a batch array and returning a new one (the input
is never modified). Random transforms take ``generator``: a ``numpy.random.Generator`` or
an int seed (``None`` draws fresh entropy); ``rng=`` is its deprecated old name.

Example::

    >>> import numpy as np
    >>> from maligrad.data.transforms import Compose, Normalize, RandomCrop, ToFloat
    >>> batch = np.full((2, 1, 4, 4), 255, dtype=np.uint8)
    >>> t = Compose([ToFloat(), Normalize(0.5, 0.5), RandomCrop(4, padding=1, generator=0)])
    >>> out = t(batch)
    >>> out.shape, out.dtype, float(out.max())
    ((2, 1, 4, 4), dtype('float32'), 1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._checks import check_batch, check_int, check_real
from .dataset import as_generator, renamed_keyword

Transform = Callable[[np.ndarray], np.ndarray]


class Compose:
    """Apply ``transforms`` in order.

    When a transform of this module produced the current array (so nothing else holds
    it), the next one may work on it in place (``Normalize`` does), saving a copy.

    >>> Compose([ToFloat()])(np.array([[0, 255]], dtype=np.uint8))
    array([[0., 1.]], dtype=float32)
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        if callable(transforms) or not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose takes a list of transforms, got {type(transforms).__name__}")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] is not callable: {t!r}")
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        owned = False  # True when x is a fresh array made by one of our transforms
        for t in self.transforms:
            inplace = getattr(t, "apply_", None) if owned else None
            x = inplace(x) if inplace is not None else t(x)
            owned = getattr(t, "returns_new_array", False)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class ToFloat:
    """uint8 ``0..255`` to float32 in ``[0, 1]``: ``y = x / 255``.

    >>> ToFloat()(np.array([0, 51, 255], dtype=np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """

    returns_new_array = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.divide(check_batch(x, "ToFloat"), np.float32(255.0), dtype=np.float32)

    def __repr__(self) -> str:
        return "ToFloat()"


class Normalize:
    """``(x - mean) / std`` per channel (axis -3 of NCHW) or with scalars, in float32.

    For channel ``c``: ``y[n, c, h, w] = (x[n, c, h, w] - mean[c]) / std[c]``; ``std`` must
    be positive and finite, and one value of ``mean``/``std`` applies to every channel.

    >>> Normalize([0.5, 0.0], [0.5, 2.0])(np.ones((1, 2, 1, 1), dtype=np.float32)).ravel()
    array([1. , 0.5], dtype=float32)
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        mean_arr = _statistic(mean, "mean")
        std_arr = _statistic(std, "std")
        if mean_arr.ndim > 1 or std_arr.ndim > 1:
            raise ValueError("mean and std must be scalars or one value per channel")
        if not np.all(np.isfinite(mean_arr)):
            raise ValueError(f"mean must be finite, got {mean}")
        if not np.all(std_arr > 0) or not np.all(np.isfinite(std_arr)):
            raise ValueError(f"std must be positive and finite, got {std}")
        if mean_arr.ndim and std_arr.ndim and mean_arr.shape != std_arr.shape:
            raise ValueError(
                f"mean has {mean_arr.size} values and std {std_arr.size}: give one per channel"
            )
        # Statistics for several channels must match the batch's; one value fits any.
        self._channels = (
            max(mean_arr.size, std_arr.size) if max(mean_arr.size, std_arr.size) > 1 else 0
        )
        self.std = std_arr
        """The standard deviations as given, float32 (a scalar or one per channel)."""
        self.mean = mean_arr.reshape(-1, 1, 1) if mean_arr.ndim else mean_arr
        """The means, float32: a scalar, or shape ``(C, 1, 1)`` to broadcast over NCHW."""
        self._inv_std = (np.float32(1.0) / std_arr).astype(np.float32)
        if std_arr.ndim:
            self._inv_std = self._inv_std.reshape(-1, 1, 1)

    returns_new_array = True

    def _check(self, x: np.ndarray) -> None:
        check_batch(x, "Normalize")
        if self._channels and (x.ndim < 3 or x.shape[-3] != self._channels):
            raise ValueError(
                f"Normalize has statistics for {self._channels} channels, but the batch has "
                f"shape {x.shape} (channels on axis -3)"
            )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        out = np.subtract(x, self.mean, dtype=np.float32)
        out *= self._inv_std
        return out

    def apply_(self, x: np.ndarray) -> np.ndarray:
        """Normalize ``x`` in place when it is a float32 array that can hold the result."""
        self._check(x)
        if x.dtype != np.float32 or np.broadcast_shapes(x.shape, self.mean.shape) != x.shape:
            return self(x)
        x -= self.mean
        x *= self._inv_std
        return x

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.ravel().tolist()}, std={self.std.ravel().tolist()})"


def _statistic(value: float | Sequence[float], name: str) -> np.ndarray:
    """``value`` (a number or one per channel) as a float32 array, or a TypeError."""
    try:
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number or a sequence of numbers, got {value!r}"
        ) from None


class RandomCrop:
    """Pad each image by ``padding`` (with ``fill``) and crop a random ``size`` window.

    For an ``H x W`` image and a crop of ``h x w``, the top-left corner ``(top, left)`` is
    drawn uniformly from ``0 <= top <= H + 2 * padding - h`` and
    ``0 <= left <= W + 2 * padding - w``.

    One offset is drawn per image; the whole batch is copied once into a padded scratch
    array (kept between calls) and the windows are gathered in one indexing operation.

    >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    >>> RandomCrop(2, padding=0, generator=0)(x).ravel()
    array([0., 1., 2., 3.], dtype=float32)
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        padding: int = 0,
        fill: float = 0,
        generator: int | np.random.Generator | None = None,
        *,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        generator = renamed_keyword("rng", rng, "generator", generator, "RandomCrop")
        sizes = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
        if len(sizes) != 2:
            raise ValueError(f"size must be a positive int or (h, w), got {size}")
        self.size = tuple(check_int(s, "size") for s in sizes)
        if min(self.size) <= 0:
            raise ValueError(f"size must be a positive int or (h, w), got {size}")
        if check_int(padding, "padding") < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.padding = int(padding)
        self.fill = check_real(fill, "fill")
        self.generator = as_generator(generator)
        self._buffers: dict[tuple, np.ndarray] = {}  # padded scratch arrays, borders = fill

    returns_new_array = True

    def _padded(self, flat: np.ndarray) -> np.ndarray:
        """``flat`` (N, K, H, W) padded by ``padding`` into a reused scratch array."""
        p = self.padding
        n, k, height, width = flat.shape
        key = (n, k, height, width, flat.dtype.str)
        buf = self._buffers.get(key)
        if buf is None:
            if len(self._buffers) >= 4:
                self._buffers.clear()
            buf = np.full((n, k, height + 2 * p, width + 2 * p), self.fill, dtype=flat.dtype)
            self._buffers[key] = buf
        buf[:, :, p : p + height, p : p + width] = flat
        return buf

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = check_batch(x, "RandomCrop")
        if x.ndim < 3:
            raise ValueError(f"RandomCrop expects a batch (N, ..., H, W), got shape {x.shape}")
        n, (h, w) = x.shape[0], self.size
        flat = x.reshape(n, -1, x.shape[-2], x.shape[-1])
        padded = self._padded(flat) if self.padding else np.ascontiguousarray(flat)
        height, width = padded.shape[2:]
        if h > height or w > width:
            raise ValueError(
                f"crop {self.size} is larger than the padded image ({height}, {width})"
            )
        top = self.generator.integers(0, height - h + 1, size=n)
        left = self.generator.integers(0, width - w + 1, size=n)
        # every h x w window of every image: sliding_window_view without its overhead
        s0, s1, s2, s3 = padded.strides
        windows: np.ndarray = np.ndarray(
            (n, padded.shape[1], height - h + 1, width - w + 1, h, w),
            dtype=padded.dtype,
            buffer=padded,
            strides=(s0, s1, s2, s3, s2, s3),
        )
        out = windows[np.arange(n), :, top, left]
        return out.reshape(*x.shape[:-2], h, w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``.

    Each image is flipped independently (``out[n] = x[n][..., ::-1]`` when ``u_n < p``,
    ``u_n`` uniform in ``[0, 1)``).

    >>> x = np.array([[[[1, 2]]]], dtype=np.uint8)
    >>> RandomHorizontalFlip(p=1.0)(x).ravel()
    array([2, 1], dtype=uint8)
    """

    def __init__(
        self,
        p: float = 0.5,
        generator: int | np.random.Generator | None = None,
        *,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        generator = renamed_keyword("rng", rng, "generator", generator, "RandomHorizontalFlip")
        if not 0.0 <= check_real(p, "p") <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p
        self.generator = as_generator(generator)

    returns_new_array = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = check_batch(x, "RandomHorizontalFlip")
        if x.ndim < 1:
            raise ValueError("RandomHorizontalFlip expects a batch (N, ..., W), got a 0-d array")
        flip = self.generator.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
