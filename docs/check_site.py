"""Checks on the built site (``site/``): no Sphinx role rendered as literal text.

    hatch run docs:build && hatch run docs:check

mkdocstrings renders Markdown, so a reStructuredText role in a docstring (":class:`Conv2d`")
reaches the page as literal text instead of a link; cross-references are written
``[Conv2d][maligrad.nn.Conv2d]`` instead.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

# A role name after a colon, then the backquote or the <code> it became.
ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|attr|mod|obj|exc|data|const|ref|doc|term|math)s?:"
    r"(?:`|<code>)([^`<]*)"
)
TAG = re.compile(r"<(script|style)\b.*?</\1>", re.S)


def literal_roles(page: str) -> list[str]:
    """The roles that render literally in one HTML page (``":class:`Conv2d`"``, ...)."""
    text = TAG.sub("", page)
    return [html.unescape(m.group(0)).replace("<code>", "`") + "`" for m in ROLE.finditer(text)]


def check(site: Path) -> dict[str, list[str]]:
    """``{page: [roles]}`` for every page of ``site`` with a literal role."""
    found = {}
    for path in sorted(site.rglob("*.html")):
        roles = literal_roles(path.read_text(encoding="utf-8"))
        if roles:
            found[str(path.relative_to(site))] = roles
    return found


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "site")
    if not (site / "index.html").is_file():
        print(f"{site}: no built site here; run `hatch run docs:build` first", file=sys.stderr)
        return 2
    found = check(site)
    for page, roles in found.items():
        print(f"{page}: {len(roles)} literal Sphinx role(s): {', '.join(roles[:5])}")
    if found:
        total = sum(map(len, found.values()))
        print(f"{total} literal Sphinx roles: use [name][maligrad.path] cross-references")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
