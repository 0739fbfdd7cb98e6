"""A recorded graph costs Python's cyclic garbage collector one object per op.

A full collection walks every object the collector tracks, and a long forward pass (a
chain of 10^5 ops) triggers several of them: if each op left three tracked objects behind
(its node, a tuple of edges, a tuple of saved Variables), every full collection would walk
the whole graph three times over, and the forward pass would grow faster than linearly. So
a node keeps its edges in slots and its saved arrays and version counters in tuples the
collector does not track, and no op output is kept alive by the graph.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import maligrad as mg
from maligrad import Variable

Step = Callable[[Any, Any, Any], Any]

# (name, one step of a chain from y with the leaves a and b, ops per step, tracked objects
# per op allowed). Each step's ops save inputs, outputs, constants, views or leaves; a tanh
# after each step keeps the values bounded.
CHAINS: list[tuple[str, Step, int, float]] = [
    ("mul-add by constants", lambda y, a, b: y * 1.0001 + 0.0001, 2, 1.0),
    ("tanh-exp saving outputs", lambda y, a, b: y.tanh().exp(), 2, 1.0),
    ("leaves used at every step", lambda y, a, b: (y * b + a).tanh().exp(), 4, 1.0),
    ("two Variables multiplied", lambda y, a, b: y * (y - a), 2, 1.0),
    ("views, matmul, sum", lambda y, a, b: (y.reshape(1, 4) @ a.reshape(4, 1)).sum() * b, 5, 1.0),
    ("division and powers", lambda y, a, b: (y / (b * b + 1.0)) ** 0.5 + a, 5, 1.0),
    ("where on a numpy condition", lambda y, a, b: mg.where(y.data > 0, y, a).sigmoid(), 2, 1.0),
    # Three or more inputs keep their edges in a tuple: one more object.
    ("stack of three", lambda y, a, b: mg.stack([y, a, b]).sum(axis=0), 2, 1.5),
]


def _leaves() -> tuple[Variable, Variable, Variable]:
    rng = np.random.default_rng(0)
    return tuple(  # type: ignore[return-value]
        Variable(rng.uniform(0.5, 1.0, size=4).astype(np.float32), requires_grad=True)
        for _ in range(3)
    )


def _tracked_per_op(step: Step, ops_per_step: int, steps: int = 200) -> float:
    """Objects the collector tracks after a full collection, per op of a live graph."""
    x, a, b = _leaves()
    step(x, a, b)  # first calls (imports, caches) before counting
    gc.collect()
    before = len(gc.get_objects())
    y = x
    for _ in range(steps):
        y = step(y, a, b).tanh()
    # Each collection stops tracking the tuples whose items are all untracked; a tuple of
    # such tuples (shapes kept by an op) a collection later.
    gc.collect()
    gc.collect()
    grown = len(gc.get_objects()) - before
    assert y.grad_fn is not None  # the graph is alive while counted
    return grown / (steps * (ops_per_step + 1))


@pytest.mark.parametrize(
    ("step", "ops_per_step", "allowed"),
    [c[1:] for c in CHAINS],
    ids=[c[0] for c in CHAINS],
)
def test_a_live_graph_costs_the_collector_one_object_per_op(
    step: Step, ops_per_step: int, allowed: float
) -> None:
    per_op = _tracked_per_op(step, ops_per_step)
    assert per_op <= allowed + 0.02, f"{per_op:.2f} tracked objects per op"


def test_what_the_collector_counts_while_recording_is_bounded() -> None:
    """Objects born tracked per op (gen-0 count): they set how often the collector runs."""
    x, a, b = _leaves()
    y = (x * b + a).tanh().exp()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # so that the count is not reset by a collection while counting
    try:
        start = gc.get_count()[0]
        for _ in range(100):
            y = (y * b + a).tanh().exp()
        counted = gc.get_count()[0] - start
    finally:
        if was_enabled:
            gc.enable()
    assert counted <= 3 * 400, f"{counted / 400:.2f} per op"


def test_saved_inputs_are_rebuilt_in_the_graph_and_leaves_are_themselves() -> None:
    """The node keeps arrays, not Variables: backward still sees a connected graph."""
    x, a, _ = _leaves()
    h = x.tanh()
    y = h * a  # Mul saves h (an op's output) and a (a leaf)
    saved_h, saved_a = y.grad_fn.saved_tensors
    assert saved_a is a
    assert saved_h is not h and saved_h.data is h.data and saved_h.grad_fn is h.grad_fn
    (gx,) = mg.grad(y.sum(), [x], create_graph=True)
    (ggx,) = mg.grad(gx.sum(), [x])
    t = np.tanh(x.data)
    np.testing.assert_allclose(gx.data, a.data * (1 - t * t), rtol=1e-6)
    np.testing.assert_allclose(ggx.data, a.data * (-2 * t * (1 - t * t)), rtol=1e-5)


@pytest.mark.parametrize(
    "modify",
    [
        lambda h: h.mul_(2.0),
        lambda h: h.detach().add_(1.0),
        lambda h: h.reshape(2, 2).fill_(0.0),
        lambda h: h[1:].__setitem__(0, 5.0),
    ],
    ids=["mul_", "detach-add_", "reshape-view-fill_", "slice-view-setitem"],
)
def test_inplace_change_of_a_saved_intermediate_is_detected(modify: Callable[[Any], Any]) -> None:
    """The saved op output is not kept by the node, yet a change to it is still caught."""
    x, a, _ = _leaves()
    h = x.tanh()
    y = (h * a).sum()
    with mg.no_grad():
        modify(h)
    with pytest.raises(RuntimeError, match=r"Mul\.backward.*modified in place.*version 0 -> 1"):
        y.backward()


def test_version_counters_count_past_one_byte() -> None:
    w = Variable(np.zeros(2, dtype=np.float32), requires_grad=True)
    y = (w * w).sum()
    with mg.no_grad():
        for _ in range(300):
            w.add_(0.0)
    assert w._version == 300
    with pytest.raises(RuntimeError, match="version 0 -> 300"):
        y.backward()
    w._version = 70_000
    with mg.no_grad():
        w.mul_(1.0)
    assert w._version == 70_001
