"""The measuring side of the benchmarks: workloads, contenders and ratio reports.

A :class:`Workload` holds one computation written several ways ("contenders"): the
hand-written numpy reference, maligrad, and optionally PyTorch. :func:`measure` runs the
contenders in turn, repeat by repeat, so that each maligrad time is divided by a numpy
time taken moments before it (pair by pair), and reports the median of those ratios.
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
    (for example one training step); ``"numpy"`` is the reference. ``target`` is the
    ratio maligrad aims to stay under, shown in the report.
    """

    name: str
    contenders: dict[str, Callable[[], object]]
    description: str = ""
    target: float | None = None
    repeats: int = 7
    inner: int = 1
    warmup: int = 1
    #: Extra facts for the report; callables are called once, after timing.
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Result:
    """Medians in seconds per unit of work and median ratios against the reference."""

    name: str
    seconds: dict[str, float]
    ratios: dict[str, float]
    peak_mib: dict[str, float]
    target: float | None
    description: str
    extra: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "seconds": self.seconds,
            "ratios": self.ratios,
            "peak_mib": self.peak_mib,
            "target": self.target,
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


def measure(workload: Workload, memory: bool = True) -> Result:
    """Run every contender ``repeats`` times, interleaved, and summarise."""
    names = list(workload.contenders)
    for name in names:
        for _ in range(workload.warmup):
            workload.contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(workload.repeats):
        for name in names:
            gc.collect()
            times[name].append(_time(workload.contenders[name], workload.inner))
    reference = times[REFERENCE]
    ratios = {
        name: statistics.median(t / r for t, r in zip(times[name], reference))
        for name in names
        if name != REFERENCE
    }
    peaks = {name: _peak_mib(workload.contenders[name]) for name in names} if memory else {}
    return Result(
        name=workload.name,
        seconds={name: statistics.median(t) for name, t in times.items()},
        ratios=ratios,
        peak_mib=peaks,
        target=workload.target,
        description=workload.description,
        extra={k: v() if callable(v) else v for k, v in workload.extra.items()},
    )


def format_table(results: list[Result]) -> str:
    """A plain-text table: one row per workload, medians in ms and ratios to numpy."""
    rows = [("workload", "numpy ms", "maligrad ms", "ratio", "target", "torch ratio", "peak MiB")]
    for r in results:
        rows.append(
            (
                r.name,
                f"{r.seconds[REFERENCE] * 1e3:.3f}",
                f"{r.seconds.get('maligrad', float('nan')) * 1e3:.3f}",
                f"{r.ratios.get('maligrad', float('nan')):.2f}x",
                f"<= {r.target:.2f}x" if r.target is not None else "",
                f"{r.ratios['torch']:.2f}x" if "torch" in r.ratios else "",
                f"{r.peak_mib.get('maligrad', float('nan')):.1f}" if r.peak_mib else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
