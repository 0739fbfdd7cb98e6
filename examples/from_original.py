"""The original maligrad's two MNIST notebooks (an MLP and a small CNN), in today's API.

The same models as rziga/maligrad's ``examples/mlp_mnist.ipynb`` and ``CNN_mnist.ipynb``,
written fresh for maligrad-nn and maligrad-data; docs/migrating.md lists what changed.

    python examples/from_original.py                 # both models on the bundled sample
    python examples/from_original.py --model cnn --epochs 3
"""

from __future__ import annotations

import argparse

import maligrad as mg
from maligrad import nn
from maligrad.data import Compose, DataLoader, Normalize, ToFloat, mnist_sample


def mlp() -> nn.Module:
    # The notebook's widths. No Softmax at the end: CrossEntropyLoss takes logits.
    return nn.Sequential(
        nn.Flatten(),  # (N, 1, 28, 28) -> (N, 784); the notebook reshaped by hand
        nn.Linear(784, 123), nn.ReLU(),
        nn.Linear(123, 77), nn.ReLU(),
        nn.Linear(77, 77), nn.ReLU(),
        nn.Linear(77, 10),
    )  # fmt: skip


def cnn() -> nn.Module:
    # The notebook's channels; 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1 pixels.
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(3, 7, 3), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(7, 12, 3), nn.ReLU(),
        nn.Conv2d(12, 18, 3), nn.ReLU(),
        nn.Flatten(),  # all axes after the batch axis (the original's Flatten(3))
        nn.Linear(18, 10),
    )  # fmt: skip


def train(model: nn.Module, loader: DataLoader, epochs: int, lr: float) -> None:
    optimizer = nn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for x, y in loader:  # float32 images (N, 1, 28, 28) and int64 labels
            loss = criterion(model(mg.Variable(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"  epoch {epoch + 1}: mean loss {total / len(loader):.4f}")


def test_accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = 0
    with mg.no_grad():
        for x, y in loader:
            correct += int((model(mg.Variable(x)).data.argmax(axis=1) == y).sum())
    return correct / len(loader.dataset)


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    p.add_argument("--epochs", type=int, default=3, help="default: 3")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images")
    args = p.parse_args(argv)

    train_set, test_set = mnist_sample(train=True), mnist_sample(train=False)
    if args.limit:
        train_set = train_set.from_arrays(
            train_set.images[: args.limit], train_set.labels[: args.limit]
        )
    prep = Compose([ToFloat(), Normalize(0.1307, 0.3081)])  # uint8 -> standardised float32
    loader = DataLoader(train_set, batch_size=32, shuffle=True, generator=0, transform=prep)
    test_loader = DataLoader(test_set, batch_size=500, transform=prep)

    results = {}
    for name, build, lr in (("mlp", mlp, 0.05), ("cnn", cnn, 0.05)):
        if args.model in (name, "both"):
            mg.manual_seed(1337)
            model = build()
            print(f"{name}: {sum(p.size for p in model.parameters()):,} parameters")
            train(model, loader, args.epochs, lr)
            results[name] = test_accuracy(model, test_loader)
            print(f"{name}: test accuracy {results[name]:.4f}")
    return results


if __name__ == "__main__":
    main()
