"""Convolutions: forward against naive loops, gradients against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn


def naive_conv2d(x, w, b=None, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1), groups=1):
    """Direct loop over every output element (float64)."""
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    ho = (h + pad[0] + pad[1] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + pad[2] + pad[3] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                r, s = i * stride[0], j * stride[1]
                patch = xp[:, g * cg : (g + 1) * cg, r : r + dil[0] * (kh - 1) + 1 : dil[0]]
                patch = patch[..., s : s + dil[1] * (kw - 1) + 1 : dil[1]]
                y[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
        if b is not None:
            y[:, oc] += b[oc]
    return y


def naive_conv_transpose2d(x, w, b=None, stride=(1, 1), pad=(0, 0), out_pad=(0, 0), groups=1):
    """Scatter every input pixel times the kernel into the output (float64)."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    ho = (h - 1) * stride[0] - 2 * pad[0] + kh + out_pad[0]
    wo = (wd - 1) * stride[1] - 2 * pad[1] + kw + out_pad[1]
    full = np.zeros((n, og * groups, ho + 2 * pad[0] + kh, wo + 2 * pad[1] + kw))
    cg = c // groups
    for ic in range(c):
        g = ic // cg
        for i in range(h):
            for j in range(wd):
                r, s = i * stride[0], j * stride[1]
                full[:, g * og : (g + 1) * og, r : r + kh, s : s + kw] += (
                    x[:, ic, i, j][:, None, None, None] * w[ic][None]
                )
    y = full[:, :, pad[0] : pad[0] + ho, pad[1] : pad[1] + wo]
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def _sym(p):
    p = (p, p) if isinstance(p, int) else p
    return (p[0], p[0], p[1], p[1])


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# (C_in, C_out, kernel, stride, padding, dilation, groups, bias, H, W)
CONV2D_CASES = [
    (2, 3, 3, 1, 0, 1, 1, True, 5, 6),
    (2, 3, 3, 1, 1, 1, 1, False, 5, 5),
    (3, 4, (2, 3), (2, 1), (1, 0), 1, 1, True, 6, 7),
    (4, 6, 3, 2, 1, (1, 2), 2, True, 7, 8),
    (3, 3, 3, 1, 2, 2, 3, False, 6, 6),
    (1, 2, 2, 2, 0, 1, 1, True, 6, 6),
]


@pytest.mark.parametrize("cin,cout,k,s,p,d,g,bias,h,w", CONV2D_CASES)
def test_conv2d_forward_and_gradients(cin, cout, k, s, p, d, g, bias, h, w):
    rng = np.random.default_rng(0)
    kk = _pair(k)
    x = rng.normal(size=(2, cin, h, w))
    wt = rng.normal(size=(cout, cin // g, *kk))
    b = rng.normal(size=cout) if bias else None
    y = F.conv2d(mg.Variable(x), mg.Variable(wt), None if b is None else mg.Variable(b), s, p, d, g)
    ref = naive_conv2d(x, wt, b, _pair(s), _sym(p), _pair(d), g)
    np.testing.assert_allclose(y.data, ref, rtol=1e-10, atol=1e-10)

    xs = [mg.Variable(x[:1, :, :5, :6], requires_grad=True), mg.Variable(wt, requires_grad=True)]
    if bias:
        xs.append(mg.Variable(b, requires_grad=True))

    def fn(*args):
        return F.conv2d(args[0], args[1], args[2] if bias else None, s, p, d, g)

    assert mg.gradcheck(fn, xs)


@pytest.mark.parametrize("case", [CONV2D_CASES[0], CONV2D_CASES[3], CONV2D_CASES[5]])
def test_conv2d_double_backward(case):
    cin, cout, k, s, p, d, g, _, _, _ = case
    rng = np.random.default_rng(1)
    x = mg.Variable(rng.normal(size=(1, cin, 5, 5)), requires_grad=True)
    w = mg.Variable(rng.normal(size=(cout, cin // g, *_pair(k))), requires_grad=True)
    b = mg.Variable(rng.normal(size=cout), requires_grad=True)
    assert mg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, s, p, d, g), [x, w, b])


def test_conv2d_same_padding_even_kernel():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(2, 2, 5, 6)), rng.normal(size=(3, 2, 2, 4))
    y = F.conv2d(mg.Variable(x), mg.Variable(w), padding="same")
    assert y.shape == (2, 3, 5, 6)
    # PyTorch puts the odd extra row/column at the bottom/right.
    np.testing.assert_allclose(y.data, naive_conv2d(x, w, pad=(0, 1, 1, 2)), atol=1e-10)
    y = F.conv2d(mg.Variable(x), mg.Variable(w[:, :, :1, :3]), padding="same", dilation=2)
    np.testing.assert_allclose(
        y.data, naive_conv2d(x, w[:, :, :1, :3], pad=(0, 0, 2, 2), dil=(2, 2)), atol=1e-10
    )
    assert F.conv2d(mg.Variable(x), mg.Variable(w), padding="valid").shape == (2, 3, 4, 3)


def test_conv1d_forward_and_gradients():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 4, 9)), rng.normal(size=(6, 2, 3)), rng.normal(size=6)
    y = F.conv1d(mg.Variable(x), mg.Variable(w), mg.Variable(b), 2, 1, 2, 2)
    ref = naive_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 0, 1, 1), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(y.data, ref, atol=1e-10)
    xs = [mg.Variable(x[:1], requires_grad=True), mg.Variable(w, requires_grad=True)]
    assert mg.gradcheck(lambda x, w: F.conv1d(x, w, None, 2, 1, 2, 2), xs)
    assert F.conv1d(mg.Variable(x), mg.Variable(w[:, :, :2]), groups=2, padding="same").shape == (
        2,
        6,
        9,
    )


@pytest.mark.parametrize(
    "stride,pad,out_pad,groups", [(1, 0, 0, 1), (2, 1, 1, 1), ((2, 3), (0, 1), (1, 2), 2)]
)
def test_conv_transpose2d(stride, pad, out_pad, groups):
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(2, 4, 3, 4)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=6)
    b = b[: 3 * groups]
    y = F.conv_transpose2d(
        mg.Variable(x), mg.Variable(w), mg.Variable(b), stride, pad, out_pad, groups
    )
    ref = naive_conv_transpose2d(x, w, b, _pair(stride), _pair(pad), _pair(out_pad), groups)
    np.testing.assert_allclose(y.data, ref, atol=1e-10)
    xs = [mg.Variable(x[:1, :, :2], requires_grad=True), mg.Variable(w, requires_grad=True)]

    def fn(x, w):
        return F.conv_transpose2d(x, w, None, stride, pad, out_pad, groups)

    assert mg.gradcheck(fn, xs)
    assert mg.gradgradcheck(fn, xs)


def test_conv_transpose_is_adjoint_of_conv():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 3, 7, 7)), rng.normal(size=(4, 3, 3, 3))
    y = F.conv2d(mg.Variable(x), mg.Variable(w), stride=2, padding=1)
    z = rng.normal(size=y.shape)
    back = F.conv_transpose2d(mg.Variable(z), mg.Variable(w), stride=2, padding=1)
    assert back.shape == x.shape
    assert math.isclose(float((y.data * z).sum()), float((back.data * x).sum()), rel_tol=1e-10)


def test_conv_float32_stays_float32():
    rng = np.random.default_rng(6)
    x = mg.Variable(rng.normal(size=(2, 2, 6, 6)).astype(np.float32), requires_grad=True)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(3, 2, 2, stride=2)
    out = up(conv(x))
    assert out.dtype == np.float32 and out.shape == (2, 2, 6, 6)
    out.sum().backward()
    for v in (x, conv.weight, conv.bias, up.weight, up.bias):
        assert v.grad.dtype == np.float32


def test_conv_layers_shapes_and_init():
    mg.manual_seed(0)
    conv = nn.Conv2d(4, 8, (3, 5), stride=2, padding=(1, 2), groups=2)
    assert conv.weight.shape == (8, 2, 3, 5) and conv.bias.shape == (8,)
    bound = 1 / math.sqrt(2 * 3 * 5)  # kaiming_uniform(a=sqrt 5) == U(+-1/sqrt(fan_in))
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound
    assert conv.weight.dtype == np.float32
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    x = mg.Variable(np.zeros((2, 4, 9, 10), np.float32))
    assert conv(x).shape == (2, 8, 5, 5)
    c1 = nn.Conv1d(3, 5, 3, padding="same", bias=False)
    assert c1.bias is None and c1(mg.Variable(np.zeros((2, 3, 7), np.float32))).shape == (2, 5, 7)
    t1 = nn.ConvTranspose1d(3, 4, 3, stride=2, output_padding=1)
    assert t1.weight.shape == (3, 4, 3)
    assert t1(mg.Variable(np.zeros((2, 3, 5), np.float32))).shape == (2, 4, 12)
    t2 = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert t2.weight.shape == (4, 3, 3, 3)
    assert t2(mg.Variable(np.zeros((1, 4, 5, 5), np.float32))).shape == (1, 6, 10, 10)
    a = nn.Conv2d(2, 2, 3, generator=np.random.default_rng(7))
    b = nn.Conv2d(2, 2, 3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_conv_errors_name_shapes():
    x = mg.Variable(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 8\).*\(4, 2, 3, 3\)"):
        F.conv2d(x, mg.Variable(np.zeros((4, 2, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="4-D input"):
        F.conv2d(mg.Variable(np.zeros((8, 8))), mg.Variable(np.zeros((4, 3, 3, 3))))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        F.conv2d(x, mg.Variable(np.zeros((4, 3, 9, 9), np.float32)))
    with pytest.raises(ValueError, match="same"):
        F.conv2d(x, mg.Variable(np.zeros((4, 3, 3, 3), np.float32)), stride=2, padding="same")
    with pytest.raises(ValueError, match="C=5"):
        nn.Conv2d(5, 4, 3)(x)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, mg.Variable(np.zeros((4, 3, 3, 3))), mg.Variable(np.zeros(3)))
