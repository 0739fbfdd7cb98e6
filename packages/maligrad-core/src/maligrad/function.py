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

from maligrad import version_counter
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

    # A graph of N ops keeps N nodes alive until backward, and Python's cyclic GC walks each
    # of them at every full collection (a long forward pass triggers several). So a node is
    # one tracked object: its edges live in slots (``parents`` builds the tuple on demand),
    # and what it saved for backward in tuples of arrays, numbers, bytes and version counters
    # (bytearrays), none of which the collector tracks. No Variable is kept: ``saved_tensors``
    # rebuilds them. ``release()`` clears the edges, the saved tuples and the ``__dict__``
    # (masks, anything else an op kept), which most nodes never create.
    __slots__ = (
        "__dict__", "_nin", "_p0", "_p1", "_pn", "_saved", "out_dtype", "out_shape", "seq",
    )  # fmt: skip
    seq: int
    """Creation number: the engine runs nodes from the highest down (a topological order)."""
    out_shape: tuple[int, ...]
    """Shape of the output (kept after ``release()``)."""
    out_dtype: np.dtype
    """Dtype of the output (kept after ``release()``)."""
    # The edges: ``_nin`` inputs (0 once released); their parents in ``_p0`` and ``_p1`` for
    # one or two inputs, in the tuple ``_pn`` for three or more.
    _nin: int
    _p0: Any
    _p1: Any
    _pn: tuple[Any, ...] | None
    _saved: tuple[Any, ...] | None
    _hooks: list[Any] | None = None

    @property
    def parents(self) -> tuple[Any, ...] | None:
        """One entry per input: its ``grad_fn``, the input itself (a leaf), or None.

        An entry is None where the input needs no gradient; ``parents`` is None once the
        node was released by a backward. Captured at call time, so later rebinding of a
        Variable (``x[i] = v``) does not change this node's edges.
        """
        n = self._nin
        if n == 2:
            return (self._p0, self._p1)
        if n == 1:
            return (self._p0,)
        return self._pn if n else None

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
        return the gradient itself; several: a tuple. In a plain backward (no
        ``create_graph``) ``maligrad.is_grad_enabled()`` is False inside ``backward``: nothing
        is recorded, and an op may compute its gradients with numpy from ``saved_arrays``
        and return them as ``Variable(array)`` (the built-in elementwise ops do, to save
        the per-op cost of the ops above).
        """
        raise NotImplementedError(f"{type(self).__name__} does not support backward")

    # -- helpers for ops ---------------------------------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (inputs, the output, or any constant) for ``backward``."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What ``forward`` saved: the input and output Variables, constants as they were.

        A saved input that is a leaf comes back as that leaf; the output, and an input that
        an op computed, come back as Variables holding the saved array and attached to the
        same node of the graph (the node keeps arrays, not Variables, so that a graph keeps
        no op output alive). Raises if the graph was released by an earlier backward, or if
        a saved Variable was changed in place since (its version counter moved on).
        """
        return self._unpack(False)

    @property
    def saved_arrays(self) -> tuple[Any, ...]:
        """What ``forward`` saved, as arrays and constants: no Variables.

        For a gradient computed with numpy in a plain backward (see ``backward``); checked
        as ``saved_tensors`` is (freed graph, arrays changed in place since), and a saved
        leaf gives its ``.data`` as it is now, as ``saved_tensors`` gives the leaf itself.

            >>> import numpy as np, maligrad as mg
            >>> x = mg.Variable(np.array([1.0, 2.0], np.float32), requires_grad=True)
            >>> y = x.exp()
            >>> y.grad_fn.saved_arrays[0] is y.data
            True
        """
        saved = self._saved
        if not self._nin or saved is None:
            return self._unpack(True)
        n = len(saved)
        if n == 4 and saved[3] is None:
            # One array saved, the output (or a constant): most elementwise ops.
            if saved[1] is not None and saved[1] != saved[2]:
                raise self._modified(saved[0], saved[2], saved[1])
            return (saved[0],)
        if n == 8 and self._nin == 2:  # two items in a binary op (``Mul``, ``Div``): unrolled
            a, counter_a, version_a, where_a, b, counter_b, version_b, where_b = saved
            if (counter_a is not None and counter_a != version_a) or (
                counter_b is not None and counter_b != version_b
            ):
                return self._unpack(True)  # raises, naming the array
            if where_a is not None:
                p = self._p1 if where_a else self._p0
                if p is not None and not isinstance(p, Function):
                    a = p.data  # a leaf: its data as it is now
            if where_b is not None:
                p = self._p1 if where_b else self._p0
                if p is not None and not isinstance(p, Function):
                    b = p.data
            return (a, b)
        return self._unpack(True)

    def _unpack(self, arrays: bool) -> tuple[Any, ...]:
        """``saved_arrays`` (``arrays``) or ``saved_tensors``, checked."""
        if not self._nin:
            raise self._released()
        saved = self._saved
        if saved is None:
            return ()
        # Four entries per saved item (see ``_record``): the array or constant, the version
        # counter and the version it had (None for a constant), None for the output or the
        # input's position. No Variable is kept: one is rebuilt around the saved array.
        out = []
        i = 0
        n = len(saved)
        while i < n:  # (no ``range`` object: this runs once per node and backward)
            array = saved[i]
            counter = saved[i + 1]
            where = saved[i + 3]
            i += 4
            if counter is None:
                out.append(array)
                continue
            if counter != saved[i - 2]:
                raise self._modified(array, saved[i - 2], counter)
            if where is None:  # the output: attached to this node
                p = self
            else:  # an input: attached to its parent, or the leaf itself (its data now)
                p = self._pn[where] if self._nin > 2 else self._p1 if where else self._p0  # type: ignore[index]
                if p is not None and not isinstance(p, Function):
                    out.append(p.data if arrays else p)
                    continue
            if arrays:
                out.append(array)
                continue
            v = _new(Variable)
            v.data = array
            if p is not None:  # else an input that needs no gradient
                v.requires_grad = True
                v.grad_fn = p
            out.append(v)
        return tuple(out)

    def _released(self) -> RuntimeError:
        return RuntimeError(
            f"{type(self).__name__}: trying to backward through the graph a second time "
            "(its saved arrays were freed after the first backward). Pass "
            "retain_graph=True to the first backward() if you need to run it again."
        )

    def _parent(self, i: int) -> Any:
        return self._pn[i] if self._nin > 2 else self._p1 if i else self._p0  # type: ignore[index]

    def _modified(self, array: Any, saved: bytes | bytearray, now: bytearray) -> RuntimeError:
        return RuntimeError(
            f"one of the Variables needed by {type(self).__name__}.backward, of shape "
            f"{array.shape} and dtype {array.dtype}, was modified in place after it was "
            f"saved (version {version_counter.read(saved)} -> {version_counter.read(now)}); "
            "use an out-of-place op or clone() it before modifying"
        )

    # -- calling an op -----------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on Variables (or constants) and return the output Variable."""
        fn = _new(cls)
        fn._saved = None
        # Unrolled for one to three inputs: this is the hottest code of the library. The
        # parents (the graph's edges) are found here, where the inputs' kinds are known, and
        # stored in the node's slots; ``record`` is the number of inputs, 0 for no node.
        # One and two inputs: ``forward`` gets ``**params`` only when there are some (an empty
        # one costs 0.1 us a call).
        n = len(inputs)
        record = 0
        if n == 1:
            x = inputs[0]
            if isinstance(x, Variable):
                out = fn.forward(x.data, **params) if params else fn.forward(x.data)
                if x.requires_grad and GradMode.enabled:
                    fn._p0 = x.grad_fn or x
                    record = 1
            else:
                out = fn.forward(x, **params) if params else fn.forward(x)
        elif n == 2:
            a, b = inputs
            a_var = isinstance(a, Variable)
            b_var = isinstance(b, Variable)
            if a_var and b_var:
                out = fn.forward(a.data, b.data, **params) if params else fn.forward(a.data, b.data)
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
                out = fn.forward(a_data, b_data, **params) if params else fn.forward(a_data, b_data)
            if GradMode.enabled:
                pa = (a.grad_fn or a) if a_var and a.requires_grad else None
                pb = (b.grad_fn or b) if b_var and b.requires_grad else None
                if pa is not None or pb is not None:
                    fn._p0 = pa
                    fn._p1 = pb
                    record = 2
        elif n == 3:  # fused ops (linear, losses, their gradients)
            a, b, c = inputs
            a_var = isinstance(a, Variable)
            b_var = isinstance(b, Variable)
            c_var = isinstance(c, Variable)
            out = fn.forward(
                a.data if a_var else a, b.data if b_var else b, c.data if c_var else c, **params
            )
            if GradMode.enabled:
                pa = (a.grad_fn or a) if a_var and a.requires_grad else None
                pb = (b.grad_fn or b) if b_var and b.requires_grad else None
                pc = (c.grad_fn or c) if c_var and c.requires_grad else None
                if pa is not None or pb is not None or pc is not None:
                    fn._pn = (pa, pb, pc)
                    record = 3
        else:
            arrays = []
            edges = []
            needed = False
            for x in inputs:
                if isinstance(x, Variable):
                    arrays.append(x.data)
                    if x.requires_grad:
                        needed = True
                        edges.append(x.grad_fn or x)
                        continue
                else:
                    arrays.append(x)
                edges.append(None)
            out = fn.forward(*arrays, **params)
            if needed and GradMode.enabled:
                fn._pn = tuple(edges)
                record = n
        if type(out) is not _ndarray:
            out = fn._as_array(out)
        if record:
            v = fn._record(inputs, out, record)
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

    def _record(self, inputs: tuple[Any, ...], out: np.ndarray, nin: int) -> Any:
        dtype = out.dtype
        kind = dtype.kind
        if kind != "f" and kind != "c":  # integer and bool outputs do not require grad
            if kind not in "biu":
                raise self._not_numeric(out)
            result = _new(Variable)
            result.data = out
            return result
        self._nin = nin
        self.seq = _next_seq()
        self.out_shape = out.shape
        self.out_dtype = dtype
        result = _new(Variable)
        result.data = out
        result.requires_grad = True
        result.grad_fn = self
        saved = self._saved
        if saved is None:
            return result
        if len(saved) == 1 and saved[0] is out:  # the output alone (most elementwise ops)
            result._version_box = own = _new_counter()
            self._saved = (out, own, _ZERO, None)
            return result
        if nin == 2 and len(saved) == 2:  # both inputs, in order (``Mul``, ``Div``, ``MatMul``)
            a, b = inputs
            saved_a, saved_b = saved
            if (
                isinstance(a, Variable)
                and a.data is saved_a
                and isinstance(b, Variable)
                and b.data is saved_b
                and saved_a is not out
                and saved_b is not out
            ):
                self._saved = (*_version_of(a), 0, *_version_of(b), 1)
                return result
        # Four entries per saved item, none of them tracked by the cyclic GC (see
        # ``saved_tensors``): the array or constant, the version counter of the Variable it
        # came from, the version it had, and where it came from (None: the output).
        entries: list[Any] = []
        taken: list[int] = []
        counter: bytearray | None
        for array in saved:
            if array is out:
                result._version_box = counter = _new_counter()
                entries += (array, counter, _ZERO, None)
            elif isinstance(array, _ndarray):  # constants (numbers, None): nothing to track
                # The input it came from: where two inputs share one array (``x * x.detach()``)
                # the first not taken yet, so that ``save_for_backward(a, b)`` keeps a's and b's.
                where = None
                i = 0
                for x in inputs:
                    if isinstance(x, Variable) and x.data is array:
                        if i not in taken:
                            where = i
                            break
                        if where is None:
                            where = i
                    i += 1
                if where is None:
                    entries += (array, None, None, None)
                else:
                    taken.append(where)
                    entries += (*_version_of(inputs[where]), where)
            else:
                entries += (array, None, None, None)
        self._saved = tuple(entries)
        return result

    def input_shape(self, i: int) -> tuple[int, ...]:
        """Shape of input ``i`` (one that needs a gradient), read from the graph's edges."""
        p = self._parent(i)
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
        self._saved = None
        self._p0 = self._p1 = self._pn = None
        self._nin = 0

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


def _version_of(x: Any) -> tuple[np.ndarray, bytearray, bytes | bytearray]:
    """A saved input's entries: its array, its version counter and the version it has now."""
    counter = x._version_box
    if counter is None:
        x._version_box = counter = _new_counter()
        return x.data, counter, _ZERO
    return x.data, counter, counter.copy()


def _share_version(v: Any, inputs: tuple[Any, ...], out: np.ndarray) -> None:
    """A view of an input's array shares that input's version counter."""
    base = out.base
    for x in inputs:
        if isinstance(x, Variable) and (x.data is base or x.data.base is base):
            v._version_box = x._shared_version_box()
            return


def plain_gradient(array: Any) -> Any:
    """A gradient computed with numpy in a plain backward, as a Variable (no graph)."""
    v = _new(Variable)
    v.data = array if type(array) is np.ndarray else np.asarray(array)
    return v


_new = object.__new__
_ZERO = version_counter.ZERO
_new_counter = version_counter.new_zero
_NONES = itertools.repeat(None)
# Creation order: a node is always created after the nodes it depends on, so visiting nodes
# from the highest sequence number down is a topological order.
_next_seq = itertools.count().__next__

from maligrad.variable import Variable  # noqa: E402  (Variable's operators need Function)
