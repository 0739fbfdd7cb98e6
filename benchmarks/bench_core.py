"""Core-engine workloads: per-op overhead (``smallops``), leaves used many times (``fanin``)
and very deep graphs (``deep``).

Each is the same computation written with maligrad and by hand in numpy (the forward
chain, then its derivative chain), float32.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import torch_contenders
from harness import Workload

import maligrad as mg

ADD, MUL = np.float32(0.1), np.float32(0.9)


def _smallops_numpy(x0: np.ndarray, n: int) -> np.ndarray:
    x = x0
    saved = []
    for i in range(n):
        k = i % 4
        if k == 0:
            x = x + ADD
        elif k == 1:
            x = x * MUL
        elif k == 2:
            x = np.tanh(x)
            saved.append(x)
        else:
            x = np.exp(x)
            saved.append(x)
    g = np.ones_like(x)
    for i in reversed(range(n)):
        k = i % 4
        if k == 1:
            g = g * MUL
        elif k == 2:
            y = saved.pop()
            g = g * (1 - y * y)
        elif k == 3:
            g = g * saved.pop()
    return g


def _smallops_maligrad(x0: np.ndarray, n: int) -> np.ndarray:
    x = mg.Variable(x0, requires_grad=True)
    y = x
    for i in range(n):
        k = i % 4
        if k == 0:
            y = y + ADD
        elif k == 1:
            y = y * MUL
        elif k == 2:
            y = y.tanh()
        else:
            y = y.exp()
    y.backward(np.ones_like(y.data))
    return x.grad.data


def _deep_numpy(x0: np.ndarray, n: int) -> np.ndarray:
    x = x0
    for _ in range(n):
        x = x * np.float32(1.0001) + np.float32(0.0001)
    g = np.ones_like(x)
    for _ in range(n):
        g = g * np.float32(1.0001)
    return g


def _deep_maligrad(x0: np.ndarray, n: int) -> np.ndarray:
    x = mg.Variable(x0, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    y.sum().backward()
    return x.grad.data


def _fanin_numpy(
    x0: np.ndarray, a: np.ndarray, b: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    x = x0
    saved = []
    for _ in range(n):
        t = np.tanh(x * b + a)
        y = np.exp(t)
        saved.append((x, t, y))
        x = y
    g = np.ones_like(x)
    ga = np.zeros_like(a)
    gb = np.zeros_like(b)
    for x, t, y in reversed(saved):
        g = g * y  # exp
        g = g * (1 - t * t)  # tanh
        ga = ga + g  # + a
        gb = gb + g * x  # * b
        g = g * b
    return ga, gb


def _fanin_maligrad(
    x0: np.ndarray, a0: np.ndarray, b0: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    a = mg.Variable(a0, requires_grad=True)
    b = mg.Variable(b0, requires_grad=True)
    x = mg.Variable(x0)
    for _ in range(n):
        x = (x * b + a).tanh().exp()
    x.backward(np.ones_like(x.data))
    return a.grad.data, b.grad.data


def _retained_after_backward(depth: int) -> dict[str, float]:
    """Memory held while the graph exists and after backward (tracemalloc, MiB)."""
    x0 = np.ones(4, np.float32)
    gc.collect()
    tracemalloc.start()
    try:
        x = mg.Variable(x0, requires_grad=True)
        y = x
        for _ in range(depth):
            y = y * 1.0001 + 0.0001
        loss = y.sum()
        graph, _ = tracemalloc.get_traced_memory()
        loss.backward()
        del y, loss
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "graph_mib": graph / 2**20,
        "after_backward_mib": after / 2**20,
        "peak_mib": peak / 2**20,
    }


def summarize(results: list) -> str:
    """Linearity of the deep chain: time per op at 10k and 100k ops."""
    by_name = {r.name: r for r in results}
    if "deep-10k" in by_name and "deep-100k" in by_name:
        t10 = by_name["deep-10k"].seconds["maligrad"]
        t100 = by_name["deep-100k"].seconds["maligrad"]
        return (
            f"deep chain: 100k ops took {t100 / t10:.2f}x the time of 10k ops "
            f"({t10 / 1e4 * 1e6:.2f} vs {t100 / 1e5 * 1e6:.2f} us per op); memory "
            f"{by_name['deep-100k'].extra.get('memory')}"
        )
    return ""


#: Rounds of smallops and fanin. A round takes tens of milliseconds, and this machine's
#: pauses of several milliseconds make single pairs range over 1.8-8.4x: in a 121-round run
#: (fanin's median 3.72x numpy, smallops' 3.58x), random 15-round subsets had medians of
#: 3.34-3.93x for 90% of them and up to 4.71x (smallops 3.29-3.81x, up to 4.89x), 61-round
#: subsets 3.64-3.79x, at most 3.91x (smallops 3.49-3.66x, at most 3.76x).
REPEATS = 61


def workloads(quick: bool = False) -> list[Workload]:
    rng = np.random.default_rng(0)
    x16 = rng.normal(size=16).astype(np.float32)
    x4 = rng.normal(size=4).astype(np.float32)
    n_small = 400 if quick else 2000
    np.testing.assert_allclose(
        _smallops_maligrad(x16, 40), _smallops_numpy(x16, 40), rtol=1e-5, atol=1e-6
    )
    contenders = {
        "numpy": lambda: _smallops_numpy(x16, n_small),
        "maligrad": lambda: _smallops_maligrad(x16, n_small),
    }
    if torch_contenders.available():
        contenders["torch"] = lambda: torch_contenders.smallops(x16, n_small, ADD, MUL)
    out = [
        Workload(
            "smallops",
            contenders,
            description=f"chain of {n_small} add/mul/tanh/exp on (16,), forward + backward",
            target=6.0,
            repeats=5 if quick else REPEATS,
        )
    ]
    a16 = (0.1 * rng.normal(size=16)).astype(np.float32)
    b16 = (0.5 * rng.normal(size=16)).astype(np.float32)
    n_fanin = 100 if quick else 500
    for got, want in zip(_fanin_maligrad(x16, a16, b16, 20), _fanin_numpy(x16, a16, b16, 20)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    fanin = {
        "numpy": lambda: _fanin_numpy(x16, a16, b16, n_fanin),
        "maligrad": lambda: _fanin_maligrad(x16, a16, b16, n_fanin),
    }
    if torch_contenders.available():
        fanin["torch"] = lambda: torch_contenders.fanin(x16, a16, b16, n_fanin)
    out.append(
        Workload(
            "fanin",
            fanin,
            description=f"x = exp(tanh(x * b + a)), {n_fanin} times on (16,): leaves a, b "
            f"used {n_fanin} times each, forward + backward to both",
            target=4.5,
            repeats=5 if quick else REPEATS,
        )
    )
    for depth in (10_000,) if quick else (10_000, 100_000):
        out.append(
            Workload(
                f"deep-{depth // 1000}k",
                {
                    "numpy": lambda d=depth: _deep_numpy(x4, d),
                    "maligrad": lambda d=depth: _deep_maligrad(x4, d),
                },
                description=f"x = x * 1.0001 + 0.0001, {depth} times on (4,), forward + backward",
                repeats=3,
                extra={"depth": depth}
                if depth < 100_000
                else {"depth": depth, "memory": lambda d=depth: _retained_after_backward(d)},
            )
        )
    return out
