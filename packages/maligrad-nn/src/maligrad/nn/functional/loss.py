"""Loss functions, each one fused op (forward and gradient side by side).

With ``d = x - t`` and ``g`` the output gradient (divided by the count for ``'mean'``)::

    mse_loss       : d^2                           dx = 2 d g
    l1_loss        : |d|                           dx = sign(d) g
    smooth_l1_loss : d^2 / (2 beta) if |d| < beta else |d| - beta / 2
    huber_loss     : delta * smooth_l1_loss(beta=delta)
    binary_cross_entropy : -w (t log p + (1 - t) log(1 - p)),   logs clamped at -100
    binary_cross_entropy_with_logits :
                     (1 - t) x + l (log(1 + e^-|x|) + max(-x, 0)),  l = 1 + (pos_weight - 1) t
                                                   dx = (1 - t) - l sigmoid(-x)
    cross_entropy  : -sum_c q_c log softmax(x)_c   dx = p sum_c q_c - q
    nll_loss       : -w_t x_t                      kl_div : t (log t - x)

Each loss's gradient is a Function of its own (``MSEGrad``, ``CrossEntropyGrad``, ...):
its ``forward`` is the numpy formula above, its ``backward`` is written with maligrad ops,
so ``backward()`` and ``maligrad.grad(..., create_graph=True)`` run the same code. Where
the gradient is a constant times ``g`` (``l1_loss``, ``nll_loss``) it is that product.

For ``cross_entropy`` the weights ``q`` are the (smoothed, class-weighted) one-hot targets
or the given probabilities. Softmax-based losses subtract the row maximum first, so logits
of 1e4 give finite values. ``reduction`` is ``'none'``, ``'sum'`` or ``'mean'`` (for
class-index targets with weights, ``'mean'`` divides by the sum of the targets' weights,
as PyTorch does).

    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> logits = maligrad.Variable(np.array([[0.0, 0.0]], np.float32), requires_grad=True)
    >>> loss = F.cross_entropy(logits, np.array([1]))
    >>> round(loss.item(), 4)
    0.6931
"""

from __future__ import annotations

from typing import Any

import numpy as np

import maligrad
from maligrad import Function, Variable
from maligrad.nn.functional._common import check_number, check_reduction, layer_input
from maligrad.nn.functional.activation import LogSoftmax, LogSoftmaxGrad, Softmax, SoftmaxGrad


# -- helpers ---------------------------------------------------------------------------
def _data(x: Any, fn: str = "loss", name: str = "target") -> np.ndarray:
    if isinstance(x, Variable):
        return x.data
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{fn}: {name} expected a Variable or array of numbers, got {type(x).__name__}"
        )
    return a


def _prepare_pair(input: Any, target: Any, fn: str) -> tuple[Any, Any]:
    """Check shapes match and bring a constant target to the input's dtype."""
    if not isinstance(input, Variable):
        input = layer_input(input, fn)
    t = _data(target, fn)
    if t.shape != input.shape:
        raise ValueError(
            f"{fn}: target shape {t.shape} does not match input shape {input.shape} "
            "(reshape one of them; broadcasting is not applied)"
        )
    if input.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be floating point, got dtype {input.dtype}")
    if t.dtype != input.dtype:
        if isinstance(target, Variable) and target.requires_grad:
            raise TypeError(
                f"{fn}: target dtype {t.dtype} does not match input dtype {input.dtype}"
            )
        target = t.astype(input.dtype)
    return input, target


def _const(w: Any, dtype: np.dtype) -> np.ndarray | None:
    return None if w is None else _data(w).astype(dtype, copy=False)


class _Loss(Function):
    """Reduction bookkeeping shared by the loss ops: ``scale`` is ``1 / count`` for
    ``'mean'`` (0 when nothing counted: zero gradients) and 1 otherwise."""

    reduction: str
    scale: float = 1.0

    def _reduce(self, elems: np.ndarray, denom: float | None = None) -> np.ndarray:
        r = self.reduction
        if r == "none":
            return elems
        total = np.add.reduce(elems, axis=None)  # ``elems.sum()``, 1-2 us sooner
        if r == "sum":
            return np.asarray(total, dtype=elems.dtype)
        denom = float(elems.size if denom is None else denom)
        if denom == 0:  # every target ignored (or zero weights): nan, as in PyTorch
            self.scale = 0.0
            return np.asarray(np.nan, dtype=elems.dtype)
        self.scale = 1.0 / denom
        return np.asarray(total / denom, dtype=elems.dtype)

    def _params(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "scale": self.scale}


class _LossGrad(Function):
    """Base of the loss gradients: ``G``, the output gradient ``gy`` scaled by the
    reduction and broadcast against the elements (axis 1 added for class losses)."""

    reduction: str
    scale: float
    class_axis = False

    def _g(self, gy: np.ndarray) -> Any:
        if self.reduction == "none":
            return np.expand_dims(gy, 1) if self.class_axis else gy
        return gy * gy.dtype.type(self.scale) if self.scale != 1.0 else gy

    def _g_op(self, gy: Variable) -> Variable:
        if self.reduction == "none":
            return gy.unsqueeze(1) if self.class_axis else gy
        return gy * self.scale if self.scale != 1.0 else gy

    def _to_gy(self, v: Variable) -> Variable:
        """The gradient for ``gy`` from ``gz * dz/dG`` (elementwise): undo ``_g``."""
        if self.reduction == "none":
            return v.sum(axis=1) if self.class_axis else v
        total = v.sum()
        return total * self.scale if self.scale != 1.0 else total


# -- regression losses -------------------------------------------------------------------
class MSE(_Loss):
    def forward(self, x: np.ndarray, t: Any, reduction: str) -> np.ndarray:
        self.reduction = reduction
        d = x - t
        self.save_for_backward(x, t)
        return self._reduce(d * d)

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        gx = MSEGrad.apply(x, t, gy, **self._params())
        return gx, (-gx if self.needs_input_grad[1] else None)


class MSEGrad(_LossGrad):
    """``2 (x - t) G``."""

    def forward(self, x: np.ndarray, t: Any, gy: np.ndarray, reduction: str, scale: float):
        self.reduction, self.scale = reduction, scale
        self.save_for_backward(x, t, gy)
        return self._g(gy) * 2 * (x - t)

    def backward(self, gz: Variable) -> Any:
        x, t, gy = self.saved_tensors
        needs = self.needs_input_grad
        gx = gt = g_gy = None
        if needs[0] or needs[1]:
            gx = gz * self._g_op(gy) * 2
            gt = -gx if needs[1] else None
        if needs[2]:
            g_gy = self._to_gy(gz * (x - t) * 2)
        return gx, gt, g_gy


def mse_loss(
    input: Variable,
    target: Any,
    reduction: str = "mean",
) -> Variable:
    """Mean squared error ``(x - t)^2``."""
    check_reduction(reduction)
    input, target = _prepare_pair(input, target, "mse_loss")
    return MSE.apply(input, target, reduction=reduction)


class L1(_Loss):
    """``|x - t|``; the gradient is ``G sign(x - t)``, a product with a constant."""

    def forward(self, x: np.ndarray, t: Any, reduction: str) -> np.ndarray:
        self.reduction = reduction
        d = x - t
        self.sign = np.sign(d)
        return self._reduce(np.abs(d))

    def backward(self, gy: Variable) -> Any:
        gx = gy * (self.sign * self.scale if self.scale != 1.0 else self.sign)
        return gx, (-gx if self.needs_input_grad[1] else None)


def l1_loss(input: Variable, target: Any, reduction: str = "mean") -> Variable:
    """Mean absolute error ``|x - t|`` (the gradient is 0 where ``x = t``)."""
    check_reduction(reduction)
    input, target = _prepare_pair(input, target, "l1_loss")
    return L1.apply(input, target, reduction=reduction)


class SmoothL1(_Loss):
    """``scale * (d^2 / (2 beta) if |d| < beta else |d| - beta / 2)``."""

    def forward(self, x: np.ndarray, t: Any, reduction: str, beta: float, hscale: float):
        self.reduction, self.beta, self.hscale = reduction, beta, hscale
        d = x - t
        a = np.abs(d)
        self.save_for_backward(x, t)
        if beta == 0:
            elems = a
        else:
            elems = np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
        if hscale != 1.0:
            elems = elems * hscale
        return self._reduce(elems.astype(x.dtype, copy=False))

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        gx = SmoothL1Grad.apply(x, t, gy, beta=self.beta, hscale=self.hscale, **self._params())
        return gx, (-gx if self.needs_input_grad[1] else None)


class SmoothL1Grad(_LossGrad):
    """``G hscale (d / beta if |d| < beta else sign(d))``, ``d = x - t``."""

    def forward(
        self, x: np.ndarray, t: Any, gy: np.ndarray, beta: float, hscale: float,
        reduction: str, scale: float,
    ) -> np.ndarray:  # fmt: skip
        self.reduction, self.scale, self.beta, self.hscale = reduction, scale, beta, hscale
        self.save_for_backward(x, t, gy)
        d = x - t
        self.quad = np.abs(d) < beta
        self.sign = np.sign(d)
        deriv = np.where(self.quad, d / beta if beta else 0, self.sign) * hscale
        return self._g(gy) * deriv.astype(x.dtype, copy=False)

    def backward(self, gz: Variable) -> Any:
        x, t, gy = self.saved_tensors
        needs = self.needs_input_grad
        beta, hscale = self.beta, self.hscale
        gx = g_gy = None
        if (needs[0] or needs[1]) and beta:
            gx = gz * self._g_op(gy) * (self.quad * (hscale / beta)).astype(x.dtype)
        if needs[2]:
            sign = (self.sign * hscale).astype(x.dtype)
            deriv = maligrad.where(self.quad, (x - t) * (hscale / beta), sign) if beta else sign
            g_gy = self._to_gy(gz * deriv)
        return gx, (-gx if needs[1] and gx is not None else None), g_gy


def smooth_l1_loss(
    input: Variable,
    target: Any,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Variable:
    """Smooth L1: quadratic for ``|x - t| < beta``, linear beyond (``beta = 0``: L1)."""
    check_reduction(reduction)
    beta = check_number("smooth_l1_loss", "beta", beta, 0.0)
    input, target = _prepare_pair(input, target, "smooth_l1_loss")
    return SmoothL1.apply(input, target, reduction=reduction, beta=beta, hscale=1.0)


def huber_loss(
    input: Variable,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Variable:
    """Huber: ``d^2 / 2`` for ``|d| < delta``, ``delta (|d| - delta / 2)`` beyond."""
    check_reduction(reduction)
    delta = check_number("huber_loss", "delta", delta, 0.0, low_open=True)
    input, target = _prepare_pair(input, target, "huber_loss")
    return SmoothL1.apply(input, target, reduction=reduction, beta=delta, hscale=delta)


# -- binary cross-entropies ------------------------------------------------------------
class BCE(_Loss):
    def forward(self, p: np.ndarray, t: Any, reduction: str, w: np.ndarray | None):
        self.reduction, self.w = reduction, w
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError(
                "binary_cross_entropy: input values must be probabilities in [0, 1], got "
                f"[{p.min()}, {p.max()}]; use binary_cross_entropy_with_logits for logits"
            )
        logp, log1mp = _clamped_logs(p)
        self.logs = logp, log1mp
        elems = -(t * logp + (1 - t) * log1mp)
        if w is not None:
            elems = elems * w
        self.save_for_backward(p, t)
        return self._reduce(elems.astype(p.dtype, copy=False))

    def backward(self, gy: Variable) -> Any:
        p, t = self.saved_tensors
        needs = self.needs_input_grad
        kw = dict(w=self.w, **self._params())
        gp = BCEGrad.apply(p, t, gy, wrt="input", **kw) if needs[0] else None
        gt = BCEGrad.apply(p, t, gy, wrt="target", logs=self.logs, **kw) if needs[1] else None
        return gp, gt


def _clamped_logs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log p`` and ``log(1 - p)``, each clamped at -100 (as PyTorch's BCE)."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)


class BCEGrad(_LossGrad):
    """``wrt='input'``: ``G w (p - t) / max(p (1 - p), 1e-12)``;
    ``wrt='target'``: ``G w (log(1 - p) - log p)`` (logs clamped at -100)."""

    def forward(
        self, p: np.ndarray, t: Any, gy: np.ndarray, wrt: str, w: Any, reduction: str,
        scale: float, logs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:  # fmt: skip
        self.wrt, self.w, self.reduction, self.scale = wrt, w, reduction, scale
        self.save_for_backward(p, t, gy)
        g = self._g(gy)
        if w is not None:
            g = g * w
        if wrt == "input":
            d = (p - t) / np.maximum(p * (1 - p), 1e-12)
        else:
            logp, log1mp = _clamped_logs(p) if logs is None else logs
            d = log1mp - logp
        return (g * d).astype(p.dtype, copy=False)

    def backward(self, gz: Variable) -> Any:
        p, t, gy = self.saved_tensors
        needs = self.needs_input_grad
        gzw = gz if self.w is None else gz * self.w
        gp = gt = g_gy = None
        pd = p.data
        if self.wrt == "input":
            pq = pd * (1 - pd)
            inv = 1 / maligrad.maximum(p * (1 - p), 1e-12)
            if needs[0]:
                d_den = (1 - p * 2) * (pq > 1e-12).astype(pd.dtype)
                gp = gzw * self._g_op(gy) * (inv - (p - t) * d_den * inv * inv)
            if needs[1]:
                gt = -gzw * self._g_op(gy) * inv
            if needs[2]:
                g_gy = self._to_gy(gzw * (p - t) * inv)
            return gp, gt, g_gy
        with np.errstate(divide="ignore"):
            m0 = np.log(pd) > -100  # where the clamp is inactive
            m1 = np.log1p(-pd) > -100
        one = np.ones((), pd.dtype)
        if needs[0]:
            inv_p = 1 / maligrad.where(m0, p, one)
            inv_q = 1 / maligrad.where(m1, 1 - p, one)
            gp = -gzw * self._g_op(gy) * (inv_q * m1.astype(pd.dtype) + inv_p * m0.astype(pd.dtype))
        if needs[2]:
            clamp = np.asarray(-100.0, pd.dtype)
            logp = maligrad.where(m0, maligrad.where(m0, p, one).log(), clamp)
            log1mp = maligrad.where(m1, maligrad.where(m1, 1 - p, one).log(), clamp)
            g_gy = self._to_gy(gzw * (log1mp - logp))
        return gp, gt, g_gy


def binary_cross_entropy(
    input: Variable,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``-w (t log p + (1 - t) log(1 - p))`` for probabilities ``p``; logs clamped at -100.

    At ``p = 0`` or ``1`` the loss is finite (at most 100 per element) and the gradient in
    ``p`` is ``(p - t) / 1e-12`` where ``p (1 - p) < 1e-12``, as in PyTorch.
    """
    check_reduction(reduction)
    input, target = _prepare_pair(input, target, "binary_cross_entropy")
    w = _const(weight, input.dtype)
    return BCE.apply(input, target, reduction=reduction, w=w)


class BCEWithLogits(_Loss):
    def forward(self, x: np.ndarray, t: Any, reduction: str, w: Any, pw: Any) -> np.ndarray:
        self.reduction, self.w, self.pw = reduction, w, pw
        sp_neg = np.logaddexp(0, -x)  # softplus(-x) = log(1 + e^-x), stable
        if pw is None:
            elems = (1 - t) * x + sp_neg
        else:
            elems = (1 - t) * x + (1 + (pw - 1) * t) * sp_neg
        if w is not None:
            elems = elems * w
        self.save_for_backward(x, t)
        return self._reduce(elems.astype(x.dtype, copy=False))

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        needs = self.needs_input_grad
        kw = dict(w=self.w, pw=self.pw, **self._params())
        gx = BCEWithLogitsGrad.apply(x, t, gy, wrt="input", **kw) if needs[0] else None
        gt = BCEWithLogitsGrad.apply(x, t, gy, wrt="target", **kw) if needs[1] else None
        return gx, gt


class BCEWithLogitsGrad(_LossGrad):
    """``wrt='input'``: ``G w ((1 - t) - l sigmoid(-x))``, ``l = 1 + (pw - 1) t``;
    ``wrt='target'``: ``G w (-x + (pw - 1) softplus(-x))``."""

    def forward(
        self, x: np.ndarray, t: Any, gy: np.ndarray, wrt: str, w: Any, pw: Any,
        reduction: str, scale: float,
    ) -> np.ndarray:  # fmt: skip
        self.wrt, self.w, self.pw, self.reduction, self.scale = wrt, w, pw, reduction, scale
        self.save_for_backward(x, t, gy)
        g = self._g(gy)
        if w is not None:
            g = g * w
        if wrt == "input":
            s_neg = np.exp(-np.logaddexp(0, x))  # sigmoid(-x)
            d = (1 - t) - (s_neg if pw is None else (1 + (pw - 1) * t) * s_neg)
        else:
            d = -x if pw is None else -x + (pw - 1) * np.logaddexp(0, -x)
        return (g * d).astype(x.dtype, copy=False)

    def backward(self, gz: Variable) -> Any:
        x, t, gy = self.saved_tensors
        needs = self.needs_input_grad
        pw = self.pw
        gzw = gz if self.w is None else gz * self.w
        gx = gt = g_gy = None
        s_neg = (-x).sigmoid()
        # d(input grad)/dt = d(target grad)/dx = -1 - (pw - 1) sigmoid(-x)
        cross = -1 - (s_neg * (pw - 1) if pw is not None else 0)
        if self.wrt == "input":
            lw = 1 if pw is None else t * (pw - 1) + 1
            if needs[0]:
                gx = gzw * self._g_op(gy) * (lw * s_neg * (1 - s_neg))
            if needs[1]:
                gt = gzw * self._g_op(gy) * cross
            if needs[2]:
                g_gy = self._to_gy(gzw * ((1 - t) - lw * s_neg))
            return gx, gt, g_gy
        if needs[0]:
            gx = gzw * self._g_op(gy) * cross
        if needs[2]:
            d = -x if pw is None else (-x).softplus() * (pw - 1) - x
            g_gy = self._to_gy(gzw * d)
        return gx, gt, g_gy


def binary_cross_entropy_with_logits(
    input: Variable,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Variable:
    """Sigmoid + binary cross-entropy in one stable op (``pos_weight`` weighs positives)."""
    check_reduction(reduction)
    input, target = _prepare_pair(input, target, "binary_cross_entropy_with_logits")
    w = _const(weight, input.dtype)
    pw = _const(pos_weight, input.dtype)
    return BCEWithLogits.apply(input, target, reduction=reduction, w=w, pw=pw)


# -- categorical losses ----------------------------------------------------------------
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_ROWS: dict[int, np.ndarray] = {}


def _row_indices(n: int) -> np.ndarray:
    """``arange(n)``, read-only and kept per ``n`` (a training loop asks for one batch size)."""
    rows = _ROWS.get(n)
    if rows is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        rows = _ROWS[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


def _class_targets(
    idx: np.ndarray, x_shape: tuple[int, ...], ignore_index: int, fn: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(indices with ignored ones set to 0, keep mask or None when all are kept)``."""
    if idx.shape != x_shape[:1] + x_shape[2:]:
        raise ValueError(
            f"{fn}: target of shape {idx.shape} does not match input of shape {x_shape} "
            f"(class-index targets need shape {x_shape[:1] + x_shape[2:]})"
        )
    c = x_shape[1]
    n = idx.size
    if n and idx.dtype.kind in "iu" and not 0 <= ignore_index < c:
        # The common case (every index a class, so none is ``ignore_index``) in one check: a
        # few indices as Python ints (cheaper than a numpy reduction), else one reduction
        # (as unsigned, negative indices are huge).
        if n <= 16:
            flat = (idx if idx.ndim == 1 else idx.ravel()).tolist()
            if min(flat) >= 0 and max(flat) < c:
                return idx, None
        elif idx.view(_UNSIGNED[idx.dtype.itemsize]).max() < c:
            return idx, None
    mask = idx != ignore_index
    keep: np.ndarray | None
    if mask.all():
        keep, safe = None, idx
    else:
        keep, safe = mask, np.where(mask, idx, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= c):
        bad = idx[((idx < 0) | (idx >= c)) & (idx != ignore_index)]
        raise IndexError(f"{fn}: target {int(bad[0])} is out of bounds for {c} classes")
    return safe, keep


def _class_weights(q: np.ndarray, w: np.ndarray | None, ndim: int) -> np.ndarray:
    if w is None:
        return q
    return q * w.reshape((1, -1) + (1,) * (ndim - 2))


class CrossEntropy(_Loss):
    """Log-softmax over axis 1 followed by ``-sum_c q_c log p_c``, fused.

    ``q`` is the (smoothed, weighted, masked) one-hot target for class indices, or the
    given probabilities. For the common case (``(N, C)`` logits, indices, no weights, no
    smoothing) ``q`` is never built: the loss picks ``log p`` at the targets.
    """

    def forward(
        self,
        x: np.ndarray,
        t: Any,
        idx: Any,
        w: Any,
        ignore_index: int,
        reduction: str,
        eps: float,
    ) -> np.ndarray:
        self.reduction, self.eps = reduction, eps
        c = x.shape[1]
        # (the ufuncs' ``reduce``: what ``.max`` and ``.sum`` call, 1-2 us sooner on small
        # batches, where those microseconds are the cost)
        shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)
        e = np.exp(shifted)
        s = np.add.reduce(e, axis=1, keepdims=True)
        log_s = np.log(s)
        self.e, self.sum_e, self.shifted, self.log_s = e, s, shifted, log_s
        self.q = self.pick = self.w = None
        self.save_for_backward(x, t)
        if idx is not None:
            safe, keep = _class_targets(idx, x.shape, ignore_index, "cross_entropy")
            if w is None and not eps and x.ndim == 2:
                rows = _row_indices(x.shape[0])
                self.pick = rows, safe, keep
                elems = log_s[:, 0] - shifted[rows, safe]
                if keep is not None:
                    elems *= keep
                return self._reduce(elems, x.shape[0] if keep is None else float(keep.sum()))
            q = np.zeros_like(x)
            np.put_along_axis(q, safe[:, None], 1 - eps, axis=1)
            if eps:
                q += eps / c
            q = _class_weights(q, w, x.ndim)
            if keep is not None:
                q *= keep[:, None]
            if w is None:
                denom = float(safe.size if keep is None else keep.sum())
            else:
                denom = float((w[safe] if keep is None else w[safe] * keep).sum())
        else:
            self.w = w  # soft targets: their gradient needs the class weights
            tt = t * (1 - eps) + eps / c if eps else t
            q = _class_weights(tt.astype(x.dtype, copy=False), w, x.ndim)
            denom = None
        self.q = q
        elems = -(q * (shifted - log_s)).sum(axis=1)
        return self._reduce(elems, float(elems.size) if denom is None else denom)

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        needs = self.needs_input_grad
        spec = (self.eps, self.w, self.q, self.pick, self.reduction, self.scale)
        gx = gt = None
        if needs[0]:
            gx = CrossEntropyGrad.apply(x, t, gy, wrt="input", spec=spec, p=self.e / self.sum_e)
        if needs[1]:
            gt = CrossEntropyGrad.apply(
                x, t, gy, wrt="target", spec=spec, logp=self.shifted - self.log_s
            )
        return gx, gt


def _softmax_np(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax_np(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CrossEntropyGrad(_LossGrad):
    """``cross_entropy``'s gradients, ``p = softmax(x)`` and ``S = sum_c q_c``:

    * ``wrt='input'``: ``G (p S - q)``; its gradients: ``SoftmaxGrad(p, gz G S)`` for
      ``x``, ``G (1 - eps) w (sum_c gz_c p_c - gz)`` for soft targets ``t``;
    * ``wrt='target'``: ``-G (1 - eps) w log p`` (soft targets); its gradient for ``x`` is
      ``LogSoftmaxGrad(log p, gz K)`` with ``K`` the factor of ``log p``.

    ``log p`` and ``p`` are computed stably (the row maximum subtracted), in every order.
    """

    class_axis = True

    def forward(
        self, x: np.ndarray, t: Any, gy: np.ndarray, wrt: str, spec: tuple[Any, ...],
        p: Any = None, logp: Any = None,
    ) -> np.ndarray:  # fmt: skip
        """``spec`` is ``(eps, w, q, pick, reduction, scale)`` of the ``CrossEntropy`` node;
        ``p`` (``wrt='input'``) or ``logp`` (``'target'``): its softmax or log-softmax."""
        self.wrt = wrt
        self.eps, self.w, self.q, self.pick, self.reduction, self.scale = spec
        eps, w, q, pick = spec[:4]
        self.save_for_backward(x, t, gy)
        g = self._g(gy)
        if wrt == "target":
            d = (_log_softmax_np(x) if logp is None else logp) * -(1 - eps)
            return (g * _class_weights(d, w, x.ndim)).astype(x.dtype, copy=False)
        gx = _softmax_np(x) if p is None else p
        if q is None:  # one-hot rows: subtract 1 at the targets, zero the ignored rows
            rows, safe, keep = pick
            gx[rows, safe] -= 1
            if keep is not None:
                gx *= keep[:, None]
            gx *= g
            return gx
        return g * (gx * q.sum(axis=1, keepdims=True) - q)

    def _q_op(self, x: Variable, t: Any) -> Any:
        """``q`` as an op of the soft targets, or the constant one-hot ``q``."""
        if self.q is None:
            rows, safe, keep = self.pick
            q = np.zeros(x.shape, x.dtype)
            q[rows, safe] = 1
            return q if keep is None else q * keep[:, None]
        if not isinstance(t, Variable) or not t.requires_grad:
            return self.q
        eps, c = self.eps, x.shape[1]
        qt = t * (1 - eps) + eps / c if eps else t
        return qt if self.w is None else qt * self._w_row(x.ndim)

    def _w_row(self, ndim: int) -> np.ndarray:
        return self.w.reshape((1, -1) + (1,) * (ndim - 2))

    def backward(self, gz: Variable) -> Any:
        x, t, gy = self.saved_tensors
        needs = self.needs_input_grad
        eps = self.eps
        G = self._g_op(gy)
        gx = gt = g_gy = None
        if self.wrt == "target":
            lp = LogSoftmax.apply(x, axis=1)
            k = G * -(1 - eps)
            if self.w is not None:
                k = k * self._w_row(x.ndim)
            if needs[0]:
                gx = LogSoftmaxGrad.apply(lp, gz * k, axis=1)
            if needs[2]:
                d = lp * -(1 - eps)
                if self.w is not None:
                    d = d * self._w_row(x.ndim)
                g_gy = self._to_gy(gz * d)
            return gx, gt, g_gy
        p = Softmax.apply(x, axis=1)
        q = self._q_op(x, t)
        s = q.sum(axis=1, keepdims=True)
        if needs[0]:
            gx = SoftmaxGrad.apply(p, gz * G * s, axis=1)
        if needs[1]:
            k = G * (1 - eps)
            if self.w is not None:
                k = k * self._w_row(x.ndim)
            gt = k * ((gz * p).sum(axis=1, keepdims=True) - gz)
        if needs[2]:
            g_gy = self._to_gy(gz * (p * s - q))
        return gx, gt, g_gy


def _unbatched(input: Any, target: Any, probs: bool) -> tuple[Any, Any]:
    input = input.reshape(1, -1)
    if probs:
        target = target.reshape(1, -1)
    else:
        target = np.asarray(target).reshape(1)
    return input, target


def cross_entropy(
    input: Variable,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Variable:
    """Cross-entropy between softmax(``input``) over axis 1 and ``target``.

    Args:
        input: logits ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)``.
        target: class indices (integers, shape ``(N,)`` / ``(N, d1, ...)``), or class
            probabilities with the input's shape (may require grad).
        weight: optional per-class weights ``(C,)``.
        ignore_index: class-index target value that contributes nothing (indices only).
        reduction: ``'mean'`` (weighted mean), ``'sum'`` or ``'none'``.
        label_smoothing: ``eps`` in ``[0, 1]``: targets become ``(1 - eps) y + eps / C``.
    """
    check_reduction(reduction)
    eps = label_smoothing
    if type(eps) is not float or not 0.0 <= eps <= 1.0:
        eps = check_number("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0)
    if not isinstance(input, Variable):
        input = layer_input(input, "cross_entropy")
    if input.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input logits must be floating, got dtype {input.dtype}")
    t = _data(target, "cross_entropy")
    probs = t.dtype.kind == "f"
    if not probs and t.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: target must be integer indices or float probabilities, "
            f"got dtype {t.dtype}"
        )
    squeeze = input.ndim == 1
    if squeeze:
        input, target = _unbatched(input, target if probs else t, probs)
        t = _data(target)
    if input.ndim < 2:
        raise ValueError(f"cross_entropy: input must have shape (N, C, ...), got {input.shape}")
    w = _const(weight, input.dtype)
    if w is not None and w.shape != (input.shape[1],):
        raise ValueError(f"cross_entropy: weight has shape {w.shape}, expected ({input.shape[1]},)")
    if probs:
        input, target = _prepare_pair(input, target, "cross_entropy")
        out = CrossEntropy.apply(
            input, target, idx=None, w=w, ignore_index=ignore_index, reduction=reduction, eps=eps
        )
    else:
        out = CrossEntropy.apply(
            input, None, idx=t, w=w, ignore_index=ignore_index, reduction=reduction, eps=eps
        )
    if squeeze and reduction == "none":
        out = out.reshape(())
    return out


class NLL(_Loss):
    """``-w_t x_t``; the gradient is ``G q`` with the constant ``q = -w_t onehot(t)``."""

    def forward(self, x: np.ndarray, idx: Any, w: Any, ignore_index: int, reduction: str):
        self.reduction = reduction
        safe, keep = _class_targets(idx, x.shape, ignore_index, "nll_loss")
        if keep is None:
            keep = np.ones(safe.shape, dtype=bool)
        tw = (keep.astype(x.dtype) if w is None else w[safe] * keep).astype(x.dtype, copy=False)
        picked = np.take_along_axis(x, safe[:, None], axis=1)[:, 0]
        self.safe, self.tw, self.c = safe, tw, x.shape[1]
        return self._reduce((-picked * tw).astype(x.dtype, copy=False), float(tw.sum()))

    def backward(self, gy: Variable) -> Any:
        shape = self.safe.shape
        q = np.zeros(shape[:1] + (self.c,) + shape[1:], dtype=self.tw.dtype)
        np.put_along_axis(q, self.safe[:, None], -self.tw[:, None], axis=1)
        if self.reduction == "none":
            return gy.unsqueeze(1) * q
        return gy * (q * self.scale if self.scale != 1.0 else q)


def nll_loss(
    input: Variable,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Variable:
    """Negative log-likelihood ``-w_t x_t`` of log-probabilities ``input`` (``(N, C, ...)``)."""
    check_reduction(reduction)
    if not isinstance(input, Variable):
        input = layer_input(input, "nll_loss")
    t = _data(target, "nll_loss")
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {t.dtype}")
    squeeze = input.ndim == 1
    if squeeze:
        input, t = _unbatched(input, t, False)
    if input.ndim < 2:
        raise ValueError(f"nll_loss: input must have shape (N, C, ...), got {input.shape}")
    w = _const(weight, input.dtype)
    if w is not None and w.shape != (input.shape[1],):
        raise ValueError(f"nll_loss: weight has shape {w.shape}, expected ({input.shape[1]},)")
    out = NLL.apply(input, idx=t, w=w, ignore_index=ignore_index, reduction=reduction)
    if squeeze and reduction == "none":
        out = out.reshape(())
    return out


def _xlogx_log(t: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``log t`` where ``t > 0``, else 0 (so that ``t log t = 0`` at ``t = 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, np.log(np.where(t > 0, t, 1)), 0).astype(dtype, copy=False)


class KLDiv(_Loss):
    def forward(self, x: np.ndarray, t: Any, reduction: str, log_target: bool) -> np.ndarray:
        self.reduction, self.log_target = reduction, log_target
        if log_target:
            elems = np.exp(t) * (t - x)
        else:
            elems = t * (_xlogx_log(t, x.dtype) - x)
        self.save_for_backward(x, t)
        denom = x.shape[0] if reduction == "batchmean" and x.ndim else None
        if reduction == "batchmean":
            self.reduction = "mean"
        return self._reduce(elems.astype(x.dtype, copy=False), denom)

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        needs = self.needs_input_grad
        kw = dict(log_target=self.log_target, **self._params())
        gx = KLDivGrad.apply(x, t, gy, wrt="input", **kw) if needs[0] else None
        gt = KLDivGrad.apply(x, t, gy, wrt="target", **kw) if needs[1] else None
        return gx, gt


class KLDivGrad(_LossGrad):
    """``wrt='input'``: ``-G f(t)`` with ``f(t) = t`` (``e^t`` for log targets);
    ``wrt='target'``: ``G (log t + 1 - x)`` (``G e^t (t - x + 1)`` for log targets)."""

    def forward(
        self, x: np.ndarray, t: Any, gy: np.ndarray, wrt: str, log_target: bool,
        reduction: str, scale: float,
    ) -> np.ndarray:  # fmt: skip
        self.wrt, self.log_target, self.reduction, self.scale = wrt, log_target, reduction, scale
        self.save_for_backward(x, t, gy)
        g = self._g(gy)
        if wrt == "input":
            return (-g * (np.exp(t) if log_target else t)).astype(x.dtype, copy=False)
        if log_target:
            return (g * np.exp(t) * (t - x + 1)).astype(x.dtype, copy=False)
        return (g * (_xlogx_log(t, x.dtype) + 1 - x)).astype(x.dtype, copy=False)

    def backward(self, gz: Variable) -> Any:
        x, t, gy = self.saved_tensors
        needs = self.needs_input_grad
        G = self._g_op(gy)
        tv = t if isinstance(t, Variable) else Variable(np.asarray(t))
        gx = gt = g_gy = None
        if self.wrt == "input":
            f = tv.exp() if self.log_target else tv
            if needs[1]:
                gt = -gz * G * (f if self.log_target else 1)
            if needs[2]:
                g_gy = self._to_gy(-gz * f)
            return gx, gt, g_gy
        if self.log_target:
            et = tv.exp()
            if needs[0]:
                gx = -gz * G * et
            if needs[1]:
                gt = gz * G * et * (tv - x + 2)
            if needs[2]:
                g_gy = self._to_gy(gz * et * (tv - x + 1))
            return gx, gt, g_gy
        pos = tv.data > 0
        if needs[0]:
            gx = -gz * G
        if needs[1]:
            one = np.ones((), tv.dtype)
            gt = gz * G * pos.astype(tv.dtype) / maligrad.where(pos, tv, one)
        if needs[2]:
            one = np.ones((), tv.dtype)
            logt = maligrad.where(pos, maligrad.where(pos, tv, one).log(), np.zeros((), tv.dtype))
            g_gy = self._to_gy(gz * (logt + 1 - x))
        return gx, gt, g_gy


def kl_div(
    input: Variable,
    target: Any,
    reduction: str = "mean",
    log_target: bool = False,
) -> Variable:
    """Kullback-Leibler divergence ``t (log t - x)`` with ``input`` = log-probabilities.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL divergence);
    ``'mean'`` averages over every element, as in PyTorch. ``log_target``: ``target`` holds
    log-probabilities.
    """
    check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    input, target = _prepare_pair(input, target, "kl_div")
    return KLDiv.apply(input, target, reduction=reduction, log_target=log_target)
