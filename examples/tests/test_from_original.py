"""examples/from_original.py: the original maligrad's two MNIST notebooks, in today's API."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "from_original.py"


def test_mlp_and_cnn_learn_the_sample() -> None:
    spec = importlib.util.spec_from_file_location("example_from_original", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(["--epochs", "2", "--limit", "2000"])
    assert set(accuracy) == {"mlp", "cnn"}
    assert accuracy["mlp"] > 0.75  # chance is 0.1; 3 epochs on the whole sample: 0.92
    assert accuracy["cnn"] > 0.65  # 3,146 parameters; 3 epochs on the whole sample: 0.88
