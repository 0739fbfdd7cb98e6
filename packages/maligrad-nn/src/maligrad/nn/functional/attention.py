"""Scaled dot-product attention (the core of ``MultiheadAttention``).

The layer is [`MultiheadAttention`][maligrad.nn.MultiheadAttention].

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d) + M) V

over the last two axes of ``query (..., L, E)``, ``key (..., S, E)`` and ``value (..., S, Ev)``
(leading axes broadcast). ``M`` is the mask: a boolean ``attn_mask`` keeps the positions
where it is True (PyTorch's convention for this function), a float mask is added to the
scores, ``is_causal=True`` keeps ``j <= i``. It is composed of maligrad ops (matmul,
softmax, ...), so every derivative order works.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad.nn.functional import scaled_dot_product_attention
    >>> q = mg.Variable(np.zeros((1, 3, 4), np.float32))
    >>> v = mg.Variable(np.arange(12.0, dtype=np.float32).reshape(1, 3, 4))
    >>> scaled_dot_product_attention(q, q, v, is_causal=True).data[0, :, 0]
    array([0., 2., 4.], dtype=float32)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import maligrad as mg
from maligrad.nn.functional._common import layer_input
from maligrad.nn.functional.activation import softmax
from maligrad.nn.functional.dropout import dropout

__all__ = ["scaled_dot_product_attention"]


def additive_mask(mask: Any, dtype: Any, keep_when_true: bool) -> np.ndarray:
    """A float mask (0 where attended, ``-inf`` where not) from a boolean or float mask."""
    m = mask.data if isinstance(mask, mg.Variable) else np.asarray(mask)
    if m.dtype == np.bool_:
        allowed = m if keep_when_true else ~m
        return np.where(allowed, 0.0, -np.inf).astype(dtype)
    if m.dtype.kind != "f":
        raise TypeError(f"attention masks must be boolean or floating, got dtype {m.dtype}")
    return m.astype(dtype, copy=False)


def causal_mask(length: int, source: int, dtype: Any) -> np.ndarray:
    """``(L, S)`` additive mask that hides ``j > i``."""
    return np.triu(np.full((length, source), -np.inf, dtype=dtype), k=1)


def attention(
    query: Any,
    key: Any,
    value: Any,
    mask: np.ndarray | None,
    dropout_p: float,
    scale: float | None,
    generator: np.random.Generator | None,
) -> tuple[Any, Any]:
    """``(dropout(softmax(q k^T scale + mask)) v, weights)`` with ``mask`` already additive.

    The weights returned are those applied to ``v``, after dropout (as in PyTorch).
    """
    d = query.shape[-1]
    s = np.asarray(1.0 / math.sqrt(d) if scale is None else scale, dtype=query.dtype)
    scores = mg.matmul(query * s, key.swapaxes(-1, -2))
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True, generator=generator)
    return mg.matmul(weights, value), weights


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    generator: np.random.Generator | None = None,
) -> mg.Variable:
    """``softmax(Q K^T * scale + mask) V`` over the last two axes; see the module docstring.

    Args:
        query: ``(..., L, E)``; key: ``(..., S, E)``; value: ``(..., S, Ev)``.
        attn_mask: boolean (True = may attend) or float (added to the scores), broadcastable
            to ``(..., L, S)``. Not allowed together with ``is_causal``.
        dropout_p: dropout probability on the attention weights (always applied when > 0,
            as in PyTorch; pass 0.0 in evaluation).
        is_causal: hide future positions (``j > i``).
        scale: defaults to ``1 / sqrt(E)``.

    Returns:
        ``(..., L, Ev)``.
    """
    q = query if isinstance(query, mg.Variable) else layer_input(query, "attention", "query")
    k = key if isinstance(key, mg.Variable) else layer_input(key, "attention", "key")
    v = value if isinstance(value, mg.Variable) else layer_input(value, "attention", "value")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(
            f"scaled_dot_product_attention: query, key, value need at least 2 dimensions, got "
            f"shapes {q.shape}, {k.shape}, {v.shape}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "scaled_dot_product_attention: expected query (..., L, E), key (..., S, E) and "
            f"value (..., S, Ev), got shapes {q.shape}, {k.shape}, {v.shape}"
        )
    length, source = q.shape[-2], k.shape[-2]
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, not both")
        mask = causal_mask(length, source, q.dtype)
    elif attn_mask is not None:
        mask = additive_mask(attn_mask, q.dtype, keep_when_true=True)
        try:
            np.broadcast_shapes(mask.shape, (*q.shape[:-1], source))
        except ValueError:
            raise ValueError(
                f"scaled_dot_product_attention: attn_mask of shape {mask.shape} does not "
                f"broadcast to the scores' shape {(*q.shape[:-1], source)}"
            ) from None
    out, _ = attention(q, k, v, mask, dropout_p, scale, generator)
    return out
