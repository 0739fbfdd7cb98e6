"""A small CNN learns a synthetic image task: classify the orientation of a noisy bar.

Deterministic (fixed seeds): 200 SGD steps on 12x12 images of a horizontal, vertical or
diagonal bar at a random position, with noise; the held-out accuracy must reach 95%.
"""

from __future__ import annotations

import numpy as np

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn
from maligrad.nn import optim


def bars(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (N, 1, 12, 12) of one bar each; label 0 horizontal, 1 vertical, 2 diagonal."""
    x = rng.normal(scale=0.3, size=(n, 1, 12, 12)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    for i in range(n):
        r, c = rng.integers(2, 10, size=2)
        length = 6
        if y[i] == 0:
            c0 = min(c, 12 - length)
            x[i, 0, r, c0 : c0 + length] += 1.0
        elif y[i] == 1:
            r0 = min(r, 12 - length)
            x[i, 0, r0 : r0 + length, c] += 1.0
        else:
            r0, c0 = min(r, 12 - length), min(c, 12 - length)
            x[i, 0, np.arange(length) + r0, np.arange(length) + c0] += 1.0
    return x, y


def test_small_cnn_learns_bar_orientation():
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 3),
    )
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x_test, y_test = bars(300, np.random.default_rng(1))
    for _ in range(200):
        x, y = bars(32, rng)
        loss = F.cross_entropy(model(mg.Variable(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with mg.no_grad():
        pred = model(mg.Variable(x_test)).data.argmax(axis=1)
    accuracy = float((pred == y_test).mean())
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f} after 200 steps"
