"""A griffe extension that joins the ``maligrad`` namespace for the API reference.

``maligrad`` is one import namespace spread over three source folders: the core's
``maligrad/__init__.py`` extends ``__path__``, and maligrad-nn and maligrad-data ship only
``maligrad/nn/`` and ``maligrad/data/``. griffe (behind mkdocstrings) stops at the first
folder holding ``maligrad/__init__.py``, so it would not find ``maligrad.nn`` or
``maligrad.data``. When the core package has been loaded, this extension loads the two
subpackages from their own source folders, statically, and attaches them to it.

It also fences doctest examples written in plain docstring text (``>>>`` lines and their
output, outside an ``Examples:`` section) as ``pycon`` code blocks, so that Markdown does
not read them as quotes and their output as links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import griffe

ROOT = Path(__file__).resolve().parent.parent
SUBPACKAGES = {
    "nn": ROOT / "packages" / "maligrad-nn" / "src",
    "data": ROOT / "packages" / "maligrad-data" / "src",
}


class MaligradNamespace(griffe.Extension):
    """Attach ``maligrad.nn`` and ``maligrad.data`` to the loaded ``maligrad`` package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "maligrad":
            return
        for name, src in SUBPACKAGES.items():
            if name in pkg.members or not (src / "maligrad" / name).is_dir():
                continue
            sub_loader = griffe.GriffeLoader(
                search_paths=[src],
                docstring_parser=loader.docstring_parser,
                docstring_options=loader.docstring_options,
            )
            namespace = sub_loader.load("maligrad")
            pkg.set_member(name, namespace.members[name])
        if "nn" in pkg.members:  # core's `gradcheck` (function and module) is core's to switch
            _unshadow_exports(pkg.members["nn"])
        _fence_all(pkg)

    # griffe < 1.14 calls this hook instead.
    def on_package_loaded(
        self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any
    ) -> None:
        self.on_package(pkg=pkg, loader=loader)


def _unshadow_exports(obj: griffe.Object) -> None:
    """Point an exported name at the object, not at the submodule of the same name.

    ``maligrad.nn.functional`` exports ``dropout``, ``linear`` and ``embedding``, each imported
    from a submodule of that very name; griffe keeps the submodule as the member, so the
    functions would be missing from the reference (and their cross-references unresolved).
    """
    stack = [obj]
    while stack:
        module = stack.pop()
        for name in module.exports or ():
            member = module.members.get(str(name))
            if member is None or member.is_alias or not member.is_module:
                continue
            target = member.members.get(str(name))
            if target is not None and not target.is_module:
                module.set_member(str(name), griffe.Alias(str(name), target, parent=module))
        stack.extend(m for m in module.members.values() if not m.is_alias and m.is_module)


def _fence_all(obj: griffe.Object) -> None:
    """Fence the doctests of ``obj`` and of every object defined in it."""
    stack = [obj]
    while stack:
        current = stack.pop()
        if current.docstring is not None:
            current.docstring.value = fence_doctests(current.docstring.value)
        stack.extend(m for m in current.members.values() if not m.is_alias)


def fence_doctests(text: str) -> str:
    """Wrap each run of unindented ``>>>`` lines (with their output) in a pycon fence."""
    lines = text.splitlines()
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence or not line.startswith(">>>"):
            out.append(line)
            i += 1
            continue
        out.append("```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append("```")
    return "\n".join(out)
