"""Attention: scaled_dot_product_attention, MultiheadAttention, TransformerEncoderLayer."""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn


def np_softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_sdpa(q, k, v, add_mask=None):
    s = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    if add_mask is not None:
        s = s + add_mask
    w = np_softmax(s)
    return w @ v, w


def test_sdpa_forward_masks():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(6, 2))
    out = F.scaled_dot_product_attention(mg.Variable(q), mg.Variable(k), mg.Variable(v))
    np.testing.assert_allclose(out.data, np_sdpa(q, k, v)[0], atol=1e-12)
    keep = rng.random((4, 6)) > 0.3
    keep[:, 0] = True
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    np.testing.assert_allclose(
        out.data, np_sdpa(q, k, v, np.where(keep, 0, -np.inf))[0], atol=1e-12
    )
    fmask = rng.normal(size=(4, 6))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=fmask, scale=0.3)
    s = q @ k.swapaxes(-1, -2) * 0.3 + fmask
    np.testing.assert_allclose(out.data, np_softmax(s) @ v, atol=1e-12)
    out = F.scaled_dot_product_attention(q, k[..., :4, :], v[:4], is_causal=True)
    causal = np.triu(np.full((4, 4), -np.inf), 1)
    np.testing.assert_allclose(out.data, np_sdpa(q, k[..., :4, :], v[:4], causal)[0], atol=1e-12)


def test_sdpa_gradients_and_dtype():
    rng = np.random.default_rng(1)
    qkv = [mg.Variable(rng.normal(size=(2, 3, 2)), requires_grad=True) for _ in range(3)]
    assert mg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), qkv)
    assert mg.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), qkv
    )
    assert mg.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), qkv)
    q32 = mg.Variable(rng.normal(size=(2, 3, 4)).astype(np.float32), requires_grad=True)
    out = F.scaled_dot_product_attention(q32, q32, q32, dropout_p=0.5)
    assert out.dtype == np.float32
    out.sum().backward()
    assert q32.grad.dtype == np.float32


def test_sdpa_errors():
    q = mg.Variable(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, mg.Variable(np.zeros((2, 5, 3))), q)
    with pytest.raises(ValueError, match="broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), bool))


def np_mha(m, q, k, v, add_mask=None):
    """Reference multi-head attention over batch-first (N, L, E) arrays."""
    e, h = m.embed_dim, m.num_heads
    w, b = m.in_proj_weight.data, m.in_proj_bias.data
    qp, kp, vp = (
        q @ w[:e].T + b[:e],
        k @ w[e : 2 * e].T + b[e : 2 * e],
        v @ w[2 * e :].T + b[2 * e :],
    )

    def heads(t):
        return t.reshape(t.shape[0], t.shape[1], h, e // h).swapaxes(1, 2)

    out, weights = np_sdpa(heads(qp), heads(kp), heads(vp), add_mask)
    out = out.swapaxes(1, 2).reshape(q.shape[0], q.shape[1], e)
    return out @ m.out_proj.weight.data.T + m.out_proj.bias.data, weights


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_forward(batch_first):
    rng = np.random.default_rng(2)
    m = nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=np.float64, generator=rng)
    m.in_proj_bias.data[:] = rng.normal(size=24)  # nonzero biases exercise the slicing
    q, kv = rng.normal(size=(3, 4, 8)), rng.normal(size=(3, 5, 8))
    pad = np.zeros((3, 5), bool)
    pad[0, 3:] = True  # sequence 0 has two padding positions
    am = np.zeros((4, 5), bool)
    am[1, 0] = True
    add = np.where(am, -np.inf, 0)[None, None] + np.where(pad, -np.inf, 0)[:, None, None, :]
    ref_out, ref_w = np_mha(m, q, kv, kv, add)

    def layout(t):
        return t if batch_first else t.swapaxes(0, 1)

    out, w = m(
        mg.Variable(layout(q)), mg.Variable(layout(kv)), mg.Variable(layout(kv)),
        key_padding_mask=pad, attn_mask=am,
    )  # fmt: skip
    np.testing.assert_allclose(out.data, layout(ref_out), atol=1e-10)
    np.testing.assert_allclose(w.data, ref_w.mean(axis=1), atol=1e-12)
    assert w.data[0, :, 3:].max() == 0 and w.data[:, 1, 0].max() == 0
    _, w_all = m(
        mg.Variable(layout(q)), mg.Variable(layout(kv)), mg.Variable(layout(kv)),
        key_padding_mask=pad, attn_mask=am, average_attn_weights=False,
    )  # fmt: skip
    np.testing.assert_allclose(w_all.data, ref_w, atol=1e-12)


def test_multihead_self_attention_unbatched_causal_and_gradients():
    rng = np.random.default_rng(3)
    m = nn.MultiheadAttention(4, 2, dtype=np.float64, generator=rng)
    x = rng.normal(size=(3, 4))  # unbatched (L, E)
    out, w = m(mg.Variable(x), mg.Variable(x), mg.Variable(x), is_causal=True)
    causal = np.triu(np.full((3, 3), -np.inf), 1)
    ref_out, _ = np_mha(m, x[None], x[None], x[None], causal)
    np.testing.assert_allclose(out.data, ref_out[0], atol=1e-10)
    assert w.shape == (3, 3) and np.allclose(np.triu(w.data, 1), 0)
    xs = mg.Variable(rng.normal(size=(3, 2, 4)), requires_grad=True)
    float_mask = rng.normal(size=(2 * 2, 3, 3))  # per (batch, head) float mask
    assert mg.gradcheck(lambda x: m(x, x, x, attn_mask=float_mask)[0], xs)
    xv = mg.Variable(x, requires_grad=True)
    x_ = mg.Variable(x)
    m(xv, x_, x_)[0].sum().backward()
    assert m.in_proj_weight.grad is not None and m.out_proj.weight.grad is not None


def test_multihead_attention_kdim_vdim_and_init():
    mg.manual_seed(0)
    m = nn.MultiheadAttention(6, 3, kdim=4, vdim=5, batch_first=True)
    assert m.in_proj_weight is None and m.k_proj_weight.shape == (6, 4)
    out, w = m(
        mg.Variable(np.ones((2, 3, 6), np.float32)),
        mg.Variable(np.ones((2, 7, 4), np.float32)),
        mg.Variable(np.ones((2, 7, 5), np.float32)),
        need_weights=False,
    )
    assert out.shape == (2, 3, 6) and w is None and out.dtype == np.float32
    m = nn.MultiheadAttention(8, 2)
    assert np.all(m.in_proj_bias.data == 0) and np.all(m.out_proj.bias.data == 0)
    assert np.abs(m.in_proj_weight.data).max() <= np.sqrt(6 / (8 + 24))
    names = [n for n, _ in m.named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    with pytest.raises(ValueError, match="num_heads"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="key_padding_mask"):
        x = mg.Variable(np.ones((3, 2, 8), np.float32))
        m(x, x, x, key_padding_mask=np.zeros((3, 3), bool))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer(norm_first):
    rng = np.random.default_rng(4)
    layer = nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first,
        dtype=np.float64, generator=rng,
    )  # fmt: skip
    x = rng.normal(size=(2, 5, 8))
    pad = np.zeros((2, 5), bool)
    pad[1, 4] = True
    out = layer(mg.Variable(x), src_key_padding_mask=pad)

    def ln(t, norm):
        mu, var = t.mean(-1, keepdims=True), t.var(-1, keepdims=True)
        return (t - mu) / np.sqrt(var + 1e-5) * norm.weight.data + norm.bias.data

    def sa(t):
        add = np.where(pad, -np.inf, 0)[:, None, None, :]
        return np_mha(layer.self_attn, t, t, t, add)[0]

    def ff(t):
        h = np.maximum(t @ layer.linear1.weight.data.T + layer.linear1.bias.data, 0)
        return h @ layer.linear2.weight.data.T + layer.linear2.bias.data

    if norm_first:
        ref = x + sa(ln(x, layer.norm1))
        ref = ref + ff(ln(ref, layer.norm2))
    else:
        ref = ln(x + sa(x), layer.norm1)
        ref = ln(ref + ff(ref), layer.norm2)
    np.testing.assert_allclose(out.data, ref, atol=1e-9)
    xs = mg.Variable(rng.normal(size=(1, 3, 8)), requires_grad=True)
    assert mg.gradcheck(lambda x: layer(x, is_causal=True), xs)


def test_transformer_encoder_layer_training_float32():
    mg.manual_seed(5)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu")
    x = mg.Variable(np.random.default_rng(5).normal(size=(5, 2, 8)).astype(np.float32))
    out = layer(x)  # (L, N, E), dropout 0.1 active in training mode
    assert out.shape == (5, 2, 8) and out.dtype == np.float32
    out.sum().backward()
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in layer.parameters())
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
