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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sibling_ranges

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
    return sibling_ranges.package_versions(packages.parent)


def range_problems(packages: Path = PACKAGES) -> list[str]:
    """One message per sibling requirement whose range excludes the sibling's version."""
    return sibling_ranges.mismatches(packages.parent)


def main(argv: list[str]) -> int:
    if argv[:1] == ["ranges"] and len(argv) == 1:
        return sibling_ranges.main([])
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
