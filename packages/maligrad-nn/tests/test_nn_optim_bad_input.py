"""Bad hyperparameters for optimizers and schedulers: each is refused with the right
exception type and a message that names the argument (a table of cases); and Adam's
``maximize`` and AdamW's default weight decay against hand-computed updates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maligrad import Variable, nn
from maligrad.nn import optim
from maligrad.nn.optim import lr_scheduler as S

NAN, INF = math.nan, math.inf


def P():
    return [nn.Parameter(np.zeros(2))]


def opt():
    return optim.SGD(P(), lr=0.1, momentum=0.9)


CASES = [
    # (id, call, exception, text the message must contain)
    ("sgd-none", lambda: optim.SGD(None), TypeError, "params"),
    ("sgd-int-params", lambda: optim.SGD(3), TypeError, "params"),
    ("sgd-str-params", lambda: optim.SGD("abc"), TypeError, "params"),
    ("sgd-lr-str", lambda: optim.SGD(P(), lr="0.1"), TypeError, "lr"),
    ("sgd-lr-none", lambda: optim.SGD(P(), lr=None), TypeError, "lr"),
    ("sgd-lr-bool", lambda: optim.SGD(P(), lr=True), TypeError, "lr"),
    ("sgd-lr-neg", lambda: optim.SGD(P(), lr=-0.1), ValueError, "lr"),
    ("sgd-lr-nan", lambda: optim.SGD(P(), lr=NAN), ValueError, "lr"),
    ("sgd-lr-inf", lambda: optim.SGD(P(), lr=INF), ValueError, "lr"),
    ("sgd-lr-complex", lambda: optim.SGD(P(), lr=1j), TypeError, "lr"),
    ("sgd-momentum-neg", lambda: optim.SGD(P(), momentum=-0.5), ValueError, "momentum"),
    ("sgd-momentum-nan", lambda: optim.SGD(P(), momentum=NAN), ValueError, "momentum"),
    ("sgd-dampening-neg", lambda: optim.SGD(P(), dampening=-1), ValueError, "dampening"),
    ("sgd-dampening-big", lambda: optim.SGD(P(), dampening=1.5), ValueError, "dampening"),
    ("sgd-wd-neg", lambda: optim.SGD(P(), weight_decay=-1e-4), ValueError, "weight_decay"),
    ("sgd-wd-nan", lambda: optim.SGD(P(), weight_decay=NAN), ValueError, "weight_decay"),
    ("sgd-nesterov-str", lambda: optim.SGD(P(), nesterov="yes"), TypeError, "nesterov"),
    ("sgd-maximize-none", lambda: optim.SGD(P(), maximize=None), TypeError, "maximize"),
    ("adam-lr-nan", lambda: optim.Adam(P(), lr=NAN), ValueError, "lr"),
    ("adam-eps-nan", lambda: optim.Adam(P(), eps=NAN), ValueError, "eps"),
    ("adam-eps-neg", lambda: optim.Adam(P(), eps=-1e-8), ValueError, "eps"),
    ("adam-wd-nan", lambda: optim.Adam(P(), weight_decay=NAN), ValueError, "weight_decay"),
    ("adam-wd-neg", lambda: optim.Adam(P(), weight_decay=-1.0), ValueError, "weight_decay"),
    ("adam-beta1-one", lambda: optim.Adam(P(), betas=(1.0, 0.999)), ValueError, "betas[0]"),
    ("adam-beta1-neg", lambda: optim.Adam(P(), betas=(-0.1, 0.999)), ValueError, "betas[0]"),
    ("adam-beta2-one", lambda: optim.Adam(P(), betas=(0.9, 1.0)), ValueError, "betas[1]"),
    ("adam-beta2-nan", lambda: optim.Adam(P(), betas=(0.9, NAN)), ValueError, "betas[1]"),
    ("adam-betas-scalar", lambda: optim.Adam(P(), betas=0.9), TypeError, "betas"),
    ("adam-betas-three", lambda: optim.Adam(P(), betas=(0.9, 0.9, 0.9)), TypeError, "betas"),
    ("adam-betas-str", lambda: optim.Adam(P(), betas=("a", "b")), TypeError, "betas[0]"),
    ("adam-amsgrad-int", lambda: optim.Adam(P(), amsgrad=2), TypeError, "amsgrad"),
    ("adamw-lr-inf", lambda: optim.AdamW(P(), lr=INF), ValueError, "lr"),
    ("adamw-wd-neg", lambda: optim.AdamW(P(), weight_decay=-0.01), ValueError, "weight_decay"),
    ("rmsprop-wd-neg", lambda: optim.RMSprop(P(), weight_decay=-1), ValueError, "weight_decay"),
    ("rmsprop-alpha-big", lambda: optim.RMSprop(P(), alpha=1.5), ValueError, "alpha"),
    ("rmsprop-alpha-nan", lambda: optim.RMSprop(P(), alpha=NAN), ValueError, "alpha"),
    ("rmsprop-eps-neg", lambda: optim.RMSprop(P(), eps=-1), ValueError, "eps"),
    ("rmsprop-momentum-neg", lambda: optim.RMSprop(P(), momentum=-1), ValueError, "momentum"),
    ("rmsprop-centered-str", lambda: optim.RMSprop(P(), centered="no"), TypeError, "centered"),
    ("adagrad-wd-neg", lambda: optim.Adagrad(P(), weight_decay=-1), ValueError, "weight_decay"),
    ("adagrad-eps-neg", lambda: optim.Adagrad(P(), eps=-1), ValueError, "eps"),
    ("adagrad-lr-decay-neg", lambda: optim.Adagrad(P(), lr_decay=-1), ValueError, "lr_decay"),
    (
        "adagrad-init-acc-neg",
        lambda: optim.Adagrad(P(), initial_accumulator_value=-1),
        ValueError,
        "initial_accumulator_value",
    ),
    ("adagrad-lr-str", lambda: optim.Adagrad(P(), lr="1"), TypeError, "lr"),
    ("group-lr-nan", lambda: optim.SGD([{"params": P(), "lr": NAN}], lr=0.1), ValueError, "lr"),
    ("step-size-zero", lambda: S.StepLR(opt(), 0), ValueError, "step_size"),
    ("step-size-float", lambda: S.StepLR(opt(), 2.5), TypeError, "step_size"),
    ("step-size-bool", lambda: S.StepLR(opt(), True), TypeError, "step_size"),
    ("step-gamma-nan", lambda: S.StepLR(opt(), 2, gamma=NAN), ValueError, "gamma"),
    ("multistep-str", lambda: S.MultiStepLR(opt(), "12"), TypeError, "milestones"),
    ("multistep-float", lambda: S.MultiStepLR(opt(), [1.5]), TypeError, "milestones"),
    ("multistep-neg", lambda: S.MultiStepLR(opt(), [-1]), ValueError, "milestones"),
    ("exp-gamma-str", lambda: S.ExponentialLR(opt(), "0.5"), TypeError, "gamma"),
    ("exp-gamma-neg", lambda: S.ExponentialLR(opt(), -0.5), ValueError, "gamma"),
    ("cos-tmax-zero", lambda: S.CosineAnnealingLR(opt(), 0), ValueError, "T_max"),
    ("cos-tmax-float", lambda: S.CosineAnnealingLR(opt(), 10.0), TypeError, "T_max"),
    ("cos-eta-nan", lambda: S.CosineAnnealingLR(opt(), 5, eta_min=NAN), ValueError, "eta_min"),
    ("linear-start-zero", lambda: S.LinearLR(opt(), start_factor=0), ValueError, "start_factor"),
    ("linear-end-big", lambda: S.LinearLR(opt(), end_factor=2), ValueError, "end_factor"),
    ("linear-iters-bool", lambda: S.LinearLR(opt(), total_iters=True), TypeError, "total_iters"),
    (
        "onecycle-steps-zero",
        lambda: S.OneCycleLR(opt(), 1.0, total_steps=0),
        ValueError,
        "total_steps",
    ),
    ("onecycle-steps-float", lambda: S.OneCycleLR(opt(), 1.0, 10.0), TypeError, "total_steps"),
    (
        "onecycle-epochs-bool",
        lambda: S.OneCycleLR(opt(), 1.0, epochs=True, steps_per_epoch=3),
        TypeError,
        "epochs",
    ),
    ("onecycle-pct", lambda: S.OneCycleLR(opt(), 1.0, 10, pct_start=1.5), ValueError, "pct_start"),
    ("onecycle-maxlr-nan", lambda: S.OneCycleLR(opt(), NAN, 10), ValueError, "max_lr"),
    (
        "onecycle-div-zero",
        lambda: S.OneCycleLR(opt(), 1.0, 10, div_factor=0),
        ValueError,
        "div_factor",
    ),
    (
        "onecycle-momentum",
        lambda: S.OneCycleLR(opt(), 1.0, 10, max_momentum=1.5),
        ValueError,
        "max_momentum",
    ),
    (
        "onecycle-anneal",
        lambda: S.OneCycleLR(opt(), 1.0, 10, anneal_strategy="x"),
        ValueError,
        "anneal_strategy",
    ),
    ("scheduler-last-epoch", lambda: S.StepLR(opt(), 2, last_epoch=1.5), TypeError, "last_epoch"),
    ("scheduler-not-optimizer", lambda: S.StepLR(None, 2), TypeError, "Optimizer"),
    ("plateau-factor-one", lambda: S.ReduceLROnPlateau(opt(), factor=1.0), ValueError, "factor"),
    ("plateau-factor-nan", lambda: S.ReduceLROnPlateau(opt(), factor=NAN), ValueError, "factor"),
    (
        "plateau-patience-neg",
        lambda: S.ReduceLROnPlateau(opt(), patience=-1),
        ValueError,
        "patience",
    ),
    (
        "plateau-patience-float",
        lambda: S.ReduceLROnPlateau(opt(), patience=2.5),
        TypeError,
        "patience",
    ),
    (
        "plateau-cooldown-neg",
        lambda: S.ReduceLROnPlateau(opt(), cooldown=-1),
        ValueError,
        "cooldown",
    ),
    (
        "plateau-threshold-nan",
        lambda: S.ReduceLROnPlateau(opt(), threshold=NAN),
        ValueError,
        "threshold",
    ),
    ("plateau-min-lr-neg", lambda: S.ReduceLROnPlateau(opt(), min_lr=-1), ValueError, "min_lr"),
    ("plateau-mode", lambda: S.ReduceLROnPlateau(opt(), mode="up"), ValueError, "mode"),
]


@pytest.mark.parametrize(
    ("call", "exc", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_hyperparameters_are_refused_by_name(call, exc, names):
    with pytest.raises(exc) as info:
        call()
    assert names in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("call", "check"),
    [
        # Edge values that are valid (PyTorch accepts them too).
        (lambda: optim.SGD(P(), lr=0), lambda o: o.param_groups[0]["lr"] == 0.0),
        (lambda: optim.SGD(P(), lr=np.float32(0.5)), lambda o: o.param_groups[0]["lr"] == 0.5),
        (lambda: optim.SGD(P(), dampening=1), lambda o: o.param_groups[0]["dampening"] == 1.0),
        (lambda: optim.Adam(P(), betas=[0.0, 0.0]), lambda o: o.param_groups[0]["betas"] == (0, 0)),
        (lambda: optim.Adam(P(), eps=0), lambda o: o.param_groups[0]["eps"] == 0.0),
        (lambda: optim.RMSprop(P(), alpha=1), lambda o: o.param_groups[0]["alpha"] == 1.0),
    ],
)
def test_edge_values_are_accepted(call, check):
    assert check(call())


def test_adam_maximize_ascends_by_the_negated_gradient_rule():
    g = np.array([0.5, -2.0])
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    for maximize in (False, True):
        p = nn.Parameter(np.array([1.0, 1.0]))
        o = optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps, maximize=maximize)
        ref = np.array([1.0, 1.0])
        m = v = np.zeros(2)
        for t in (1, 2):
            p.grad = Variable(g.copy())
            o.step()
            d = -g if maximize else g
            m = b1 * m + (1 - b1) * d
            v = b2 * v + (1 - b2) * d * d
            ref = ref - lr / (1 - b1**t) * m / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(p.data, ref, rtol=1e-12)
        # maximize moves uphill along g: +x where g > 0
        assert np.all(np.sign(p.data - 1.0) == (np.sign(g) if maximize else -np.sign(g)))


def test_adamw_default_weight_decay_is_pytorchs():
    p = nn.Parameter(np.array([2.0]))
    o = optim.AdamW([p], lr=0.1)
    assert o.defaults["weight_decay"] == 0.01 == o.param_groups[0]["weight_decay"]
    p.grad = Variable(np.array([0.0]))  # only the decay moves it: p (1 - lr wd)
    o.step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.1 * 0.01)], rtol=1e-15)
    q = nn.Parameter(np.array([2.0]))
    optim.Adam([q], lr=0.1).step()  # no grad: untouched; and Adam's default decay is 0
    assert optim.Adam([q]).defaults["weight_decay"] == 0.0 and q.data[0] == 2.0


def test_group_options_changed_by_hand_are_used_as_set():
    # Options set on a group after construction bypass the constructor's checks, as in
    # PyTorch; the step still runs with them (documented behaviour, not a silent fix).
    p = nn.Parameter(np.zeros(1))
    o = optim.SGD([p], lr=0.1)
    o.param_groups[0]["lr"] = 0.5
    p.grad = Variable(np.array([1.0]))
    o.step()
    assert p.data[0] == -0.5
