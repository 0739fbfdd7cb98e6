"""Checks a release needs before anything is installed (standard library and packaging only).

    python .ci/release_check.py ranges                       # sibling ranges admit versions
    python .ci/release_check.py changelog maligrad-core 0.2.0  # a released heading exists

``ranges`` runs before the workspace environment is built: a core minor bump that nn's
range does not admit would otherwise surface as an unreadable pip resolution error.
``changelog`` accepts ``## 0.2.0``, ``## 0.2.0 (2026-12-01)`` and Keep a Changelog's
``## [0.2.0] - 2026-12-01``; a heading that says "unreleased" (in any case) is refused.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"
# The one heading style of the three changelogs: `## 0.2.0 (unreleased)`, `## 0.2.0` or
# `## 0.2.0 (2026-12-01)`; Keep a Changelog's `## [0.2.0] - 2026-12-01` is read too.
HEADING = re.compile(r"^## \[?(?P<version>[0-9][0-9A-Za-z.+-]*?)\]?(?:\s+(?P<rest>.*))?$")


def released_heading(changelog: str, version: str) -> str | None:
    """The changelog's heading for ``version`` if it marks a release, else None."""
    for line in changelog.splitlines():
        match = HEADING.match(line.rstrip())
        if match and match["version"] == version:
            return None if "unreleased" in line.lower() else line
    return None


def versions(packages: Path = PACKAGES) -> dict[str, str]:
    """``{distribution: version}`` read from each package's ``__about__.py``."""
    found = {}
    for about in packages.glob("maligrad-*/src/maligrad/**/__about__.py"):
        match = re.search(r'__version__\s*=\s*"([^"]+)"', about.read_text())
        if match:
            found[about.relative_to(packages).parts[0]] = match[1]
    return found


def range_problems(packages: Path = PACKAGES) -> list[str]:
    """One message per sibling requirement whose range excludes the sibling's version."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from packaging.requirements import Requirement

    current = versions(packages)
    problems = []
    for pyproject in sorted(packages.glob("maligrad-*/pyproject.toml")):
        name = pyproject.parent.name
        for line in tomllib.loads(pyproject.read_text())["project"].get("dependencies", []):
            req = Requirement(line)
            if req.name in current and not req.specifier.contains(current[req.name]):
                problems.append(
                    f"{name} requires {line!r}, but packages/{req.name} is at "
                    f"{current[req.name]}: raise the range in packages/{name}/pyproject.toml "
                    f"in the same commit (and release {name} with it)"
                )
    return problems


def main(argv: list[str]) -> int:
    if argv[:1] == ["ranges"] and len(argv) == 1:
        problems = range_problems()
        for problem in problems:
            print(f"sibling range: {problem}", file=sys.stderr)
        if not problems:
            print("sibling ranges admit the current versions: " + ", ".join(
                f"{k} {v}" for k, v in sorted(versions().items())))  # fmt: skip
        return 1 if problems else 0
    if argv[:1] == ["changelog"] and len(argv) == 3:
        package, version = argv[1], argv[2]
        path = PACKAGES / package / "CHANGELOG.md"
        heading = released_heading(path.read_text(encoding="utf-8"), version)
        if heading is None:
            print(
                f"{path.relative_to(ROOT)} has no released heading for {version}: expected "
                f"'## {version}' or '## [{version}]' without 'unreleased'",
                file=sys.stderr,
            )
            return 1
        print(f"{package} {version}: {heading}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
