"""Bad arguments to maligrad.data's public API: a clear error that names the argument."""

from __future__ import annotations

import numpy as np
import pytest

from maligrad.data import (
    MNIST,
    ArrayDataset,
    Compose,
    DataLoader,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Subset,
    ToFloat,
    cache_dir,
    fetch,
    get_spec,
    mnist_sample,
    random_split,
)
from maligrad.data.datasets import ImageDataset

DS = ArrayDataset(np.arange(10), np.arange(10))
BATCH = np.zeros((2, 1, 4, 4), np.float32)

CASES = [
    # (call, exception type, words the message must contain)
    (lambda: DataLoader(None), TypeError, "dataset must be a dataset"),
    (lambda: DataLoader(5), TypeError, "dataset must be a dataset"),
    (lambda: DataLoader("abc"), TypeError, "dataset must be a dataset"),
    (lambda: DataLoader(DS, batch_size=0), ValueError, "batch_size must be positive"),
    (lambda: DataLoader(DS, batch_size=-2), ValueError, "batch_size"),
    (lambda: DataLoader(DS, batch_size=2.5), TypeError, "batch_size must be an int"),
    (lambda: DataLoader(DS, batch_size="4"), TypeError, "batch_size must be an int"),
    (lambda: DataLoader(DS, batch_size=True), TypeError, "batch_size must be an int"),
    (lambda: DataLoader(DS, batch_size=None), TypeError, "batch_size must be an int"),
    (lambda: DataLoader(DS, shuffle="yes"), TypeError, "shuffle must be a bool"),
    (lambda: DataLoader(DS, shuffle=None), TypeError, "shuffle must be a bool"),
    (lambda: DataLoader(DS, drop_last=1), TypeError, "drop_last must be a bool"),
    (lambda: DataLoader(DS, transform="ToFloat"), TypeError, "transform must be callable"),
    (lambda: DataLoader(DS, transform=[ToFloat()]), TypeError, "transform must be callable"),
    (lambda: ArrayDataset(), ValueError, "at least one array"),
    (lambda: ArrayDataset(None), TypeError, "argument 0 must be an array"),
    (lambda: ArrayDataset(np.arange(3), "abc"), TypeError, "argument 1 must be an array"),
    (lambda: ArrayDataset(np.arange(3), np.arange(4)), ValueError, "differ in length"),
    (lambda: ArrayDataset(np.float32(1.0)), ValueError, "at least one dimension"),
    (lambda: ArrayDataset([[1, 2], [3]]), ValueError, "rectangular"),
    (lambda: Subset(None, [0]), TypeError, "dataset must be a dataset"),
    (lambda: Subset(DS, [0.5, 1.5]), TypeError, "indices must be integers"),
    (lambda: Subset(DS, np.ones(10, bool)), TypeError, "np.flatnonzero"),
    (lambda: Subset(DS, [10]), IndexError, "out of range"),
    (lambda: Subset(DS, [-11]), IndexError, "out of range"),
    (lambda: random_split(None, [1]), TypeError, "dataset must be a dataset"),
    (lambda: random_split(DS, None), TypeError, "lengths must be a sequence"),
    (lambda: random_split(DS, 5), TypeError, "lengths must be a sequence"),
    (lambda: random_split(DS, "55"), TypeError, "lengths must be a sequence"),
    (lambda: random_split(DS, ["5", "5"]), TypeError, "lengths must hold"),
    (lambda: random_split(DS, [5, None]), TypeError, "lengths must hold"),
    (lambda: random_split(DS, [0.5, float("nan")]), ValueError, "lengths must be finite"),
    (lambda: random_split(DS, [5, 6]), ValueError, "lengths"),
    (lambda: random_split(DS, [12, -2]), ValueError, "lengths"),
    (lambda: random_split(DS, []), ValueError, "at least one length"),
    (lambda: Compose(None), TypeError, "Compose takes a list"),
    (lambda: Compose(ToFloat()), TypeError, "Compose takes a list"),
    (lambda: Compose([ToFloat(), "norm"]), TypeError, "transforms[1] is not callable"),
    (lambda: ToFloat()(None), TypeError, "ToFloat expects a numeric array"),
    (lambda: ToFloat()("abc"), TypeError, "ToFloat expects a numeric array"),
    (lambda: ToFloat()(np.array([None])), TypeError, "dtype object"),
    (lambda: Normalize(None, 1.0), TypeError, "mean must be a number"),
    (lambda: Normalize(0.5, "a"), TypeError, "std must be a number"),
    (lambda: Normalize(0.5, 0.0), ValueError, "std must be positive"),
    (lambda: Normalize(0.5, -1.0), ValueError, "std must be positive"),
    (lambda: Normalize(0.5, float("nan")), ValueError, "std must be positive and finite"),
    (lambda: Normalize(0.5, float("inf")), ValueError, "std must be positive and finite"),
    (lambda: Normalize(float("nan"), 1.0), ValueError, "mean must be finite"),
    (lambda: Normalize([0.5, 0.5], [1.0, 1.0, 1.0]), ValueError, "one per channel"),
    (lambda: Normalize([[0.5]], 1.0), ValueError, "one value per channel"),
    (lambda: Normalize([0.5, 0.5], 1.0)(BATCH), ValueError, "2 channels"),
    (lambda: Normalize(0.5, 1.0)(None), TypeError, "Normalize expects a numeric array"),
    (lambda: RandomCrop(0), ValueError, "size must be a positive"),
    (lambda: RandomCrop(2.5), TypeError, "size must be an int"),
    (lambda: RandomCrop(True), TypeError, "size must be an int"),
    (lambda: RandomCrop("4"), TypeError, "size must be an int"),
    (lambda: RandomCrop((2, 2, 2)), ValueError, "(h, w)"),
    (lambda: RandomCrop(2, padding=-1), ValueError, "padding must be >= 0"),
    (lambda: RandomCrop(2, padding=1.5), TypeError, "padding must be an int"),
    (lambda: RandomCrop(2, padding=None), TypeError, "padding must be an int"),
    (lambda: RandomCrop(2, fill="black"), TypeError, "fill must be a number"),
    (lambda: RandomCrop(2)(None), TypeError, "RandomCrop expects a numeric array"),
    (lambda: RandomCrop(2)(np.zeros(4)), ValueError, "RandomCrop expects a batch"),
    (lambda: RandomCrop(9)(BATCH), ValueError, "larger than the padded image"),
    (lambda: RandomHorizontalFlip(p="0.5"), TypeError, "p must be a number"),
    (lambda: RandomHorizontalFlip(p=None), TypeError, "p must be a number"),
    (lambda: RandomHorizontalFlip(p=1.5), ValueError, "p must be in [0, 1]"),
    (lambda: RandomHorizontalFlip(p=float("nan")), ValueError, "p must be in [0, 1]"),
    (lambda: RandomHorizontalFlip()(None), TypeError, "RandomHorizontalFlip expects"),
    (lambda: RandomHorizontalFlip()(np.float32(1)), ValueError, "0-d"),
    (lambda: cache_dir(3), TypeError, "root must be a str"),
    (lambda: cache_dir(""), ValueError, "root is an empty string"),
    (lambda: cache_dir("  "), ValueError, "root is an empty string"),
    (lambda: MNIST(root=3), TypeError, "root must be a str"),
    (lambda: MNIST(train="yes"), TypeError, "train must be a bool"),
    (lambda: MNIST(download="no"), TypeError, "download must be a bool"),
    (lambda: mnist_sample(train=None), TypeError, "train must be a bool"),
    (lambda: fetch("mnist"), TypeError, "spec must be a DatasetSpec"),
    (lambda: get_spec(None), TypeError, "dataset name must be a str"),
    (lambda: get_spec("imagenet"), KeyError, "unknown dataset 'imagenet'"),
    (lambda: fetch(get_spec("mnist"), filenames=["x.gz"]), KeyError, "no file 'x.gz'"),
    (
        lambda: ImageDataset.from_arrays(np.zeros((2, 1, 2, 2), np.uint8), [0.5, 1.0]),
        TypeError,
        "labels must be integers",
    ),
    (
        lambda: ImageDataset.from_arrays(np.zeros((2, 2, 2), np.uint8), [0, 1]),
        ValueError,
        "uint8 NCHW",
    ),
    (
        lambda: ImageDataset.from_arrays(np.zeros((2, 1, 2, 2), np.uint8), [0, 1, 2]),
        ValueError,
        "labels of shape",
    ),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bad_input_is_refused_by_name(case):
    call, kind, words = CASES[case]
    with pytest.raises(kind) as info:
        call()
    message = str(info.value.args[0]) if kind is KeyError else str(info.value)
    assert words in message, message


def test_case_count():
    assert len(CASES) >= 80


ACCEPTED = [
    # (call, why it is accepted by design)
    (lambda: DataLoader(np.arange(6).reshape(3, 2), batch_size=2), "an array is a dataset"),
    (lambda: DataLoader(DS, shuffle=np.bool_(True)), "numpy bools are bools"),
    (lambda: DataLoader(DS, batch_size=np.int64(3)), "numpy ints are ints"),
    (lambda: RandomCrop([2, 3]), "a list for (h, w), as torchvision"),
    (lambda: Subset(DS, []), "an empty subset, as torch"),
    (lambda: random_split(DS, [0.5, 0.5]), "fractions, as torch"),
]


@pytest.mark.parametrize("case", range(len(ACCEPTED)))
def test_accepted_by_design(case):
    call, _why = ACCEPTED[case]
    assert call() is not None
