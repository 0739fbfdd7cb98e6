"""Parsing: IDX and CIFAR binary files, and the named errors for truncated or foreign ones."""

from __future__ import annotations

import gzip
import tarfile
from dataclasses import replace

import numpy as np
import pytest

from maligrad.data import CIFAR10, CIFAR100, MNIST, DataFormatError
from maligrad.data.cifar import CIFAR10_CLASSES, read_cifar10, read_cifar100
from maligrad.data.idx import parse_idx, read_idx, write_idx


def test_idx_round_trip_and_header(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte.gz", array)
    raw = gzip.decompress((tmp_path / "a-idx3-ubyte.gz").read_bytes())
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz", ndim=3), array)
    write_idx(tmp_path / "b-idx1", np.array([1, -2], dtype=np.int32))  # raw, big-endian int32
    out = read_idx(tmp_path / "b-idx1")
    assert out.tolist() == [1, -2] and out.dtype.isnative


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated: the header promises shape (5,)"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "too long"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated header"),
        (b"PK\x03\x04 a zip file", "bad magic number 0x504b0304"),
        (b"\x00\x00\x07\x01", "bad magic number 0x00000701"),
        (b"\x00", "only 1 bytes"),
    ],
)
def test_idx_errors_name_the_file_and_the_problem(tmp_path, data, needle):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match="train-labels-idx1-ubyte") as info:
        read_idx(path)
    assert needle in str(info.value)


def test_idx_dimension_check():
    with pytest.raises(DataFormatError, match="expected 3 dimension"):
        parse_idx(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07", name="x", ndim=3)


def test_truncated_gzip_is_named(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataFormatError, match=r"t10k-images-idx3-ubyte\.gz: corrupt or truncated"):
        read_idx(path)


def _truncate_and_register(tiny, filename, make, new_bytes):
    """Replace a served file and give the spec its (matching) hash: verified but broken."""
    (tiny.folder / filename).write_bytes(new_bytes)
    files = tuple(
        make.remote(f.key, tiny.folder / f.filename) if f.filename == filename else f
        for f in tiny.spec.files
    )
    return replace(tiny.spec, files=files)


def test_truncated_idx_through_the_dataset(tiny_mnist, serve, make):
    raw = gzip.decompress((tiny_mnist.folder / "train-images-idx3-ubyte.gz").read_bytes())
    spec = _truncate_and_register(
        tiny_mnist, "train-images-idx3-ubyte.gz", make, gzip.compress(raw[:-100])
    )
    server = serve(tiny_mnist.folder)
    with pytest.raises(DataFormatError) as info:
        MNIST(spec=replace(spec, mirrors=(server.url,)))
    message = str(info.value)
    assert "mnist/train-images-idx3-ubyte.gz" in message and "truncated" in message
    assert "(50, 28, 28)" in message


def test_foreign_file_through_the_dataset(tiny_mnist, serve, make):
    spec = _truncate_and_register(
        tiny_mnist, "t10k-labels-idx1-ubyte.gz", make, b"<html>Not Found</html>"
    )
    server = serve(tiny_mnist.folder)
    with pytest.raises(DataFormatError, match=r"t10k-labels-idx1-ubyte\.gz: not an IDX file"):
        MNIST(train=False, spec=replace(spec, mirrors=(server.url,)))


def test_images_and_labels_must_agree(tmp_path, make, serve):
    tiny = make.idx_dataset(tmp_path / "m", "mnist", n_train=5, n_test=3)
    write_idx(tiny.folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2], dtype=np.uint8))
    files = tuple(make.remote(f.key, tiny.folder / f.filename) for f in tiny.spec.files)
    server = serve(tiny.folder)
    with pytest.raises(DataFormatError, match=r"holds 3 images but .* holds 2 labels"):
        MNIST(train=False, spec=replace(tiny.spec, files=files, mirrors=(server.url,)))


def test_cifar10_download_and_parse(make, serve, tmp_path):
    tiny = make.cifar10(tmp_path / "c10")
    server = serve(tiny.folder)
    train = CIFAR10(spec=tiny.with_mirrors(server.url))
    test = CIFAR10(train=False, download=False, spec=tiny.spec)
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == np.uint8
    assert test.images.shape == (4, 3, 32, 32) and test.labels.dtype == np.int64
    np.testing.assert_array_equal(train.images, tiny.arrays["train-images"])
    np.testing.assert_array_equal(train.labels, tiny.arrays["train-labels"])
    np.testing.assert_array_equal(test.labels, tiny.arrays["test-labels"])
    assert train.classes == tuple(f"class{i}" for i in range(10))  # from batches.meta.txt
    assert server.requests == ["/cifar-10-binary.tar.gz"]


def test_cifar10_channel_layout(tmp_path, make):
    record = np.zeros(3073, dtype=np.uint8)
    record[0] = 9
    record[1 : 1 + 1024] = 10  # red plane
    record[1 + 1024 + 5] = 20  # green, row 0, column 5
    record[1 + 2048 + 32 * 2 + 3] = 30  # blue, row 2, column 3
    path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        make.add_member(tar, "cifar-10-batches-bin/test_batch.bin", record.tobytes())
    images, labels, classes = read_cifar10(path, train=False)
    assert labels.tolist() == [9] and classes == CIFAR10_CLASSES  # no meta: the known list
    assert (images[0, 0] == 10).all()
    assert images[0, 1, 0, 5] == 20 and images[0, 1].sum() == 20
    assert images[0, 2, 2, 3] == 30 and images[0, 2].sum() == 30


def test_cifar100_fine_and_coarse(make, serve, tmp_path):
    tiny = make.cifar100(tmp_path / "c100")
    server = serve(tiny.folder)
    fine = CIFAR100(spec=tiny.with_mirrors(server.url))
    coarse = CIFAR100(train=False, label_mode="coarse", spec=tiny.spec)
    assert fine.images.shape == (6, 3, 32, 32) and len(coarse) == 3
    np.testing.assert_array_equal(fine.images, tiny.arrays["train-images"])
    np.testing.assert_array_equal(fine.labels, tiny.arrays["train-fine"])
    np.testing.assert_array_equal(fine.coarse_labels, tiny.arrays["train-coarse"])
    np.testing.assert_array_equal(coarse.labels, tiny.arrays["test-coarse"])
    assert fine.classes[0] == "apple" and len(fine.classes) == 100  # no fine meta file
    assert coarse.classes[19] == "coarse19" and fine.coarse_classes == coarse.classes
    with pytest.raises(ValueError, match="label_mode"):
        CIFAR100(label_mode="medium", spec=tiny.spec)


def test_cifar_truncated_record(tmp_path, make):
    path = tmp_path / "cifar-100-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        make.add_member(tar, "cifar-100-binary/train.bin", bytes(3074 * 2 - 1))
    with pytest.raises(DataFormatError) as info:
        read_cifar100(path)
    message = str(info.value)
    assert "cifar-100-binary.tar.gz:cifar-100-binary/train.bin" in message
    assert "6147 bytes is not a whole number of 3074-byte records" in message


def test_cifar_label_out_of_range(tmp_path, make):
    path = tmp_path / "cifar-10-binary.tar.gz"
    record = np.zeros(3073, dtype=np.uint8)
    record[0] = 10
    with tarfile.open(path, "w:gz") as tar:
        make.add_member(tar, "cifar-10-batches-bin/test_batch.bin", record.tobytes())
    with pytest.raises(DataFormatError, match=r"record 0 has label 10, outside 0\.\.9"):
        read_cifar10(path, train=False)


def test_cifar_missing_member_and_foreign_files(tmp_path, make):
    path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        make.add_member(tar, "cifar-10-batches-py/data_batch_1", b"pickle, never read")
    with pytest.raises(DataFormatError, match=r"lacks member.*data_batch_1\.bin"):
        read_cifar10(path)
    path.write_bytes(b"<html>Not Found</html>")
    with pytest.raises(DataFormatError, match=r"cifar-10-binary\.tar\.gz: not a readable"):
        read_cifar10(path)
    good = make.cifar10(tmp_path / "c10")
    data = (good.folder / "cifar-10-binary.tar.gz").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="not a readable gzip'd tar archive, or truncated"):
        read_cifar10(path)
