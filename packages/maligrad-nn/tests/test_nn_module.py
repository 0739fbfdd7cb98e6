"""Module, Parameter and containers: registration, traversal, modes, state_dict, repr."""

from __future__ import annotations

import numpy as np
import pytest

import maligrad
from maligrad import Variable, nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.register_buffer("steps", Variable(np.zeros((), np.int64)))
        self.register_buffer("cache", Variable(np.zeros(2, np.float32)), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_parameter_defaults():
    p = nn.Parameter([1.0, 2.0])
    assert p.requires_grad and p.dtype == np.float32 and isinstance(p, Variable)
    assert nn.Parameter(np.zeros(2)).dtype == np.float64
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    assert nn.Parameter(3).dtype == np.float32
    assert "Parameter containing" in repr(p)
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.array([1, 2]))


def test_registration_order_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # PyTorch's order: a module's own parameters, then its children's, depth first.
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(net.parameters())) == 5
    assert next(iter(net.children())) is net.fc1
    assert next(iter(net.modules())) is net
    assert list(net.state_dict()) == [
        "scale",
        "steps",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]


def test_reassignment_and_deletion():
    net = Net()
    net.fc1 = nn.Linear(3, 4, bias=False)
    assert [n for n, _ in net.named_parameters()][:3] == ["scale", "fc1.weight", "fc2.weight"]
    net.fc2 = None
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight"]
    del net.scale
    assert [n for n, _ in net.named_parameters()] == ["fc1.weight"]
    with pytest.raises(AttributeError):
        _ = net.scale
    with pytest.raises(TypeError, match="parameter 'weight'"):
        net.fc1.weight = np.zeros((4, 3))
    net.steps = np.ones((), np.int64)
    assert isinstance(net.steps, Variable) and net.state_dict()["steps"] == 1


def test_shared_parameters_and_modules_appear_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.modules())) == 3
    tied = nn.Module()
    tied.a = nn.Linear(2, 2)
    tied.b = nn.Linear(2, 2)
    tied.b.weight = tied.a.weight
    assert len(list(tied.parameters())) == 3
    assert set(tied.state_dict()) == {"a.weight", "a.bias", "b.weight", "b.bias"}


def test_assign_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__"):
        Bad()


def test_train_eval_per_module():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net[2].train()
    assert net[2][0].training and not net.training and not net[1].training


def test_zero_grad_requires_grad_apply_call():
    net = Net()
    out = net(Variable(np.ones((2, 3), np.float32)))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.fc1.requires_grad_(False)
    assert [p.requires_grad for p in net.parameters()] == [True, False, False, True, True]
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Net"]
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_to_double_keeps_identity():
    net = Net()
    w = net.fc1.weight
    net.double()
    assert net.fc1.weight is w and w.dtype == np.float64
    assert net.cache.dtype == np.float64 and net.steps.dtype == np.int64
    assert net(Variable(np.ones((1, 3)))).dtype == np.float64


def test_repr_tree():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.1)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")"
    )


def test_state_dict_is_a_snapshot_and_round_trips():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert "cache" not in sd
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["fc1.weight"][...] = 7  # a copy: the module is untouched
    assert not np.all(a.fc1.weight.data == 7)
    v0 = b.fc1.weight._version
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert b.fc1.weight._version == v0 + 1
    assert a.state_dict(keep_vars=True)["fc1.weight"] is a.fc1.weight


def test_strict_loading_reports_every_problem_at_once():
    net = Net()
    sd = net.state_dict()
    del sd["fc1.bias"]
    del sd["steps"]
    sd["fc2.weight"] = np.zeros((5, 4), np.float32)
    sd["extra.weight"] = np.zeros(1)
    sd["fc3.bias"] = np.zeros(1)
    before = net.fc1.weight.data.copy()
    sd["fc1.weight"] = np.zeros((4, 3), np.float32)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    for key in ["fc1.bias", "steps", "extra.weight", "fc3.bias", "fc2.weight"]:
        assert key in msg
    assert "(5, 4)" in msg and "(2, 4)" in msg
    np.testing.assert_array_equal(net.fc1.weight.data, before)  # nothing was loaded
    del sd["fc2.weight"]
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["steps", "fc1.bias", "fc2.weight"]
    assert res.unexpected_keys == ["extra.weight", "fc3.bias"]
    assert np.all(net.fc1.weight.data == 0)
    with pytest.raises(RuntimeError, match="size mismatch"):
        net.load_state_dict({"scale": np.zeros(3)}, strict=False)


def test_sequential():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = Variable(np.ones((4, 2), np.float32))
    ref = seq[2](seq[1](seq[0](x)))
    np.testing.assert_array_equal(seq(x).data, ref.data)
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert len(seq[:2]) == 2 and seq[:2][0] is seq[0]
    seq.append(nn.Sigmoid())
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["enc.weight", "enc.bias"]
    with pytest.raises(IndexError):
        seq[5]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(lambda x: x)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert type(ml[0]).__name__ == "Tanh" and type(ml[-1]).__name__ == "ReLU"
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    ml[1] = nn.Identity()
    assert isinstance(ml[1], nn.Identity)
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    md["c"] = nn.Linear(1, 2)
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and list(md.keys()) == ["a", "c"]
    with pytest.raises(KeyError, match="keys"):
        md["zz"]


def test_manual_seed_makes_init_reproducible():
    maligrad.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.Embedding(5, 2)).state_dict()
    maligrad.manual_seed(0)
    b = nn.Sequential(nn.Linear(3, 4), nn.Embedding(5, 2)).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    g1 = nn.Linear(3, 4, generator=np.random.default_rng(1)).weight.data
    g2 = nn.Linear(3, 4, generator=np.random.default_rng(1)).weight.data
    np.testing.assert_array_equal(g1, g2)
