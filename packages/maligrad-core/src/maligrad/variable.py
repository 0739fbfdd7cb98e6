"""``Variable``: a numpy array that remembers how it was computed.

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> a = Variable(2 * np.ones((3, 3)), requires_grad=True)
    >>> b = Variable(3 * np.ones((3, 3)))
    >>> (a[0] * b).sum().backward()
    >>> a.grad.data
    array([[9., 9., 9.],
           [0., 0., 0.],
           [0., 0., 0.]])

``data`` is the numpy array; ``grad`` is a Variable (or None) filled by ``backward``;
``grad_fn`` is the [Function][maligrad.Function] node that produced it (None for leaves).
Operators and methods are thin: each calls one op's ``Function.apply``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from maligrad import version_counter
from maligrad.grad_mode import GradMode

Axis = int | Sequence[int] | None


_NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: what a Variable can hold


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, np.ndarray):
        arr = data if dtype is None else data.astype(_check_dtype(dtype), copy=False)
    elif isinstance(data, Variable):
        raise TypeError("Variable(data) got a Variable; use v.detach() or v.clone() instead")
    elif dtype is not None:
        arr = _from_python(data, _check_dtype(dtype))
    else:
        arr = _from_python(data, None)
        if arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(GradMode.default_dtype)
        elif arr.dtype.kind == "i" and not isinstance(data, np.generic):
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"Variable(data): expected numbers (a numpy array, a number or a nested list of "
            f"numbers), got {type(data).__name__} of dtype {arr.dtype}"
        )
    return arr


def _check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a numpy dtype that a Variable can hold (bool, integer, float, complex)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype: {dtype!r} is not a numpy dtype ({e})") from None
    if dt.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"dtype must be a bool, integer, float or complex dtype, got {dt} "
            "(a Variable holds numbers only)"
        )
    return dt


def _from_python(data: Any, dtype: Any) -> np.ndarray:
    try:
        return np.asarray(data, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise type(e)(
            f"Variable(data): cannot convert {type(data).__name__} to an array of numbers ({e})"
        ) from None


def _check_operand(op: str, other: Any, reflected: bool) -> None:
    """The slow path of an operator that failed: name the operand that is not a number."""
    if isinstance(other, Variable):
        return
    try:
        kind = np.asarray(other).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in _NUMERIC_KINDS:
        left, right = ("Variable", type(other).__name__)
        if reflected:
            left, right = right, left
        raise TypeError(
            f"unsupported operand for {op}: {left} and {right} (the other operand must be a "
            f"Variable, a numpy array, a number or a list of numbers, got "
            f"{type(other).__name__})"
        ) from None


class Variable:
    """A node of the computation graph holding a numpy array.

    Args:
        data: a numpy array (its dtype is kept), or a Python scalar or nested list
            (floats become the default float dtype, float32 unless changed; ints int64).
        requires_grad: record operations on it so that ``backward`` fills ``.grad``.
            Only floating Variables may require grad.
        dtype: optional dtype to convert ``data`` to.
        name: an optional label, shown by [to_dot][maligrad.to_dot].

    Operators (``+ - * / ** @``, unary ``-``, ``abs``, indexing, comparisons) and the
    methods below each call one op; ``backward()`` fills ``.grad`` of the leaves.

        >>> import numpy as np
        >>> from maligrad import Variable
        >>> x = Variable(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.grad_fn
        <Sum>
        >>> y.backward()
        >>> x.grad.tolist(), x.grad.dtype.name
        ([2.0, 4.0], 'float32')
    """

    # Class-level defaults keep creation cheap: an op's output sets only ``data``.
    grad: Variable | None = None
    """The gradient accumulated by ``backward()`` (leaves, and non-leaves after
    ``retain_grad()``); None until then. Reset it with ``x.grad = None`` between steps."""
    grad_fn: Any = None
    """The [Function][maligrad.Function] node that produced this Variable; None for leaves."""
    requires_grad: bool = False
    """Whether operations on it are recorded so that gradients flow back to it."""
    name: str | None = None
    """An optional label (shown by [to_dot][maligrad.to_dot])."""
    #: The version counter (see ``maligrad.version_counter``), shared with every Variable whose
    #: array is a view of the same memory (``detach()``, reshapes, basic indexing); created on
    #: demand.
    _version_box: bytearray | None = None
    _retains_grad: bool = False
    _hooks: list[Callable[[Variable], Variable | None]] | None = None
    _post_accumulate_hooks: list[Callable[[Variable], None]] | None = None

    __array_ufunc__ = None  # ``ndarray * Variable`` defers to Variable.__rmul__
    __hash__ = object.__hash__  # comparisons are elementwise; hash by identity

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        self.data = _to_array(data, dtype)
        """The numpy array (not a copy). Writing into it bypasses autograd's checks."""
        if requires_grad is not False:
            self.requires_grad_(requires_grad)
        if name is not None:
            if not isinstance(name, str):
                raise TypeError(f"name must be a str or None, got {type(name).__name__}")
            self.name = name

    # -- array facts ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``, a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes of ``data``."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of entries of ``data``."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of ``data``."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True when no op produced it (``grad_fn`` is None): a leaf of the graph."""
        return self.grad_fn is None

    def __len__(self) -> int:
        if not self.data.ndim:
            raise TypeError("len() of a 0-d Variable (it has no length; use .item() or .size)")
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)  # raises like numpy for more than one element

    def item(self) -> Any:
        """The single entry as a Python number (raises unless ``size`` is 1)."""
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The array itself, not a copy (as ``.data``): the escape hatch out of autograd.

        Writing into it (``v.numpy()[0] = 1``) bypasses the version counter, so a backward
        that saved this array would silently use the new values; change Variables with the
        in-place methods (``add_``, ``copy_``, ``x[i] = v``) under ``no_grad()`` instead, or
        write into ``v.numpy().copy()``.
        """
        return self.data

    def tolist(self) -> Any:
        """The entries as nested Python lists (a Python number for a 0-d Variable)."""
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=" ").replace("\n", "\n    ")
        extra = ""
        if self.grad_fn is not None:
            extra = f"    grad_fn=<{self.grad_fn.name}>\n"
        elif self.requires_grad:
            extra = "    requires_grad=True\n"
        return f"Variable(\n    data=\n    {body}\n{extra}    )"

    # -- version counter --------------------------------------------------------------
    @property
    def _version(self) -> int:
        """How many times the array was changed in place (shared with views of it)."""
        box = self._version_box
        return 0 if box is None else version_counter.read(box)

    @_version.setter
    def _version(self, value: int) -> None:
        version_counter.write(self._shared_version_box(), value)

    def _shared_version_box(self) -> bytearray:
        box = self._version_box
        if box is None:
            box = self._version_box = version_counter.new_zero()
        return box

    def _bump_version(self) -> None:
        version_counter.bump(self._shared_version_box())

    # -- autograd ------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Variable:
        """Set ``requires_grad`` in place (leaves only; real floating dtypes only).

        Integer, bool and complex Variables cannot require grad: maligrad differentiates
        real floating-point functions only.
        """
        if requires_grad is not True and requires_grad is not False:
            if not isinstance(requires_grad, (bool, np.bool_)):
                raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only real floating Variables can require grad, got dtype {self.data.dtype}; "
                "convert with .astype(np.float32) first"
                + (" (complex autograd is not supported)" if self.data.dtype.kind == "c" else "")
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf: use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Variable:
        """A new leaf sharing ``data``, cut from the graph."""
        v = object.__new__(Variable)
        v.data = self.data
        v._version_box = self._shared_version_box()  # in-place changes show through both
        return v

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is required unless ``self`` has one element. ``retain_graph`` keeps the
        saved arrays so that backward can run again; ``create_graph`` records the backward
        pass so that the gradients can be differentiated again.
        """
        data = self.data
        if gradient is None and self.grad_fn is not None and data.size == 1:
            seed = object.__new__(Variable)  # the common case: d(loss)/d(loss) = 1
            seed.data = np.ones(data.shape, data.dtype)
            seeds = [seed]
        else:
            seeds = engine.seed_gradients([self], [gradient])
        if retain_graph is None:
            retain_graph = create_graph
        engine.run_backward([self], seeds, retain_graph, create_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` of this non-leaf Variable during backward (leaves always do)."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad() on a Variable that does not require grad")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        ref = weakref.ref(self)

        def keep(grad: Variable) -> None:
            var = ref()
            if var is not None:
                var.grad = grad if var.grad is None else var.grad + grad

        self.grad_fn.register_hook(keep)

    def register_hook(self, hook: Callable[[Variable], Variable | None]) -> None:
        """Call ``hook(grad)`` when this Variable's gradient is computed.

        A hook may return a Variable to use instead of ``grad``.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a Variable that does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.register_hook(hook)
            return
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Variable], None]) -> None:
        """Call ``hook(self)`` after ``backward()`` has accumulated into this leaf's ``.grad``.

        Unlike [register_hook][maligrad.Variable.register_hook], the hook sees the finished
        ``.grad`` (it returns nothing). ``maligrad.grad`` does not call it, as it accumulates
        nothing. Data-parallel training uses it to start a gradient's allreduce as soon as the
        gradient is ready.

            >>> import numpy as np
            >>> import maligrad as mg
            >>> w = mg.Variable(np.ones(2, dtype=np.float32), requires_grad=True)
            >>> seen = []
            >>> w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
            >>> (w * 3).sum().backward()
            >>> seen
            [[3.0, 3.0]]
        """
        if self.grad_fn is not None:
            raise RuntimeError("post-accumulate-grad hooks can only be registered on leaves")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a Variable that does not require grad")
        engine.post_hooks_in_use = True
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)

    # -- in place, outside the graph -------------------------------------------------
    def _check_inplace(self) -> None:
        if GradMode.enabled and self.requires_grad:
            raise RuntimeError(
                f"in-place operation on a Variable of shape {self.shape} that requires grad "
                "while the graph is recorded; wrap it in `with maligrad.no_grad():`"
            )

    def _inplace(self, ufunc: np.ufunc, other: Any) -> Variable:
        self._check_inplace()
        ufunc(self.data, other.data if isinstance(other, Variable) else other, out=self.data)
        self._bump_version()
        return self

    def add_(self, other: Any, alpha: float = 1.0) -> Variable:
        """``self += alpha * other`` in place (bumps the version counter)."""
        # Written out (no helper calls): optimizers call it once per parameter and step.
        if self.requires_grad and GradMode.enabled:
            self._check_inplace()
        if isinstance(other, Variable):
            other = other.data
        if alpha != 1.0:
            other = other * alpha
        data = self.data
        np.add(data, other, out=data)
        box = self._version_box
        if box is None:
            self._version_box = version_counter.new(1)
        elif box[0] != 255:
            box[0] += 1
        else:
            version_counter.bump(box)
        return self

    def sub_(self, other: Any, alpha: float = 1.0) -> Variable:
        """``self -= alpha * other`` in place (bumps the version counter)."""
        return self.add_(other, alpha=-alpha)

    def mul_(self, other: Any) -> Variable:
        """``self *= other`` in place (bumps the version counter)."""
        return self._inplace(np.multiply, other)

    def div_(self, other: Any) -> Variable:
        """``self /= other`` in place (bumps the version counter)."""
        return self._inplace(np.true_divide, other)

    def copy_(self, src: Any) -> Variable:
        """Copy ``src`` into ``self`` in place (broadcasting, same-kind casting)."""
        self._check_inplace()
        np.copyto(self.data, src.data if isinstance(src, Variable) else src, casting="same_kind")
        self._bump_version()
        return self

    def zero_(self) -> Variable:
        """Set every entry to 0 in place (bumps the version counter)."""
        return self.fill_(0)

    def fill_(self, value: Any) -> Variable:
        """Set every entry to ``value`` in place (bumps the version counter)."""
        self._check_inplace()
        self.data.fill(value)
        self._bump_version()
        return self

    # -- operators -----------------------------------------------------------------
    def __add__(self, other: Any) -> Variable:
        try:
            return Add.apply(self, other)
        except (TypeError, ValueError):
            _check_operand("+", other, False)
            raise

    def __radd__(self, other: Any) -> Variable:
        try:
            return Add.apply(other, self)
        except (TypeError, ValueError):
            _check_operand("+", other, True)
            raise

    def __sub__(self, other: Any) -> Variable:
        try:
            return Sub.apply(self, other)
        except (TypeError, ValueError):
            _check_operand("-", other, False)
            raise

    def __rsub__(self, other: Any) -> Variable:
        try:
            return Sub.apply(other, self)
        except (TypeError, ValueError):
            _check_operand("-", other, True)
            raise

    def __mul__(self, other: Any) -> Variable:
        try:
            return Mul.apply(self, other)
        except (TypeError, ValueError):
            _check_operand("*", other, False)
            raise

    def __rmul__(self, other: Any) -> Variable:
        try:
            return Mul.apply(other, self)
        except (TypeError, ValueError):
            _check_operand("*", other, True)
            raise

    def __truediv__(self, other: Any) -> Variable:
        try:
            return Div.apply(self, other)
        except (TypeError, ValueError):
            _check_operand("/", other, False)
            raise

    def __rtruediv__(self, other: Any) -> Variable:
        try:
            return Div.apply(other, self)
        except (TypeError, ValueError):
            _check_operand("/", other, True)
            raise

    def __pow__(self, other: Any) -> Variable:
        try:
            return Pow.apply(self, other)
        except (TypeError, ValueError):
            _check_operand("**", other, False)
            raise

    def __rpow__(self, other: Any) -> Variable:
        try:
            return Pow.apply(other, self)
        except (TypeError, ValueError):
            _check_operand("**", other, True)
            raise

    def __matmul__(self, other: Any) -> Variable:
        try:
            return MatMul.apply(self, other)
        except (TypeError, ValueError):
            _check_operand("@", other, False)
            raise

    def __rmatmul__(self, other: Any) -> Variable:
        try:
            return MatMul.apply(other, self)
        except (TypeError, ValueError):
            _check_operand("@", other, True)
            raise

    def __neg__(self) -> Variable:
        return Neg.apply(self)

    def __pos__(self) -> Variable:
        return self

    def __abs__(self) -> Variable:
        return Abs.apply(self)

    def __getitem__(self, key: Any) -> Variable:
        return GetItem.apply(self, key=key)

    def __setitem__(self, key: Any, value: Any) -> None:
        set_item(self, key, value)

    def __eq__(self, other: Any) -> Variable:  # type: ignore[override]
        return comparison.equal(self, other)

    def __ne__(self, other: Any) -> Variable:  # type: ignore[override]
        return comparison.not_equal(self, other)

    def __lt__(self, other: Any) -> Variable:
        try:
            return comparison.less(self, other)
        except (TypeError, ValueError):
            _check_operand("<", other, False)
            raise

    def __le__(self, other: Any) -> Variable:
        try:
            return comparison.less_equal(self, other)
        except (TypeError, ValueError):
            _check_operand("<=", other, False)
            raise

    def __gt__(self, other: Any) -> Variable:
        try:
            return comparison.greater(self, other)
        except (TypeError, ValueError):
            _check_operand(">", other, False)
            raise

    def __ge__(self, other: Any) -> Variable:
        try:
            return comparison.greater_equal(self, other)
        except (TypeError, ValueError):
            _check_operand(">=", other, False)
            raise

    # -- methods mirroring the functions in maligrad.ops ----------------------------
    def exp(self) -> Variable:
        """Elementwise ``e^x``; see [maligrad.exp][maligrad.exp] (gradient ``g * y``)."""
        return Exp.apply(self)

    def log(self) -> Variable:
        """Elementwise ``ln x``; see [maligrad.log][maligrad.log] (gradient ``g / x``)."""
        return Log.apply(self)

    def log1p(self) -> Variable:
        """Elementwise ``ln(1 + x)``.

        See [maligrad.log1p][maligrad.log1p] (gradient ``g / (1 + x)``).
        """
        return Log1p.apply(self)

    def expm1(self) -> Variable:
        """Elementwise ``e^x - 1``.

        See [maligrad.expm1][maligrad.expm1] (gradient ``g (y + 1)``).
        """
        return Expm1.apply(self)

    def sqrt(self) -> Variable:
        """Elementwise square root; see [maligrad.sqrt][maligrad.sqrt] (gradient ``g / (2 y)``)."""
        return Sqrt.apply(self)

    def sin(self) -> Variable:
        """Elementwise sine; see [maligrad.sin][maligrad.sin] (gradient ``g cos x``)."""
        return Sin.apply(self)

    def cos(self) -> Variable:
        """Elementwise cosine; see [maligrad.cos][maligrad.cos] (gradient ``-g sin x``)."""
        return Cos.apply(self)

    def tan(self) -> Variable:
        """Elementwise tangent; see [maligrad.tan][maligrad.tan] (gradient ``g (1 + y^2)``)."""
        return Tan.apply(self)

    def tanh(self) -> Variable:
        """Elementwise hyperbolic tangent.

        See [maligrad.tanh][maligrad.tanh] (gradient ``g (1 - y^2)``).
        """
        return Tanh.apply(self)

    def sigmoid(self) -> Variable:
        """Elementwise ``1 / (1 + e^-x)``.

        See [maligrad.sigmoid][maligrad.sigmoid] (gradient ``g y (1 - y)``).
        """
        return Sigmoid.apply(self)

    def relu(self) -> Variable:
        """Elementwise ``max(x, 0)``.

        See [maligrad.relu][maligrad.relu] (gradient ``g [x > 0]``).
        """
        return Relu.apply(self)

    def softplus(self) -> Variable:
        """Elementwise ``ln(1 + e^x)``.

        See [maligrad.softplus][maligrad.softplus] (gradient ``g sigmoid(x)``).
        """
        return Softplus.apply(self)

    def erf(self) -> Variable:
        """Elementwise error function.

        See [maligrad.erf][maligrad.erf] (gradient ``g 2/sqrt(pi) e^(-x^2)``).
        """
        return Erf.apply(self)

    def abs(self) -> Variable:
        """Elementwise ``|x|``; see [maligrad.abs][maligrad.abs] (gradient ``g sign(x)``)."""
        return Abs.apply(self)

    def clip(self, min: Any = None, max: Any = None) -> Variable:
        """Clamp to ``[min, max]``.

        See [maligrad.clip][maligrad.clip] (gradient ``g`` inside the bounds).
        """
        return Clip.apply(self, lo=min, hi=max)

    def clamp(self, min: Any = None, max: Any = None) -> Variable:
        """PyTorch's name for [clip][maligrad.Variable.clip]."""
        return Clip.apply(self, lo=min, hi=max)

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Variable:
        """Sum over ``axis``.

        See [maligrad.sum][maligrad.sum] (``g`` broadcast back over the reduced axes).
        """
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Variable:
        """Mean over ``axis``; see [maligrad.mean][maligrad.mean] (``g / n`` broadcast back)."""
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Axis = None, keepdims: bool = False) -> Variable:
        """Product over ``axis``.

        See [maligrad.prod][maligrad.prod] (gradient: product of the others).
        """
        return Prod.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Variable:
        """Variance over ``axis`` with ``ddof``; see [maligrad.var][maligrad.var]."""
        return Var.apply(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Variable:
        """Standard deviation over ``axis`` with ``ddof``; see [maligrad.std][maligrad.std]."""
        return Std.apply(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Variable:
        """Largest entry over ``axis``.

        See [maligrad.max][maligrad.max] (``g`` to the maxima, split at ties).
        """
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Variable:
        """Smallest entry over ``axis``.

        See [maligrad.min][maligrad.min] (``g`` to the minima, split at ties).
        """
        return Min.apply(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Variable:
        """``log(sum(exp(x)))`` over ``axis``.

        See [maligrad.logsumexp][maligrad.logsumexp] (gradient ``g softmax(x)``).
        """
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def cumsum(self, axis: int | None = None) -> Variable:
        """Cumulative sum along ``axis``.

        See [maligrad.cumsum][maligrad.cumsum] (gradient: reversed cumsum of ``g``).
        """
        return reductions.cumsum(self, axis)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Variable:
        """Indices of the maxima along ``axis`` (int64, no gradient).

        See [maligrad.argmax][maligrad.argmax].
        """
        return reductions.argmax(self, axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Variable:
        """Indices of the minima along ``axis`` (int64, no gradient).

        See [maligrad.argmin][maligrad.argmin].
        """
        return reductions.argmin(self, axis, keepdims)

    def reshape(self, *shape: Any) -> Variable:
        """A new shape, given as a tuple or as ints (``x.reshape(2, -1)``).

        See [maligrad.reshape][maligrad.reshape].
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def view(self, *shape: Any) -> Variable:
        """PyTorch's name for [reshape][maligrad.Variable.reshape] (the result may share memory)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def transpose(self, *axes: Any) -> Variable:
        """Permute the axes (reversed when none are given).

        See [maligrad.transpose][maligrad.transpose].
        """
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Transpose.apply(self, axes=axes or None)

    def permute(self, *axes: Any) -> Variable:
        """PyTorch's name for [transpose][maligrad.Variable.transpose] with explicit axes."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> Variable:
        """The Variable with its axes reversed (``transpose()``)."""
        return Transpose.apply(self, axes=None)

    def swapaxes(self, axis1: int, axis2: int) -> Variable:
        """Exchange two axes; see [maligrad.swapaxes][maligrad.swapaxes]."""
        return shape_ops.swapaxes(self, axis1, axis2)

    def squeeze(self, axis: Axis = None) -> Variable:
        """Drop axes of length one; see [maligrad.squeeze][maligrad.squeeze]."""
        return shape_ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Variable:
        """Insert an axis of length one at ``axis``.

        See [maligrad.unsqueeze][maligrad.unsqueeze].
        """
        return shape_ops.expand_dims(self, axis)

    def expand_dims(self, axis: int) -> Variable:
        """numpy's name for [unsqueeze][maligrad.Variable.unsqueeze]."""
        return shape_ops.expand_dims(self, axis)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Variable:
        """Merge axes ``start_axis..end_axis`` into one.

        See [maligrad.flatten][maligrad.flatten].
        """
        return shape_ops.flatten(self, start_axis, end_axis)

    def broadcast_to(self, shape: Sequence[int]) -> Variable:
        """Broadcast to ``shape``.

        See [maligrad.broadcast_to][maligrad.broadcast_to] (gradient summed back).
        """
        return BroadcastTo.apply(self, shape=tuple(shape))

    def flip(self, axis: Axis = None) -> Variable:
        """Reverse the entries along ``axis``; see [maligrad.flip][maligrad.flip]."""
        return Flip.apply(self, axis=axis)

    def roll(self, shift: Any, axis: Axis = None) -> Variable:
        """Shift the entries cyclically; see [maligrad.roll][maligrad.roll]."""
        return Roll.apply(self, shift=shift, axis=axis)

    def repeat(self, repeats: Any, axis: int | None = None) -> Variable:
        """Repeat each entry.

        See [maligrad.repeat][maligrad.repeat] (gradient summed over the copies).
        """
        return Repeat.apply(self, repeats=repeats, axis=axis)

    def tile(self, reps: Any) -> Variable:
        """Repeat the whole array.

        See [maligrad.tile][maligrad.tile] (gradient summed over the copies).
        """
        return Tile.apply(self, reps=reps)

    def astype(self, dtype: Any) -> Variable:
        """A copy converted to ``dtype`` (bool, integer, float or complex).

        Only a floating result stays in the graph: an integer, bool or complex result does
        not require grad (as in PyTorch), so no gradient flows through the rounding.
        """
        dt = _check_dtype(dtype)
        if dt.kind != "f" and self.requires_grad:
            return Variable(self.data.astype(dt))
        return Cast.apply(self, dtype=dt)

    def clone(self) -> Variable:
        """A differentiable copy of the array (gradient: ``g`` unchanged)."""
        return Copy.apply(self)

    def matmul(self, other: Any) -> Variable:
        """Matrix product ``self @ other``; see [maligrad.matmul][maligrad.matmul]."""
        return MatMul.apply(self, other)


# The one place where the variable <-> ops cycle is closed: the engine and every ops module
# import Variable at their top, and Variable's methods need them, imported here once the
# class exists (``function.py`` imports Variable after defining Function, for the same reason).
from maligrad import engine  # noqa: E402
from maligrad.ops import comparison, reductions  # noqa: E402
from maligrad.ops import shape as shape_ops  # noqa: E402
from maligrad.ops.arithmetic import Add, Div, Mul, Neg, Pow, Sub  # noqa: E402
from maligrad.ops.broadcast import BroadcastTo  # noqa: E402
from maligrad.ops.elementwise import (  # noqa: E402
    Abs,
    Cast,
    Clip,
    Copy,
    Cos,
    Exp,
    Expm1,
    Log,
    Log1p,
    Relu,
    Sigmoid,
    Sin,
    Softplus,
    Sqrt,
    Tan,
    Tanh,
)
from maligrad.ops.erf import Erf  # noqa: E402
from maligrad.ops.indexing import GetItem, set_item  # noqa: E402
from maligrad.ops.linalg import MatMul  # noqa: E402
from maligrad.ops.reductions import LogSumExp, Max, Mean, Min, Prod, Std, Sum, Var  # noqa: E402
from maligrad.ops.reorder import Flip, Repeat, Roll, Tile  # noqa: E402
from maligrad.ops.shape import Reshape, Transpose  # noqa: E402
