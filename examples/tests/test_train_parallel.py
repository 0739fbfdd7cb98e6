"""The main job on 2 processes (mpiexec) trains like 1, resumes, and only rank 0 speaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from example_loader import load

from maligrad import nn
from maligrad.nn import parallel
from maligrad.nn.parallel.launch import find_mpiexec

EXAMPLES = Path(__file__).resolve().parents[1]
MPIEXEC = find_mpiexec()
pytestmark = pytest.mark.skipif(
    MPIEXEC is None or not parallel.is_available(),
    reason="needs mpi4py and mpiexec: pip install 'maligrad-nn[mpi]'",
)
# A BatchNorm-free model, 256 images in 4 global batches of 64 (32 per rank).
ARGS = ["--model", "mlp", "--limit", "256", "--batch-size", "64", "--no-progress"]


def train_in_process(argv: list[str]) -> float:
    return load("train").main(argv)


def train_on_two(argv: list[str]) -> subprocess.CompletedProcess[str]:
    assert MPIEXEC is not None
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(EXAMPLES / "train.py"), *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_two_processes_match_one_and_resume(tmp_path: Path) -> None:
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    acc_one = train_in_process([*ARGS, "--epochs", "2", "--save", str(one)])
    first = train_on_two([*ARGS, "--epochs", "1", "--save", str(two)])
    assert "batch 64 (2 processes x 32)" in first.stdout
    assert first.stdout.count("epoch  1/1") == 1  # rank 0 alone prints
    second = train_on_two([*ARGS, "--epochs", "2", "--resume", str(two), "--save", str(two)])
    assert second.stdout.count("resumed from") == 1
    lines = [ln for ln in second.stdout.splitlines() if ln.startswith("test accuracy: ")]
    assert lines == [f"test accuracy: {acc_one:.4f}"]
    a, b = nn.load(one), nn.load(two)
    assert int(b["epoch"]) == 2
    # Each rank evaluates half of the images; the summed counts give one process's accuracy
    # (weights equal up to float32 rounding: allow one of the 256 or 1000 images to differ).
    for key in ("train_acc", "test_acc"):
        np.testing.assert_allclose(b["history"][key], a["history"][key], atol=1.01 / 256)
    for key, value in a["model"].items():
        np.testing.assert_allclose(b["model"][key], value, rtol=1e-4, atol=1e-5, err_msg=key)


def test_global_batch_must_split_evenly() -> None:
    assert MPIEXEC is not None
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(EXAMPLES / "train.py"), "--batch-size", "63"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "--batch-size 63 must be a multiple of the 2 processes" in proc.stderr
