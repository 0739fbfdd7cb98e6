"""The backward engine: walk the graph in reverse topological order, without recursion.

One traversal, ``_traverse``, serves two drivers. Given output Variables and their
gradients, it visits each [Function][maligrad.Function] node once, after every node that
consumes its output, calls its ``backward`` and passes the results on to the node's
parents: other nodes, whose incoming gradients are summed until they run, or leaf
Variables, whose gradients are summed for the end of the pass. A node's incoming gradient
is dropped as soon as it has been used, and its saved arrays are released unless
``retain_graph`` is set.

- ``run_backward`` ([Variable.backward][maligrad.Variable.backward]) runs every node and
  accumulates each leaf's summed gradient into its ``.grad``: leaf hooks, then ``.grad``,
  then post-accumulate hooks, once per leaf and pass.
- ``run_grad`` ([maligrad.grad][maligrad.grad]) runs only the nodes from which an input can be
  reached and returns the gradients with respect to the inputs; it accumulates nothing,
  and the nodes it did not need are left as they were (not freed).

While a pass runs, Python's cyclic garbage collector is paused: the graph holds no cycles
(refcounting frees each node as it is released), and otherwise the collector walks the
whole live graph again and again.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from maligrad.function import Function, plain_gradient
from maligrad.grad_mode import GradMode
from maligrad.ops.elementwise import Cast
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
        >>> w.register_hook(lambda g: mg.queue_callback(lambda: done.append(w.grad.tolist())))
        >>> (w * 2).sum().backward()
        >>> done
        [[2.0, 2.0]]
    """
    if not _callbacks:
        raise RuntimeError("queue_callback() can only be called during a backward() pass")
    _callbacks[-1].append(callback)


def _reachable(roots: list[Function]) -> list[Function]:
    """Every live node reachable from ``roots`` (iterative depth-first search).

    Nodes freed by an earlier backward are left out, with what lies behind them: they
    are an error only if they must run.
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
    return Cast.apply(grad, dtype=dtype)


def _not_a_variable(fn: Function, gx: Any) -> Variable:
    if isinstance(gx, Variable):  # a subclass
        return gx
    raise TypeError(
        f"{fn.name}.backward must return Variables (or None), got {type(gx).__name__}; "
        "wrap arrays in maligrad.Variable"
    )


_add_into = np.add


def _run_hooks(hooks: list[Any], grad: Variable, shape: tuple[int, ...], what: str) -> Variable:
    """``grad`` passed through ``hooks``; a hook's replacement must keep the shape."""
    for hook in hooks:
        new = hook(grad)
        if new is None:
            continue
        if not isinstance(new, Variable):
            raise TypeError(
                f"a hook on {what} returned a {type(new).__name__}; return a Variable or None"
            )
        if new.data.shape != shape:
            raise RuntimeError(
                f"a hook on {what} of shape {shape} returned a gradient of shape "
                f"{new.data.shape}; a gradient's shape must equal its Variable's"
            )
        grad = new
    return grad


def _begin_pass(create_graph: bool) -> tuple[bool, bool]:
    """Record the pass only for ``create_graph``; pause the cyclic GC while it runs.

    Returns what ``_end_pass`` restores (call it in a ``finally``).
    """
    prev_mode = GradMode.enabled
    GradMode.enabled = create_graph
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    return prev_mode, collecting


def _end_pass(state: tuple[bool, bool]) -> None:
    GradMode.enabled = state[0]
    if state[1]:
        gc.enable()


def _start(
    outputs: Sequence[Variable], grad_outputs: Sequence[Variable], create_graph: bool
) -> tuple[list[tuple[int, Function]], dict[Function, Variable], dict[int, Variable], dict]:
    """The heap of output nodes, their summed seeds, and the seeds of outputs that are leaves."""
    heap: list[tuple[int, Function]] = []
    grads: dict[Function, Variable] = {}
    leaf_grads: dict[int, Variable] = {}
    leaves: dict[int, Variable] = {}
    for out, g in zip(outputs, grad_outputs):
        fn = out.grad_fn
        if fn is None:
            prev = leaf_grads.get(id(out))
            leaf_grads[id(out)] = g if prev is None else _add(prev, g, create_graph)
            leaves[id(out)] = out
            continue
        if fn.parents is None:
            raise _freed(fn)
        prev = grads.get(fn)
        if prev is None:
            grads[fn] = g
            heappush(heap, (-fn.seq, fn))
        else:
            grads[fn] = _add(prev, g, create_graph)
    return heap, grads, leaf_grads, leaves


def _add(a: Variable, b: Variable, create_graph: bool) -> Variable:
    return a + b if create_graph else plain_gradient(a.data + b.data)


def _traverse(
    heap: list[tuple[int, Function]],
    grads: dict[Function, Variable],
    leaf_grads: dict[int, Variable],
    leaves: dict[int, Variable],
    retain_graph: bool,
    create_graph: bool,
    run: set[Function] | None = None,
    captured: dict[Function, Variable | None] | None = None,
    wanted_leaves: set[int] | None = None,
    waiting: dict[int, int] | None = None,
    ready: Callable[[Variable, Variable], None] | None = None,
) -> None:
    """Run the nodes on ``heap`` from the most recently created down, summing gradients.

    Nodes are visited by decreasing creation number (a max-heap), which is a topological
    order: every consumer of a node's output was created after it. The gradients reaching
    leaves are summed into ``leaf_grads`` (keyed by ``id``; ``leaves`` maps back).

    For ``run_grad``: only the nodes in ``run`` are run; a node that is a key of
    ``captured`` has its output gradient stored there; only leaves in ``wanted_leaves``
    collect gradients. For post-accumulate hooks: ``waiting`` counts the gradients each
    hooked leaf has still to receive, and ``ready(leaf, grad)`` is called when none is left.
    """
    filtering = run is not None
    summed: set[int] = set()  # leaves whose gradient so far is a sum this pass allocated
    # The next node when it is the only one waiting (along a chain), kept out of the heap.
    nxt: Function | None = None
    while True:
        if nxt is not None:
            fn, nxt = nxt, None
        elif heap:
            fn = heappop(heap)[1]
        else:
            break
        gy = grads.pop(fn)
        if fn._hooks is not None:
            gy = _run_hooks(fn._hooks, gy, fn.out_shape, f"the output of {fn.name}")
        if filtering:
            if captured is not None and fn in captured:
                captured[fn] = gy
            if fn not in run:  # type: ignore[operator]
                continue
        n = fn._nin  # ``fn.parents``, read from the node's slots (per-op overhead)
        parents: tuple[Any, ...] | None = None  # (read before ``backward``, which may free)
        if n == 1:
            p0 = fn._p0
        elif n == 2:
            parents = (fn._p0, fn._p1)
        elif n:
            parents = fn._pn
        else:
            raise _freed(fn)
        gxs = fn.backward(gy)
        edges: Any
        if parents is None and type(gxs) is not tuple:  # one input, its gradient alone
            edges = ((p0, gxs),)
        else:
            if parents is None:
                parents = (p0,)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            if len(gxs) != len(parents):
                raise RuntimeError(
                    f"{fn.name}.backward returned {len(gxs)} gradients for {len(parents)} inputs"
                )
            edges = zip(parents, gxs)
        for p, gx in edges:
            if p is None or gx is None:
                continue
            if type(gx) is not Variable:
                gx = _not_a_variable(fn, gx)
            data = gx.data
            if isinstance(p, Function):
                if filtering and p not in run and (captured is None or p not in captured):  # type: ignore[operator]
                    continue
                dtype = data.dtype  # dtypes are singletons: ``is`` settles nearly every case
                if data.shape != p.out_shape or (dtype is not p.out_dtype and dtype != p.out_dtype):
                    gx = _conform(fn, gx, p.out_shape, p.out_dtype)
                prev = grads.get(p)
                if prev is None:
                    grads[p] = gx
                    if nxt is not None:  # two waiting now: both go to the heap
                        heappush(heap, (-nxt.seq, nxt))
                        heappush(heap, (-p.seq, p))
                        nxt = None
                    elif heap:
                        heappush(heap, (-p.seq, p))
                    else:
                        nxt = p
                elif create_graph:
                    grads[p] = prev + gx
                else:
                    grads[p] = plain_gradient(prev.data + gx.data)
            else:
                key = id(p)
                if wanted_leaves is not None and key not in wanted_leaves:
                    continue
                leaf_data = p.data
                dtype = data.dtype
                if data.shape != leaf_data.shape or (
                    dtype is not leaf_data.dtype and dtype != leaf_data.dtype
                ):
                    gx = _conform(fn, gx, leaf_data.shape, leaf_data.dtype)
                prev = leaf_grads.get(key)
                if prev is None:
                    leaf_grads[key] = gx
                    leaves[key] = p
                elif create_graph:
                    leaf_grads[key] = prev + gx
                elif key in summed:  # a sum made by this pass: no one else holds its array
                    _add_into(prev.data, gx.data, prev.data)
                else:
                    leaf_grads[key] = plain_gradient(prev.data + gx.data)
                    summed.add(key)
                if waiting is not None and key in waiting:
                    waiting[key] -= 1
                    if not waiting[key]:
                        summed.discard(key)
                        ready(p, leaf_grads.pop(key))  # type: ignore[misc]
        if not retain_graph:
            fn.release()


def run_backward(
    outputs: Sequence[Variable],
    grad_outputs: Sequence[Variable],
    retain_graph: bool = False,
    create_graph: bool = False,
) -> None:
    """Backpropagate ``grad_outputs`` from ``outputs`` into ``.grad`` of the leaves.

    Each leaf that still requires grad receives its gradient once per pass, summed over
    every path: its hooks see that sum, then it is added to ``.grad``, then its
    post-accumulate hooks run. Callbacks queued during the pass run at its end.
    """
    heap, grads, leaf_grads, leaves = _start(outputs, grad_outputs, create_graph)
    handed_out: set[int] = set()  # memory given to leaves' .grad in this pass
    waiting = ready = None
    if post_hooks_in_use:
        waiting = _count_edges_into_hooked_leaves([fn for _, fn in heap])

        def ready(leaf: Variable, grad: Variable) -> None:
            _accumulate(leaf, grad, create_graph, handed_out)

    callbacks: list[Callable[[], None]] = []
    _callbacks.append(callbacks)
    state = _begin_pass(create_graph)
    try:
        _traverse(
            heap, grads, leaf_grads, leaves, retain_graph, create_graph,
            waiting=waiting, ready=ready,
        )  # fmt: skip
        for key, grad in leaf_grads.items():
            leaf = leaves[key]
            data = grad.data
            root = id(data if data.base is None else data.base)
            if (
                leaf.grad is None
                and leaf._hooks is None
                and leaf._post_accumulate_hooks is None
                and leaf.requires_grad
                and root not in handed_out
            ):  # the common case, in short
                handed_out.add(root)
                leaf.grad = grad
            else:
                _accumulate(leaf, grad, create_graph, handed_out)
    finally:
        _end_pass(state)
        _callbacks.pop()
    for callback in callbacks:
        callback()


def run_grad(
    outputs: Sequence[Variable],
    grad_outputs: Sequence[Variable],
    inputs: Sequence[Variable],
    retain_graph: bool = False,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Variable | None]:
    """The gradients of ``outputs`` (seeded with ``grad_outputs``) with respect to ``inputs``.

    Nothing is accumulated and no leaf hook runs. Only the nodes from which some input can
    be reached are run (and then released unless ``retain_graph``); the others are left
    intact, so that another backward can still go through them.
    """
    heap, grads, leaf_grads, leaves = _start(outputs, grad_outputs, create_graph)
    targets = {x.grad_fn for x in inputs if x.grad_fn is not None}
    wanted_leaves = {id(x) for x in inputs if x.grad_fn is None}
    run: set[Function] = set()
    for fn in sorted(_reachable([fn for _, fn in heap]), key=lambda fn: fn.seq):
        for p in fn.parents:  # type: ignore[union-attr]
            if p is not None and (p in run or p in targets or id(p) in wanted_leaves):
                run.add(fn)
                break
    captured: dict[Function, Variable | None] = dict.fromkeys(targets)
    state = _begin_pass(create_graph)
    try:
        _traverse(
            heap, grads, leaf_grads, leaves, retain_graph, create_graph,
            run=run, captured=captured, wanted_leaves=wanted_leaves,
        )  # fmt: skip
    finally:
        _end_pass(state)
    results = [
        captured[x.grad_fn] if x.grad_fn is not None else leaf_grads.get(id(x)) for x in inputs
    ]
    if not allow_unused:
        for i, (x, r) in enumerate(zip(inputs, results)):
            if r is None:
                raise RuntimeError(
                    f"input {i} (shape {x.shape}) was not used to compute the outputs; pass "
                    "allow_unused=True to get None for it"
                )
    return results


def _accumulate(leaf: Variable, grad: Variable, create_graph: bool, handed_out: set[int]) -> None:
    """Leaf hooks, then ``leaf.grad += grad``, then post-accumulate hooks (once per pass)."""
    if not leaf.requires_grad:  # switched off after the graph was built: skipped, as PyTorch
        return
    shape = leaf.data.shape
    if leaf._hooks is not None:
        grad = _run_hooks(leaf._hooks, grad, shape, "a Variable")
    old = leaf.grad
    if old is None:
        # One array never becomes the .grad of two leaves (``a + b`` hands both the same
        # gradient): in-place use of one would change both.
        data = grad.data
        root = id(data if data.base is None else data.base)
        if root in handed_out:
            grad = grad.clone() if create_graph else plain_gradient(data.copy())
        else:
            handed_out.add(root)
        leaf.grad = grad
    else:
        if not isinstance(old, Variable):
            raise TypeError(
                f".grad of a Variable of shape {shape} is a {type(old).__name__}; it must be a "
                "Variable or None"
            )
        if old.data.shape != shape:
            raise RuntimeError(
                f".grad has shape {old.data.shape} but its Variable has shape {shape}; a "
                "gradient's shape must equal its Variable's (set .grad = None to start afresh)"
            )
        leaf.grad = old + grad if create_graph else plain_gradient(old.data + grad.data)
    if leaf._post_accumulate_hooks is not None:
        for post in leaf._post_accumulate_hooks:
            post(leaf)


def _count_edges_into_hooked_leaves(roots: list[Function]) -> dict[int, int]:
    """How many gradients each leaf with post-accumulate hooks will receive in this pass."""
    waiting: dict[int, int] = {}
    for fn in _reachable(roots):
        for p in fn.parents:  # type: ignore[union-attr]
            if isinstance(p, Variable) and p._post_accumulate_hooks is not None:
                waiting[id(p)] = waiting.get(id(p), 0) + 1
    return waiting


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
