"""The built documentation site has no Sphinx role rendered as literal text."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1]
SITE = DOCS.parent / "site"
spec = importlib.util.spec_from_file_location("check_site", DOCS / "check_site.py")
assert spec is not None and spec.loader is not None
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)


@pytest.mark.parametrize(
    ("html", "roles"),
    [
        ("<p>See :class:<code>Conv2d</code> and more.</p>", [":class:`Conv2d`"]),
        ("<p>:func:<code>~maligrad.data.MNIST</code></p>", [":func:`~maligrad.data.MNIST`"]),
        ("<p>:py:meth:`Module.train` in plain text</p>", [":py:meth:`Module.train`"]),
        ("<p>:mod:<code>a</code>, :attr:<code>b</code></p>", [":mod:`a`", ":attr:`b`"]),
        ('<p>A <a href="#maligrad.nn.Conv2d"><code>Conv2d</code></a> link.</p>', []),
        ("<p>class: <code>Conv2d</code>, ratio 1:2</p>", []),
        ("<script>var s = ':class:`x`';</script><p>ok</p>", []),
    ],
)  # fmt: skip
def test_literal_roles_are_found(html: str, roles: list[str]) -> None:
    assert check_site.literal_roles(html) == roles


@pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="site/ is not built")
def test_the_built_site_has_no_literal_sphinx_roles() -> None:
    assert check_site.check(SITE) == {}
