"""Data pipeline speed: one shuffled, transformed epoch of MNIST-sized batches.

maligrad's ``DataLoader`` with ``Compose([ToFloat(), Normalize(...), RandomCrop(28, 2)])``
against a hand-written numpy loop doing the same work: a permutation, one fancy-indexed
gather per batch, ``/ 255`` to float32, in-place normalisation, zero padding by 2 (into a
buffer allocated once) and one random 28 x 28 crop per image, gathered vectorised through
``sliding_window_view``. The data is synthetic uint8 of MNIST's shape
(60,000 x 1 x 28 x 28; 6,000 with ``--quick``), so no download is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from harness import Workload
from numpy.lib.stride_tricks import sliding_window_view

try:
    import maligrad.data as mdata
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages/maligrad-data/src"))
    import maligrad.data as mdata

BATCH = 128
PAD = 2
MEAN, STD = 0.1307, 0.3081


def _numpy_epoch(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> int:
    """The reference: the same epoch written by hand in numpy."""
    n, c, h, w = images.shape
    order = rng.permutation(n)
    inv_std = np.float32(1.0 / STD)
    # the padded batch is allocated once; its zero border is never written
    padded_full = np.zeros((BATCH, c, h + 2 * PAD, w + 2 * PAD), dtype=np.float32)
    seen = 0
    for start in range(0, n, BATCH):
        idx = order[start : start + BATCH]
        x, y = images[idx], labels[idx]
        x = np.divide(x, np.float32(255.0), dtype=np.float32)
        x -= np.float32(MEAN)
        x *= inv_std
        b = x.shape[0]
        padded = padded_full if b == BATCH else np.zeros((b, *padded_full.shape[1:]), np.float32)
        padded[:, :, PAD : PAD + h, PAD : PAD + w] = x
        top = rng.integers(0, 2 * PAD + 1, size=b)
        left = rng.integers(0, 2 * PAD + 1, size=b)
        x = sliding_window_view(padded, (h, w), axis=(2, 3))[np.arange(b), :, top, left]
        seen += x.shape[0] + 0 * y.shape[0]
    return seen


def _maligrad_epoch(loader: mdata.DataLoader) -> int:
    seen = 0
    for x, _ in loader:
        seen += x.shape[0]
    return seen


def workloads(quick: bool) -> list[Workload]:
    n = 6_000 if quick else 60_000
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 1, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.int64)
    transform = mdata.Compose(
        [
            mdata.ToFloat(),
            mdata.Normalize(MEAN, STD),
            mdata.RandomCrop(28, padding=PAD, generator=1),
        ]
    )
    loader = mdata.DataLoader(
        mdata.ArrayDataset(images, labels),
        batch_size=BATCH,
        shuffle=True,
        generator=0,
        transform=transform,
    )
    ref_rng = np.random.default_rng(0)
    return [
        Workload(
            name="data-pipeline",
            description=(
                f"one shuffled epoch of {n} x 1 x 28 x 28 uint8, batch {BATCH}, "
                "ToFloat + Normalize + RandomCrop(28, padding=2)"
            ),
            contenders={
                "numpy": lambda: _numpy_epoch(images, labels, ref_rng),
                "maligrad": lambda: _maligrad_epoch(loader),
            },
            target=1.2,
            repeats=3 if quick else 7,
            warmup=1,
            extra={"samples": n, "batch_size": BATCH},
        )
    ]
