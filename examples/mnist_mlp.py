"""An MLP on MNIST: the shortest complete training loop in maligrad.

python examples/mnist_mlp.py            # bundled 6,000-image sample, offline
python examples/mnist_mlp.py --full     # all 60,000 images (downloaded and verified)
"""

from __future__ import annotations

import argparse

from loop import accuracy, train_epoch

import maligrad as mg
from maligrad import nn
from maligrad.data import MNIST, Compose, DataLoader, Normalize, ToFloat, mnist_sample


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description="MLP on MNIST")
    p.add_argument("--full", action="store_true", help="full MNIST instead of the sample")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--limit", type=int, default=None, help="train on the first N images")
    args = p.parse_args(argv)

    mg.manual_seed(0)
    train, test = (
        (MNIST(train=True), MNIST(train=False))
        if args.full
        else (mnist_sample(train=True), mnist_sample(train=False))
    )
    if args.limit:
        train = train.from_arrays(train.images[: args.limit], train.labels[: args.limit])
    prep = Compose([ToFloat(), Normalize(0.1307, 0.3081)])
    loader = DataLoader(train, batch_size=64, shuffle=True, generator=0, transform=prep)

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(args.epochs):
        loss = train_epoch(model, loader, optimizer)
        print(f"epoch {epoch + 1}: mean loss {loss:.4f}")
    test_acc = accuracy(model, DataLoader(test, batch_size=1000, transform=prep))
    print(f"test accuracy: {test_acc:.4f}")
    return test_acc


if __name__ == "__main__":
    main()
