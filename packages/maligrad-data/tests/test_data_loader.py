"""DataLoader, ArrayDataset, Subset, random_split and the batch transforms."""

from __future__ import annotations

import numpy as np
import pytest

from maligrad.data import (
    ArrayDataset,
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Subset,
    ToFloat,
    random_split,
)


def _dataset(n=10):
    return ArrayDataset(np.arange(n) * 10, np.arange(n))


@pytest.mark.parametrize(
    ("n", "batch", "drop_last", "expected"),
    [(10, 4, False, 3), (10, 4, True, 2), (8, 4, True, 2), (3, 5, True, 0), (3, 5, False, 1)],
)
def test_len_and_drop_last(n, batch, drop_last, expected):
    loader = DataLoader(_dataset(n), batch_size=batch, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == expected
    sizes = [len(b[0]) for b in batches]
    if drop_last:
        assert all(s == batch for s in sizes)
    else:
        assert sum(sizes) == n


def test_unshuffled_order_and_pairs():
    xs, ys = zip(*DataLoader(_dataset(), batch_size=4), strict=True)
    assert [x.tolist() for x in xs] == [[0, 10, 20, 30], [40, 50, 60, 70], [80, 90]]
    assert ys[0].dtype == np.int64 and ys[2].tolist() == [8, 9]


def test_shuffle_covers_once_reproducible_and_new_each_epoch():
    ds = _dataset(100)
    loader = DataLoader(ds, batch_size=16, shuffle=True, generator=123)
    epochs = [np.concatenate([y for _, y in loader]) for _ in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(100))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    again = DataLoader(ds, batch_size=16, shuffle=True, generator=123)
    for order in epochs:
        np.testing.assert_array_equal(np.concatenate([y for _, y in again]), order)
    expected = np.random.default_rng(123).permutation(100)
    np.testing.assert_array_equal(epochs[0], expected)
    gen_loader = DataLoader(ds, batch_size=16, shuffle=True, generator=np.random.default_rng(123))
    np.testing.assert_array_equal(np.concatenate([y for _, y in gen_loader]), expected)


def test_pairs_stay_aligned_under_shuffle():
    for x, y in DataLoader(_dataset(50), batch_size=7, shuffle=True, generator=0):
        np.testing.assert_array_equal(x, y * 10)


class _ListDataset:
    """No __getitems__: the loader falls back to one sample at a time."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full((2,), i, dtype=np.float32), i


def test_generic_dataset_is_collated():
    ds = _ListDataset(5)
    assert isinstance(ds, Dataset)
    x, y = next(iter(DataLoader(ds, batch_size=3, transform=lambda b: b * 2)))
    assert x.shape == (3, 2) and x[:, 0].tolist() == [0, 2, 4] and y.tolist() == [0, 1, 2]


def test_array_datasets_use_one_gather_per_batch(monkeypatch):
    ds = _dataset(20)
    calls = []
    monkeypatch.setattr(ArrayDataset, "__getitem__", lambda self, i: calls.append(i))
    assert len(list(DataLoader(ds, batch_size=8, shuffle=True, generator=1))) == 3
    assert calls == []


def test_transform_applies_to_inputs_only():
    images = np.full((4, 1, 2, 2), 255, dtype=np.uint8)
    loader = DataLoader(ArrayDataset(images, np.arange(4)), batch_size=4, transform=ToFloat())
    x, y = next(iter(loader))
    assert x.dtype == np.float32 and (x == 1.0).all() and y.tolist() == [0, 1, 2, 3]
    single = DataLoader(ArrayDataset(images), batch_size=2, transform=ToFloat())
    (x,) = next(iter(single))
    assert x.dtype == np.float32


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be positive"):
        DataLoader(_dataset(), batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(_dataset(), batch_size=2.5)


def test_array_dataset_and_subset():
    ds = ArrayDataset(np.arange(6).reshape(6, 1), np.arange(6) % 2)
    assert len(ds) == 6 and ds[4][0].tolist() == [4] and ds[4][1] == 0
    with pytest.raises(ValueError, match="differ in length"):
        ArrayDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least one array"):
        ArrayDataset()
    sub = Subset(ds, [5, 1, -1])
    assert len(sub) == 3 and sub[0][0].tolist() == [5] and sub[2][0].tolist() == [5]
    x, y = sub.__getitems__(np.array([1, 0]))
    assert x.ravel().tolist() == [1, 5] and y.tolist() == [1, 1]
    with pytest.raises(IndexError):
        Subset(ds, [6])
    generic = Subset(_ListDataset(4), [3, 2])
    x, y = next(iter(DataLoader(generic, batch_size=2)))
    assert y.tolist() == [3, 2]


def test_random_split():
    ds = _dataset(10)
    a, b, c = random_split(ds, [5, 3, 2], generator=0)
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    together = np.concatenate([s.indices for s in (a, b, c)])
    assert sorted(together.tolist()) == list(range(10))
    a2, _, _ = random_split(ds, [5, 3, 2], generator=0)
    np.testing.assert_array_equal(a.indices, a2.indices)
    np.testing.assert_array_equal(a.indices, np.random.default_rng(0).permutation(10)[:5])
    assert [len(s) for s in random_split(_dataset(11), [0.5, 0.5], generator=1)] == [6, 5]
    with pytest.raises(ValueError, match="do not add up"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="fractions summing to 1"):
        random_split(ds, [0.5, 0.4])


def test_to_float_and_normalize_known_values():
    x = np.array([[[[0, 51], [102, 255]]]], dtype=np.uint8)
    f = ToFloat()(x)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.ravel(), np.array([0, 0.2, 0.4, 1.0], dtype=np.float32))
    n = Normalize(0.5, 0.25)(f)
    np.testing.assert_allclose(n.ravel(), [-2.0, -1.2, -0.4, 2.0], rtol=1e-6)
    assert n.dtype == np.float32
    two = np.ones((1, 2, 1, 1), dtype=np.float32)
    np.testing.assert_allclose(Normalize([1.0, 0.0], [1.0, 4.0])(two).ravel(), [0.0, 0.25])
    assert (f == ToFloat()(x)).all()  # inputs are not modified
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize(0.0, 0.0)


def test_random_crop_known_windows():
    x = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    crop = RandomCrop(3, padding=1, generator=7)
    out = crop(x)
    rng = np.random.default_rng(7)
    top, left = rng.integers(0, 3, size=2), rng.integers(0, 3, size=2)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for i in range(2):
        expected = padded[i, :, top[i] : top[i] + 3, left[i] : left[i] + 3]
        np.testing.assert_array_equal(out[i], expected)
    assert out.shape == (2, 1, 3, 3) and out.dtype == np.float32
    same = RandomCrop(3, padding=0, generator=0)(x)
    np.testing.assert_array_equal(same, x)
    small = RandomCrop((2, 1), generator=0)(x)
    assert small.shape == (2, 1, 2, 1)
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(5, padding=0)(x)


def test_random_crop_is_seeded_and_varies():
    x = np.random.default_rng(0).integers(0, 255, (64, 3, 8, 8), dtype=np.uint8)
    a = RandomCrop(8, padding=2, generator=3)(x)
    b = RandomCrop(8, padding=2, generator=3)(x)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8
    shifted = [not np.array_equal(a[i], x[i]) for i in range(64)]
    assert 40 < sum(shifted) < 64  # 1/25 of the crops keep the offset (2, 2)


def test_random_horizontal_flip():
    x = np.arange(8, dtype=np.uint8).reshape(4, 1, 1, 2)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)
    out = RandomHorizontalFlip(generator=5)(x)
    flipped = np.random.default_rng(5).random(4) < 0.5
    for i in range(4):
        np.testing.assert_array_equal(out[i], x[i, ..., ::-1] if flipped[i] else x[i])
    with pytest.raises(ValueError):
        RandomHorizontalFlip(p=2)


def test_compose_in_order():
    x = np.full((1, 1, 2, 2), 255, dtype=np.uint8)
    out = Compose([ToFloat(), Normalize(0.5, 0.5)])(x)
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2), dtype=np.float32))


def test_compose_never_modifies_the_callers_array():
    x = np.full((2, 1, 2, 2), 0.5, dtype=np.float32)
    out = Compose([Normalize(0.5, 0.5)])(x)  # first transform: not in place
    assert (x == 0.5).all() and (out == 0).all()
    view_of_x = Compose([lambda b: b[:, :, ::-1], Normalize(0.5, 0.5)])(x)
    assert (x == 0.5).all() and (view_of_x == 0).all()
    chained = Compose([ToFloat(), Normalize(0.5, 0.5), Normalize(1.0, 0.5)])
    np.testing.assert_array_equal(chained(np.full((1, 1, 1, 1), 255, np.uint8)), [[[[0.0]]]])


def test_random_crop_reuses_its_buffer_correctly():
    crop = RandomCrop(2, padding=1, fill=-1, generator=0)
    for n in (3, 5, 3):  # batch sizes change, as with a short last batch
        x = np.random.default_rng(n).random((n, 2, 2, 2)).astype(np.float32)
        rng = np.random.default_rng(0)
        crop.generator = rng
        out = crop(x)
        check = np.random.default_rng(0)
        top, left = check.integers(0, 3, size=n), check.integers(0, 3, size=n)
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1)
        for i in range(n):
            want = padded[i, :, top[i] : top[i] + 2, left[i] : left[i] + 2]
            np.testing.assert_array_equal(out[i], want)
        out[:] = 99  # the result is the caller's: writing to it must not leak into the buffer
    again = crop(np.zeros((3, 2, 2, 2), dtype=np.float32))
    assert set(np.unique(again).tolist()) <= {-1.0, 0.0}


def test_normalize_checks_channels_against_the_batch() -> None:
    with pytest.raises(ValueError, match="one per channel"):
        Normalize([1.0, 2.0, 3.0], [1.0, 2.0])
    three = Normalize([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"3 channels.*\(2, 1, 4, 4\)"):
        three(np.zeros((2, 1, 4, 4), np.float32))
    out = Normalize([0.5], [0.5])(np.ones((2, 3, 1, 1), np.float32))  # one value fits all
    np.testing.assert_array_equal(out, np.ones((2, 3, 1, 1)))


@pytest.mark.parametrize(
    ("new", "old"),
    [
        (
            lambda: [b[1].tolist() for b in DataLoader(_dataset(9), 4, True, generator=3)],
            lambda: [b[1].tolist() for b in DataLoader(_dataset(9), 4, True, seed=3)],
        ),
        (
            lambda: [s.indices.tolist() for s in random_split(_dataset(9), [5, 4], generator=3)],
            lambda: [s.indices.tolist() for s in random_split(_dataset(9), [5, 4], seed=3)],
        ),
        (
            lambda: RandomCrop(2, padding=1, generator=3)(np.ones((4, 1, 2, 2))).tolist(),
            lambda: RandomCrop(2, padding=1, rng=3)(np.ones((4, 1, 2, 2))).tolist(),
        ),
        (
            lambda: RandomHorizontalFlip(generator=3)(np.arange(8.0).reshape(4, 1, 1, 2)).tolist(),
            lambda: RandomHorizontalFlip(rng=3)(np.arange(8.0).reshape(4, 1, 1, 2)).tolist(),
        ),
    ],
)
def test_old_random_keywords_still_work_with_a_deprecation_warning(new, old):
    with pytest.warns(DeprecationWarning, match="use generator="):
        before = old()
    assert before == new()


@pytest.mark.parametrize(
    ("call", "exc", "text"),
    [
        (lambda: DataLoader(_dataset(4), generator=1, seed=1), TypeError, "generator="),
        (lambda: RandomCrop(2, generator=1, rng=1), TypeError, "generator="),
        (lambda: DataLoader(_dataset(4), generator=1.5), TypeError, "generator"),
        (lambda: DataLoader(_dataset(4), generator=True), TypeError, "generator"),
        (lambda: random_split(_dataset(4), [2, 2], generator="0"), TypeError, "generator"),
        (lambda: RandomHorizontalFlip(generator=-1), ValueError, "generator"),
    ],
)
def test_bad_generator_arguments_are_refused_by_name(call, exc, text):
    with pytest.raises(exc, match=text):
        call()
