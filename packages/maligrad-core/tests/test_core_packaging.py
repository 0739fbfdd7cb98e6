"""The wheels: each ships only its own files, and the namespace works across them.

Builds the three wheels with hatchling and installs them, without the network, into a
fresh virtual environment that borrows numpy and pooch from the running one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

PACKAGES = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _build(name: str, out: Path) -> Path:
    pytest.importorskip("hatchling")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=PACKAGES / name,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob(f"{name.replace('-', '_')}-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    return {name: _build(name, out) for name in ("maligrad-core", "maligrad-nn", "maligrad-data")}


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
        "try:\n"
        "    import maligrad.nn\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n",
    )
    assert str(tmp_path / "venv") in out
    assert "[2.0, 2.0]" in out
    assert "ImportError:" in out and "pip install maligrad-nn" in out

    _install(python, wheels["maligrad-nn"], wheels["maligrad-data"])
    out = _run(
        python,
        "import maligrad, maligrad.nn, maligrad.data\n"
        "print(maligrad.nn.__file__)\nprint(maligrad.data.__file__)\n",
    )
    assert out.count(str(tmp_path / "venv")) == 2


def test_sibling_dependency_ranges_admit_current_versions() -> None:
    """maligrad-nn's range for maligrad-core must admit the core's version in this tree
    (a minor release of the core raises the range in the same commit)."""
    tomllib = pytest.importorskip("tomllib")
    specifiers = pytest.importorskip("packaging.specifiers")
    requirements = pytest.importorskip("packaging.requirements")
    versions = {}
    for path in PACKAGES.glob("maligrad-*/src/maligrad/**/__about__.py"):
        name = path.relative_to(PACKAGES).parts[0]
        versions[name] = path.read_text().split('"')[1]
    assert set(versions) == {"maligrad-core", "maligrad-nn", "maligrad-data"}
    checked = 0
    for folder in PACKAGES.glob("maligrad-*"):
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        for line in project["dependencies"]:
            req = requirements.Requirement(line)
            if req.name in versions:
                assert isinstance(req.specifier, specifiers.SpecifierSet)
                assert req.specifier.contains(versions[req.name]), (folder.name, line)
                checked += 1
    assert checked >= 1  # maligrad-nn depends on maligrad-core
