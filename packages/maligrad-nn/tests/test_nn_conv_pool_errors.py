"""Bad calls to convolution and pooling (layers and functions): the exception type, and a
message that names the argument at fault."""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn

X4 = np.zeros((1, 2, 8, 8), np.float32)
W4 = np.zeros((3, 2, 3, 3), np.float32)
X3 = np.zeros((1, 2, 8), np.float32)

# (id, call, exception, words the message must contain)
CASES = [
    ("Conv2d kernel 0", lambda: nn.Conv2d(1, 4, 0), ValueError, ["kernel_size", "positive"]),
    ("Conv2d kernel -1", lambda: nn.Conv2d(1, 4, (3, -1)), ValueError, ["kernel_size"]),
    ("Conv2d kernel float", lambda: nn.Conv2d(1, 4, 3.5), TypeError, ["kernel_size", "float"]),
    ("Conv2d kernel str", lambda: nn.Conv2d(1, 4, "3"), TypeError, ["kernel_size"]),
    ("Conv2d kernel bool", lambda: nn.Conv2d(1, 4, True), TypeError, ["kernel_size"]),
    ("Conv2d kernel 3-tuple", lambda: nn.Conv2d(1, 4, (3, 3, 3)), ValueError, ["kernel_size"]),
    ("Conv2d stride 0", lambda: nn.Conv2d(1, 4, 3, stride=0), ValueError, ["stride"]),
    ("Conv2d dilation 0", lambda: nn.Conv2d(1, 4, 3, dilation=0), ValueError, ["dilation"]),
    ("Conv2d padding -1", lambda: nn.Conv2d(1, 4, 3, padding=-1), ValueError, ["padding"]),
    ("Conv2d in_channels 0", lambda: nn.Conv2d(0, 4, 3), ValueError, ["in_channels"]),
    ("Conv2d out_channels 2.0", lambda: nn.Conv2d(1, 2.0, 3), TypeError, ["out_channels"]),
    ("Conv2d groups 0", lambda: nn.Conv2d(2, 4, 3, groups=0), ValueError, ["groups"]),
    ("Conv1d kernel 0", lambda: nn.Conv1d(1, 4, 0), ValueError, ["kernel_size"]),
    ("ConvT2d stride 0", lambda: nn.ConvTranspose2d(1, 4, 3, stride=0), ValueError, ["stride"]),
    (
        "ConvT2d output_padding = stride",
        lambda: nn.ConvTranspose2d(1, 4, 3, stride=2, output_padding=2),
        ValueError,
        ["output_padding", "stride"],
    ),
    (
        "ConvT1d output_padding 1, stride 1",
        lambda: nn.ConvTranspose1d(1, 4, 3, output_padding=1),
        ValueError,
        ["output_padding"],
    ),
    ("conv2d stride 0", lambda: F.conv2d(X4, W4, stride=0), ValueError, ["stride"]),
    ("conv2d dilation (1, 0)", lambda: F.conv2d(X4, W4, dilation=(1, 0)), ValueError, ["dilation"]),
    ("conv2d stride float", lambda: F.conv2d(X4, W4, stride=1.0), TypeError, ["stride"]),
    ("conv2d padding -2", lambda: F.conv2d(X4, W4, padding=-2), ValueError, ["padding"]),
    ("conv2d padding 'full'", lambda: F.conv2d(X4, W4, padding="full"), ValueError, ["padding"]),
    ("conv2d groups 0", lambda: F.conv2d(X4, W4, groups=0), ValueError, ["groups"]),
    ("conv2d bool input", lambda: F.conv2d(X4.astype(bool), W4), TypeError, ["input", "bool"]),
    ("conv2d str weight", lambda: F.conv2d(X4, W4.astype(str)), TypeError, ["weight"]),
    (
        "conv2d object bias",
        lambda: F.conv2d(X4, W4, np.zeros(3, dtype=object)),
        TypeError,
        ["bias", "object"],
    ),
    ("conv2d empty kernel", lambda: F.conv2d(X4, np.zeros((3, 2, 0, 3))), ValueError, ["kernel"]),
    (
        "conv1d stride 0",
        lambda: F.conv1d(X3, np.zeros((3, 2, 3)), stride=0),
        ValueError,
        ["stride"],
    ),
    (
        "conv_transpose2d stride 0",
        lambda: F.conv_transpose2d(X4, np.zeros((2, 3, 3, 3)), stride=0),
        ValueError,
        ["stride"],
    ),
    (
        "conv_transpose2d output_padding >= stride",
        lambda: F.conv_transpose2d(X4, np.zeros((2, 3, 3, 3)), stride=2, output_padding=2),
        ValueError,
        ["output_padding", "stride"],
    ),
    (
        "conv_transpose2d output_padding -1",
        lambda: F.conv_transpose2d(X4, np.zeros((2, 3, 3, 3)), output_padding=-1),
        ValueError,
        ["output_padding"],
    ),
    (
        "conv_transpose2d padding float",
        lambda: F.conv_transpose2d(X4, np.zeros((2, 3, 3, 3)), padding=0.5),
        TypeError,
        ["padding"],
    ),
    (
        "conv_transpose2d bool input",
        lambda: F.conv_transpose2d(X4.astype(bool), np.zeros((2, 3, 3, 3))),
        TypeError,
        ["input"],
    ),
    ("MaxPool2d kernel 0", lambda: nn.MaxPool2d(0), ValueError, ["kernel_size", "positive"]),
    ("MaxPool2d stride 0", lambda: nn.MaxPool2d(2, stride=0), ValueError, ["stride"]),
    ("MaxPool2d dilation 0", lambda: nn.MaxPool2d(2, dilation=0), ValueError, ["dilation"]),
    ("MaxPool2d padding -1", lambda: nn.MaxPool2d(2, padding=-1), ValueError, ["padding"]),
    ("MaxPool2d kernel float", lambda: nn.MaxPool2d(2.0), TypeError, ["kernel_size"]),
    ("MaxPool1d kernel 0", lambda: nn.MaxPool1d(0), ValueError, ["kernel_size"]),
    ("AvgPool2d kernel 0", lambda: nn.AvgPool2d(0), ValueError, ["kernel_size"]),
    ("AvgPool2d kernel (2, 0)", lambda: nn.AvgPool2d((2, 0)), ValueError, ["kernel_size"]),
    ("AvgPool1d stride 0", lambda: nn.AvgPool1d(2, stride=0), ValueError, ["stride"]),
    ("max_pool2d kernel 0", lambda: F.max_pool2d(X4, 0), ValueError, ["kernel_size"]),
    ("max_pool2d stride -1", lambda: F.max_pool2d(X4, 2, stride=-1), ValueError, ["stride"]),
    ("max_pool2d kernel str", lambda: F.max_pool2d(X4, "2"), TypeError, ["kernel_size"]),
    ("avg_pool2d kernel 0", lambda: F.avg_pool2d(X4, 0), ValueError, ["kernel_size"]),
    ("avg_pool2d padding -1", lambda: F.avg_pool2d(X4, 2, padding=-1), ValueError, ["padding"]),
    ("max_pool1d kernel 0", lambda: F.max_pool1d(X3, 0), ValueError, ["kernel_size"]),
    ("avg_pool1d kernel 0", lambda: F.avg_pool1d(X3, 0), ValueError, ["kernel_size"]),
]


@pytest.mark.parametrize("call,exc,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_call_names_the_argument(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_good_calls_next_to_the_bad_ones_work():
    assert nn.Conv2d(1, 4, 1)(mg.Variable(np.zeros((1, 1, 3, 3), np.float32))).shape == (
        1, 4, 3, 3,
    )  # fmt: skip
    y = nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1)(mg.Variable(X4))
    assert y.shape == (1, 3, 18, 18)
    assert F.conv2d(X4.astype(np.int64), W4.astype(np.int64)).shape == (1, 3, 6, 6)
    assert nn.MaxPool2d((2, 1), stride=(1, 1))(mg.Variable(X4)).shape == (1, 2, 7, 8)
