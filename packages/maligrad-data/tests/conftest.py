"""Fixtures for the maligrad-data tests: a loopback HTTP server and tiny canonical files."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from maligrad.data.idx import write_idx
from maligrad.data.registry import REGISTRY, DatasetSpec, RemoteFile


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so the tests run from an unpacked sdist without the repository's
    # configuration.
    config.addinivalue_line("markers", "slow: builds wheels or virtual environments")


@dataclass
class Server:
    """A loopback HTTP server over one folder; ``requests`` records every path asked for."""

    root: Path
    url: str = ""
    requests: list[str] = field(default_factory=list)
    _httpd: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Server:
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                log.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(self.root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


@pytest.fixture
def serve() -> Iterator:
    """``serve(folder)`` starts a server over ``folder``; all are stopped at teardown."""
    servers: list[Server] = []

    def start(root: Path) -> Server:
        servers.append(Server(Path(root)).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache folder and no MALIGRAD_DATA_URL."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MALIGRAD_DATA_DIR", str(cache))
    monkeypatch.delenv("MALIGRAD_DATA_URL", raising=False)
    return cache


def remote(key: str, path: Path) -> RemoteFile:
    data = path.read_bytes()
    return RemoteFile(key, hashlib.sha256(data).hexdigest(), len(data))


@dataclass
class Tiny:
    """Small files in a canonical format, the arrays they hold, and a spec with their hashes."""

    folder: Path
    spec: DatasetSpec
    arrays: dict[str, np.ndarray]

    def with_mirrors(self, *mirrors: str) -> DatasetSpec:
        return replace(self.spec, mirrors=tuple(mirrors))


def make_idx_dataset(folder: Path, name: str, n_train: int = 50, n_test: int = 20) -> Tiny:
    """IDX gz files as canonical mirrors serve them (flat folder) and a spec for them."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    files = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        arrays[f"{prefix}-images"], arrays[f"{prefix}-labels"] = images, labels
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            filename = f"{prefix}-{kind}-ubyte.gz"
            write_idx(folder / filename, array)
            files.append(remote(f"{name}/{filename}", folder / filename))
    spec = replace(REGISTRY[name], files=tuple(files), mirrors=())
    return Tiny(folder, spec, arrays)


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Tiny:
    return make_idx_dataset(tmp_path / "mirror", "mnist")


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def cifar_records(rng: np.random.Generator, n: int, label_columns: list[np.ndarray]) -> bytes:
    pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = np.stack(label_columns, axis=1).astype(np.uint8)
    return np.concatenate([labels, pixels], axis=1).tobytes()


def make_cifar10(folder: Path, per_batch: int = 3, n_test: int = 4, meta: bool = True) -> Tiny:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-10-binary.tar.gz"
    arrays: dict[str, np.ndarray] = {}
    with tarfile.open(path, "w:gz") as tar:
        if meta:
            names = "\n".join(f"class{i}" for i in range(10)) + "\n\n"
            add_member(tar, "cifar-10-batches-bin/batches.meta.txt", names.encode())
        train = []
        for i in range(1, 6):
            data = cifar_records(rng, per_batch, [rng.integers(0, 10, per_batch)])
            add_member(tar, f"cifar-10-batches-bin/data_batch_{i}.bin", data)
            train.append(data)
        test = cifar_records(rng, n_test, [rng.integers(0, 10, n_test)])
        add_member(tar, "cifar-10-batches-bin/test_batch.bin", test)
        add_member(tar, "cifar-10-batches-bin/readme.html", b"<html></html>")
    for split, data in (("train", b"".join(train)), ("test", test)):
        rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3073)
        arrays[f"{split}-labels"] = rows[:, 0].astype(np.int64)
        arrays[f"{split}-images"] = rows[:, 1:].reshape(-1, 3, 32, 32)
    spec = replace(REGISTRY["cifar10"], files=(remote(path.name, path),), mirrors=())
    return Tiny(folder, spec, arrays)


def make_cifar100(folder: Path, n_train: int = 6, n_test: int = 3) -> Tiny:
    rng = np.random.default_rng(2)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-100-binary.tar.gz"
    arrays: dict[str, np.ndarray] = {}
    with tarfile.open(path, "w:gz") as tar:
        add_member(tar, "cifar-100-binary/coarse_label_names.txt", b"\n".join(
            f"coarse{i}".encode() for i in range(20)))  # fmt: skip
        for split, n in (("train", n_train), ("test", n_test)):
            coarse, fine = rng.integers(0, 20, n), rng.integers(0, 100, n)
            data = cifar_records(rng, n, [coarse, fine])
            add_member(tar, f"cifar-100-binary/{split}.bin", data)
            rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3074)
            arrays[f"{split}-coarse"] = coarse
            arrays[f"{split}-fine"] = fine
            arrays[f"{split}-images"] = rows[:, 2:].reshape(-1, 3, 32, 32)
    spec = replace(REGISTRY["cifar100"], files=(remote(path.name, path),), mirrors=())
    return Tiny(folder, spec, arrays)


@pytest.fixture
def make() -> object:
    """The file builders above, for tests that need their own variants."""
    import types

    return types.SimpleNamespace(
        idx_dataset=make_idx_dataset,
        cifar10=make_cifar10,
        cifar100=make_cifar100,
        remote=remote,
        add_member=add_member,
    )
