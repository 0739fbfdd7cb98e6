"""The ``maligrad-data`` command: fetch datasets, list the cache, verify it.

Usage::

    maligrad-data fetch mnist fashion-mnist cifar10 cifar100   # or: fetch all
    maligrad-data list                 # datasets, cache folder, each file's state
    maligrad-data verify               # re-hash the cache; exit 1 on a bad file

``--root DIR`` uses another cache folder (default: ``$MALIGRAD_DATA_DIR`` or pooch's OS
cache). Example, in-process::

    >>> from maligrad.data.cli import main
    >>> main(["--root", "/nonexistent/cache", "verify"])  # doctest: +ELLIPSIS
    cache folder: /nonexistent/cache
    ...
    0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .download import cache_dir, fetch, status
from .errors import DownloadError
from .registry import REGISTRY, DatasetSpec, Registry, get_spec


def _specs(names: Sequence[str], registry: Registry) -> list[DatasetSpec]:
    if not names or "all" in names:
        return list(registry.values())
    return [get_spec(n, registry) for n in names]


def _cmd_fetch(args: argparse.Namespace, registry: Registry) -> int:
    failed = 0
    for spec in _specs(args.datasets, registry):
        try:
            paths = fetch(spec, args.root, download=True)
        except DownloadError as exc:
            print(f"{spec.name}: FAILED\n{exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{spec.name}: {len(paths)} file(s) verified in {cache_dir(args.root)}")
    return 1 if failed else 0


def _cmd_list(args: argparse.Namespace, registry: Registry) -> int:
    folder = cache_dir(args.root)
    print(f"cache folder: {folder}")
    for spec in registry.values():
        states = status(spec, args.root)
        ready = all(state == "verified" for _, state in states)
        print(f"\n{spec.name}: {spec.title} [{'ready' if ready else 'not ready'}]")
        for path, state in states:
            label = state if state in ("verified", "missing") else "BAD"
            detail = "" if label == state else f"  ({state})"
            print(f"  {label:<8}  {path.relative_to(folder)}{detail}")
    return 0


def _cmd_verify(args: argparse.Namespace, registry: Registry) -> int:
    folder = cache_dir(args.root)
    print(f"cache folder: {folder}")
    bad = checked = 0
    for spec in _specs(args.datasets, registry):
        for path, state in status(spec, args.root):
            if state == "missing":
                continue
            checked += 1
            if state == "verified":
                print(f"ok    {path.relative_to(folder)}")
            else:
                bad += 1
                print(f"BAD   {path.relative_to(folder)}: {state}")
    print(f"{checked} file(s) checked, {bad} bad")
    if bad:
        print("remove the bad files or run `maligrad-data fetch` to replace them", file=sys.stderr)
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``maligrad-data`` command."""
    parser = argparse.ArgumentParser(
        prog="maligrad-data", description="Fetch, list and verify maligrad datasets."
    )
    parser.add_argument(
        "--root", default=None, help="cache folder (default: $MALIGRAD_DATA_DIR or the OS cache)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    names = ", ".join(REGISTRY)
    p = sub.add_parser("fetch", help="download and verify datasets")
    p.add_argument("datasets", nargs="+", help=f"dataset names ({names}) or 'all'")
    sub.add_parser("list", help="datasets, cache folder and the state of each file")
    p = sub.add_parser("verify", help="re-hash the cached files; exit 1 on a bad one")
    p.add_argument("datasets", nargs="*", help="only these datasets (default: all)")
    return parser


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    """Run the command line with ``argv``; ``registry`` replaces the built-in one (tests)."""
    args = build_parser().parse_args(argv)
    registry = REGISTRY if registry is None else registry
    commands = {"fetch": _cmd_fetch, "list": _cmd_list, "verify": _cmd_verify}
    try:
        return commands[args.command](args, registry)
    except KeyError as exc:
        print(f"maligrad-data: {exc.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
