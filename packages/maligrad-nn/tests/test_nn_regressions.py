"""Regressions from the review of maligrad-nn against PyTorch: each test is one fixed bug."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import maligrad as mg
from maligrad import nn
from maligrad.nn import optim
from maligrad.nn.optim import lr_scheduler


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = self.a
        self.c = nn.Linear(2, 2)


def test_shared_submodule_state_dict_round_trips() -> None:
    model = Shared()
    state = model.state_dict()
    assert list(state) == ["a.weight", "a.bias", "b.weight", "b.bias", "c.weight", "c.bias"]
    other = Shared()
    other.load_state_dict(state)  # strict: every name is found
    np.testing.assert_array_equal(other.b.weight.data, model.a.weight.data)


@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.CrossEntropyLoss(label_smoothing=0.1)])
def test_all_targets_ignored_gives_nan_loss_and_zero_gradients(loss) -> None:
    x = mg.Variable(
        np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32), requires_grad=True
    )
    out = loss(x, np.full(3, -100))
    assert np.isnan(out.item())
    out.backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4)))


def _lrs(make, steps: int, manual_at: int | None = None) -> list[float]:
    opt = optim.SGD([nn.Parameter(np.ones(2, np.float32))], lr=1.0)
    schedulers = make(opt)
    out = []
    for i in range(steps):
        opt.step()
        for s in schedulers:
            s.step()
        if i == manual_at:
            opt.param_groups[0]["lr"] = 0.1
        out.append(opt.param_groups[0]["lr"])
    return out


def test_schedulers_chain_and_keep_manual_changes() -> None:
    chained = _lrs(
        lambda o: [lr_scheduler.StepLR(o, 2, 0.5), lr_scheduler.ExponentialLR(o, 0.9)], 5
    )
    np.testing.assert_allclose(chained, [0.9, 0.405, 0.3645, 0.164025, 0.1476225])
    manual = _lrs(lambda o: [lr_scheduler.StepLR(o, 3, 0.5)], 4, manual_at=0)
    np.testing.assert_allclose(manual, [0.1, 0.1, 0.05, 0.05])
    linear = _lrs(lambda o: [lr_scheduler.LinearLR(o, 0.25, 1.0, 4)], 6)
    np.testing.assert_allclose(linear, [0.4375, 0.625, 0.8125, 1.0, 1.0, 1.0])
    multi = _lrs(lambda o: [lr_scheduler.MultiStepLR(o, [2, 4, 4], 0.5)], 5)
    np.testing.assert_allclose(multi, [1.0, 0.5, 0.5, 0.125, 0.125])


def test_save_accepts_any_key_name(tmp_path: Path) -> None:
    state = {"allow_pickle": np.ones(2), "file": np.zeros(3), "nested": {"lr": 0.1}}
    nn.save(state, tmp_path / "s.npz")
    back = nn.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(back["allow_pickle"], np.ones(2))
    np.testing.assert_array_equal(back["file"], np.zeros(3))
    assert back["nested"] == {"lr": 0.1}


def test_attention_weights_are_returned_after_dropout() -> None:
    mha = nn.MultiheadAttention(
        4, 1, dropout=0.5, batch_first=True, generator=np.random.default_rng(0)
    )
    x = mg.Variable(np.random.default_rng(1).normal(size=(1, 6, 4)).astype(np.float32))
    mha.eval()
    _, plain = mha(x, x, x, average_attn_weights=False)
    mha.train()
    _, dropped = mha(x, x, x, average_attn_weights=False)
    w, w0 = dropped.data, plain.data
    assert (w == 0).any() and (w != 0).any()
    np.testing.assert_allclose(w[w != 0], 2 * w0[w != 0], rtol=1e-5)  # kept ones scaled 1/(1-p)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 6, 6)),
        (lambda: nn.ConvTranspose2d(2, 3, 2, stride=2), (2, 6, 6)),
        (lambda: nn.MaxPool2d(2), (2, 6, 6)),
        (lambda: nn.AvgPool2d(2), (2, 6, 6)),
        (lambda: nn.AdaptiveAvgPool2d(1), (2, 6, 6)),
        (lambda: nn.Conv1d(2, 3, 3), (2, 6)),
        (lambda: nn.MaxPool1d(2), (2, 6)),
    ],
)
def test_unbatched_input_matches_a_batch_of_one(layer, shape) -> None:
    mg.manual_seed(0)
    module = layer()
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    single = module(mg.Variable(x))
    batch = module(mg.Variable(x[None]))
    assert single.shape == batch.shape[1:]
    np.testing.assert_allclose(single.data, batch.data[0], rtol=1e-6)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda p: optim.SGD(p, lr=-0.1), "lr"),
        (lambda p: optim.Adam(p, eps=-1.0), "eps"),
        (lambda p: optim.RMSprop(p, momentum=-0.5), "momentum"),
        (lambda p: optim.Adagrad(p, lr_decay=-1.0), "lr_decay"),
    ],
)
def test_negative_hyperparameters_are_named(make, name) -> None:
    with pytest.raises(ValueError, match=f"invalid {name} value"):
        make([nn.Parameter(np.ones(2, np.float32))])


def test_every_layer_follows_the_default_dtype() -> None:
    mg.set_default_dtype(np.float64)
    try:
        layers = [
            nn.Linear(2, 2),
            nn.Conv2d(1, 1, 3),
            nn.LSTM(2, 2),
            nn.BatchNorm1d(2),
            nn.MultiheadAttention(4, 2),
            nn.Embedding(3, 2),
        ]
    finally:
        mg.set_default_dtype(np.float32)
    for layer in layers:
        assert {p.dtype for p in layer.parameters()} == {np.dtype(np.float64)}, layer
    assert nn.Conv2d(1, 1, 3).weight.dtype == np.float32
