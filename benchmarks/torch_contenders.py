"""PyTorch versions of the workloads, added as a third contender when torch is installed.

They start from the same float32 weights and data as the maligrad and numpy contenders.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

try:
    import torch
except ImportError:  # torch is optional
    torch = None


def available() -> bool:
    return torch is not None


def _sgd_step(model, x, y, lr: float) -> Callable[[], float]:  # type: ignore[no-untyped-def]
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def _load(model, params: list[np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        for p, a in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(a.copy()))


def mlp_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float):  # type: ignore[no-untyped-def]
    layers: list = []
    for i in range(0, len(params), 2):
        out_f, in_f = params[i].shape
        layers.append(torch.nn.Linear(in_f, out_f))
        if i + 2 < len(params):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    _load(model, params)
    return _sgd_step(model, x, y, lr)


def lenet_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float):  # type: ignore[no-untyped-def]
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(256, 10),
    )
    _load(model, params)
    return _sgd_step(model, x, y, lr)


def smallops(x0: np.ndarray, n: int, add: float, mul: float) -> np.ndarray:
    x = torch.tensor(x0, requires_grad=True)
    y = x
    for i in range(n):
        k = i % 4
        if k == 0:
            y = y + add
        elif k == 1:
            y = y * mul
        elif k == 2:
            y = torch.tanh(y)
        else:
            y = torch.exp(y)
    y.backward(torch.ones_like(y))
    return x.grad.numpy()


def fanin(x0: np.ndarray, a0: np.ndarray, b0: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    a = torch.tensor(a0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    x = torch.tensor(x0)
    for _ in range(n):
        x = torch.exp(torch.tanh(x * b + a))
    x.backward(torch.ones_like(x))
    return a.grad.numpy(), b.grad.numpy()


def resnet_small_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float):  # type: ignore[no-untyped-def]
    """The main job's CIFAR-10 ``resnet-small`` (examples/models.py), layer for layer."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.skip: nn.Module = nn.Identity()
            if stride != 1 or cin != cout:
                self.skip = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):  # type: ignore[no-untyped-def]
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.skip(x))

    model = nn.Sequential(
        nn.Conv2d(x.shape[1], 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        Block(16, 16),
        Block(16, 32, stride=2),
        Block(32, 64, stride=2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )
    _load(model, params)
    return _sgd_step(model, x, y, lr)
