"""A small CNN on Fashion-MNIST (downloaded and verified by maligrad.data on first use).

python examples/fashion_mnist_cnn.py
python examples/fashion_mnist_cnn.py --fake-data   # random images: a smoke run, offline
"""

from __future__ import annotations

import argparse

from fake_data import banded_images

import maligrad as mg
from maligrad import nn
from maligrad.data import Compose, DataLoader, FashionMNIST, Normalize, ToFloat
from maligrad.nn import functional as F


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


def load(fake: bool, limit: int) -> tuple:
    if fake:
        images, labels = banded_images(limit + 500, (1, 28, 28))
        return (
            FashionMNIST.from_arrays(images[:limit], labels[:limit]),
            FashionMNIST.from_arrays(images[limit:], labels[limit:]),
        )
    return FashionMNIST(train=True), FashionMNIST(train=False)


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description="CNN on Fashion-MNIST")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=20000, help="train on the first N images")
    p.add_argument("--fake-data", action="store_true", help="random images, no download")
    args = p.parse_args(argv)

    mg.manual_seed(0)
    train, test = load(args.fake_data, args.limit)
    if len(train) > args.limit:
        train = train.from_arrays(train.images[: args.limit], train.labels[: args.limit])
    prep = Compose([ToFloat(), Normalize(0.2860, 0.3530)])
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=0, transform=prep)
    model = cnn()
    optimizer = nn.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(args.epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(mg.Variable(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}")

    model.eval()
    correct = 0
    with mg.no_grad():
        for x, y in DataLoader(test, batch_size=500, transform=prep):
            correct += int((model(mg.Variable(x)).data.argmax(axis=1) == y).sum())
    accuracy = correct / len(test)
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
