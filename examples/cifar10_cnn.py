"""A CIFAR-10 CNN with data augmentation (random crops and flips) and BatchNorm.

python examples/cifar10_cnn.py                # downloads and verifies CIFAR-10 (162 MiB)
python examples/cifar10_cnn.py --fake-data    # random images: a smoke run, offline
"""

from __future__ import annotations

import argparse

import numpy as np
from fake_data import train_test
from loop import accuracy, train_epoch

import maligrad as mg
from maligrad import nn
from maligrad.data import (
    CIFAR10,
    Compose,
    DataLoader,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
)

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def cnn() -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 32),
        nn.MaxPool2d(2),  # 32 x 16 x 16
        *block(32, 64),
        nn.MaxPool2d(2),  # 64 x 8 x 8
        *block(64, 64),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description="CNN with augmentation on CIFAR-10")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=5000, help="train on the first N images")
    p.add_argument("--fake-data", action="store_true", help="random images, no download")
    args = p.parse_args(argv)

    mg.manual_seed(0)
    train, test = train_test(CIFAR10, (3, 32, 32), args.fake_data, args.limit)
    rng = np.random.default_rng(0)
    augment = Compose(
        [
            RandomCrop(32, padding=4, generator=rng),
            RandomHorizontalFlip(generator=rng),
            ToFloat(),
            Normalize(MEAN, STD),
        ]
    )
    prep = Compose([ToFloat(), Normalize(MEAN, STD)])
    loader = DataLoader(train, batch_size=64, shuffle=True, generator=0, transform=augment)
    model = cnn()
    optimizer = nn.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    for epoch in range(args.epochs):
        loss = train_epoch(model, loader, optimizer, label_smoothing=0.1)
        print(f"epoch {epoch + 1}: mean loss {loss:.4f}")
    test_acc = accuracy(model, DataLoader(test, batch_size=500, transform=prep))
    print(f"test accuracy: {test_acc:.4f}")
    return test_acc


if __name__ == "__main__":
    main()
