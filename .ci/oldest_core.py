#!/usr/bin/env python3
"""Run maligrad-nn's tests against the oldest maligrad-core its dependency range admits.

A range that is too wide (nn needs an API the lower bound's core does not have) then fails
here, before a release, instead of on a user's machine. Steps:

1. the sibling range check (``sibling_ranges.py``), with its own message;
2. the lower bound of nn's ``maligrad-core`` requirement, e.g. ``>=0.2`` -> ``0.2.0``;
3. that core's source: the release tag ``maligrad-core-v0.2.0`` when it exists, else the
   first commit whose ``packages/maligrad-core/src/maligrad/__about__.py`` has that version
   (the bump commit; the working tree itself when the bump is not committed yet);
4. a fresh virtual environment with that core, the current nn and data (all three built and
   installed as wheels, not editable) and pytest;
5. nn's tests in it (``-m "not slow"``).

    python .ci/oldest_core.py [--keep DIR] [pytest args...]

Needs the git history (``fetch-depth: 0`` on GitHub) and access to PyPI for numpy, pytest
and hatchling.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sibling_ranges  # the script next to this one

REPO = sibling_ranges.REPO
ABOUT = "packages/maligrad-core/src/maligrad/__about__.py"
TEST_DEPENDENCIES = ["pytest>=8", "hypothesis>=6.100"]


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()


def lower_bound() -> str:
    """The smallest core version nn's range admits, padded to three parts (0.2 -> 0.2.0)."""
    for package, req in sibling_ranges.sibling_requirements(REPO):
        if package == "maligrad-nn" and req.name == "maligrad-core":
            bounds = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
            if len(bounds) != 1:
                raise SystemExit(f"oldest core: cannot read one lower bound from {req}")
            parts = bounds[0].split(".")
            return ".".join(parts + ["0"] * (3 - len(parts)))
    raise SystemExit("oldest core: maligrad-nn does not depend on maligrad-core")


def version_at(commit: str) -> str | None:
    try:
        text = git("show", f"{commit}:{ABOUT}")
    except subprocess.CalledProcessError:
        return None
    match = sibling_ranges.VERSION.search(text)
    return match.group(1) if match else None


def core_source(version: str) -> tuple[str, str | None]:
    """``(description, commit)``; commit None means the working tree."""
    tag = f"maligrad-core-v{version}"
    if git("tag", "--list", tag):
        return f"release tag {tag}", tag
    if git("rev-parse", "--is-shallow-repository") == "true":
        raise SystemExit(
            "oldest core: this is a shallow clone; the lower bound's commit needs the history "
            "(actions/checkout: fetch-depth: 0)"
        )
    for commit in git("log", "--reverse", "--format=%H", "--", ABOUT).split():
        if version_at(commit) == version:
            return f"commit {commit[:12]} (first with {ABOUT} at {version})", commit
    current = sibling_ranges.package_versions(REPO)["maligrad-core"]
    if current == version:
        return "the working tree (the version bump is not committed yet)", None
    raise SystemExit(
        f"oldest core: no tag {tag} and no commit where {ABOUT} says {version}: nn's range "
        "admits a core version that never existed; raise its lower bound"
    )


def export_core(commit: str | None, dest: Path) -> Path:
    if commit is None:
        shutil.copytree(REPO / "packages" / "maligrad-core", dest / "maligrad-core")
    else:
        archive = dest / "core.tar"
        with archive.open("wb") as f:
            subprocess.run(
                ["git", "archive", commit, "packages/maligrad-core"], cwd=REPO, check=True, stdout=f
            )
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12: no links out of dest
                tar.extractall(dest, filter="data")
            else:  # pragma: no cover
                tar.extractall(dest)
        shutil.move(str(dest / "packages" / "maligrad-core"), dest / "maligrad-core")
    return dest / "maligrad-core"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build the environment here and keep it")
    args, pytest_args = parser.parse_known_args(argv)
    if sibling_ranges.main([]) != 0:
        return 1
    version = lower_bound()
    where, commit = core_source(version)
    print(f"oldest core: maligrad-core {version} from {where}", flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="maligrad-oldest-core-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        core = export_core(commit, work)
        env_dir = work / "venv"
        venv.create(env_dir, with_pip=True, clear=True)
        python = str(env_dir / ("Scripts" if os.name == "nt" else "bin") / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "hatchling>=1.26", *TEST_DEPENDENCIES], check=True)
        subprocess.run(
            [
                *pip,
                "--no-build-isolation",
                str(core),
                str(REPO / "packages" / "maligrad-nn"),
                str(REPO / "packages" / "maligrad-data"),
            ],
            check=True,
        )
        check = "import maligrad, maligrad.nn; print('maligrad-core', maligrad.__version__)"
        if subprocess.run([python, "-c", check], cwd=work).returncode != 0:
            print(
                f"oldest core: maligrad.nn does not import with maligrad-core {version} (above): "
                "nn needs a newer core than its range admits; raise the lower bound",
                file=sys.stderr,
            )
            return 1
        tests = [python, "-m", "pytest", "packages/maligrad-nn/tests", "-q", "-m", "not slow"]
        status = subprocess.run([*tests, "-p", "no:cacheprovider", *pytest_args], cwd=REPO)
        if status.returncode != 0:
            print(
                f"oldest core: nn's tests fail with maligrad-core {version}: nn needs a newer "
                "core than its range admits (raise the lower bound) or the core broke nn",
                file=sys.stderr,
            )
        return status.returncode
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
