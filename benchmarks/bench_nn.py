"""maligrad.nn workloads: one SGD training step of an MLP, a tiny MLP, LeNet and a ResNet.

Each maligrad step (``nn`` layers, ``cross_entropy``, ``optim.SGD``) is paired with a
hand-written numpy step of the same computation (forward, backward, SGD update), float32,
starting from the same weights. The LeNet reference is a fast numpy formulation: im2col
through ``sliding_window_view`` and one batched BLAS matmul per convolution, col2im by
slice-adds over kernel offsets, 2x2 max pooling by reshape.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch_contenders
from harness import Workload
from numpy.lib.stride_tricks import sliding_window_view

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn
from maligrad.nn import optim

LR = 0.01
#: Seconds between timed blocks of the workloads with multi-threaded GEMMs (see ``harness``).
SETTLE = 0.3


# --- shared numpy pieces ------------------------------------------------------------------


def _xent_numpy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    n = z.shape[0]
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.log(s[:, 0]).mean() - z[np.arange(n), y].mean())
    g = e / s
    g[np.arange(n), y] -= 1.0
    g *= np.float32(1.0 / n)
    return loss, g


def _params_numpy(model: nn.Module) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


# --- MLPs ---------------------------------------------------------------------------------


def _mlp_numpy_step(ps: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    acts = [x]
    masks = []
    h = x
    nl = len(ps) // 2
    for i in range(nl):
        w, b = ps[2 * i], ps[2 * i + 1]
        h = h @ w.T
        h += b
        if i < nl - 1:
            mask = h > 0
            h *= mask
            masks.append(mask)
            acts.append(h)
    loss, g = _xent_numpy(h, y)
    lr = np.float32(LR)
    for i in reversed(range(nl)):
        w, b = ps[2 * i], ps[2 * i + 1]
        gw = g.T @ acts[i]
        gb = g.sum(axis=0)
        if i > 0:
            g = g @ w
            g *= masks[i - 1]
        w -= lr * gw
        b -= lr * gb
    return loss


def _mlp(sizes: list[int], generator: np.random.Generator) -> nn.Module:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _maligrad_step(model: nn.Module, opt: optim.Optimizer, x: mg.Variable, y: np.ndarray):
    def step() -> float:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _contenders(
    model: nn.Module, ps: list[np.ndarray], x: np.ndarray, y: np.ndarray, numpy_step, torch_step
) -> dict:
    """The maligrad, numpy (and torch) steps from the same start, after checking that one
    maligrad step and one numpy step give the same loss and parameters."""
    opt = optim.SGD(model.parameters(), lr=LR)
    step = _maligrad_step(model, opt, mg.Variable(x), y)
    start = _params_numpy(model)
    ref_loss = numpy_step(ps, x, y)
    loss = float(step().data)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-4)
    for p, q in zip(model.parameters(), ps):
        np.testing.assert_allclose(p.data, q, rtol=1e-3, atol=1e-5)
    contenders = {"numpy": lambda: numpy_step(ps, x, y), "maligrad": step}
    if torch_contenders.available():
        contenders["torch"] = torch_step(start, x, y, LR)
    return contenders


def _mlp_workload(name: str, sizes: list[int], batch: int, quick: bool, target: float, **kw):
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    model = _mlp(sizes, rng)
    ps = _params_numpy(model)
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=batch)
    contenders = _contenders(model, ps, x, y, _mlp_numpy_step, torch_contenders.mlp_step)
    return Workload(
        name,
        contenders,
        description=f"{'-'.join(map(str, sizes))} ReLU MLP, batch {batch}, CE + SGD step",
        target=target,
        **kw,
    )


# --- LeNet --------------------------------------------------------------------------------


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """``(N, C k k, Ho Wo)`` window matrix (stride 1, no padding)."""
    n, c, h, w = x.shape
    ho, wo = h - k + 1, w - k + 1
    v = sliding_window_view(x, (k, k), axis=(2, 3))  # (N, C, Ho, Wo, k, k)
    return np.ascontiguousarray(v.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c * k * k, ho * wo)


def _col2im(gcol: np.ndarray, c: int, h: int, w: int, k: int) -> np.ndarray:
    n = gcol.shape[0]
    ho, wo = h - k + 1, w - k + 1
    g = gcol.reshape(n, c, k, k, ho, wo)
    out = np.zeros((n, c, h, w), dtype=gcol.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + ho, j : j + wo] += g[:, :, i, j]
    return out


def _conv_fwd(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, _, h, wd = x.shape
    o, _, k, _ = w.shape
    col = _im2col(x, k)
    y = np.matmul(w.reshape(o, -1), col)
    y += b[:, None]
    return y.reshape(n, o, h - k + 1, wd - k + 1), col


def _conv_wgrad(col: np.ndarray, gy: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    n, o = gy.shape[:2]
    return np.matmul(gy.reshape(n, o, -1), col.transpose(0, 2, 1)).sum(axis=0).reshape(w_shape)


_OFFSETS = [(i, j) for i in range(2) for j in range(2)]


def _pool_fwd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max pooling: a running max over the four strided offsets, and its argmax."""
    best = x[:, :, 0::2, 0::2].copy()
    idx = np.zeros(best.shape, dtype=np.int8)
    for k in range(1, 4):
        i, j = _OFFSETS[k]
        cand = x[:, :, i::2, j::2]
        np.copyto(idx, k, where=cand > best)
        np.maximum(best, cand, out=best)
    return best, idx


def _pool_bwd(gy: np.ndarray, idx: np.ndarray) -> np.ndarray:
    n, c, h2, w2 = gy.shape
    out = np.empty((n, c, 2 * h2, 2 * w2), dtype=gy.dtype)
    zero = gy.dtype.type(0)
    for k, (i, j) in enumerate(_OFFSETS):
        out[:, :, i::2, j::2] = np.where(idx == k, gy, zero)
    return out


def _lenet_numpy_step(ps: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    w1, b1, w2, b2, w3, b3 = ps
    a1, col1 = _conv_fwd(x, w1, b1)  # (N, 8, 24, 24)
    r1 = np.maximum(a1, 0)
    p1, m1 = _pool_fwd(r1)  # (N, 8, 12, 12)
    a2, col2 = _conv_fwd(p1, w2, b2)  # (N, 16, 8, 8)
    r2 = np.maximum(a2, 0)
    p2, m2 = _pool_fwd(r2)  # (N, 16, 4, 4)
    flat = p2.reshape(p2.shape[0], -1)
    z = flat @ w3.T
    z += b3
    loss, g = _xent_numpy(z, y)
    gw3, gb3 = g.T @ flat, g.sum(axis=0)
    g = (g @ w3).reshape(p2.shape)
    g = _pool_bwd(g, m2)
    g *= a2 > 0
    gw2, gb2 = _conv_wgrad(col2, g, w2.shape), g.sum(axis=(0, 2, 3))
    n = g.shape[0]
    gcol = np.matmul(w2.reshape(w2.shape[0], -1).T, g.reshape(n, w2.shape[0], -1))
    g = _col2im(gcol, 8, 12, 12, 5)
    g = _pool_bwd(g, m1)
    g *= a1 > 0
    gw1, gb1 = _conv_wgrad(col1, g, w1.shape), g.sum(axis=(0, 2, 3))
    lr = np.float32(LR)
    for p, gp in zip(ps, (gw1, gb1, gw2, gb2, gw3, gb3)):
        p -= lr * gp
    return loss


def _lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 10),
    )


def _lenet_workload(quick: bool) -> Workload:
    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    model = _lenet()
    ps = _params_numpy(model)
    x = rng.random(size=(64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=64)
    contenders = _contenders(model, ps, x, y, _lenet_numpy_step, torch_contenders.lenet_step)
    return Workload(
        "lenet",
        contenders,
        description="conv5-relu-pool2, conv5-relu-pool2, linear; batch 64 of 1x28x28, CE + SGD",
        target=1.2,
        torch_target=1.0,
        # Its ratio to PyTorch sits near the target: 41 rounds rather than 21 narrow the
        # median's spread within a run (random 21-round subsets of a 101-round run gave
        # 0.82-0.94x for 90% of them, 41-round subsets 0.83-0.93x).
        repeats=5 if quick else 41,
        inner=2 if quick else 5,
        warmup=2,
        settle=SETTLE,
    )


# --- resnet-small -------------------------------------------------------------------------


def _resnet_workload(quick: bool) -> Workload | None:
    """The main job's CIFAR-10 model against the same model in PyTorch (no numpy version)."""
    if not torch_contenders.available():
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    from models import resnet_small

    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    model = resnet_small((3, 32, 32))
    ps = _params_numpy(model)
    x = rng.normal(size=(64, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    opt = optim.SGD(model.parameters(), lr=LR)
    torch_step = torch_contenders.resnet_small_step(ps, x, y, LR)
    step = _maligrad_step(model, opt, mg.Variable(x), y)
    np.testing.assert_allclose(float(step().data), torch_step(), rtol=1e-3)
    return Workload(
        "resnet-small",
        {"torch": torch_step, "maligrad": step},
        description="examples/models.py resnet_small (BatchNorm), batch 64 of 3x32x32, CE + SGD",
        reference="torch",
        torch_target=1.5,
        repeats=3 if quick else 15,
        inner=1,
        warmup=1,
        settle=SETTLE,
    )


def workloads(quick: bool = False, only: str | None = None) -> list[Workload]:
    """Every workload of this file, or only the one named ``only`` (a fresh-process run)."""
    builders = {
        "mlp": lambda: _mlp_workload(
            "mlp", [784, 512, 512, 10], 128, quick, 1.1,
            repeats=5 if quick else 21, inner=2 if quick else 5, warmup=2, settle=SETTLE,
        ),
        "mlp-tiny": lambda: _mlp_workload(
            "mlp-tiny", [7, 5, 3], 1, quick, 2.5,
            repeats=5 if quick else 21, inner=200 if quick else 1000, warmup=50,
        ),
        "lenet": lambda: _lenet_workload(quick),
        "resnet-small": lambda: _resnet_workload(quick),
    }  # fmt: skip
    built = [build() for name, build in builders.items() if only is None or name == only]
    return [w for w in built if w is not None]
