"""End to end: small networks learn synthetic tasks to a stated accuracy (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

import maligrad
from maligrad import Variable, nn
from maligrad.nn import functional as F
from maligrad.nn import optim


def spirals(n_per_class=100, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1, n_per_class)
        t = np.linspace(c * 4, (c + 1) * 4, n_per_class) + rng.normal(0, 0.2, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def accuracy(model, x, y):
    model.eval()
    with maligrad.no_grad():
        pred = model(Variable(x)).data.argmax(axis=1)
    model.train()
    return float((pred == y).mean())


def test_mlp_learns_spirals():
    """A 2-64-64-3 MLP with Adam reaches >= 95% training accuracy in 300 full-batch steps."""
    maligrad.manual_seed(0)
    x, y = spirals()
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 3)
    )
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=300)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(300):
        loss = loss_fn(model(Variable(x)), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    assert loss.item() < 0.25 * first
    assert accuracy(model, x, y) >= 0.95


def test_mlp_with_batchnorm_dropout_sgd_minibatches():
    """BatchNorm + Dropout + SGD(momentum) on minibatches: >= 90% in 40 epochs."""
    maligrad.manual_seed(1)
    x, y = spirals(seed=1)
    model = nn.Sequential(
        nn.Linear(2, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(64, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Linear(64, 3),
    )
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    for _ in range(40):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 30):
            idx = order[i : i + 30]
            loss = F.cross_entropy(model(Variable(x[idx])), y[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
    assert accuracy(model, x, y) >= 0.9


def bars(n, seed):
    """8x8 images with one horizontal (class 0) or vertical (class 1) bar, plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, size=(n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    pos = rng.integers(0, 8, size=n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, pos[i], :] += 1.0
        else:
            x[i, 0, :, pos[i]] += 1.0
    return x, y


@pytest.mark.skipif(not hasattr(nn, "Conv2d"), reason="nn.Conv2d is not available")
def test_small_cnn_learns_bars():
    """Conv2d(1, 4, 3) + ReLU + Linear reaches >= 95% held-out accuracy in 60 Adam steps."""
    maligrad.manual_seed(0)
    x, y = bars(256, seed=0)
    xt, yt = bars(128, seed=1)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2)
    )
    opt = optim.Adam(model.parameters(), lr=0.01)
    for step in range(60):
        idx = slice((step * 64) % 256, (step * 64) % 256 + 64)
        loss = F.cross_entropy(model(Variable(x[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert accuracy(model, xt, yt) >= 0.95
