"""The maligrad-data command: fetch, list, verify, against a loopback mirror."""

from __future__ import annotations

import numpy as np

from maligrad.data.cli import main


def _registry(tiny_mnist, make, tmp_path, url):
    tiny = make.cifar10(tmp_path / "c10")
    return {
        "mnist": tiny_mnist.with_mirrors(url),
        "cifar10": tiny.with_mirrors(url + "c10/"),
    }, tiny


def test_fetch_list_verify(tiny_mnist, make, serve, tmp_path, capsys, _isolated_env):
    make.cifar10(tiny_mnist.folder / "c10")
    server = serve(tiny_mnist.folder)
    registry, _ = _registry(tiny_mnist, make, tiny_mnist.folder, server.url)

    assert main(["list"], registry=registry) == 0
    out = capsys.readouterr().out
    assert f"cache folder: {_isolated_env}" in out
    assert "missing   mnist/train-images-idx3-ubyte.gz" in out and "[not ready]" in out

    assert main(["fetch", "mnist"], registry=registry) == 0
    assert "mnist: 4 file(s) verified" in capsys.readouterr().out
    assert main(["list"], registry=registry) == 0
    out = capsys.readouterr().out
    assert "verified  mnist/t10k-labels-idx1-ubyte.gz" in out
    assert "missing   cifar-10-binary.tar.gz" in out

    assert main(["fetch", "all"], registry=registry) == 0
    capsys.readouterr()
    assert main(["verify"], registry=registry) == 0
    out = capsys.readouterr().out
    assert "ok    cifar-10-binary.tar.gz" in out and "5 file(s) checked, 0 bad" in out

    bad = _isolated_env / "mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-1])
    assert main(["verify"], registry=registry) == 1
    out = capsys.readouterr().out
    assert "BAD   mnist/t10k-images-idx3-ubyte.gz: bad size" in out and "1 bad" in out
    assert main(["list"], registry=registry) == 0
    assert "BAD       mnist/t10k-images-idx3-ubyte.gz  (bad size" in capsys.readouterr().out


def test_fetch_failure_and_unknown_name(tiny_mnist, dead_url, capsys, tmp_path):
    registry = {"mnist": tiny_mnist.with_mirrors(dead_url)}
    assert main(["--root", str(tmp_path / "r"), "fetch", "mnist"], registry=registry) == 1
    err = capsys.readouterr().err
    assert "mnist: FAILED" in err and dead_url in err and "MALIGRAD_DATA_URL" in err
    assert main(["fetch", "imagenet"], registry=registry) == 2
    assert "unknown dataset 'imagenet'" in capsys.readouterr().err


def test_root_option(tiny_mnist, serve, tmp_path, capsys):
    server = serve(tiny_mnist.folder)
    registry = {"mnist": tiny_mnist.with_mirrors(server.url)}
    root = tmp_path / "custom"
    assert main(["--root", str(root), "fetch", "MNIST"], registry=registry) == 0
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(
        f.filename for f in tiny_mnist.spec.files
    )
    assert main(["--root", str(root), "verify", "mnist"], registry=registry) == 0
    assert "4 file(s) checked, 0 bad" in capsys.readouterr().out
    assert np.all([p.stat().st_size > 0 for p in (root / "mnist").iterdir()])
