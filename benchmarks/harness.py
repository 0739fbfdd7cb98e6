"""The measuring side of the benchmarks: workloads, contenders and ratio reports.

A :class:`Workload` holds one computation written several ways ("contenders"): the
hand-written numpy reference, maligrad, and optionally PyTorch. :func:`measure` runs the
contenders in turn, repeat by repeat (the order reversed every other repeat), so that
each maligrad time is divided by a numpy time taken moments before or after it (pair by
pair), and reports the median of those ratios and their spread (the lowest and highest
over the repeats). A workload with no numpy version names another reference (PyTorch for
``resnet-small``).

Workloads that run multi-threaded GEMMs wait ``settle`` seconds before each timed block:
numpy's OpenBLAS and PyTorch's OpenMP keep their threads spinning for a while after their
last parallel region, and in one process those threads take the cores of whichever
contender runs next (PyTorch's resnet-small step measured 185 ms right after maligrad's
and 108 ms 0.3 s later). A user's script runs one framework; the pause keeps each
contender from paying for the other's threads.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

REFERENCE = "numpy"


@dataclass
class Workload:
    """One computation and the contenders that perform it.

    ``contenders`` maps a name to a zero-argument callable doing one unit of work
    (for example one training step); ``reference`` (``"numpy"`` unless said) is the one
    the others are divided by. ``target`` is the ratio to the reference maligrad aims to
    stay under, ``torch_target`` its ratio to PyTorch's time (checked when PyTorch is
    installed).
    """

    name: str
    contenders: dict[str, Callable[[], object]]
    description: str = ""
    target: float | None = None
    torch_target: float | None = None
    reference: str = REFERENCE
    repeats: int = 7
    inner: int = 1
    warmup: int = 1
    #: Seconds to wait before each timed block (see the module's docstring).
    settle: float = 0.0
    #: Extra facts for the report; callables are called once, after timing.
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Result:
    """Medians in seconds per unit of work and median ratios against the reference.

    ``spread`` holds ``[lowest, highest]`` of each figure over the repeats: seconds under
    each contender's name, ratios under ``"<contender>/<reference>"`` and
    ``"maligrad/torch"``. ``vs_torch`` is maligrad's time as a multiple of PyTorch's.
    ``mode`` is ``"in-process"`` (contenders interleaved in one process) or ``"fresh"``
    (each run in its own new process, as a user's script is).
    """

    name: str
    seconds: dict[str, float]
    ratios: dict[str, float]
    peak_mib: dict[str, float]
    target: float | None
    description: str
    extra: dict[str, object]
    reference: str = REFERENCE
    torch_target: float | None = None
    vs_torch: float | None = None
    spread: dict[str, list[float]] = field(default_factory=dict)
    mode: str = "in-process"

    def misses(self) -> list[str]:
        """Why this result misses its targets (empty when it meets them)."""
        out = []
        ratio = self.ratios.get("maligrad")
        if self.target is not None and ratio is not None and ratio > self.target:
            out.append(
                f"{self.name} ({self.mode}): {ratio:.2f}x {self.reference} > {self.target:.2f}x"
            )
        vs = self.vs_torch
        if self.torch_target is not None and vs is not None and vs > self.torch_target:
            out.append(f"{self.name} ({self.mode}): {vs:.2f}x torch > {self.torch_target:.2f}x")
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "mode": self.mode,
            "description": self.description,
            "reference": self.reference,
            "seconds": self.seconds,
            "ratios": self.ratios,
            "vs_torch": self.vs_torch,
            "spread": self.spread,
            "peak_mib": self.peak_mib,
            "target": self.target,
            "torch_target": self.torch_target,
            **self.extra,
        }


def _time(fn: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def _peak_mib(fn: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def in_turn(names: list[str], round_: int) -> list[str]:
    """The contenders' order in round ``round_``: as listed in even rounds, reversed in odd
    ones, so that no contender always runs right after the same other one (the machine's
    speed drifts within a round, and a contender's threads and caches affect the next)."""
    return names if round_ % 2 == 0 else names[::-1]


def measure(workload: Workload, memory: bool = True) -> Result:
    """Run every contender ``repeats`` times, interleaved, and summarise."""
    names = list(workload.contenders)
    for name in names:
        for _ in range(workload.warmup):
            workload.contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(workload.repeats):
        for name in in_turn(names, r):
            gc.collect()
            if workload.settle:
                time.sleep(workload.settle)
            times[name].append(_time(workload.contenders[name], workload.inner))
    peaks = {name: _peak_mib(workload.contenders[name]) for name in names} if memory else {}
    return summarize(workload, times, peaks)


def summarize(
    workload: Workload,
    times: dict[str, list[float]],
    peaks: dict[str, float] | None = None,
    mode: str = "in-process",
) -> Result:
    """Medians, pairwise ratios and their spread from each contender's list of times."""
    ref = workload.reference
    spread: dict[str, list[float]] = {n: [min(t), max(t)] for n, t in times.items()}
    ratios = {}
    for name in times:
        if name != ref and ref in times:
            pairs = [t / r for t, r in zip(times[name], times[ref])]
            ratios[name] = statistics.median(pairs)
            spread[f"{name}/{ref}"] = [min(pairs), max(pairs)]
    vs_torch = None
    if "torch" in times and "maligrad" in times:
        pairs = [m / t for m, t in zip(times["maligrad"], times["torch"])]
        vs_torch = statistics.median(pairs)
        spread["maligrad/torch"] = [min(pairs), max(pairs)]
    return Result(
        name=workload.name,
        seconds={name: statistics.median(t) for name, t in times.items()},
        ratios=ratios,
        peak_mib=peaks or {},
        target=workload.target,
        description=workload.description,
        extra={k: v() if callable(v) else v for k, v in workload.extra.items()},
        reference=ref,
        torch_target=workload.torch_target,
        vs_torch=vs_torch,
        spread=spread,
        mode=mode,
    )


def format_table(results: list[Result]) -> str:
    """A plain-text table: one row per workload and mode, medians in ms and ratios."""
    head = ("workload", "mode", "numpy ms", "maligrad ms", "torch ms", "ratio", "target")
    rows = [(*head, "vs torch", "torch target", "peak MiB")]
    nan = float("nan")

    def ms(r: Result, name: str) -> str:
        return f"{r.seconds[name] * 1e3:.3f}" if name in r.seconds else ""

    for r in results:
        ratio = r.ratios.get("maligrad")
        rows.append(
            (
                r.name,
                r.mode,
                ms(r, "numpy"),
                ms(r, "maligrad"),
                ms(r, "torch"),
                f"{ratio:.2f}x" if ratio is not None and r.reference == REFERENCE else "",
                f"<= {r.target:.2f}x" if r.target is not None else "",
                f"{r.vs_torch:.2f}x" if r.vs_torch is not None else "",
                f"<= {r.torch_target:.2f}x" if r.torch_target is not None else "",
                f"{r.peak_mib.get('maligrad', nan):.1f}" if r.peak_mib else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
