"""Every example runs, with tiny settings, and does what it says (so examples never rot)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
from example_loader import EXAMPLES, load

SHARED = EXAMPLES.parent.parent / "shared" / "data"


def test_newton_reaches_the_rosenbrock_minimum() -> None:
    p = load("newton").main(["--steps", "10"])
    np.testing.assert_allclose(p, [1.0, 1.0], atol=1e-8)


def test_mnist_mlp_on_the_sample() -> None:
    accuracy = load("mnist_mlp").main(["--epochs", "1", "--limit", "2000"])
    assert accuracy > 0.8


def test_fashion_mnist_cnn_smoke() -> None:
    accuracy = load("fashion_mnist_cnn").main(["--fake-data", "--limit", "1000"])
    assert accuracy > 0.5  # ten classes told apart by a bright band's row


def test_cifar10_cnn_smoke() -> None:
    accuracy = load("cifar10_cnn").main(["--fake-data", "--limit", "256"])
    assert 0.0 <= accuracy <= 1.0


def test_char_lstm_learns_and_samples(capsys: pytest.CaptureFixture[str]) -> None:
    loss = load("char_lstm").main(["--steps", "60", "--hidden", "32", "--seq-len", "24"])
    out = capsys.readouterr().out
    assert "sample: Beautiful " in out
    assert loss < 3.0  # log(vocabulary of ~40 characters) is about 3.7 before training


def test_main_job_trains_saves_resumes_and_plots(tmp_path: Path) -> None:
    train = load("train")
    ckpt = tmp_path / "ckpt.npz"
    args = ["--model", "mlp", "--limit", "1000", "--batch-size", "100", "--no-progress"]
    acc1 = train.main([*args, "--epochs", "1", "--save", str(ckpt)])
    assert ckpt.exists() and acc1 > 0.6
    acc2 = train.main([*args, "--epochs", "2", "--resume", str(ckpt), "--save", str(ckpt)])
    assert acc2 > 0.6
    import maligrad.nn as nn

    state = nn.load(ckpt)
    assert int(state["epoch"]) == 2 and len(state["history"]["loss"]) == 2
    train.main([*args, "--epochs", "2", "--resume", str(ckpt), "--plot", str(tmp_path / "c.png")])


def test_main_job_lenet_one_epoch() -> None:
    accuracy = load("train").main(["--epochs", "1", "--limit", "1500", "--no-progress"])
    assert accuracy > 0.7


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not present")
def test_main_job_downloads_full_mnist_from_a_loopback_mirror(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    handler = functools.partial(QuietHandler, directory=str(SHARED))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("MALIGRAD_DATA_URL", f"http://127.0.0.1:{server.server_address[1]}/")
        monkeypatch.setenv("MALIGRAD_DATA_DIR", str(tmp_path / "cache"))
        accuracy = load("train").main(
            [
                "--dataset",
                "mnist",
                "--model",
                "mlp",
                "--epochs",
                "1",
                "--limit",
                "3000",
                "--no-progress",
            ]
        )
    finally:
        server.shutdown()
        server.server_close()
    assert accuracy > 0.8
    assert (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").stat().st_size == 9912422


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_main_job_resume_is_exact_and_bad_options_are_refused(tmp_path: Path) -> None:
    train = load("train")
    args = ["--model", "mlp", "--limit", "600", "--batch-size", "100", "--no-progress"]
    full, half = tmp_path / "full.npz", tmp_path / "half.npz"
    train.main([*args, "--epochs", "2", "--save", str(full)])
    train.main([*args, "--epochs", "1", "--save", str(half)])
    train.main(["--epochs", "2", "--resume", str(half), "--save", str(half), "--no-progress"])
    import maligrad.nn as nn

    a, b = nn.load(full)["model"], nn.load(half)["model"]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])  # bit for bit
    for bad in (
        ["--resume", str(tmp_path / "missing.npz")],
        ["--resume", str(half), "--optimizer", "sgd"],
        ["--save", str(tmp_path / "no" / "x.npz")],
        ["--lr", "0"],
        ["--limit", "-5"],
    ):
        with pytest.raises(SystemExit):
            train.main(bad)
