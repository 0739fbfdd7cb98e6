"""``keep_freed_memory``: a step's large temporaries reuse the same pages (no page faults)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import maligrad as mg
from maligrad.memory import _glibc_mallopt

glibc_only = pytest.mark.skipif(_glibc_mallopt() is None, reason="needs glibc's mallopt")

# A "step" that allocates four 3 MiB temporaries and frees them together, as a training step
# does; prints the page faults of each of six steps. ``SETTING`` is applied after the import.
STEP = """
import resource, sys
import numpy as np
import maligrad as mg
if sys.argv[1] != "import":
    mg.keep_freed_memory(int(sys.argv[1]))
def step():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    temporaries = [np.ones(3 * 2**20 // 8) for _ in range(4)]
    del temporaries
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(" ".join(str(step()) for _ in range(6)))
"""


def faults_per_step(setting: str, keep: str = "1") -> list[int]:
    env = dict(os.environ, MALIGRAD_KEEP_FREED_MEMORY=keep)
    out = subprocess.run(
        [sys.executable, "-c", STEP, setting], env=env, capture_output=True, text=True, check=True
    )
    return [int(n) for n in out.stdout.split()]


@glibc_only
def test_default_reuses_pages_after_the_first_step() -> None:
    faults = faults_per_step("import")
    assert faults[0] > 2000  # the first step touches 12 MiB of new pages
    assert max(faults[1:]) < 50, faults


@glibc_only
@pytest.mark.parametrize(("setting", "keep"), [("import", "0"), ("0", "1")])
def test_opting_out_hands_memory_back_every_step(setting: str, keep: str) -> None:
    faults = faults_per_step(setting, keep)
    assert min(faults[1:]) > 2000, faults


@glibc_only
def test_an_explicit_limit_keeps_the_step() -> None:
    faults = faults_per_step(str(64 * 2**20), keep="0")
    assert max(faults[1:]) < 50, faults


@pytest.mark.parametrize(
    ("limit", "error", "message"),
    [
        (1.5, TypeError, "limit must be an int, got float"),
        (True, TypeError, "limit must be an int, got bool"),
        (-1, ValueError, r"limit must be in \[0, 2\*\*31\), got -1"),
        (2**31, ValueError, "got 2147483648"),
    ],
)
def test_bad_limit(limit: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        mg.keep_freed_memory(limit)  # type: ignore[arg-type]
