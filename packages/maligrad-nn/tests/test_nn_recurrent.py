"""RNN, LSTM, GRU and their cells: forward against a numpy loop, gradients by gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest

import maligrad as mg
from maligrad import nn


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    n = h.shape[-1]
    if mode == "LSTM":
        g = gi + gh
        i, f, gg, o = (
            _sig(g[:, :n]),
            _sig(g[:, n : 2 * n]),
            np.tanh(g[:, 2 * n : 3 * n]),
            _sig(g[:, 3 * n :]),
        )
        c = f * c + i * gg
        return o * np.tanh(c), c
    if mode == "GRU":
        r = _sig(gi[:, :n] + gh[:, :n])
        z = _sig(gi[:, n : 2 * n] + gh[:, n : 2 * n])
        cand = np.tanh(gi[:, 2 * n :] + r * gh[:, 2 * n :])
        return (1 - z) * cand + z * h, None
    pre = gi + gh
    return (np.maximum(pre, 0) if mode == "RNN_RELU" else np.tanh(pre)), None


def np_rnn(module, mode, x, h0, c0):
    """Reference forward of a (L, N, H_in) sequence through every layer and direction."""
    dirs = 2 if module.bidirectional else 1
    hs, cs = [], []
    for layer in range(module.num_layers):
        outs = []
        for d in range(dirs):
            tag = f"l{layer}{'_reverse' if d else ''}"
            p = {k: getattr(module, f"{k}_{tag}").data for k in ("weight_ih", "weight_hh")}
            for k in ("bias_ih", "bias_hh"):
                p[k] = getattr(module, f"{k}_{tag}").data if module.bias else 0.0
            h, c = h0[layer * dirs + d], None if c0 is None else c0[layer * dirs + d]
            seq = [None] * x.shape[0]
            order = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
            for t in order:
                h, c = np_step(mode, x[t], h, c, *p.values())
                seq[t] = h
            outs.append(np.stack(seq))
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, axis=-1)
    return x, np.stack(hs), (np.stack(cs) if c0 is not None else None)


CASES = [
    # (class, kwargs)
    (nn.RNN, {}),
    (nn.RNN, {"nonlinearity": "relu", "num_layers": 2}),
    (nn.LSTM, {"num_layers": 2, "bidirectional": True}),
    (nn.LSTM, {"batch_first": True, "bias": False}),
    (nn.GRU, {"bidirectional": True, "batch_first": True}),
    (nn.GRU, {"num_layers": 2}),
]


def _mode(cls, kw):
    if cls is nn.RNN:
        return "RNN_RELU" if kw.get("nonlinearity") == "relu" else "RNN_TANH"
    return cls.__name__


@pytest.mark.parametrize("cls,kw", CASES)
def test_sequence_models_forward(cls, kw):
    rng = np.random.default_rng(0)
    m = cls(3, 4, generator=rng, **kw)
    mode, dirs, layers = _mode(cls, kw), 1 + m.bidirectional, m.num_layers
    x = rng.normal(size=(5, 2, 3)).astype(np.float32)  # (L, N, H_in)
    h0 = rng.normal(size=(layers * dirs, 2, 4)).astype(np.float32)
    c0 = rng.normal(size=h0.shape).astype(np.float32) if mode == "LSTM" else None
    xin = x.swapaxes(0, 1) if m.batch_first else x
    state = (mg.Variable(h0), mg.Variable(c0)) if c0 is not None else mg.Variable(h0)
    out, hn = m(mg.Variable(xin), state)
    ref_out, ref_h, ref_c = np_rnn(m, mode, x, h0, c0)
    if m.batch_first:
        ref_out = ref_out.swapaxes(0, 1)
    if mode == "LSTM":
        hn, cn = hn
        np.testing.assert_allclose(cn.data, ref_c, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hn.data, ref_h, rtol=1e-5, atol=1e-6)
    # Default initial state is zeros; unbatched (L, H_in) inputs work.
    out0, _ = m(mg.Variable(x[:, :1].swapaxes(0, 1) if m.batch_first else x[:, :1]))
    out1, h1 = m(mg.Variable(x[:, 0]))
    np.testing.assert_allclose(out1.data, out0.data.reshape(out1.shape), atol=1e-6)
    assert (h1[0] if mode == "LSTM" else h1).shape == (layers * dirs, 4)


@pytest.mark.parametrize(
    "cls,kw",
    [(nn.RNN, {"bidirectional": True}), (nn.LSTM, {"num_layers": 2}), (nn.GRU, {})],
)
def test_sequence_models_gradcheck(cls, kw):
    rng = np.random.default_rng(1)
    m = cls(2, 3, dtype=np.float64, generator=rng, **kw)
    x = mg.Variable(rng.normal(size=(3, 2, 2)), requires_grad=True)
    h0 = mg.Variable(rng.normal(size=(m.num_layers * (1 + m.bidirectional), 2, 3)))
    h0.requires_grad_()
    w = m.weight_hh_l0

    def fn(x, h0, w_hh):
        object.__setattr__(m, "weight_hh_l0", w_hh)  # a plain Variable: gradcheck's copy
        state = (h0, h0 * 0.5) if cls is nn.LSTM else h0
        out, hn = m(x, state)
        return out, hn[0] if cls is nn.LSTM else hn

    assert mg.gradcheck(fn, [x, h0, mg.Variable(w.data, requires_grad=True)])


def test_lstm_backward_reaches_all_parameters_float32():
    rng = np.random.default_rng(2)
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, generator=rng)
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in names and len(names) == 16
    assert m.weight_ih_l1.shape == (16, 8)
    bound = 1 / math.sqrt(4)
    assert all(np.abs(p.data).max() <= bound for p in m.parameters())
    out, (h, c) = m(mg.Variable(rng.normal(size=(2, 5, 3)).astype(np.float32)))
    assert out.shape == (2, 5, 8) and h.shape == (4, 2, 4) and c.shape == (4, 2, 4)
    (out.sum() + h.sum() + c.sum()).backward()
    for p in m.parameters():
        assert p.grad is not None and p.grad.dtype == np.float32


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells(cls):
    rng = np.random.default_rng(3)
    cell = cls(3, 4, dtype=np.float64, generator=rng)
    mode = {nn.RNNCell: "RNN_TANH", nn.LSTMCell: "LSTM", nn.GRUCell: "GRU"}[cls]
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    c = rng.normal(size=(2, 4))
    p = [cell.weight_ih.data, cell.weight_hh.data, cell.bias_ih.data, cell.bias_hh.data]
    ref_h, ref_c = np_step(mode, x, h, c, *p)
    if mode == "LSTM":
        out_h, out_c = cell(mg.Variable(x), (mg.Variable(h), mg.Variable(c)))
        np.testing.assert_allclose(out_c.data, ref_c, atol=1e-12)

        def fn(x, h, c):
            return cell(x, (h, c))

        inputs = [x, h, c]
    else:
        out_h = cell(mg.Variable(x), mg.Variable(h))

        def fn(x, h):
            return cell(x, h)

        inputs = [x, h]
    np.testing.assert_allclose(out_h.data, ref_h, atol=1e-12)
    assert mg.gradcheck(fn, [mg.Variable(v, requires_grad=True) for v in inputs])
    # Unbatched input and default zero state.
    single = cell(mg.Variable(x[0]))
    single = single[0] if mode == "LSTM" else single
    assert single.shape == (4,)


def test_rnn_cell_relu_and_errors():
    cell = nn.RNNCell(2, 3, nonlinearity="relu")
    assert (cell(mg.Variable(np.ones((4, 2), np.float32))).data >= 0).all()
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        cell(mg.Variable(np.ones((4, 3), np.float32)))
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"\(1, 2, 4\)"):
        lstm(mg.Variable(np.ones((5, 2, 3), np.float32)), (mg.Variable(np.zeros((2, 2, 4))),) * 2)
    with pytest.raises(ValueError, match="H_in=3"):
        lstm(mg.Variable(np.ones((5, 2, 2), np.float32)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="sigmoid")


def test_dropout_between_layers_only_in_training():
    rng = np.random.default_rng(4)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5, generator=rng)
    x = mg.Variable(rng.normal(size=(4, 2, 3)).astype(np.float32))
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.data, b.data)
    m.train()
    c, _ = m(x)
    assert not np.allclose(a.data, c.data)
