"""``Function``: one differentiable operation, and the node it leaves in the graph.

An op is a subclass with two methods. ``forward`` works on numpy arrays (and Python
scalars passed as constants) and returns one array. ``backward`` receives the gradient of
the output as a :class:`~maligrad.Variable` and returns one gradient per input, also as
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

from typing import Any

import numpy as np

from maligrad.grad_mode import GradMode

_ndarray = np.ndarray
_asarray = np.asarray


class Function:
    """Base class of every op. Subclass and define ``forward`` and ``backward``.

    Attributes available in ``backward``: ``needs_input_grad`` (one bool per input),
    ``saved_tensors`` (what ``forward`` saved, as Variables where they were inputs or the
    output, so that the graph is kept for higher-order gradients).
    """

    needs_input_grad: tuple[bool, ...] = ()
    #: One entry per input: the input's ``grad_fn``, the input itself when it is a leaf that
    #: requires grad, or None. Captured at call time, so later rebinding of a Variable
    #: (``x[i] = v``) does not change this node's edges.
    parents: list[Any] | None = None
    _saved: tuple[Any, ...] | None = None
    _saved_refs: list[Any] | None = None
    _hooks: list[Any] | None = None
    _released: bool = False

    # -- the two methods an op defines -------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self, grad_output: Any) -> Any:
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
        if self._released:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time "
                "(its saved arrays were freed after the first backward). Pass "
                "retain_graph=True to the first backward() if you need to run it again."
            )
        saved = self._saved
        if saved is None:
            return ()
        refs = self._saved_refs
        if refs is None:
            return saved
        out = []
        for array, ref in zip(saved, refs):
            if ref is None:
                out.append(array)
                continue
            var, version, grad_fn = ref
            if var._version == version:
                out.append(var)
            elif var.data is array:
                raise RuntimeError(
                    f"one of the Variables needed by {type(self).__name__}.backward, of shape "
                    f"{array.shape} and dtype {array.dtype}, was modified in place after it was "
                    f"saved (version {version} -> {var._version}); use an out-of-place op or "
                    "clone() it before modifying"
                )
            else:
                # ``x[i] = v`` gave ``var`` a new array; the saved one is intact: rebuild it.
                out.append(_variable_from_saved(array, var, grad_fn))
        return tuple(out)

    # -- calling an op -----------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the op on Variables (or constants) and return the output Variable."""
        fn = object.__new__(cls)
        out = fn.forward(*[x.data if isinstance(x, Variable) else x for x in inputs], **params)
        if type(out) is not _ndarray:
            out = fn._as_array(out)
        if GradMode.enabled:
            for x in inputs:
                if isinstance(x, Variable) and x.requires_grad:
                    return fn._record(inputs, out)
        v = _new_variable(Variable)
        v.data = out
        return v

    def _as_array(self, out: Any) -> np.ndarray:
        # numpy reductions return scalars; a saved output must stay the output's array.
        array = _asarray(out)
        saved = self._saved
        if saved is not None:
            self._saved = tuple(array if s is out else s for s in saved)
        return array

    def _record(self, inputs: tuple[Any, ...], out: np.ndarray) -> Any:
        if out.dtype.kind not in "fc":
            raise TypeError(
                f"{type(self).__name__} produced dtype {out.dtype} from inputs that require "
                "grad; only floating outputs can be differentiated"
            )
        needs = []
        parents = []
        for x in inputs:
            if isinstance(x, Variable) and x.requires_grad:
                needs.append(True)
                parents.append(x.grad_fn or x)
            else:
                needs.append(False)
                parents.append(None)
        self.needs_input_grad = tuple(needs)
        self.parents = parents
        self.out_shape = out.shape
        self.out_dtype = out.dtype
        result = _new_variable(Variable)
        result.data = out
        result.requires_grad = True
        result.grad_fn = self
        saved = self._saved
        if saved is not None:
            refs: list[Any] = []
            for array in saved:
                if array is out:
                    refs.append((result, 0, self))
                    continue
                for x in inputs:
                    if isinstance(x, Variable) and x.data is array:
                        refs.append((x, x._version, x.grad_fn))
                        break
                else:
                    refs.append(None)
            self._saved_refs = refs
        return result

    def release(self) -> None:
        """Free everything the node holds (saved arrays, masks, edges) after backward."""
        self.__dict__.clear()
        self._released = True

    def register_hook(self, hook: Any) -> None:
        """Call ``hook(grad)`` with this node's output gradient during backward."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _variable_from_saved(array: np.ndarray, var: Any, grad_fn: Any) -> Any:
    v = _new_variable(Variable)
    v.data = array
    v.requires_grad = var.requires_grad or grad_fn is not None
    v.grad_fn = grad_fn
    return v


_new_variable = object.__new__

from maligrad.variable import Variable  # noqa: E402  (Variable's operators need Function)
