"""The models the main job can train: an MLP, a LeNet-style CNN and a small ResNet.

All take NCHW float32 images and return class logits.
"""

from __future__ import annotations

from maligrad import nn


def mlp(in_shape: tuple[int, int, int], num_classes: int = 10) -> nn.Module:
    """784-256-128-10 style ReLU MLP over flattened images."""
    c, h, w = in_shape
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(c * h * w, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def lenet(in_shape: tuple[int, int, int], num_classes: int = 10) -> nn.Module:
    """conv5(16) relu pool2, conv5(32) relu pool2, linear 128, linear classes."""
    c, h, w = in_shape
    side_h, side_w = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(c, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * side_h * side_w, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


class ResidualBlock(nn.Module):
    """Two 3x3 conv-BN layers with a skip connection (a 1x1 conv when the shape changes)."""

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


def resnet_small(in_shape: tuple[int, int, int], num_classes: int = 10) -> nn.Module:
    """A small residual CNN with BatchNorm (16-32-64 channels), for CIFAR-sized images."""
    c, _, _ = in_shape
    return nn.Sequential(
        nn.Conv2d(c, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        ResidualBlock(16, 16),
        ResidualBlock(16, 32, stride=2),
        ResidualBlock(32, 64, stride=2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, num_classes),
    )


MODELS = {"mlp": mlp, "lenet": lenet, "resnet-small": resnet_small}
