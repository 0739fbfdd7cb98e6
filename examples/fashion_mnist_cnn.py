"""A small CNN on Fashion-MNIST (downloaded and verified by maligrad.data on first use).

python examples/fashion_mnist_cnn.py
python examples/fashion_mnist_cnn.py --fake-data   # random images: a smoke run, offline
"""

from __future__ import annotations

import argparse

from fake_data import train_test
from loop import accuracy, train_epoch

import maligrad as mg
from maligrad import nn
from maligrad.data import Compose, DataLoader, FashionMNIST, Normalize, ToFloat


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 16 x 14 x 14
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 32 x 7 x 7
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description="CNN on Fashion-MNIST")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=20000, help="train on the first N images")
    p.add_argument("--fake-data", action="store_true", help="random images, no download")
    args = p.parse_args(argv)

    mg.manual_seed(0)
    train, test = train_test(FashionMNIST, (1, 28, 28), args.fake_data, args.limit)
    prep = Compose([ToFloat(), Normalize(0.2860, 0.3530)])
    loader = DataLoader(train, batch_size=64, shuffle=True, generator=0, transform=prep)
    model = cnn()
    optimizer = nn.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(args.epochs):
        loss = train_epoch(model, loader, optimizer)
        print(f"epoch {epoch + 1}: mean loss {loss:.4f}")
    test_acc = accuracy(model, DataLoader(test, batch_size=500, transform=prep))
    print(f"test accuracy: {test_acc:.4f}")
    return test_acc


if __name__ == "__main__":
    main()
