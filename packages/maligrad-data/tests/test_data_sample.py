"""The bundled MNIST sample, and the package's independence from maligrad core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from maligrad.data import MNIST, DataLoader, mnist_sample
from maligrad.data.sample import sample_arrays

PACKAGE = Path(__file__).resolve().parents[1]


def test_sample_shapes_and_balance():
    train, test = mnist_sample(train=True), mnist_sample(train=False)
    assert isinstance(train, MNIST) and train.train and not test.train
    assert train.images.shape == (6000, 1, 28, 28) and test.images.shape == (1000, 1, 28, 28)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert np.bincount(train.labels).tolist() == [600] * 10
    assert np.bincount(test.labels).tolist() == [100] * 10
    assert train.images.max() == 255 and 25 < train.images.mean() < 40  # real digits
    assert train.indices.max() < 60000 and test.indices.max() < 10000
    assert len(np.unique(train.indices)) == 6000
    x, y = next(iter(DataLoader(train, batch_size=32, shuffle=True, generator=0)))
    assert x.shape == (32, 1, 28, 28) and y.shape == (32,)


def test_sample_file_provenance_and_size():
    arrays = sample_arrays()
    assert int(arrays["seed"]) == 20240601
    assert arrays["source_files"][0] == "train-images-idx3-ubyte.gz"
    assert arrays["source_sha256"][0].startswith("440fcabf73cc546f")
    path = PACKAGE / "src" / "maligrad" / "data" / "_sample" / "mnist_sample.npz"
    assert path.stat().st_size <= 2 * 1024 * 1024


def test_no_top_level_init_and_no_core_import():
    assert not (PACKAGE / "src" / "maligrad" / "__init__.py").exists()
    for path in (PACKAGE / "src" / "maligrad" / "data").rglob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and words[1].startswith("maligrad"):
                assert words[1].startswith("maligrad.data"), f"{path}: {line}"
    # whatever `import maligrad` pulls in (nothing, or core's own __init__), maligrad.data
    # adds only its own modules
    code = (
        "import sys, importlib; importlib.import_module('maligrad'); "
        "before = set(sys.modules); import maligrad.data; "
        "new = [m for m in set(sys.modules) - before if m.startswith('maligrad')]; "
        "assert all(m.startswith('maligrad.data') for m in new), new; print('ok')"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE / "src"), *sys.path]))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
