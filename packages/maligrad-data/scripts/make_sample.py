"""Build the bundled offline MNIST sample from the canonical MNIST files.

Draws, with a fixed seed, an equal number of images per class (600 per digit from the
60,000 training images, 100 per digit from the 10,000 test images), keeps them in the
order of the canonical files, and writes them with ``np.savez_compressed`` together
with the indices used, the seed and the sha256 of each source file. Every source file is
verified against the registry before it is read.

Usage (from packages/maligrad-data)::

    python scripts/make_sample.py /path/to/folder/with/mnist/gz/files
    python scripts/make_sample.py            # default: ../../../shared/data/mnist
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from maligrad.data.download import check_file  # noqa: E402
from maligrad.data.idx import read_idx  # noqa: E402
from maligrad.data.registry import REGISTRY  # noqa: E402

SEED = 20240601
PER_CLASS = {"train": 600, "t10k": 100}
OUT = HERE.parent / "src" / "maligrad" / "data" / "_sample" / "mnist_sample.npz"


def draw(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each label 0..9, drawn without replacement, sorted."""
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = HERE.parents[2] / ".." / "shared" / "data" / "mnist"
    parser.add_argument("source", nargs="?", type=Path, default=default)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    spec = REGISTRY["mnist"]
    for f in spec.files:
        state = check_file(args.source / f.filename, f)
        if state != "verified":
            print(f"{args.source / f.filename}: {state}", file=sys.stderr)
            return 1

    rng = np.random.default_rng(SEED)
    arrays: dict[str, np.ndarray] = {}
    for prefix, split in (("train", "train"), ("t10k", "test")):
        images = read_idx(args.source / f"{prefix}-images-idx3-ubyte.gz", ndim=3)
        labels = read_idx(args.source / f"{prefix}-labels-idx1-ubyte.gz", ndim=1)
        indices = draw(labels, PER_CLASS[prefix], rng)
        arrays[f"{split}_images"] = images[indices]
        arrays[f"{split}_labels"] = labels[indices]
        arrays[f"{split}_indices"] = indices.astype(np.int32)
    arrays["seed"] = np.array(SEED, dtype=np.int64)
    arrays["source_files"] = np.array([f.filename for f in spec.files])
    arrays["source_sha256"] = np.array([f.sha256 for f in spec.files])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
