"""Reading the CIFAR-10 and CIFAR-100 *binary* tarballs, streamed, with no pickle anywhere.

Each record is the label byte(s) followed by 3072 pixel bytes (1024 red, 1024 green,
1024 blue, row-major 32 x 32), so the pixels are already in CHW order. CIFAR-10
records carry one label byte; CIFAR-100 records carry the coarse label then the fine
one. Members are read from the gzip'd tar in one streaming pass; nothing is extracted to
disk. Record sizes, label ranges and the presence of each member are checked, and
every error names the archive and the member.

Example::

    >>> import io, os, tarfile, tempfile
    >>> import numpy as np
    >>> from maligrad.data.cifar import read_cifar10
    >>> records = np.zeros((2, 3073), dtype=np.uint8); records[:, 0] = [3, 7]
    >>> path = os.path.join(tempfile.mkdtemp(), "cifar-10-binary.tar.gz")
    >>> with tarfile.open(path, "w:gz") as tar:
    ...     info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    ...     info.size = records.nbytes
    ...     tar.addfile(info, io.BytesIO(records.tobytes()))
    >>> images, labels, classes = read_cifar10(path, train=False)
    >>> images.shape, labels.tolist(), classes[3]
    ((2, 3, 32, 32), [3, 7], 'cat')
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFormatError

PIXELS = 3 * 32 * 32

CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_TRAIN = tuple(f"{CIFAR10_DIR}/data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST = (f"{CIFAR10_DIR}/test_batch.bin",)
CIFAR10_META = f"{CIFAR10_DIR}/batches.meta.txt"

CIFAR100_DIR = "cifar-100-binary"
CIFAR100_TRAIN = (f"{CIFAR100_DIR}/train.bin",)
CIFAR100_TEST = (f"{CIFAR100_DIR}/test.bin",)
CIFAR100_FINE_META = f"{CIFAR100_DIR}/fine_label_names.txt"
CIFAR100_COARSE_META = f"{CIFAR100_DIR}/coarse_label_names.txt"

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

CIFAR100_FINE_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
    "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel",
    "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
    "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster",
    "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse",
    "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear",
    "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
    "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea",
    "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip",
    "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip

CIFAR100_COARSE_CLASSES = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects",
    "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates",
    "people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
)  # fmt: skip


def read_members(path: str | os.PathLike[str], names: set[str]) -> dict[str, bytes]:
    """The bytes of the regular-file members ``names`` (those present) of a tar.gz, streamed."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|gz") as tar:
            for member in tar:
                if member.isfile() and member.name in names:
                    fh = tar.extractfile(member)
                    assert fh is not None
                    found[member.name] = fh.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(
            f"{path}: not a readable gzip'd tar archive, or truncated ({exc})"
        ) from exc
    return found


def parse_records(
    data: bytes, name: str, label_bytes: int, num_classes: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Split CIFAR records into images ``(N, 3, 32, 32)`` uint8 and labels ``(N, label_bytes)``."""
    record = label_bytes + PIXELS
    if len(data) == 0 or len(data) % record:
        raise DataFormatError(
            f"{name}: {len(data)} bytes is not a whole number of {record}-byte records "
            f"({label_bytes} label byte(s) + {PIXELS} pixels); the member is truncated "
            "or not a CIFAR batch"
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = rows[:, :label_bytes].astype(np.int64)
    for column, limit in enumerate(num_classes):
        bad = labels[:, column] >= limit
        if bad.any():
            first = int(np.argmax(bad))
            raise DataFormatError(
                f"{name}: record {first} has label {labels[first, column]}, outside 0..{limit - 1}"
            )
    images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).copy()
    return images, labels


def _classes(text: bytes | None, known: tuple[str, ...]) -> tuple[str, ...]:
    if text is None:
        return known
    names = tuple(line.strip() for line in text.decode("utf-8", "replace").splitlines())
    names = tuple(n for n in names if n)
    return names if len(names) == len(known) else known


def _load(
    path: str | os.PathLike[str],
    wanted: tuple[str, ...],
    meta: tuple[str, ...],
    label_bytes: int,
    num_classes: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, dict[str, bytes]]:
    found = read_members(path, set(wanted) | set(meta))
    missing = [m for m in wanted if m not in found]
    if missing:
        raise DataFormatError(
            f"{path}: archive lacks member(s) {', '.join(missing)}; is this the binary CIFAR "
            f"tarball ({Path(wanted[0]).parent}/...)?"
        )
    parts = [parse_records(found[m], f"{path}:{m}", label_bytes, num_classes) for m in wanted]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels, found


def read_cifar10(
    path: str | os.PathLike[str], train: bool = True
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Images ``(N, 3, 32, 32)`` uint8, labels ``(N,)`` int64 and class names of CIFAR-10."""
    wanted = CIFAR10_TRAIN if train else CIFAR10_TEST
    images, labels, found = _load(path, wanted, (CIFAR10_META,), 1, (10,))
    return images, labels[:, 0].copy(), _classes(found.get(CIFAR10_META), CIFAR10_CLASSES)


def read_cifar100(
    path: str | os.PathLike[str], train: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Images, coarse labels, fine labels, coarse class names and fine class names."""
    wanted = CIFAR100_TRAIN if train else CIFAR100_TEST
    meta = (CIFAR100_COARSE_META, CIFAR100_FINE_META)
    images, labels, found = _load(path, wanted, meta, 2, (20, 100))
    return (
        images,
        labels[:, 0].copy(),
        labels[:, 1].copy(),
        _classes(found.get(CIFAR100_COARSE_META), CIFAR100_COARSE_CLASSES),
        _classes(found.get(CIFAR100_FINE_META), CIFAR100_FINE_CLASSES),
    )
