"""nn.save / nn.load: npz without pickle, atomic writes, module and optimizer round trips."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import maligrad
from maligrad import Variable, nn
from maligrad.nn import optim


def make_model():
    maligrad.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def batches(n, seed=1):
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=(6, 4)).astype(np.float32), rng.integers(0, 3, size=6)) for _ in range(n)
    ]


def train(model, opt, data, sched=None):
    for x, y in data:
        loss = nn.functional.cross_entropy(model(Variable(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()


def test_module_round_trip_and_plain_npz(tmp_path):
    model = make_model()
    path = tmp_path / "m.npz"
    nn.save(model, path)
    with np.load(path, allow_pickle=False) as f:
        assert "0.weight" in f.files and "1.running_mean" in f.files
        np.testing.assert_array_equal(f["3.bias"], model[3].bias.data)
    state = nn.load(path)
    assert list(state) == list(model.state_dict())
    assert state["1.num_batches_tracked"].dtype == np.int64
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    other.load_state_dict(state)
    x = Variable(np.ones((2, 4), np.float32))
    np.testing.assert_array_equal(other.eval()(x).data, model.eval()(x).data)
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    np.testing.assert_array_equal(nn.load(tmp_path / "plain.npz")["a"], np.arange(3))


def test_nested_state_keeps_types(tmp_path):
    state = {
        "epoch": 3,
        "lr": 0.1,
        "flag": True,
        "none": None,
        "name": "run/1",
        "betas": (0.9, 0.999),
        "list": [1, np.float32(2.5), np.arange(2)],
        "by_index": {0: {"step": 2, "exp_avg": np.ones(2, np.float32)}, 1: {}},
        "nan": float("nan"),
    }
    nn.save(state, tmp_path / "s.npz")
    back = nn.load(tmp_path / "s.npz")
    assert back["epoch"] == 3 and type(back["epoch"]) is int
    assert back["lr"] == 0.1 and back["flag"] is True and back["none"] is None
    assert back["name"] == "run/1" and back["betas"] == (0.9, 0.999)
    assert type(back["list"][1]) is np.float32 and back["list"][1] == 2.5
    np.testing.assert_array_equal(back["list"][2], np.arange(2))
    assert set(back["by_index"]) == {0, 1}
    assert back["by_index"][0]["exp_avg"].dtype == np.float32
    assert np.isnan(back["nan"])
    with pytest.raises(TypeError, match="object"):
        nn.save({"f": object()}, tmp_path / "bad.npz")


def test_no_pickle_inside(tmp_path):
    nn.save({"a": [np.ones(2)], "b": {"c": 1}}, tmp_path / "x.npz")
    with zipfile.ZipFile(tmp_path / "x.npz") as z:
        for name in z.namelist():
            header = z.read(name)[:128]
            assert b"'descr': '|O'" not in header


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    nn.save({"v": np.ones(2)}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        nn.save({"v": np.zeros(2)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(nn.load(path)["v"], np.ones(2))
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize(
    "opt_factory",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
        lambda p: optim.AdamW(p, lr=0.01),
        lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
        lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01),
    ],
)
def test_checkpoint_resume_is_bit_identical(tmp_path, opt_factory):
    data = batches(6)
    model = make_model()
    opt = opt_factory(model.parameters())
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    train(model, opt, data[:3], sched)
    nn.save(
        {"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict()},
        tmp_path / "ckpt.npz",
    )
    train(model, opt, data[3:], sched)

    maligrad.manual_seed(123)  # a different init: everything must come from the checkpoint
    fresh = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    opt2 = opt_factory(fresh.parameters())
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    ckpt = nn.load(tmp_path / "ckpt.npz")
    fresh.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    sched2.load_state_dict(ckpt["sched"])
    train(fresh, opt2, data[3:], sched2)
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]
