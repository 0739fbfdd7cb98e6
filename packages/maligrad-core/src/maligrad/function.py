"""``Function``: one differentiable operation, and the node it leaves in the graph.

An op is a subclass with two methods. ``forward`` works on numpy arrays (and Python
scalars passed as constants) and returns one array. ``backward`` receives the gradient of
the output as a [Variable][maligrad.Variable] and returns one gradient per input, also as
Variables, computed with maligrad ops, so that it is itself differentiable
(``create_graph=True``). Return ``None`` for an input that needs no gradient::

    >>> import numpy as np
    >>> from maligrad import Function, Variable
    >>> class Cube(Function):
    ...     def forward(self, x):
    ...         self.save_for_backward(x)
    ...         return x ** 3
    ...     def backward(self, gy):
    ...         (x,) = self.saved_tensors
    ...         return gy * 3 * x * x
    >>> x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    >>> Cube.apply(x).sum().backward()
    >>> x.grad.data
    array([ 3., 12.])

``apply`` runs ``forward`` on the inputs' arrays and, when a graph is being recorded and
some input requires grad, keeps the instance as the output's ``grad_fn``.
"""

from __future__ import annotations

import itertools
from operator import is_not
from typing import Any

import numpy as np

from maligrad.grad_mode import GradMode

_ndarray = np.ndarray
_asarray = np.asarray
_LEGACY_PROMOTION = np.lib.NumpyVersion(np.__version__) < "2.0.0"


class Function:
    """Base class of every op. Subclass and define ``forward`` and ``backward``.

    Call an op with ``MyOp.apply(*inputs, **params)`` (never by instantiating it): each call
    makes one instance, which becomes the output's ``grad_fn``, the node in the graph.
    Attributes available in ``backward``: ``needs_input_grad`` (one bool per input),
    ``saved_tensors`` (what ``forward`` saved, as Variables where they were inputs or the
    output, so that the graph is kept for higher-order gradients). The guide "Writing your
    own Function" walks through an example.

        >>> import numpy as np
        >>> from maligrad import Function, Variable
        >>> class Square(Function):
        ...     def forward(self, x):
        ...         self.save_for_backward(x)
        ...         return x * x
        ...     def backward(self, g):
        ...         (x,) = self.saved_tensors
        ...         return g * 2 * x
        >>> x = Variable(np.array([3.0]), requires_grad=True)
        >>> y = Square.apply(x)
        >>> y.grad_fn
        <Square>
        >>> y.backward()
        >>> x.grad.tolist()
        [6.0]
    """

    #: ``parents``, one entry per input: the input's ``grad_fn``, the input itself when it is
    #: a leaf that requires grad, or None. Captured at call time, so later rebinding of a
    #: Variable (``x[i] = v``) does not change this node's edges; None once released.
    # The node's place in the graph and what ``save_for_backward`` kept live in slots, so
    # that most nodes need no ``__dict__`` (one object fewer for the cyclic GC to walk);
    # ``release()`` clears the saved slots and the dict (masks, anything else an op kept).
    __slots__ = ("__dict__", "_saved", "_saved_refs", "out_dtype", "out_shape", "parents", "seq")
    #: Creation number (nodes are run from the highest down), output shape and dtype.
    seq: int
    """Creation number: the engine runs nodes from the highest down (a topological order)."""
    out_shape: tuple[int, ...]
    """Shape of the output (kept after ``release()``)."""
    out_dtype: np.dtype
    """Dtype of the output (kept after ``release()``)."""
    parents: tuple[Any, ...] | None
    """One entry per input: its ``grad_fn``, the input itself (a leaf), or None; None once
    released."""
    _saved: tuple[Any, ...] | None
    _saved_refs: tuple[Any, ...] | None
    _hooks: list[Any] | None = None

    # -- the two methods an op defines -------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Compute the output from the inputs' numpy arrays (an op overrides this).

        Receives one array (or constant) per input of ``apply`` and its keyword parameters;
        returns one numpy array. Call ``save_for_backward`` for what ``backward`` needs.
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self, grad_output: Any) -> Any:
        """Gradients of the inputs from the output's gradient (an op overrides this).

        ``grad_output`` is a Variable of the output's shape; return one Variable (or None
        where ``needs_input_grad`` is False) per input, of that input's shape, computed with
        maligrad ops so that ``create_graph=True`` can differentiate it again. One input:
        return the gradient itself; several: a tuple.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support backward")

    # -- helpers for ops ---------------------------------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (inputs, the output, or any constant) for ``backward``."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What ``forward`` saved: the input and output Variables, constants as they were.

        Raises if the graph was released by an earlier backward, or if a saved Variable
        was changed in place since (its version counter moved on).
        """
        if self.parents is None:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time "
                "(its saved arrays were freed after the first backward). Pass "
                "retain_graph=True to the first backward() if you need to run it again."
            )
        refs = self._saved_refs
        if refs is None:
            return self._saved or ()
        # ``refs`` holds three entries per saved item: (None, _, _) for a constant,
        # (version box, None, _) for the output, (Variable, version, grad_fn) for an input.
        out = []
        i = 0
        for array in self._saved:  # type: ignore[union-attr]
            ref = refs[i]
            version = refs[i + 1]
            if ref is None:
                out.append(array)
            elif version is None:  # the output: rebuilt, so that the node holds no cycle
                if ref[0] != 0:
                    raise self._modified(array, 0, ref[0])
                out.append(_variable_from_saved(array, True, self))
            else:
                box = ref._version_box
                if (0 if box is None else box[0]) == version:
                    out.append(ref)
                else:
                    out.append(self._unpack_modified(array, ref, version, refs[i + 2]))
            i += 3
        return tuple(out)

    def _unpack_modified(self, array: Any, var: Any, version: int, grad_fn: Any) -> Any:
        if var.data is array:
            raise self._modified(array, version, var._version)
        # ``x[i] = v`` gave ``var`` a new array; the saved one is intact: rebuild it.
        return _variable_from_saved(array, var.requires_grad or grad_fn is not None, grad_fn)

    def _modified(self, array: Any, version: int, now: int) -> RuntimeError:
        return RuntimeError(
            f"one of the Variables needed by {type(self).__name__}.backward, of shape "
            f"{array.shape} and dtype {array.dtype}, was modified in place after it was "
            f"saved (version {version} -> {now}); use an out-of-place op or clone() it "
            "before modifying"
        )

    # -- calling an op -----------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on Variables (or constants) and return the output Variable."""
        fn = _new(cls)
        fn._saved = None
        # Unrolled for one to three inputs: this is the hottest code of the library. The
        # parents (the graph's edges) are found here, where the inputs' kinds are known.
        n = len(inputs)
        parents: tuple[Any, ...] | None
        if n == 1:
            x = inputs[0]
            if isinstance(x, Variable):
                out = fn.forward(x.data, **params)
                parents = ((x.grad_fn or x),) if x.requires_grad and GradMode.enabled else None
            else:
                out = fn.forward(x, **params)
                parents = None
        elif n == 2:
            a, b = inputs
            a_var = isinstance(a, Variable)
            b_var = isinstance(b, Variable)
            if a_var and b_var:
                out = fn.forward(a.data, b.data, **params)
            else:
                a_data = a.data if a_var else a
                b_data = b.data if b_var else b
                if a_var is not b_var:
                    const = b_data if a_var else a_data
                    kind = type(const)
                    if kind is not _ndarray and (
                        (kind is not float and kind is not int) or _LEGACY_PROMOTION
                    ):
                        if kind is not (a_data if a_var else b_data).dtype.type:
                            a_data, b_data = _weak_constants(a_data, b_data, a_var)
                out = fn.forward(a_data, b_data, **params)
            parents = None
            if GradMode.enabled:
                pa = (a.grad_fn or a) if a_var and a.requires_grad else None
                pb = (b.grad_fn or b) if b_var and b.requires_grad else None
                if pa is not None or pb is not None:
                    parents = (pa, pb)
        elif n == 3:  # fused ops (linear, losses, their gradients)
            a, b, c = inputs
            a_var = isinstance(a, Variable)
            b_var = isinstance(b, Variable)
            c_var = isinstance(c, Variable)
            out = fn.forward(
                a.data if a_var else a, b.data if b_var else b, c.data if c_var else c, **params
            )
            parents = None
            if GradMode.enabled:
                pa = (a.grad_fn or a) if a_var and a.requires_grad else None
                pb = (b.grad_fn or b) if b_var and b.requires_grad else None
                pc = (c.grad_fn or c) if c_var and c.requires_grad else None
                if pa is not None or pb is not None or pc is not None:
                    parents = (pa, pb, pc)
        else:
            arrays = []
            edges = []
            record = False
            for x in inputs:
                if isinstance(x, Variable):
                    arrays.append(x.data)
                    if x.requires_grad:
                        record = True
                        edges.append(x.grad_fn or x)
                        continue
                else:
                    arrays.append(x)
                edges.append(None)
            out = fn.forward(*arrays, **params)
            parents = tuple(edges) if record and GradMode.enabled else None
        if type(out) is not _ndarray:
            out = fn._as_array(out)
        if parents is not None:
            v = fn._record(inputs, out, parents)
        else:
            v = _new(Variable)
            v.data = out
        if out.base is not None:
            _share_version(v, inputs, out)
        return v

    def _as_array(self, out: Any) -> np.ndarray:
        # numpy reductions return scalars; a saved output must stay the output's array.
        if out is None:
            raise TypeError(f"{type(self).__name__}.forward returned None; return an array")
        array = _asarray(out)
        if array.dtype.kind not in "biufc":
            raise self._not_numeric(array)
        saved = self._saved
        if saved is not None:
            self._saved = tuple(array if s is out else s for s in saved)
        return array

    def _not_numeric(self, out: np.ndarray) -> TypeError:
        return TypeError(
            f"{type(self).__name__}.forward returned an array of dtype {out.dtype}; an op must "
            "return a numeric array (bool, integer, floating or complex)"
        )

    def _record(self, inputs: tuple[Any, ...], out: np.ndarray, parents: tuple[Any, ...]) -> Any:
        dtype = out.dtype
        kind = dtype.kind
        if kind != "f" and kind != "c":  # integer and bool outputs do not require grad
            if kind not in "biu":
                raise self._not_numeric(out)
            result = _new(Variable)
            result.data = out
            return result
        self.parents = parents
        self.seq = _next_seq()
        self.out_shape = out.shape
        self.out_dtype = dtype
        result = _new(Variable)
        result.data = out
        result.requires_grad = True
        result.grad_fn = self
        saved = self._saved
        if saved is None:
            self._saved_refs = None
            return result
        # One flat tuple (see ``saved_tensors``): a single object for the cyclic GC to walk.
        refs: list[Any] = []
        for array in saved:
            if array is out:
                result._version_box = out_box = [0]
                refs += (out_box, None, None)
            elif isinstance(array, _ndarray):  # constants (numbers, None): nothing to track
                for x in inputs:
                    if isinstance(x, Variable) and x.data is array:
                        in_box = x._version_box
                        refs += (x, 0 if in_box is None else in_box[0], x.grad_fn)
                        break
                else:
                    refs += _NO_REF
            else:
                refs += _NO_REF
        self._saved_refs = tuple(refs)  # type: ignore[assignment]
        return result

    def input_shape(self, i: int) -> tuple[int, ...]:
        """Shape of input ``i`` (one that needs a gradient), read from the graph's edges."""
        p = self.parents[i]  # type: ignore[index]
        return p.out_shape if isinstance(p, Function) else p.data.shape  # type: ignore[union-attr]

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """One bool per input: does that input need a gradient?"""
        parents = self.parents
        return () if parents is None else tuple(map(is_not, parents, _NONES))

    def release(self) -> None:
        """Free what the node holds (saved arrays, masks, edges) once backward has used it.

        Its place in the graph (``seq``, ``out_shape``, ``out_dtype``) stays, so that a later
        ``grad`` with respect to its output can still be captured.
        """
        del self.__dict__  # not ``.clear()``: that would first create the dict most nodes lack
        self._saved = self._saved_refs = None
        self.parents = None

    def register_hook(self, hook: Any) -> None:
        """Call ``hook(grad)`` with this node's output gradient during backward."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

    @property
    def name(self) -> str:
        """The op's class name (``"Mul"``), as shown in ``grad_fn=<Mul>`` and graph exports."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _weak_constants(a: Any, b: Any, a_is_variable: bool) -> tuple[Any, Any]:
    """Give a constant number (or list of numbers) the float dtype of the Variable beside it.

    A float32 Variable times ``np.sqrt(2.0)`` (a float64 numpy scalar) or ``[1.0, 2.0]``
    stays float32, as Python floats already do in numpy 2 (NEP 50) and as in PyTorch. On
    numpy 1.26, which promotes 0-d float32 arrays with Python floats to float64, Python
    numbers are converted too.
    """
    data, const = (a, b) if a_is_variable else (b, a)
    dtype = getattr(data, "dtype", None)
    if dtype is None or dtype.kind != "f":
        return a, b
    if isinstance(const, (int, float, np.integer, np.floating)):
        const = dtype.type(const)
    elif isinstance(const, (list, tuple)):
        const = np.asarray(const, dtype=dtype)
    else:
        return a, b
    return (data, const) if a_is_variable else (const, data)


def _variable_from_saved(array: np.ndarray, requires_grad: bool, grad_fn: Any) -> Any:
    v = _new(Variable)
    v.data = array
    v.requires_grad = requires_grad
    v.grad_fn = grad_fn
    return v


def _share_version(v: Any, inputs: tuple[Any, ...], out: np.ndarray) -> None:
    """A view of an input's array shares that input's version counter."""
    base = out.base
    for x in inputs:
        if isinstance(x, Variable) and (x.data is base or x.data.base is base):
            v._version_box = x._shared_version_box()
            return


_new = object.__new__
_NO_REF = (None, None, None)
_NONES = itertools.repeat(None)
# Creation order: a node is always created after the nodes it depends on, so visiting nodes
# from the highest sequence number down is a topological order.
_next_seq = itertools.count().__next__

from maligrad.variable import Variable  # noqa: E402  (Variable's operators need Function)
