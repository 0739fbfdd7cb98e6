"""Optimizers against hand-computed update sequences; groups; schedulers; clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maligrad import Variable, nn
from maligrad.nn import optim
from maligrad.nn.optim import lr_scheduler as S
from maligrad.nn.utils import clip_grad_norm_, clip_grad_value_

GRADS = [np.array([0.5, -1.0]), np.array([0.25, 2.0]), np.array([-1.0, 0.5])]


def run(opt_cls, steps=3, **kw):
    p = nn.Parameter(np.array([1.0, -2.0]))
    opt = opt_cls([p], **kw)
    out = []
    for g in GRADS[:steps]:
        p.grad = Variable(g.copy())
        opt.step()
        out.append(p.data.copy())
    return out, opt, p


def test_sgd_plain_and_literal_values():
    out, _, _ = run(optim.SGD, lr=0.1)
    np.testing.assert_allclose(out[0], [0.95, -1.9])
    np.testing.assert_allclose(out[2], [0.95 - 0.025 + 0.1, -1.9 - 0.2 - 0.05])


class _SGDByUpdate(optim.SGD):
    """Plain SGD whose ``update`` is overridden: ``step()`` must go through it."""

    def update(self, param, grad, state, group):
        super().update(param, grad, state, group)


def test_sgd_step_equals_an_overridden_per_parameter_update():
    # float32, a parameter without a gradient, two groups: bit for bit the same updates.
    rng = np.random.default_rng(0)
    start = [rng.normal(size=s).astype(np.float32) for s in [(3, 2), (2,), (4,)]]
    results = []
    for cls in (optim.SGD, _SGDByUpdate):
        ps = [nn.Parameter(a.copy()) for a in start]
        opt = cls([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5}], lr=0.1)
        for step in range(3):
            for i, p in enumerate(ps):
                g = np.full(p.shape, 0.25 * (step + 1) - i, np.float32)
                p.grad = None if (i == 1 and step == 1) else Variable(g)
            opt.step()
        assert all(p.dtype == np.float32 and p._version == 3 - (i == 1) for i, p in enumerate(ps))
        results.append([p.data for p in ps])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("nesterov,dampening", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_sgd_momentum_weight_decay(nesterov, dampening):
    lr, mu, wd = 0.1, 0.9, 0.01
    out, _opt, _ = run(
        optim.SGD, lr=lr, momentum=mu, dampening=dampening, weight_decay=wd, nesterov=nesterov
    )
    p = np.array([1.0, -2.0])
    buf = None
    for g, got in zip(GRADS, out):
        d = g + wd * p
        buf = d.copy() if buf is None else mu * buf + (1 - dampening) * d
        step = d + mu * buf if nesterov else buf
        p = p - lr * step
        np.testing.assert_allclose(got, p, rtol=1e-12)


def test_sgd_maximize_and_validation():
    out, _, _ = run(optim.SGD, lr=0.1, maximize=True, steps=1)
    np.testing.assert_allclose(out[0], [1.05, -2.1])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([nn.Parameter([1.0])], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_adam_and_adamw(cls, amsgrad):
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.9, 1e-8, 0.1
    out, opt, par = run(cls, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad)
    p = np.array([1.0, -2.0])
    m = v = vmax = np.zeros(2)
    for t, (g, got) in enumerate(zip(GRADS, out), start=1):
        if cls is optim.AdamW:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(vhat) + eps)
        np.testing.assert_allclose(got, p, rtol=1e-10)
    assert opt.state[par]["step"] == 3


def test_adam_first_step_is_lr_times_sign():
    out, _, _ = run(optim.Adam, lr=0.1, steps=1)
    np.testing.assert_allclose(out[0], [0.9, -1.9], rtol=1e-7)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop(centered, momentum):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    out, _, _ = run(
        optim.RMSprop, lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered
    )
    p = np.array([1.0, -2.0])
    sq = ga = buf = np.zeros(2)
    for g, got in zip(GRADS, out):
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        np.testing.assert_allclose(got, p, rtol=1e-10)


def test_adagrad():
    lr, decay, init_acc, eps, wd = 0.1, 0.5, 0.1, 1e-10, 0.01
    out, _, _ = run(
        optim.Adagrad,
        lr=lr,
        lr_decay=decay,
        initial_accumulator_value=init_acc,
        eps=eps,
        weight_decay=wd,
    )
    p = np.array([1.0, -2.0])
    s = np.full(2, init_acc)
    for t, (g, got) in enumerate(zip(GRADS, out), start=1):
        g = g + wd * p
        s = s + g * g
        p = p - lr / (1 + (t - 1) * decay) * g / (np.sqrt(s) + eps)
        np.testing.assert_allclose(got, p, rtol=1e-12)


def test_updates_are_in_place_bump_version_and_keep_float32():
    p = nn.Parameter(np.ones(3, np.float32))
    data = p.data
    for cls in [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad]:
        opt = cls([p], lr=0.1)
        p.grad = Variable(np.ones(3, np.float32))
        v = p._version
        opt.step()
        writes = 2 if cls is optim.AdamW else 1  # AdamW: the decay, then the step (as PyTorch)
        assert p.data is data and p.dtype == np.float32 and p._version == v + writes
        assert not p.grad.requires_grad


def test_param_groups_and_zero_grad():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0.0 and opt.param_groups[1]["lr"] == 1.0
    a.grad = Variable(np.ones(2))
    b.grad = Variable(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.0)
    opt.zero_grad(set_to_none=False)
    assert np.all(a.grad.data == 0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    opt.step()  # parameters without gradients are skipped
    with pytest.raises(ValueError, match="more than one"):
        opt.add_param_group({"params": [a]})
    c = nn.Parameter(np.ones(1))
    opt.add_param_group({"params": c, "lr": 3.0})
    assert opt.param_groups[2]["lr"] == 3.0 and opt.param_groups[2]["params"] == [c]


def test_optimizer_state_dict_resumes_exactly():
    def make():
        p = nn.Parameter(np.array([1.0, -2.0], np.float32))
        q = nn.Parameter(np.array([0.5], np.float32))
        opt = optim.Adam([{"params": [p]}, {"params": [q], "lr": 0.05}], lr=0.01, amsgrad=True)
        return p, q, opt

    def train(p, q, opt, gs):
        for g in gs:
            p.grad = Variable(np.array(g[:2], np.float32))
            q.grad = Variable(np.array(g[2:], np.float32))
            opt.step()

    gs = [[0.1, 0.2, 0.3], [-0.5, 0.1, 0.2], [0.3, 0.3, -0.1], [1.0, -1.0, 0.5]]
    p, q, opt = make()
    train(p, q, opt, gs[:2])
    sd = opt.state_dict()
    saved = (p.data.copy(), q.data.copy())
    train(p, q, opt, gs[2:])
    p2, q2, opt2 = make()
    p2.data[...], q2.data[...] = saved
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.05
    train(p2, q2, opt2, gs[2:])
    np.testing.assert_array_equal(p.data, p2.data)
    np.testing.assert_array_equal(q.data, q2.data)
    with pytest.raises(ValueError, match="groups"):
        optim.Adam([p], lr=0.1).load_state_dict(sd)


# -- schedulers --------------------------------------------------------------------------
def lrs_of(make_sched, n, lr=1.0, opt_cls=optim.SGD, **opt_kw):
    opt = opt_cls([nn.Parameter(np.zeros(1))], lr=lr, **opt_kw)
    sched = make_sched(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out, sched, opt


def test_step_multistep_exponential_linear():
    out, _, _ = lrs_of(lambda o: S.StepLR(o, 2, 0.5), 5)
    np.testing.assert_allclose(out, [1, 1, 0.5, 0.5, 0.25, 0.25])
    out, _, _ = lrs_of(lambda o: S.MultiStepLR(o, [1, 3], 0.1), 4)
    np.testing.assert_allclose(out, [1, 0.1, 0.1, 0.01, 0.01])
    out, _, _ = lrs_of(lambda o: S.ExponentialLR(o, 0.5), 3)
    np.testing.assert_allclose(out, [1, 0.5, 0.25, 0.125])
    out, _, _ = lrs_of(lambda o: S.LinearLR(o, 0.25, 1.0, 3), 4)
    np.testing.assert_allclose(out, [0.25, 0.5, 0.75, 1.0, 1.0])


def test_cosine_annealing():
    out, sched, _ = lrs_of(lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.1), 4)
    ref = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(out, ref)
    assert sched.get_last_lr() == [out[-1]]


def test_one_cycle():
    out, _, opt = lrs_of(
        lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.3), 9, momentum=0.9
    )
    assert out[0] == pytest.approx(1.0 / 25)
    assert max(out) == pytest.approx(1.0) and out.index(max(out)) == 2
    assert out[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)
    out, _, opt = lrs_of(
        lambda o: S.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=5, anneal_strategy="linear"),
        2,
        opt_cls=optim.Adam,
    )
    np.testing.assert_allclose(out[:3], [0.004, 0.052, 0.1])
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.85)


def test_reduce_on_plateau():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [1.0, 0.9] + [0.95] * 9:
        sched.step(metric)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]
    sd = sched.state_dict()
    other = S.ReduceLROnPlateau(opt)
    other.load_state_dict(sd)
    assert other.best == 0.9 and other.patience == 1


def test_scheduler_state_dict_round_trip():
    _, sched, opt = lrs_of(lambda o: S.StepLR(o, 2, 0.5), 3)
    sd = sched.state_dict()
    new = S.StepLR(opt, 5, 0.9)
    new.load_state_dict(sd)
    assert new.last_epoch == 3 and new.step_size == 2
    new.step()
    assert opt.param_groups[0]["lr"] == 0.25


# -- clipping ----------------------------------------------------------------------------
def test_clip_grad_norm_and_value():
    a, b = nn.Parameter(np.zeros(2, np.float32)), nn.Parameter(np.zeros(1, np.float32))
    shared = Variable(np.array([3.0, 0.0], np.float32))
    a.grad = shared
    b.grad = Variable(np.array([4.0], np.float32))
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.data, [0.6, 0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.data, [0.8], rtol=1e-5)
    np.testing.assert_array_equal(shared.data, [3.0, 0.0])  # never modified in place
    assert a.grad.dtype == np.float32
    a.grad = Variable(np.array([0.1, -0.2], np.float32))
    assert clip_grad_norm_(a, 1.0, norm_type=math.inf).item() == pytest.approx(0.2)
    np.testing.assert_allclose(a.grad.data, [0.1, -0.2])
    a.grad = Variable(np.array([np.inf, 0.0], np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    a.grad = Variable(np.array([2.0, -3.0], np.float32))
    clip_grad_value_([a], 1.5)
    np.testing.assert_array_equal(a.grad.data, [1.5, -1.5])
