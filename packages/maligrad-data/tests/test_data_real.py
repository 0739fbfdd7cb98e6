"""Real MNIST and Fashion-MNIST from ../shared/data, served over loopback (skips if absent)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from maligrad.data import MNIST, REGISTRY, FashionMNIST, mnist_sample
from maligrad.data.download import check_file

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent")


def test_real_files_match_the_registry():
    for name in ("mnist", "fashion-mnist"):
        for f in REGISTRY[name].files:
            assert check_file(SHARED / f.key, f) == "verified", f.key


def test_real_mnist_through_the_download_path(serve, monkeypatch):
    server = serve(SHARED.resolve())
    monkeypatch.setenv("MALIGRAD_DATA_URL", server.url)
    spec = replace(REGISTRY["mnist"], mirrors=())  # real hashes, no internet mirror
    train, test = MNIST(train=True, spec=spec), MNIST(train=False, spec=spec)
    assert train.images.shape == (60000, 1, 28, 28) and len(test) == 10000
    assert int((train.labels == 1).sum()) == 6742
    assert np.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]
    sample = mnist_sample(train=True)
    np.testing.assert_array_equal(sample.images, train.images[sample.indices])
    np.testing.assert_array_equal(sample.labels, train.labels[sample.indices])
    held_out = mnist_sample(train=False)
    np.testing.assert_array_equal(held_out.images, test.images[held_out.indices])
    server.stop()
    assert MNIST(train=False, spec=spec).labels[0] == 7  # from the cache, server stopped


def test_real_fashion_mnist(serve, monkeypatch):
    server = serve(SHARED.resolve())
    monkeypatch.setenv("MALIGRAD_DATA_URL", server.url)
    spec = replace(REGISTRY["fashion-mnist"], mirrors=())
    test = FashionMNIST(train=False, spec=spec)
    assert len(test) == 10000 and np.bincount(test.labels).tolist() == [1000] * 10
    assert test.classes[int(test.labels[0])] == "Ankle boot"
