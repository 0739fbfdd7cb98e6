"""The release checks in .ci/release_check.py: changelog headings and sibling ranges.

Repository tooling, not part of the package: skips from an unpacked sdist.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / ".ci" / "release_check.py"
pytestmark = pytest.mark.skipif(not SCRIPT.is_file(), reason="needs the repository's .ci/")


@pytest.fixture(scope="module")
def check():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("release_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("heading", "released"),
    [
        ("## 0.2.0", True),
        ("## 0.2.0 (2026-12-01)", True),
        ("## [0.2.0]", True),
        ("## [0.2.0] - 2026-12-01", True),
        ("## 0.2.0 (unreleased)", False),
        ("## 0.2.0 (Unreleased)", False),
        ("## [0.2.0] - UNRELEASED", False),
        ("## 0.2.0rc1", False),  # another version
        ("## 0.2.01", False),
        ("### 0.2.0", False),  # not a release heading
        ("## 10.2.0", False),
    ],
)
def test_changelog_heading(check, heading: str, released: bool) -> None:  # type: ignore[no-untyped-def]
    text = f"# Changelog of maligrad-core\n\n{heading}\n\n- a change\n\n## 0.1.0\n\n- first\n"
    assert (check.released_heading(text, "0.2.0") == heading) is released
    assert check.released_heading(text, "0.1.0") == "## 0.1.0"


def test_changelog_command_exit_status(check, capsys) -> None:  # type: ignore[no-untyped-def]
    for package in ("maligrad-core", "maligrad-nn", "maligrad-data"):
        assert check.main(["changelog", package, "9.9.9"]) == 1
        assert f"packages/{package}/CHANGELOG.md has no released heading for 9.9.9" in (
            capsys.readouterr().err
        )
    assert check.main(["nonsense"]) == 2


def test_all_three_changelogs_use_one_heading_style() -> None:
    style = re.compile(r"^## \d+\.\d+\.\d+\S*( \((unreleased|\d{4}-\d{2}-\d{2})\))?$")
    for package in ("maligrad-core", "maligrad-nn", "maligrad-data"):
        lines = (ROOT / "packages" / package / "CHANGELOG.md").read_text().splitlines()
        assert lines[0] == f"# Changelog of {package}"
        headings = [line for line in lines if line.startswith("## ")]
        assert headings and all(style.match(h) for h in headings), (package, headings)


def test_ranges_pass_here_and_a_core_minor_bump_is_reported_by_name(check, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("packaging")
    assert check.range_problems() == []
    packages = tmp_path / "packages"
    for package in ("maligrad-core", "maligrad-nn", "maligrad-data"):
        shutil.copytree(ROOT / "packages" / package, packages / package,
                        ignore=shutil.ignore_patterns("tests", "__pycache__", "*.npz"))  # fmt: skip
    about = packages / "maligrad-core" / "src" / "maligrad" / "__about__.py"
    major, minor, _ = check.versions(packages)["maligrad-core"].split(".")
    about.write_text(f'__version__ = "{major}.{int(minor) + 1}.0"\n')
    (problem,) = check.range_problems(packages)
    assert problem.startswith("packages/maligrad-nn/pyproject.toml requires maligrad-core")
    assert f"maligrad-core in this tree is {major}.{int(minor) + 1}.0" in problem
    assert "raise the range" in problem
