"""End to end: one training epoch of LeNet on the bundled MNIST sample.

The maligrad contender uses all three packages: ``maligrad.data`` (sample, shuffled
``DataLoader``, ``ToFloat`` + ``Normalize``), ``maligrad.nn`` (the LeNet of
``bench_nn``, ``cross_entropy``, ``optim.SGD``) and the core engine. The numpy reference
shuffles, normalises and runs the hand-written LeNet step of ``bench_nn`` on the same
batches.
"""

from __future__ import annotations

import numpy as np
from bench_nn import LR, _lenet, _lenet_numpy_step, _params_numpy
from harness import Workload

import maligrad as mg
from maligrad import nn
from maligrad.data import Compose, DataLoader, Normalize, ToFloat, mnist_sample
from maligrad.nn import functional as F

MEAN, STD = 0.1307, 0.3081


def workloads(quick: bool = False) -> list[Workload]:
    train = mnist_sample(train=True)
    n = 1024 if quick else len(train)
    images, labels = train.images[:n], train.labels[:n]
    dataset = train.from_arrays(images, labels)
    mg.manual_seed(0)
    model = _lenet()
    params = _params_numpy(model)
    optimizer = nn.optim.SGD(model.parameters(), lr=LR)
    loader = DataLoader(
        dataset,
        batch_size=64,
        shuffle=True,
        generator=0,
        transform=Compose([ToFloat(), Normalize(MEAN, STD)]),
    )
    rng = np.random.default_rng(0)
    scale, shift = np.float32(1 / (255 * STD)), np.float32(MEAN / STD)

    def maligrad_epoch() -> None:
        for x, y in loader:
            loss = F.cross_entropy(model(mg.Variable(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def numpy_epoch() -> None:
        order = rng.permutation(n)
        for start in range(0, n, 64):
            idx = order[start : start + 64]
            x = images[idx].astype(np.float32) * scale - shift
            _lenet_numpy_step(params, x, labels[idx])

    return [
        Workload(
            "epoch-sample",
            {"numpy": numpy_epoch, "maligrad": maligrad_epoch},
            description=f"one LeNet epoch on {n} sample images (data + nn + core), batch 64",
            repeats=3,
            warmup=1,
        )
    ]
