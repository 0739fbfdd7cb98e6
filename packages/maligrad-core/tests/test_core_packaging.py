"""The wheels and sdists: each ships only its own files (and py.typed, URLs, classifiers),
the namespace works across them, and each sdist's tests run from the unpacked sdist.

Builds the three wheels with hatchling and installs them, without the network, into a
fresh virtual environment that borrows numpy and pooch from the running one. These tests
need the repository (all three package folders): from an unpacked sdist they skip.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

PACKAGES = Path(__file__).resolve().parents[2]
NAMES = ("maligrad-core", "maligrad-nn", "maligrad-data")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all((PACKAGES / name / "pyproject.toml").is_file() for name in NAMES),
        reason="needs the repository's three package folders (not an unpacked sdist)",
    ),
]


def _build(name: str, out: Path, target: str = "wheel") -> Path:
    pytest.importorskip("hatchling")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", target, "-d", str(out)],
        cwd=PACKAGES / name,
        check=True,
        capture_output=True,
    )
    suffix = "whl" if target == "wheel" else "tar.gz"
    (built,) = out.glob(f"{name.replace('-', '_')}-*.{suffix}")
    return built


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    return {name: _build(name, out) for name in NAMES}


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return [n for n in z.namelist() if ".dist-info/" not in n]


def test_each_wheel_ships_only_its_own_files(wheels: dict[str, Path]) -> None:
    core = _names(wheels["maligrad-core"])
    assert "maligrad/__init__.py" in core
    assert all(n.startswith("maligrad/") for n in core)
    assert not any(n.startswith(("maligrad/nn/", "maligrad/data/")) for n in core)
    for name, sub in (("maligrad-nn", "nn"), ("maligrad-data", "data")):
        files = _names(wheels[name])
        assert f"maligrad/{sub}/__about__.py" in files
        assert all(n.startswith(f"maligrad/{sub}/") for n in files), files


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("maligrad-core", "maligrad/py.typed"),
        ("maligrad-nn", "maligrad/nn/py.typed"),
        ("maligrad-data", "maligrad/data/py.typed"),
    ],
)
def test_each_wheel_is_typed_and_says_where_things_are(
    wheels: dict[str, Path], name: str, typed: str
) -> None:
    assert typed in _names(wheels[name])
    with zipfile.ZipFile(wheels[name]) as z:
        (path,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(z.read(path))
    urls = dict(line.split(", ", 1) for line in metadata.get_all("Project-URL"))
    assert set(urls) == {"Documentation", "Changelog", "Issues", "Source"}
    assert urls["Changelog"].endswith(f"/packages/{name}/CHANGELOG.md")
    classifiers = set(metadata.get_all("Classifier"))
    assert "Typing :: Typed" in classifiers
    python = {c.rsplit(" ", 1)[1] for c in classifiers if c.startswith("Programming Language")}
    assert {"3.10", "3.11", "3.12", "3.13"} <= python
    assert metadata["Requires-Python"] == ">=3.10"


@pytest.mark.parametrize("name", NAMES)
def test_sdist_tests_run_from_the_unpacked_sdist(name: str, tmp_path: Path) -> None:
    """No repository paths and no repository configuration: the sdist's own conftest
    registers its markers (checked with --strict-markers while every test is collected),
    and its docstring examples pass."""
    sdist = _build(name, tmp_path / "dist", target="sdist")
    with tarfile.open(sdist) as tar:
        options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(tmp_path / "unpacked", **options)  # type: ignore[arg-type]
    (root,) = (tmp_path / "unpacked").iterdir()
    assert (root / "tests" / "conftest.py").is_file() and (root / "CHANGELOG.md").is_file()
    doctests = next((root / "tests").glob("test_*_doctests.py"))
    pytest_ = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers"]
    for args in (["--collect-only", "-q", "tests"], ["-q", str(doctests.relative_to(root))]):
        result = subprocess.run(
            [*pytest_, "--rootdir", str(root), *args], cwd=root, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


def _venv(path: Path) -> Path:
    venv.create(path, with_pip=True, symlinks=os.name != "nt")
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # numpy (and pooch) come from this environment's site-packages; .pth files there (such
    # as editable installs of maligrad) are not processed for a directory added this way.
    borrowed = Path(np.__file__).resolve().parents[1]
    Path(site, "_borrowed.pth").write_text(f"{borrowed}\n")
    return python


def _run(python: Path, code: str) -> str:
    result = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd=python.parent
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _install(python: Path, *wheels: Path) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
        + [str(w) for w in wheels],
        check=True,
        capture_output=True,
    )


def test_core_alone_then_full_stack(wheels: dict[str, Path], tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    _install(python, wheels["maligrad-core"])
    out = _run(
        python,
        "import maligrad, numpy as np\n"
        "x = maligrad.Variable(np.ones(2), requires_grad=True)\n"
        "(x * x).sum().backward()\n"
        "print(maligrad.__file__)\n"
        "print(x.grad.data.tolist())\n"
        "for stmt in ('import maligrad.nn', 'from maligrad import nn', 'maligrad.nn.Linear',\n"
        "             'import maligrad.data', 'from maligrad import data'):\n"
        "    try:\n"
        "        exec(stmt)\n"
        "    except ImportError as e:\n"
        "        print('ImportError:', e)\n",
    )
    assert str(tmp_path / "venv") in out
    assert "[2.0, 2.0]" in out
    hints = [line for line in out.splitlines() if line.startswith("ImportError:")]
    assert len(hints) == 5, out
    assert all("pip install maligrad-nn" in line for line in hints[:3]), hints
    assert all("pip install maligrad-data" in line for line in hints[3:]), hints

    _install(python, wheels["maligrad-nn"], wheels["maligrad-data"])
    out = _run(
        python,
        "import sys, maligrad\n"
        "print(any(m.startswith(('maligrad.nn', 'maligrad.data')) for m in sys.modules))\n"
        "print(maligrad.nn.Linear(3, 2).weight.shape)\n"  # lazily, as torch.nn after torch
        "from maligrad import data\n"
        "print(maligrad.nn.__file__)\nprint(data.__file__)\n",
    )
    assert out.splitlines()[:2] == ["False", "(2, 3)"]
    assert out.count(str(tmp_path / "venv")) == 2
