"""The real pooch download path against a loopback server: mirrors, hashes, cache, errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import maligrad.data.datasets as datasets_module
from maligrad.data import MNIST, DownloadError, FashionMNIST, cache_dir, fetch
from maligrad.data.download import check_file


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_cache_dir_precedence(tmp_path, monkeypatch):
    assert cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert cache_dir() == tmp_path / "cache"  # MALIGRAD_DATA_DIR from the fixture
    monkeypatch.delenv("MALIGRAD_DATA_DIR")
    import pooch

    assert cache_dir() == Path(pooch.os_cache("maligrad"))


def test_download_and_parse(tiny_mnist, serve, _isolated_env):
    server = serve(tiny_mnist.folder)
    spec = tiny_mnist.with_mirrors(server.url)
    train = MNIST(train=True, spec=spec)
    test = MNIST(train=False, spec=spec)

    assert train.images.shape == (50, 1, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and len(train) == 50 and len(test) == 20
    np.testing.assert_array_equal(train.images[:, 0], tiny_mnist.arrays["train-images"])
    np.testing.assert_array_equal(train.labels, tiny_mnist.arrays["train-labels"])
    np.testing.assert_array_equal(test.images[:, 0], tiny_mnist.arrays["t10k-images"])
    image, label = train[7]
    assert image.shape == (1, 28, 28) and label == tiny_mnist.arrays["train-labels"][7]
    assert train.classes[3] == "3 - three" and len(train.classes) == 10
    assert sorted(server.requests) == [
        "/t10k-images-idx3-ubyte.gz",
        "/t10k-labels-idx1-ubyte.gz",
        "/train-images-idx3-ubyte.gz",
        "/train-labels-idx1-ubyte.gz",
    ]
    assert _listing(_isolated_env) == [f.key for f in sorted(spec.files, key=lambda f: f.key)]


def test_second_construction_is_a_cache_hit(tiny_mnist, serve):
    server = serve(tiny_mnist.folder)
    spec = tiny_mnist.with_mirrors(server.url)
    first = MNIST(spec=spec)
    server.stop()
    asked = len(server.requests)
    again = MNIST(spec=spec)  # would fail with a DownloadError if it needed the network
    np.testing.assert_array_equal(first.images, again.images)
    assert len(server.requests) == asked == 2


def test_root_argument_overrides_env(tiny_mnist, serve, tmp_path, _isolated_env):
    server = serve(tiny_mnist.folder)
    MNIST(root=tmp_path / "elsewhere", spec=tiny_mnist.with_mirrors(server.url))
    assert (tmp_path / "elsewhere" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    assert not _isolated_env.exists()


def test_corrupted_download_is_rejected_and_never_parsed(
    tiny_mnist, serve, monkeypatch, _isolated_env
):
    (tiny_mnist.folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not the file")
    parsed: list[str] = []
    real = datasets_module.read_idx
    monkeypatch.setattr(
        datasets_module, "read_idx", lambda p, **kw: parsed.append(str(p)) or real(p, **kw)
    )
    server = serve(tiny_mnist.folder)
    with pytest.raises(DownloadError) as info:
        MNIST(spec=tiny_mnist.with_mirrors(server.url))
    message = str(info.value)
    assert "train-labels-idx1-ubyte.gz" in message and "sha256 mismatch" in message
    assert parsed == []
    # the good file stays, the bad one and any temporary file are gone
    assert _listing(_isolated_env) == ["mnist/train-images-idx3-ubyte.gz"]


def test_corrupted_mirror_then_good_mirror(tiny_mnist, serve, make, tmp_path):
    bad_folder = tmp_path / "bad"
    make.idx_dataset(bad_folder, "mnist")  # same names, but the wrong bytes (other sizes)
    (bad_folder / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")
    bad, good = serve(bad_folder), serve(tiny_mnist.folder)
    ds = MNIST(spec=tiny_mnist.with_mirrors(bad.url, good.url))
    np.testing.assert_array_equal(ds.images[:, 0], tiny_mnist.arrays["train-images"])
    assert "/train-images-idx3-ubyte.gz" in bad.requests
    assert "/train-images-idx3-ubyte.gz" in good.requests


def test_bad_file_in_cache_is_removed_and_replaced(tiny_mnist, serve, _isolated_env):
    server = serve(tiny_mnist.folder)
    spec = tiny_mnist.with_mirrors(server.url)
    MNIST(spec=spec)
    cached = _isolated_env / "mnist" / "train-images-idx3-ubyte.gz"
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")  # same size, other hash
    assert check_file(cached, spec.files[0]).startswith("bad sha256")
    ds = MNIST(spec=spec)
    assert check_file(cached, spec.files[0]) == "verified"
    np.testing.assert_array_equal(ds.images[:, 0], tiny_mnist.arrays["train-images"])


def test_dead_first_mirror_then_good_one(tiny_mnist, serve, dead_url):
    server = serve(tiny_mnist.folder)
    ds = MNIST(train=False, spec=tiny_mnist.with_mirrors(dead_url, server.url))
    assert len(ds) == 20


def test_every_mirror_down_gives_guided_error(tiny_mnist, serve, dead_url, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = serve(empty)
    with pytest.raises(DownloadError) as info:
        MNIST(spec=tiny_mnist.with_mirrors(dead_url, missing.url))
    message = str(info.value)
    assert f"{dead_url}train-images-idx3-ubyte.gz" in message
    assert f"{missing.url}train-images-idx3-ubyte.gz" in message
    assert "ConnectionError" in message and "HTTP 404" in message
    assert f"Cache folder: {tmp_path / 'cache'}" in message
    assert "place the file by hand" in message and "MALIGRAD_DATA_URL" in message
    assert tiny_mnist.spec.files[0].sha256 in message
    assert not list((tmp_path / "cache").rglob("*.gz"))


def test_env_url_is_tried_first_and_laid_out_like_the_cache(
    tiny_mnist, serve, dead_url, tmp_path, monkeypatch
):
    layout = tmp_path / "env-mirror"
    (layout / "mnist").mkdir(parents=True)
    for f in tiny_mnist.spec.files:
        (layout / f.key).write_bytes((tiny_mnist.folder / f.filename).read_bytes())
    env_server, canonical = serve(layout), serve(tiny_mnist.folder)
    monkeypatch.setenv("MALIGRAD_DATA_URL", env_server.url.rstrip("/"))
    ds = MNIST(train=False, spec=tiny_mnist.with_mirrors(canonical.url))
    assert len(ds) == 20
    assert sorted(env_server.requests) == [
        "/mnist/t10k-images-idx3-ubyte.gz",
        "/mnist/t10k-labels-idx1-ubyte.gz",
    ]
    assert canonical.requests == []


def test_download_false_with_missing_file(tiny_mnist, _isolated_env):
    with pytest.raises(DownloadError, match="not in the cache") as info:
        MNIST(download=False, spec=tiny_mnist.spec)
    assert str(_isolated_env) in str(info.value)


def test_fetch_returns_verified_paths(make, serve, tmp_path):
    tiny = make.idx_dataset(tmp_path / "fashion", "fashion-mnist", n_train=12, n_test=5)
    server = serve(tiny.folder)
    paths = fetch(tiny.with_mirrors(server.url))
    assert sorted(paths) == sorted(f.filename for f in tiny.spec.files)
    ds = FashionMNIST(train=False, download=False, spec=tiny.spec)
    assert len(ds) == 5 and ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"


def test_progressbar_only_when_tqdm_is_importable(tiny_mnist, serve, monkeypatch):
    import pooch

    import maligrad.data.download as download

    seen: list[object] = []
    real = pooch.HTTPDownloader

    def spy(*args, **kwargs):
        seen.append(kwargs.get("progressbar"))
        return real(*args, **{**kwargs, "progressbar": False})

    monkeypatch.setattr(pooch, "HTTPDownloader", spy)
    monkeypatch.setattr(download, "_progressbar", lambda: True)
    server = serve(tiny_mnist.folder)
    MNIST(train=False, spec=tiny_mnist.with_mirrors(server.url))
    assert seen == [True, True]
    import importlib.util

    monkeypatch.undo()
    assert download._progressbar() is (importlib.util.find_spec("tqdm") is not None)


def test_registry_is_complete():
    from maligrad.data.registry import REGISTRY, get_spec, pooch_registry

    hashes = pooch_registry()
    assert len(hashes) == 10
    assert hashes["cifar-10-binary.tar.gz"] == (
        "sha256:c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
    )
    assert get_spec("CIFAR-100") is REGISTRY["cifar100"]
    assert get_spec("FashionMNIST") is REGISTRY["fashion-mnist"]
    assert REGISTRY["mnist"].mirrors[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert REGISTRY["mnist"].file("t10k-labels-idx1-ubyte.gz").size == 4542
    with pytest.raises(KeyError, match="unknown dataset"):
        get_spec("imagenet")
    spec = replace(REGISTRY["mnist"], mirrors=("http://m/",))
    assert spec.urls(spec.files[0], env_url="http://e/x/") == [
        "http://e/x/mnist/train-images-idx3-ubyte.gz",
        "http://m/train-images-idx3-ubyte.gz",
    ]


def test_cache_folder_that_cannot_be_created_is_named(tiny_mnist, serve, tmp_path):
    server = serve(tiny_mnist.folder)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DownloadError, match="cannot be created") as info:
        MNIST(root=blocker / "cache", spec=tiny_mnist.with_mirrors(server.url))
    assert server.requests == []  # no mirror is asked when nothing could be stored
    assert "writable cache folder" in str(info.value)


def test_bad_cached_file_that_cannot_be_removed_gives_guidance(
    tiny_mnist, serve, _isolated_env, monkeypatch
):
    server = serve(tiny_mnist.folder)
    spec = tiny_mnist.with_mirrors(server.url)
    MNIST(spec=spec)
    cached = _isolated_env / "mnist" / "train-images-idx3-ubyte.gz"
    cached.write_bytes(cached.read_bytes()[:-1] + b"!")

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(DownloadError, match="cannot be removed") as info:
        MNIST(spec=spec)
    assert str(cached) in str(info.value) and "Replace it by hand" in str(info.value)


# --- faults: timeouts, odd cache folders, raw OS errors, debris of killed downloads ---------


def test_a_silent_server_times_out_and_the_next_mirror_is_used(tiny_mnist, serve, monkeypatch):
    import socket

    import maligrad.data.download as download

    monkeypatch.setattr(download, "TIMEOUT_S", 0.3)
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DownloadError) as info:
            fetch(tiny_mnist.with_mirrors(silent_url), filenames=["t10k-labels-idx1-ubyte.gz"])
        assert "timed out" in str(info.value) and silent_url in str(info.value)
        server = serve(tiny_mnist.folder)
        spec = tiny_mnist.with_mirrors(silent_url, server.url)
        paths = fetch(spec, filenames=["t10k-labels-idx1-ubyte.gz"])
    assert check_file(paths["t10k-labels-idx1-ubyte.gz"], spec.files[3]) == "verified"


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_data_dir_means_the_default_cache(monkeypatch, blank):
    import pooch

    monkeypatch.setenv("MALIGRAD_DATA_DIR", blank)
    assert cache_dir() == Path(pooch.os_cache("maligrad"))


def test_a_raw_os_error_is_reported_per_mirror_and_leaves_nothing(
    tiny_mnist, monkeypatch, _isolated_env
):
    import pooch

    def disk_full(url, **kwargs):
        partial = Path(kwargs["path"]) / "tmpabcdefgh"
        partial.write_bytes(b"half")  # what pooch leaves when the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pooch, "retrieve", disk_full)
    spec = tiny_mnist.with_mirrors("http://a.invalid/", "http://b.invalid/")
    with pytest.raises(DownloadError) as info:
        fetch(spec, filenames=["train-labels-idx1-ubyte.gz"])
    message = str(info.value)
    assert message.count("OSError: No space left on device") == 2
    assert "http://a.invalid/" in message and "http://b.invalid/" in message
    assert _listing(_isolated_env) == [] and list((_isolated_env / "mnist").iterdir()) == []


def test_a_directory_where_a_cache_file_belongs(tiny_mnist, serve, _isolated_env, capsys):
    from maligrad.data.cli import main

    server = serve(tiny_mnist.folder)
    spec = tiny_mnist.with_mirrors(server.url)
    squatter = _isolated_env / spec.files[0].key
    (squatter / "mine").mkdir(parents=True)
    with pytest.raises(DownloadError) as info:
        fetch(spec)
    assert f"{squatter} is a directory, where the file" in str(info.value)
    assert (squatter / "mine").is_dir()  # never removed: it may hold the user's files
    assert main(["verify"], registry={"mnist": spec}) == 1
    out = capsys.readouterr().out
    assert f"BAD   {spec.files[0].key}: a directory, not a file" in out and "1 bad" in out


def _dead_pid():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_debris_of_killed_downloads_is_removed_on_the_next_fetch(tiny_mnist, serve, _isolated_env):
    import os
    import time

    from maligrad.data.download import STALE_AFTER_S

    folder = _isolated_env / "mnist"
    old = time.time() - STALE_AFTER_S - 60
    debris = {
        f".maligrad-partial-{_dead_pid()}-0badc0de": None,  # its process was killed
        f".maligrad-partial-{os.getppid()}-00000001": old,  # pid reused, nothing written since
    }
    kept = {
        f".maligrad-partial-{os.getppid()}-00000002": None,  # another process downloading
        "tmpabcdefgh": old,  # not ours to judge: could be anything in a user's folder
    }
    for name, mtime in {**debris, **kept}.items():
        if name.startswith(".maligrad-partial-"):
            (folder / name).mkdir(parents=True)
            target = folder / name / "tmp12345678"
        else:
            target = folder / name
        target.write_bytes(b"partial")
        if mtime is not None:
            os.utime(target, (mtime, mtime))
            os.utime(target.parent, (mtime, mtime))
    spec = tiny_mnist.with_mirrors(serve(tiny_mnist.folder).url)
    fetch(spec, filenames=["train-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in folder.iterdir()) == sorted([*kept, "train-labels-idx1-ubyte.gz"])


def test_a_really_killed_download_is_cleaned_up_by_the_next_fetch(tmp_path):
    """A process killed mid-download leaves its staging folder; the next fetch removes it."""
    import hashlib
    import http.server
    import signal
    import subprocess
    import sys
    import threading
    import time

    from maligrad.data.download import fetch_file
    from maligrad.data.registry import RemoteFile

    if sys.platform == "win32":
        pytest.skip("needs SIGKILL")
    payload = bytes(range(256)) * 4096  # 1 MiB
    release = threading.Event()

    class Stalling(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[:65536])
            self.wfile.flush()
            if self.path.startswith("/stall"):
                release.wait(20)
            else:
                self.wfile.write(payload[65536:])

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    file = RemoteFile("blob/data.bin", hashlib.sha256(payload).hexdigest(), len(payload))
    cache = tmp_path / "cache"
    code = (
        "import sys\nfrom maligrad.data.download import fetch_file\n"
        "from maligrad.data.registry import RemoteFile\n"
        f"fetch_file(RemoteFile(*sys.argv[1:3], {len(payload)}), [sys.argv[3]], sys.argv[4])\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, file.key, file.sha256, f"{url}/stall/data.bin", str(cache)],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        partial: list[Path] = []
        while not partial and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
            partial = [p for p in cache.rglob("tmp*") if p.is_file() and p.stat().st_size > 0]
        assert partial, "the child never started writing"
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
        release.set()
    assert partial[0].parent.name.startswith(".maligrad-partial-")
    path = fetch_file(file, [f"{url}/data.bin"], cache)
    assert path.read_bytes() == payload
    assert _listing(cache) == ["blob/data.bin"] and not partial[0].parent.exists()
    server.shutdown()
    server.server_close()
