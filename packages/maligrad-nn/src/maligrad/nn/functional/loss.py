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
from maligrad.nn.functional._common import check_reduction, recording, wrap


# -- helpers ---------------------------------------------------------------------------
def _data(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Variable) else np.asarray(x)


def _prepare_pair(input: Any, target: Any, fn: str) -> tuple[Any, Any]:
    """Check shapes match and bring a constant target to the input's dtype."""
    if not isinstance(input, Variable):
        input = Variable(np.asarray(input))
    t = _data(target)
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
    """Reduction bookkeeping shared by the loss ops."""

    reduction: str
    denom: float

    def _reduce(self, elems: np.ndarray, denom: float | None = None) -> np.ndarray:
        r = self.reduction
        self.shape = elems.shape
        if r == "none":
            return elems
        total = elems.sum()
        if r == "sum":
            self.denom = 1.0
            return np.asarray(total, dtype=elems.dtype)
        self.denom = float(elems.size if denom is None else denom)
        if self.denom == 0:  # every target ignored (or zero weights): nan, as in PyTorch
            return np.asarray(np.nan, dtype=elems.dtype)
        return np.asarray(total / self.denom, dtype=elems.dtype)

    def _g(self, gy: Variable) -> Any:
        """Output gradient as an array (or Variable when recording) that broadcasts."""
        if self.reduction == "none":
            return gy.data if not recording() else gy
        if self.denom == 1.0:
            return gy.data if not recording() else gy
        scale = 1.0 / self.denom if self.denom else 0.0  # nothing counted: zero gradients
        return gy.data * scale if not recording() else gy * scale


# -- regression losses -------------------------------------------------------------------
class MSE(_Loss):
    def forward(self, x: np.ndarray, t: Any, reduction: str) -> np.ndarray:
        self.reduction = reduction
        d = x - t
        self.d = d
        self.save_for_backward(x, t)
        return self._reduce(d * d)

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        g = self._g(gy)
        if not recording():
            gx = g * 2 * self.d
            return wrap(gx), wrap(-gx)
        gx = (x - t) * g * 2
        return gx, -gx


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
    def forward(self, x: np.ndarray, t: Any, reduction: str) -> np.ndarray:
        self.reduction = reduction
        d = x - t
        self.sign = np.sign(d)
        return self._reduce(np.abs(d))

    def backward(self, gy: Variable) -> Any:
        g = self._g(gy)
        gx = wrap(g * self.sign) if not recording() else g * self.sign
        return gx, -gx


def l1_loss(input: Variable, target: Any, reduction: str = "mean") -> Variable:
    """Mean absolute error ``|x - t|``."""
    check_reduction(reduction)
    input, target = _prepare_pair(input, target, "l1_loss")
    return L1.apply(input, target, reduction=reduction)


class SmoothL1(_Loss):
    """``scale * (d^2 / (2 beta) if |d| < beta else |d| - beta / 2)``."""

    def forward(self, x: np.ndarray, t: Any, reduction: str, beta: float, scale: float):
        self.reduction, self.beta, self.scale = reduction, beta, scale
        d = x - t
        a = np.abs(d)
        self.quad = a < beta
        self.sign = np.sign(d)
        self.save_for_backward(x, t)
        if beta == 0:
            elems = a
        else:
            elems = np.where(self.quad, 0.5 * d * d / beta, a - 0.5 * beta)
        if scale != 1.0:
            elems = elems * scale
        self.d = d
        return self._reduce(elems.astype(x.dtype, copy=False))

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        g = self._g(gy)
        beta, scale = self.beta, self.scale
        if not recording():
            deriv = np.where(self.quad, self.d / beta if beta else 0, self.sign) * scale
            gx = g * deriv.astype(self.d.dtype, copy=False)
            return wrap(gx), wrap(-gx)
        if beta == 0:
            gx = g * (self.sign * scale)
        else:
            sign = (self.sign * scale).astype(self.d.dtype)
            gx = g * maligrad.where(self.quad, (x - t) * (scale / beta), sign)
        return gx, -gx


def smooth_l1_loss(
    input: Variable,
    target: Any,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Variable:
    """Smooth L1: quadratic for ``|x - t| < beta``, linear beyond."""
    check_reduction(reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _prepare_pair(input, target, "smooth_l1_loss")
    return SmoothL1.apply(input, target, reduction=reduction, beta=float(beta), scale=1.0)


def huber_loss(
    input: Variable,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
) -> Variable:
    """Huber: ``d^2 / 2`` for ``|d| < delta``, ``delta (|d| - delta / 2)`` beyond."""
    check_reduction(reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _prepare_pair(input, target, "huber_loss")
    return SmoothL1.apply(input, target, reduction=reduction, beta=float(delta), scale=delta)


# -- binary cross-entropies ------------------------------------------------------------
class BCE(_Loss):
    def forward(self, p: np.ndarray, t: Any, reduction: str, w: np.ndarray | None):
        self.reduction, self.w = reduction, w
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError(
                "binary_cross_entropy: input values must be probabilities in [0, 1], got "
                f"[{p.min()}, {p.max()}]; use binary_cross_entropy_with_logits for logits"
            )
        with np.errstate(divide="ignore"):
            logp = np.maximum(np.log(p), -100)
            log1mp = np.maximum(np.log1p(-p), -100)
        self.logp, self.log1mp = logp, log1mp
        elems = -(t * logp + (1 - t) * log1mp)
        if w is not None:
            elems = elems * w
        self.save_for_backward(p, t)
        return self._reduce(elems.astype(p.dtype, copy=False))

    def backward(self, gy: Variable) -> Any:
        p, t = self.saved_tensors
        needs = self.needs_input_grad
        g = self._g(gy)
        w = self.w
        gp = gt = None
        if not recording():
            pa, ta = p.data, _data(t)
            if needs[0]:
                d = (pa - ta) / np.maximum(pa * (1 - pa), 1e-12)
                gp = g * d if w is None else g * d * w
                gp = wrap(gp.astype(pa.dtype, copy=False))
            if needs[1]:
                d = self.log1mp - self.logp
                gt = g * d if w is None else g * d * w
                gt = wrap(gt.astype(pa.dtype, copy=False))
            return gp, gt
        gw = g if w is None else g * w
        if needs[0]:
            gp = gw * (p - t) / maligrad.maximum(p * (1 - p), 1e-12)
        if needs[1]:
            log1mp = maligrad.maximum((1 - p).log(), -100.0)
            gt = gw * (log1mp - maligrad.maximum(p.log(), -100.0))
        return gp, gt


def binary_cross_entropy(
    input: Variable,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
) -> Variable:
    """``-w (t log p + (1 - t) log(1 - p))`` for probabilities ``p``; logs clamped at -100."""
    check_reduction(reduction)
    input, target = _prepare_pair(input, target, "binary_cross_entropy")
    w = _const(weight, input.dtype)
    return BCE.apply(input, target, reduction=reduction, w=w)


class BCEWithLogits(_Loss):
    def forward(self, x: np.ndarray, t: Any, reduction: str, w: Any, pw: Any) -> np.ndarray:
        self.reduction, self.w, self.pw = reduction, w, pw
        sp_neg = np.logaddexp(0, -x)  # softplus(-x) = log(1 + e^-x), stable
        self.sp_neg = sp_neg
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
        g = self._g(gy)
        w, pw = self.w, self.pw
        gx = gt = None
        if not recording():
            xa, ta = x.data, _data(t)
            s_neg = np.exp(-np.logaddexp(0, xa))  # sigmoid(-x)
            if needs[0]:
                lw = 1 if pw is None else 1 + (pw - 1) * ta
                d = (1 - ta) - lw * s_neg
                gx = g * d if w is None else g * d * w
                gx = wrap(gx.astype(xa.dtype, copy=False))
            if needs[1]:
                d = -xa if pw is None else -xa + (pw - 1) * self.sp_neg
                gt = g * d if w is None else g * d * w
                gt = wrap(gt.astype(xa.dtype, copy=False))
            return gx, gt
        gw = g if w is None else g * w
        s_neg = (-x).sigmoid()
        if needs[0]:
            lw = 1 if pw is None else t * (pw - 1) + 1
            gx = gw * ((1 - t) - lw * s_neg)
        if needs[1]:
            gt = gw * (-x if pw is None else (-x).softplus() * (pw - 1) - x)
        return gx, gt


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
        self.reduction, self.eps, self.w = reduction, eps, w
        c = x.shape[1]
        shifted = x - x.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        log_s = np.log(s)
        self.e, self.sum_e, self.q = e, s, None
        self.save_for_backward(x, t)
        if idx is not None:
            safe, keep = _class_targets(idx, x.shape, ignore_index, "cross_entropy")
            self.safe, self.keep = safe, keep
            if w is None and not eps and x.ndim == 2:
                rows = np.arange(x.shape[0])
                self.rows = rows
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
            self.w = None
        else:
            tt = t * (1 - eps) + eps / c if eps else t
            q = _class_weights(tt.astype(x.dtype, copy=False), w, x.ndim)
            denom = None
        self.q = q
        elems = -(q * (shifted - log_s)).sum(axis=1)
        return self._reduce(elems, float(elems.size) if denom is None else denom)

    def _dense_q(self) -> np.ndarray:
        if self.q is None:  # the fast path: one-hot rows, zero where ignored
            q = np.zeros_like(self.e)
            q[self.rows, self.safe] = 1
            if self.keep is not None:
                q *= self.keep[:, None]
            self.q = q
        return self.q

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        needs = self.needs_input_grad
        g = self._g(gy)
        eps = self.eps
        gx = gt = None
        if not recording():
            if self.reduction == "none":
                g = np.expand_dims(g, 1)
            if needs[0] and self.q is None:
                gx = self.e / self.sum_e
                gx[self.rows, self.safe] -= 1
                if self.keep is not None:
                    gx *= self.keep[:, None]
                gx *= g
                return wrap(gx), None
            if needs[0]:
                q = self.q
                assert q is not None  # the q-is-None case returned above
                gx = wrap(g * (self.e / self.sum_e * q.sum(axis=1, keepdims=True) - q))
            if needs[1]:
                d = -(1 - eps) * (np.log(self.e) - np.log(self.sum_e))
                d = _class_weights(d, self.w, d.ndim)
                gt = wrap((g * d).astype(x.data.dtype, copy=False))
            return gx, gt
        if self.reduction == "none":
            g = g.unsqueeze(1)
        logp = x - x.logsumexp(axis=1, keepdims=True)
        if needs[1]:
            c = x.shape[1]
            q = t * (1 - eps) + eps / c if eps else t
            wr = None if self.w is None else self.w.reshape((1, -1) + (1,) * (x.ndim - 2))
            if wr is not None:
                q = q * wr
            s = q.sum(axis=1, keepdims=True)
            d = logp * -(1 - eps)
            gt = g * (d if wr is None else d * wr)
        else:
            q = self._dense_q()
            s = q.sum(axis=1, keepdims=True)
        if needs[0]:
            gx = g * (logp.exp() * s - q)
        return gx, gt


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
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(input, Variable):
        input = Variable(np.asarray(input))
    if input.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input logits must be floating, got dtype {input.dtype}")
    t = _data(target)
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
    eps = float(label_smoothing)
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
    def forward(self, x: np.ndarray, idx: Any, w: Any, ignore_index: int, reduction: str):
        self.reduction = reduction
        safe, keep = _class_targets(idx, x.shape, ignore_index, "nll_loss")
        if keep is None:
            keep = np.ones(safe.shape, dtype=bool)
        tw = keep.astype(x.dtype) if w is None else w[safe] * keep
        picked = np.take_along_axis(x, safe[:, None], axis=1)[:, 0]
        self.safe, self.tw, self.c = safe, tw.astype(x.dtype, copy=False), x.shape[1]
        return self._reduce((-picked * self.tw).astype(x.dtype, copy=False), float(tw.sum()))

    def backward(self, gy: Variable) -> Any:
        g = self._g(gy)
        q = np.zeros(self.shape[:1] + (self.c,) + self.shape[1:], dtype=self.tw.dtype)
        np.put_along_axis(q, self.safe[:, None], -self.tw[:, None], axis=1)
        if self.reduction == "none":
            g = np.expand_dims(g, 1) if not recording() else g.unsqueeze(1)
        return wrap(g * q) if not recording() else g * q


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
        input = Variable(np.asarray(input))
    t = _data(target)
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


class KLDiv(_Loss):
    def forward(self, x: np.ndarray, t: Any, reduction: str, log_target: bool) -> np.ndarray:
        self.reduction, self.log_target = reduction, log_target
        if log_target:
            et = np.exp(t)
            self.et = et
            elems = et * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                logt = np.where(t > 0, np.log(np.where(t > 0, t, 1)), 0)
            self.logt = logt.astype(x.dtype, copy=False)
            elems = t * (self.logt - x)
        self.save_for_backward(x, t)
        denom = x.shape[0] if reduction == "batchmean" and x.ndim else None
        if reduction == "batchmean":
            self.reduction = "mean"
        return self._reduce(elems.astype(x.dtype, copy=False), denom)

    def backward(self, gy: Variable) -> Any:
        x, t = self.saved_tensors
        needs = self.needs_input_grad
        g = self._g(gy)
        gx = gt = None
        if not recording():
            xa, ta = x.data, _data(t)
            if self.log_target:
                if needs[0]:
                    gx = wrap(-g * self.et)
                if needs[1]:
                    gt = wrap(g * self.et * (ta - xa + 1))
            else:
                if needs[0]:
                    gx = wrap(-g * ta)
                if needs[1]:
                    gt = wrap(g * (self.logt + 1 - xa))
            return gx, gt
        if self.log_target:
            et = t.exp() if isinstance(t, Variable) else self.et
            if needs[0]:
                gx = -g * et
            if needs[1]:
                gt = g * et * (t - x + 1)
        else:
            if needs[0]:
                gx = -g * t
            if needs[1]:
                gt = g * (t.log() + 1 - x)
        return gx, gt


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
