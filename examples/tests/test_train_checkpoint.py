"""``train.py --resume`` on damaged or foreign files: one line, "not a maligrad checkpoint"."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from example_loader import load

from maligrad import nn


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "good.npz"
    args = ["--model", "mlp", "--limit", "200", "--batch-size", "100", "--no-progress"]
    load("train").main([*args, "--epochs", "1", "--save", str(path)])
    return path


def _edit(change: Any) -> Any:
    """A checkpoint like the good one, with ``change(state)`` applied (or returned)."""

    def build(good: Path, path: Path) -> None:
        state = copy.deepcopy(nn.load(good))
        new = change(state)
        nn.save(state if new is None else new, path)

    return build


def _bytes(change: Any) -> Any:
    def build(good: Path, path: Path) -> None:
        path.write_bytes(change(good.read_bytes()))

    return build


def _npy(good: Path, path: Path) -> None:
    with open(path, "wb") as f:
        np.save(f, np.arange(3))


def _plain_npz(good: Path, path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, weights=np.ones(3))


def _pickled(good: Path, path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, model=np.array([{"w": 1}], dtype=object))


def _newer_container(good: Path, path: Path) -> None:
    from maligrad.nn.state import _META

    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == _META + ".npy":
                buf = __import__("io").BytesIO(data)
                meta = json.loads(np.lib.format.read_array(buf).tobytes())
                meta["format"] = 99
                out = __import__("io").BytesIO()
                np.lib.format.write_array(out, np.frombuffer(json.dumps(meta).encode(), np.uint8))
                data = out.getvalue()
            dst.writestr(name, data)


def _flip(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 3] ^= 0x55
    return bytes(out)


def _set(*keys: str, value: Any) -> Any:
    def change(state: dict) -> None:
        target = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def _drop(*keys: str) -> Any:
    def change(state: dict) -> None:
        target = state
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return change


def _reshape_weight(state: dict) -> None:
    name = next(k for k in state["model"] if k.endswith("weight"))
    state["model"][name] = np.zeros((3, 3), np.float32)


def _drop_first_tensor(state: dict) -> None:
    del state["model"][next(iter(state["model"]))]


DAMAGED = {
    # name: (builder, words the one-line reason must contain)
    "truncated to half": (_bytes(lambda b: b[: len(b) // 2]), "truncated"),
    "truncated to 100 bytes": (_bytes(lambda b: b[:100]), "truncated"),
    "last byte cut": (_bytes(lambda b: b[:-1]), "truncated"),
    "empty": (_bytes(lambda b: b""), "empty file"),
    "random bytes": (_bytes(lambda b: bytes(np.random.default_rng(0).bytes(4096))), ".npz"),
    "text": (_bytes(lambda b: b"epoch: 3\n"), "not an .npz"),
    "bit flip": (_bytes(_flip), "damaged"),
    "raw .npy": (_npy, ".npy"),
    "npz without metadata": (_plain_npz, "no model, optimizer, epoch, history, config, random"),
    "pickled member": (_pickled, "Python objects"),
    "newer container format": (_newer_container, "newer maligrad"),
    "a list": (_edit(lambda s: [s["model"]]), "holds a list"),
    "foreign kind": (_edit(_set("kind", value="other-tool")), "'other-tool' file"),
    "newer version": (_edit(_set("version", value=2)), "written by a newer maligrad"),
    "version a string": (_edit(_set("version", value="1")), "version '1'"),
    "no model": (_edit(_drop("model")), "no model entry"),
    "no random": (_edit(_drop("random")), "no random entry"),
    "epoch a string": (_edit(_set("epoch", value="abc")), "epoch is 'abc'"),
    "epoch negative": (_edit(_set("epoch", value=-1)), "epoch is -1"),
    "epoch a float": (_edit(_set("epoch", value=1.5)), "epoch is 1.5"),
    "epoch a bool": (_edit(_set("epoch", value=True)), "epoch is True"),
    "model an array": (_edit(_set("model", value=np.ones(3))), "model is not a dict"),
    "model of strings": (_edit(_set("model", value={"w": "x"})), "model is not a dict"),
    "optimizer a list": (_edit(_set("optimizer", value=[1])), "optimizer is not a dict"),
    "history without loss": (_edit(_drop("history", "loss")), "history is not a dict"),
    "history too long": (_edit(_set("history", "loss", value=[1.0, 2.0])), "history loss"),
    "history of strings": (_edit(_set("history", "test_acc", value=["a"])), "history test_acc"),
    "config without lr": (_edit(_drop("config", "lr")), "config is not a dict"),
    "config dataset": (_edit(_set("config", "dataset", value="imagenet")), "config dataset"),
    "config model": (_edit(_set("config", "model", value="vgg")), "config model is 'vgg'"),
    "config lr a string": (_edit(_set("config", "lr", value="0.1")), "config lr is '0.1'"),
    "config batch size 0": (_edit(_set("config", "batch_size", value=0)), "config batch_size"),
    "config seed a float": (_edit(_set("config", "seed", value=1.5)), "config seed"),
    "random without augment": (_edit(_drop("random", "augment")), "random is not a dict"),
    "random state garbage": (
        _edit(_set("random", "shuffle", value={"bit_generator": "x"})),
        "random shuffle is not a generator state",
    ),
    "model of another shape": (_edit(_reshape_weight), "does not fit the model"),
    "model missing a tensor": (
        _edit(_drop_first_tensor),
        "does not fit the model",
    ),
    "optimizer state garbage": (
        _edit(_set("optimizer", "param_groups", value=[{"lr": 1}, {"lr": 2}])),
        "does not fit the model or optimizer",
    ),
}


@pytest.mark.parametrize("name", list(DAMAGED))
def test_resume_from_a_damaged_or_foreign_file(
    name: str, good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build, words = DAMAGED[name]
    bad = tmp_path / "bad.npz"
    build(good, bad)
    with pytest.raises(SystemExit) as info:
        load("train").main(["--resume", str(bad), "--epochs", "2", "--no-progress"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    prefix = f"train.py: error: --resume {bad}: not a maligrad checkpoint: "
    assert err.count("\n") == 1 and err.startswith(prefix), err
    assert words in err and "Traceback" not in err and "pickle" not in err, err


def test_case_count() -> None:
    assert len(DAMAGED) >= 37
