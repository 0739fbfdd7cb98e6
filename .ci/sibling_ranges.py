#!/usr/bin/env python3
"""Check that each package's range for a sibling admits that sibling's version in this tree.

Run it first in CI (it needs no environment, only pip's vendored libraries): when a core
minor release is not matched by nn's range, pip's resolver would otherwise fail first, with
an error that does not say which range to raise.

    python .ci/sibling_ranges.py [--root REPO]

Exit status 0 when every range admits its sibling's current version, 1 otherwise (one line
per mismatch, naming the file, the range and the version).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

try:  # packaging and tomllib come with pip (vendored) when they are not installed
    from packaging.requirements import Requirement
except ImportError:  # pragma: no cover - depends on the machine
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
try:
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def package_versions(root: Path) -> dict[str, str]:
    """``{"maligrad-core": "0.1.0", ...}`` from each package's ``__about__.py``."""
    versions = {}
    for folder in sorted((root / "packages").glob("maligrad-*")):
        (about,) = folder.glob("src/maligrad/**/__about__.py")
        match = VERSION.search(about.read_text(encoding="utf-8"))
        if match is None:
            raise SystemExit(f"{about}: no __version__ = '...' line")
        versions[folder.name] = match.group(1)
    return versions


def sibling_requirements(root: Path) -> list[tuple[str, Any]]:
    """``(package, Requirement)`` for every dependency of a package on a sibling."""
    names = set(package_versions(root))
    out = []
    for folder in sorted((root / "packages").glob("maligrad-*")):
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        for line in project["project"].get("dependencies", []):
            req = Requirement(line)
            if req.name in names:
                out.append((folder.name, req))
    return out


def mismatches(root: Path) -> list[str]:
    versions = package_versions(root)
    errors = []
    for package, req in sibling_requirements(root):
        have = versions[req.name]
        if not req.specifier.contains(have, prereleases=True):
            errors.append(
                f"packages/{package}/pyproject.toml requires {req}, but {req.name} in this tree "
                f"is {have}: raise the range in the same commit as the release"
            )
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="the repository root")
    args = parser.parse_args(argv)
    errors = mismatches(args.root)
    for line in errors:
        print(f"sibling range check: {line}", file=sys.stderr)
    if not errors:
        checked = ", ".join(f"{p}: {r}" for p, r in sibling_requirements(args.root))
        print(f"sibling range check: ok ({checked})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
