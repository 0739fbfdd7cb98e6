"""The main job's command line: --help, option errors, --plot, progress, offline errors, and
its evaluation shares on several processes."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from example_loader import load

from maligrad.data import MNIST, DownloadError

TINY = ["--model", "mlp", "--limit", "200", "--batch-size", "100", "--no-progress"]


def test_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        load("train").main(["--help"])
    assert exit.value.code == 0
    options = capsys.readouterr().out.split("options:", 1)[1]
    entries = [" ".join(entry.split()) for entry in re.split(r"\n(?=  -)", options)]
    for option, default in (
        ("--dataset", "default: mnist-sample (offline)"),
        ("--model", "default: lenet (resnet-small for cifar10)"),
        ("--epochs N", "default: 6 (8 for mnist, 10 for fashion-mnist, 15 for cifar10)"),
        ("--batch-size N", "default: 128 (64 for mnist-sample)"),
        ("--lr LR", "default: 0.002"),
        ("--optimizer", "default: adam"),
        ("--seed N", "default: 0"),
    ):
        (entry,) = [text for text in entries if text.startswith(option + " ")]
        assert entry.endswith(default), entry


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--epochs", "abc", "argument --epochs: expected a whole number, 0 or more, got 'abc'"),
        ("--epochs", "-1", "argument --epochs: expected a whole number, 0 or more, got -1"),
        ("--batch-size", "0", "argument --batch-size: expected a positive whole number, got 0"),
        ("--limit", "2.5", "argument --limit: expected a positive whole number, got '2.5'"),
        ("--lr", "fast", "argument --lr: expected a positive number, got 'fast'"),
        ("--lr", "0", "argument --lr: expected a positive number, got 0"),
    ],
)
def test_a_bad_value_names_its_option(
    option: str, value: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        load("train").main([option, value])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.rstrip().endswith(f"error: {expected}"), err
    assert "_" not in err.splitlines()[-1].split(":", 1)[1].replace("--batch-size", "")


def test_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "curves.png"
    load("train").main([*TINY, "--epochs", "1", "--plot", str(path)])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_an_error_before_training(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(SystemExit) as exit:
        load("train").main([*TINY, "--epochs", "1", "--plot", str(tmp_path / "c.png")])
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert "--plot" in captured.err and "matplotlib is not installed" in captured.err
    assert "epoch" not in captured.out  # refused before any training
    assert not (tmp_path / "c.png").exists()


def test_a_plot_that_cannot_be_written_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "curves.nosuchformat"
    with pytest.raises(SystemExit) as exit:
        load("train").main([*TINY, "--epochs", "0", "--plot", str(path)])
    assert isinstance(exit.value.code, str) and exit.value.code.startswith(f"--plot {path}: ")
    assert "nosuchformat" in exit.value.code and not path.exists()


def test_progress_bar_has_rate_eta_and_loss() -> None:
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = load("train").progress(4, "epoch 1", enabled=True, file=out, mininterval=0)
    for loss in (2.0, 1.5, 1.25, 0.75):
        bar.update(loss)
    bar.close()
    text = out.getvalue()
    assert "epoch 1" in text and "4/4" in text
    assert re.search(r"batch/s|s/batch", text)  # the rate
    assert re.search(r"<\d\d:\d\d", text)  # elapsed<remaining
    assert "loss=0.7500" in text


def test_without_tqdm_progress_is_the_line_per_epoch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    train = load("train")
    out = io.StringIO()
    bar = train.progress(4, "epoch 1", enabled=True, file=out)
    bar.update(1.0)
    bar.close()
    assert out.getvalue() == ""
    train.main([*TINY[:-1], "--epochs", "1"])
    captured = capsys.readouterr()
    assert re.search(r"^epoch  1/1  loss \d\.\d{4}  train acc", captured.out, re.M)
    assert captured.err == ""


def test_a_failed_download_prints_its_message_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train = load("train")
    message = "could not download mnist/train-images-idx3-ubyte.gz from any mirror: ..."

    def offline(name: str) -> None:
        raise DownloadError(message)

    monkeypatch.setattr(train, "load_datasets", offline)
    with pytest.raises(SystemExit) as exit:
        train.main(["--dataset", "mnist", "--no-progress"])
    assert exit.value.code == f"error: {message}"  # SystemExit prints only this, exit status 1
    assert exit.value.__cause__ is None and exit.value.__suppress_context__


def test_evaluation_shares_cover_every_image_once() -> None:
    """On N processes each rank evaluates a contiguous share; together they hold every image
    once (a rank with no image gets no batch)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 1, 4, 4), dtype=np.uint8)
    data = MNIST.from_arrays(images, np.arange(7), train=False)
    train = load("train")
    for world in (1, 2, 3, 8):
        shares = [train._eval_loader(data, rank, world, None) for rank in range(world)]
        labels = [y for share in shares for _, batch in share for y in batch.tolist()]
        assert labels == list(range(7)), world
        assert sum(len(list(share)) == 0 for share in shares) == max(world - 7, 0)
