"""Placeholder main job until maligrad-nn and maligrad-data land: fit a line with the core."""

import numpy as np

import maligrad as mg

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 1)).astype(np.float32)
y = 3 * x + 0.5 + 0.01 * rng.normal(size=(256, 1)).astype(np.float32)
w = mg.Variable(np.zeros((1, 1), np.float32), requires_grad=True)
b = mg.Variable(np.zeros(1, np.float32), requires_grad=True)
for _ in range(200):
    loss = ((x @ w + b - y) ** 2).mean()
    w.grad = b.grad = None
    loss.backward()
    with mg.no_grad():
        w.sub_(w.grad, alpha=0.1)
        b.sub_(b.grad, alpha=0.1)
print(f"w={w.data.item():.3f} b={b.data.item():.3f} loss={loss.item():.5f}")
