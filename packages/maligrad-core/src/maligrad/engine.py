"""The backward engine: walk the graph in reverse topological order, without recursion.

Given output Variables and their gradients, :func:`run_backward` visits each
:class:`~maligrad.Function` node once, after every node that consumes its output, calls
its ``backward`` and passes the results on to the node's parents: other nodes, or leaf
Variables whose ``.grad`` accumulates. A node's incoming gradient is dropped as soon as it
has been used, and its saved arrays are released unless ``retain_graph`` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.grad_mode import GradMode
from maligrad.variable import Variable

#: Set once any leaf has a post-accumulate-grad hook: only then does backward count the
#: edges into such leaves, so that each hook runs once per pass, on the summed gradient.
post_hooks_in_use = False
#: One list of callbacks per ``backward()`` pass in progress (innermost last).
_callbacks: list[list[Callable[[], None]]] = []


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` when the ``backward()`` pass in progress has finished.

    Call it from a hook during backward; the callback runs once every leaf's ``.grad`` has
    been accumulated, before ``backward()`` returns (data-parallel training waits for its
    gradient allreduces there). Outside a ``backward()`` pass it is an error.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> w = mg.Variable(np.ones(2, dtype=np.float32), requires_grad=True)
        >>> done = []
        >>> w.register_hook(lambda g: mg.queue_callback(lambda: done.append(w.grad.data.sum())))
        >>> (w * 2).sum().backward()
        >>> done
        [np.float32(4.0)]
    """
    if not _callbacks:
        raise RuntimeError("queue_callback() can only be called during a backward() pass")
    _callbacks[-1].append(callback)


def _reachable(roots: list[Function]) -> list[Function]:
    """Every live node reachable from ``roots`` (iterative depth-first search).

    Nodes freed by an earlier backward are left out, with what lies behind them: they
    are an error only if they must run (see ``run_backward``).
    """
    seen: set[Function] = set()
    order: list[Function] = []
    stack = list(roots)
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        parents = fn.parents
        if parents is None:
            continue
        order.append(fn)
        stack.extend(p for p in parents if isinstance(p, Function) and p not in seen)
    return order


def _freed(fn: Function) -> RuntimeError:
    return RuntimeError(
        f"trying to backward through the graph a second time: {fn.name} was freed by an "
        "earlier backward(). Pass retain_graph=True to the first backward() to keep it."
    )


def _conform(fn: Function, grad: Variable, shape: tuple[int, ...], dtype: np.dtype) -> Variable:
    """A gradient in its input's dtype (mixed-precision ops); a wrong shape is an error."""
    if grad.data.shape != shape:
        raise RuntimeError(
            f"{fn.name}.backward returned a gradient of shape {grad.data.shape} for an input "
            f"of shape {shape}"
        )
    from maligrad.ops.elementwise import Cast

    return Cast.apply(grad, dtype=dtype)


def run_backward(
    outputs: Sequence[Variable],
    grad_outputs: Sequence[Variable],
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Variable] | None = None,
    allow_unused: bool = False,
) -> list[Variable | None] | None:
    """Backpropagate ``grad_outputs`` from ``outputs``.

    Nodes are visited from the most recently created down (a max-heap on their creation
    number), which is a topological order: every consumer of a node's output was created
    after it. With ``inputs=None`` the gradients accumulate into ``.grad`` of the leaves.
    Otherwise nothing is accumulated and the gradients with respect to ``inputs`` are
    returned (the engine behind :func:`maligrad.grad`).
    """
    grads: dict[Function, Variable] = {}
    heap: list[tuple[int, Function]] = []
    leaf_seeds: list[tuple[Variable, Variable]] = []
    for out, g in zip(outputs, grad_outputs):
        fn = out.grad_fn
        if fn is None:
            leaf_seeds.append((out, g))
        elif fn in grads:
            grads[fn] = grads[fn] + g
        else:
            if fn.parents is None:
                raise _freed(fn)
            grads[fn] = g
            heappush(heap, (-fn.seq, fn))

    # With explicit inputs, results are captured instead of accumulated into leaves, and
    # only the nodes from which some input can be reached are run.
    capture = inputs is not None
    if inputs is not None:
        captured: dict[int, Variable | None] = {}
        node_targets: dict[Function, Variable] = {}
        useful: set[Function] = set()
        for x in inputs:
            captured[id(x)] = None
            if x.grad_fn is not None:
                node_targets[x.grad_fn] = x
        nodes = _reachable([fn for _, fn in heap])
        nodes.sort(key=lambda fn: fn.seq)
        for fn in nodes:
            for p in fn.parents:  # type: ignore[union-attr]
                if p is None:
                    continue
                if p in useful or p in node_targets or id(p) in captured:
                    useful.add(fn)
                    break
        for out, g in leaf_seeds:
            if id(out) in captured:
                prev = captured[id(out)]
                captured[id(out)] = g if prev is None else prev + g
    else:
        for out, g in leaf_seeds:
            _accumulate_leaf(out, g)
            _run_post_hooks(out)
    handed_out: set[int] = set()  # memory given to leaves' .grad in this pass

    prev_mode = GradMode.enabled
    GradMode.enabled = create_graph
    if not capture:
        _callbacks.append([])
        waiting = (
            _count_edges_into_hooked_leaves([fn for _, fn in heap]) if (post_hooks_in_use) else None
        )
    try:
        while heap:
            fn = heappop(heap)[1]
            gy = grads.pop(fn)
            if fn._hooks is not None:
                for hook in fn._hooks:
                    new = hook(gy)
                    if new is not None:
                        gy = new
            if capture:
                target = node_targets.get(fn)
                if target is not None:
                    captured[id(target)] = gy
                if fn not in useful:
                    if not retain_graph:
                        fn.release()
                    continue
            parents = fn.parents
            if parents is None:
                raise _freed(fn)
            gxs = fn.backward(gy)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            if len(gxs) != len(parents):
                raise RuntimeError(
                    f"{fn.name}.backward returned {len(gxs)} gradients for {len(parents)} inputs"
                )
            for p, gx in zip(parents, gxs):
                if p is None or gx is None:
                    continue
                if type(gx) is not Variable and not isinstance(gx, Variable):
                    raise TypeError(
                        f"{fn.name}.backward must return Variables (or None), got "
                        f"{type(gx).__name__}; wrap arrays in maligrad.Variable"
                    )
                if isinstance(p, Function):
                    data = gx.data
                    if data.shape != p.out_shape or data.dtype != p.out_dtype:
                        gx = _conform(fn, gx, p.out_shape, p.out_dtype)
                    prev = grads.get(p)
                    if prev is None:
                        grads[p] = gx
                        heappush(heap, (-p.seq, p))
                    else:
                        grads[p] = prev + gx
                else:
                    data = gx.data
                    if data.shape != p.data.shape or data.dtype != p.data.dtype:
                        gx = _conform(fn, gx, p.data.shape, p.data.dtype)
                    if not capture:
                        # One array never becomes the .grad of two leaves (``a + b`` hands
                        # both the same gradient): in-place use of one would change both.
                        root = id(data if data.base is None else data.base)
                        if root in handed_out:
                            gx = gx.clone() if create_graph else Variable(data.copy())
                        else:
                            handed_out.add(root)
                        if p.grad is None and p._hooks is None:
                            p.grad = gx
                        else:
                            _accumulate_leaf(p, gx)
                        if waiting is not None and p._post_accumulate_hooks is not None:
                            waiting[id(p)] -= 1
                            if not waiting[id(p)]:
                                _run_post_hooks(p)
                    elif id(p) in captured:
                        prev = captured[id(p)]
                        captured[id(p)] = gx if prev is None else prev + gx
            if not retain_graph:
                fn.release()
    finally:
        GradMode.enabled = prev_mode
        pending = _callbacks.pop() if not capture else []
    for callback in pending:
        callback()

    if inputs is None:
        return None
    results = [captured[id(x)] for x in inputs]
    if not allow_unused:
        for i, (x, r) in enumerate(zip(inputs, results)):
            if r is None:
                raise RuntimeError(
                    f"input {i} (shape {x.shape}) was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
    return results


def _accumulate_leaf(leaf: Variable, grad: Variable) -> None:
    if not leaf.requires_grad:
        return
    hooks = leaf._hooks
    if hooks is not None:
        for hook in hooks:
            new = hook(grad)
            if new is not None:
                grad = new
    leaf.grad = grad if leaf.grad is None else leaf.grad + grad


def _count_edges_into_hooked_leaves(roots: list[Function]) -> dict[int, int]:
    """How many gradients each leaf with post-accumulate hooks will receive in this pass."""
    waiting: dict[int, int] = {}
    for fn in _reachable(roots):
        for p in fn.parents:  # type: ignore[union-attr]
            if isinstance(p, Variable) and p._post_accumulate_hooks is not None:
                waiting[id(p)] = waiting.get(id(p), 0) + 1
    return waiting


def _run_post_hooks(leaf: Variable) -> None:
    if leaf._post_accumulate_hooks is not None and leaf.requires_grad:
        for post in leaf._post_accumulate_hooks:
            post(leaf)


def seed_gradients(outputs: Sequence[Variable], grad_outputs: Sequence[Any] | None) -> list[Any]:
    """Check or create the starting gradients: ones for scalars, required otherwise."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one each"
        )
    seeds = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Variable):
            raise TypeError(f"output {i} is a {type(out).__name__}, not a Variable")
        if not out.requires_grad:
            raise RuntimeError(
                f"output {i} (shape {out.shape}) does not require grad and has no grad_fn: "
                "nothing to differentiate"
            )
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; output {i} has "
                    f"shape {out.shape}: pass gradient= (or grad_outputs=) of that shape"
                )
            seeds.append(Variable(np.ones_like(out.data)))
            continue
        if not isinstance(g, Variable):
            g = Variable(np.array(g, dtype=out.data.dtype))  # a copy: it may become .grad
        if g.data.shape != out.data.shape:
            raise RuntimeError(
                f"gradient for output {i} has shape {g.data.shape}, but the output has shape "
                f"{out.data.shape}"
            )
        if g.data.dtype != out.data.dtype:
            raise TypeError(
                f"gradient for output {i} has dtype {g.data.dtype}, but the output has dtype "
                f"{out.data.dtype}"
            )
        seeds.append(g)
    return seeds
