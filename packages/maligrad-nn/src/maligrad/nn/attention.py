"""``MultiheadAttention`` and ``TransformerEncoderLayer`` (PyTorch's names and layouts).

Multi-head attention projects ``query``, ``key``, ``value`` by ``W_q, W_k, W_v`` (stacked in
``in_proj_weight (3E, E)``), splits ``E`` into ``num_heads`` heads of ``D = E / h``, runs
``softmax(Q K^T / sqrt(D) + M) V`` per head and recombines through ``out_proj``::

    MHA(q, k, v) = concat_h(softmax(q W_q^h (k W_k^h)^T / sqrt(D) + M) v W_v^h) W_o^T + b_o

Masks use ``nn.MultiheadAttention``'s convention: a boolean ``attn_mask`` or
``key_padding_mask`` is True where attention is *not* allowed; a float mask is added.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = mg.Variable(np.zeros((3, 5, 8), np.float32))
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn import init
from maligrad.nn.dropout import Dropout
from maligrad.nn.functional._common import check_number, check_size, layer_input
from maligrad.nn.functional.activation import gelu, relu
from maligrad.nn.functional.attention import additive_mask, attention, causal_mask
from maligrad.nn.functional.linear import linear
from maligrad.nn.linear import Linear
from maligrad.nn.module import Module
from maligrad.nn.normalization import LayerNorm
from maligrad.nn.parameter import Parameter, parameter_dtype

__all__ = ["MultiheadAttention", "TransformerEncoderLayer"]


_MHA = "MultiheadAttention"


class MultiheadAttention(Module):
    """Multi-head attention; ``forward`` returns ``(output, attention weights or None)``.

    Args:
        embed_dim: ``E``, the model width (divisible by ``num_heads``).
        num_heads: number of heads.
        dropout: dropout on the attention weights (training mode only).
        bias: learn ``in_proj_bias`` and ``out_proj.bias``.
        kdim, vdim: key/value widths when they differ from ``E`` (separate
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` then).
        batch_first: inputs ``(N, L, E)`` instead of ``(L, N, E)``.

    Initialisation as PyTorch: ``xavier_uniform_`` projections, zero biases.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        embed_dim = check_size("MultiheadAttention", "embed_dim", embed_dim)
        num_heads = check_size("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} must be divisible by "
                f"num_heads={num_heads}"
            )
        dropout = check_number("MultiheadAttention", "dropout", dropout, 0.0, 1.0)
        if kdim is not None:
            kdim = check_size("MultiheadAttention", "kdim", kdim)
        if vdim is not None:
            vdim = check_size("MultiheadAttention", "vdim", vdim)
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv/add_zero_attn")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first, self.generator = float(dropout), batch_first, generator
        dtype = parameter_dtype(dtype)
        e = embed_dim
        # Either the stacked in_proj_weight or the three separate ones exist, never both.
        self.in_proj_weight: Parameter | None
        self.q_proj_weight: Parameter | None
        self.k_proj_weight: Parameter | None
        self.v_proj_weight: Parameter | None
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), dtype))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(np.empty((e, e), dtype))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), dtype))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * e, dtype)) if bias else None
        self.out_proj = Linear(e, e, bias=bias, dtype=dtype, generator=generator)
        self._reset_parameters(generator)

    def _reset_parameters(self, generator: np.random.Generator | None) -> None:
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w, generator=generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, q: Any, k: Any, v: Any, self_attention: bool) -> tuple[Any, Any, Any]:
        e, b, w = self.embed_dim, self.in_proj_bias, self.in_proj_weight
        if w is not None and self_attention:
            qkv = linear(q, w, b)
            return qkv[..., :e], qkv[..., e : 2 * e], qkv[..., 2 * e :]
        if w is not None:
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            assert self.q_proj_weight is not None and self.k_proj_weight is not None
            assert self.v_proj_weight is not None
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq = bk = bv = None
        if b is not None:
            bq, bk, bv = b[:e], b[e : 2 * e], b[2 * e :]
        return linear(q, wq, bq), linear(k, wk, bk), linear(v, wv, bv)

    def _mask(
        self, attn_mask: Any, key_padding_mask: Any, is_causal: bool, n: int, lq: int, s: int,
        dtype: Any,
    ) -> np.ndarray | None:  # fmt: skip
        mask = None
        h = self.num_heads
        if attn_mask is not None:
            m = additive_mask(attn_mask, dtype, keep_when_true=False)
            if m.shape == (lq, s):
                mask = m
            elif m.shape == (n * h, lq, s):
                mask = m.reshape(n, h, lq, s)
            else:
                raise ValueError(
                    f"MultiheadAttention: attn_mask must have shape {(lq, s)} or "
                    f"{(n * h, lq, s)}, got {m.shape}"
                )
        elif is_causal:
            mask = causal_mask(lq, s, dtype)
        if key_padding_mask is not None:
            kp = additive_mask(key_padding_mask, dtype, keep_when_true=False)
            if kp.shape != (n, s):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must have shape {(n, s)}, got {kp.shape}"
                )
            kp = kp.reshape(n, 1, 1, s)
            mask = kp if mask is None else mask + kp
        return mask

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Variable, Variable | None]:
        """Attend from ``query (L, N, E)`` to ``key (S, N, kdim)``/``value (S, N, vdim)``
        (``(N, L, E)`` with ``batch_first``; ``(L, E)`` unbatched).

        Returns the output (the query's layout) and, when ``need_weights``, the attention
        weights ``(N, L, S)`` (averaged over heads) or ``(N, h, L, S)``.
        """
        self_attention = query is key and key is value
        q = query if isinstance(query, Variable) else layer_input(query, _MHA, "query")
        k = key if isinstance(key, Variable) else layer_input(key, _MHA, "key")
        v = value if isinstance(value, Variable) else layer_input(value, _MHA, "value")
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(
                "MultiheadAttention: query, key and value must all be 3-D (batched) or 2-D, "
                f"got shapes {q.shape}, {k.shape}, {v.shape}"
            )
        batched = q.ndim == 3
        if not batched:
            q, k, v = (t.reshape(1, *t.shape) for t in (q, k, v))
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))
                key_padding_mask = key_padding_mask.reshape(1, -1)
        elif not self.batch_first:
            q, k, v = (t.swapaxes(0, 1) for t in (q, k, v))
        n, lq, e = q.shape
        s = k.shape[1]
        if e != self.embed_dim or k.shape[2] != self.kdim or v.shape[2] != self.vdim:
            raise ValueError(
                f"MultiheadAttention: expected widths E={self.embed_dim}, kdim={self.kdim}, "
                f"vdim={self.vdim}; got query {query.shape}, key {key.shape}, value "
                f"{value.shape}"
            )
        if k.shape[:2] != v.shape[:2] or k.shape[0] != n:
            raise ValueError(
                f"MultiheadAttention: key {key.shape} and value {value.shape} must share batch "
                f"and source length with the query's batch {n}"
            )
        qp, kp, vp = self._project(q, k, v, self_attention)
        h, d = self.num_heads, self.head_dim
        qh = qp.reshape(n, lq, h, d).swapaxes(1, 2)
        kh = kp.reshape(n, s, h, d).swapaxes(1, 2)
        vh = vp.reshape(n, s, h, d).swapaxes(1, 2)
        mask = self._mask(attn_mask, key_padding_mask, is_causal, n, lq, s, q.dtype)
        p = self.dropout if self.training else 0.0
        out, weights = attention(qh, kh, vh, mask, p, None, self.generator)
        out = self.out_proj(out.swapaxes(1, 2).reshape(n, lq, e))
        if need_weights and average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            out = out.reshape(lq, e)
            if need_weights:
                weights = weights.reshape(*weights.shape[1:])
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        return out, (weights if need_weights else None)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each in a residual branch with LayerNorm.

    ``norm_first=False`` (post-norm, the original Transformer)::

        x = norm1(x + dropout1(self_attn(x, x, x)))
        x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

    ``norm_first=True`` applies each norm at the start of its branch instead.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
        >>> layer(mg.Variable(np.zeros((2, 7, 16), np.float32))).shape
        (2, 7, 16)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Any], Any] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        d_model = check_size("TransformerEncoderLayer", "d_model", d_model)
        nhead = check_size("TransformerEncoderLayer", "nhead", nhead)
        dim_feedforward = check_size("TransformerEncoderLayer", "dim_feedforward", dim_feedforward)
        dropout = check_number("TransformerEncoderLayer", "dropout", dropout, 0.0, 1.0)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype,
            generator=generator,
        )  # fmt: skip
        self.linear1 = Linear(d_model, dim_feedforward, bias, dtype, generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias, dtype, generator)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        act: Callable[[Any], Any]
        if isinstance(activation, str):
            if activation not in ("relu", "gelu"):
                raise ValueError(
                    f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a "
                    f"callable, got {activation!r}"
                )
            act = relu if activation == "relu" else gelu
        else:
            act = activation
        self.activation = act

    def _sa_block(self, x: Any, mask: Any, padding_mask: Any, is_causal: bool) -> Any:
        out, _ = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=padding_mask, need_weights=False,
            is_causal=is_causal,
        )  # fmt: skip
        return self.dropout1(out)

    def _ff_block(self, x: Any) -> Any:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(
        self,
        src: Any,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> Variable:
        """Encode ``src`` (``(L, N, E)``, ``(N, L, E)`` with ``batch_first``, or ``(L, E)``)."""
        x = src if isinstance(src, Variable) else layer_input(src, "TransformerEncoderLayer", "src")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))
