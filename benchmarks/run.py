"""Run the benchmark workloads and report their speed as ratios to numpy and to PyTorch.

Each ``benchmarks/bench_*.py`` module defines ``workloads(quick: bool) -> list[Workload]``.
Usage::

    hatch run bench:bench                 # everything, contenders interleaved in-process
    hatch run bench:bench smallops deep   # workloads whose name contains a word given
    hatch run bench:bench --list          # the workload names
    hatch run bench:bench lenet --fresh   # also each contender in its own fresh process
    hatch run bench:bench --check         # exit 1 when a workload misses its target
    hatch run bench:bench --quick         # fewer repeats, smaller sizes: a smoke run

A name that matches no workload is an error (exit 2). The results go to
``benchmarks/results/latest.json`` (with the numpy, maligrad and PyTorch versions, the
commit and the date) and, when matplotlib is installed, a bar chart next to it; a run that
measured nothing writes nothing.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import inspect
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Result, Workload, format_table, in_turn, measure, summarize  # noqa: E402


def load_modules() -> list:
    modules = []
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def versions() -> dict[str, str | None]:
    """numpy, maligrad (each package) and PyTorch versions: None where not installed."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("numpy", "maligrad-core", "maligrad-nn", "maligrad-data", "torch"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def commit() -> str | None:
    """The repository's commit (with ``+dirty`` for uncommitted changes), if known."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=HERE, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def all_workloads(modules: list, quick: bool) -> list[Workload]:
    out = []
    for module in modules:
        for w in module.workloads(quick):
            w.extra.setdefault("module", module.__name__)
            out.append(w)
    return out


def select(workloads: list[Workload], names: list[str]) -> list[Workload] | None:
    """Workloads whose name contains one of ``names``; None when a name matches nothing."""
    if not names:
        return workloads
    unknown = [n for n in names if not any(n in w.name for w in workloads)]
    if unknown:
        listing = ", ".join(w.name for w in workloads)
        print(
            f"unknown workload {', '.join(map(repr, unknown))}; the workloads are: {listing}",
            file=sys.stderr,
        )
        return None
    return [w for w in workloads if any(n in w.name for n in names)]


# --- fresh-process mode ---------------------------------------------------------------


def child(name: str, contender: str, steps: int, quick: bool, module: str | None) -> int:
    """In a fresh process: time ``steps`` units of one contender; print JSON seconds.

    Only ``module`` (the workload's file) is loaded, and asked for ``name`` alone when its
    ``workloads`` takes ``only``, so that the process builds little besides the workload.
    """
    modules = [m for m in load_modules() if module is None or m.__name__ == module]
    for m in modules:
        if "only" in inspect.signature(m.workloads).parameters:
            found = m.workloads(quick, only=name)
        else:
            found = m.workloads(quick)
        for w in found:
            if w.name != name:
                continue
            fn = w.contenders[contender]
            start = time.perf_counter()
            fn()
            first = time.perf_counter() - start
            times = []
            for _ in range(steps):
                start = time.perf_counter()
                for _ in range(w.inner):
                    fn()
                times.append((time.perf_counter() - start) / w.inner)
            print(json.dumps({"first": first, "steady": statistics.median(times)}))
            return 0
    return 2


def measure_fresh(workload: Workload, quick: bool, processes: int) -> Result:
    """Each contender in its own new process, ``processes`` times, interleaved.

    Every process builds the workload, times its first unit of work, then the median of
    a few more: the steady state a user's script reaches, with its own allocator and
    page faults (in-process runs share a warmed-up heap).
    """
    times: dict[str, list[float]] = {name: [] for name in workload.contenders}
    firsts: dict[str, list[float]] = {name: [] for name in workload.contenders}
    steps = 3 if quick else max(5, workload.repeats // 2)
    for r in range(processes):
        for name in in_turn(list(workload.contenders), r):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", workload.name, name]
            cmd += ["--steps", str(steps)] + (["--quick"] if quick else [])
            if "module" in workload.extra:
                cmd += ["--module", str(workload.extra["module"])]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"fresh run of {workload.name}/{name} failed:\n{done.stderr}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            times[name].append(figures["steady"])
            firsts[name].append(figures["first"])
    result = summarize(workload, times, mode="fresh")
    result.extra["first_seconds"] = {n: statistics.median(t) for n, t in firsts.items()}
    return result


# --- output -----------------------------------------------------------------------------


def plot_ratios(results: list[Result], path: Path) -> bool:
    """A bar chart of each contender's time as a multiple of numpy's (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no bar chart)")
        return False
    names = [f"{r.name}\n({r.mode})" if r.mode != "in-process" else r.name for r in results]
    contenders = sorted({c for r in results for c in r.ratios})
    width = 0.8 / max(len(contenders), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 3.5))
    for k, contender in enumerate(contenders):
        xs = [i + k * width for i in range(len(names))]
        ys = [r.ratios.get(contender, 0.0) for r in results]
        ax.bar(xs, ys, width, label=contender)
    ax.axhline(1.0, color="black", linewidth=0.8, label="reference (numpy)")
    ax.set_xticks([i + width * (len(contenders) - 1) / 2 for i in range(len(names))], names)
    ax.set_ylabel("time / reference time")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def write_json(results: list[Result], path: Path) -> None:
    """The results with versions, commit and date, written atomically."""
    payload = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "versions": versions(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": [r.as_dict() for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only workloads whose name contains one")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory runs")
    parser.add_argument(
        "--fresh", action="store_true", help="also run each contender in fresh processes"
    )
    parser.add_argument(
        "--processes", type=int, default=11, help="fresh processes per contender (default 11)"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a workload misses a target"
    )
    parser.add_argument(
        "--child", nargs=2, metavar=("WORKLOAD", "CONTENDER"), help=argparse.SUPPRESS
    )
    parser.add_argument("--steps", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--module", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child[0], args.child[1], args.steps, args.quick, args.module)

    modules = load_modules()
    workloads = all_workloads(modules, args.quick)
    if args.list:
        for w in workloads:
            print(f"{w.name:16} {w.description}")
        return 0
    chosen = select(workloads, args.names)
    if chosen is None:
        return 2

    results: list[Result] = []
    for workload in chosen:
        print(f"running {workload.name} ...", file=sys.stderr, flush=True)
        results.append(measure(workload, memory=not args.no_memory))
        if args.fresh:
            print(f"running {workload.name} in fresh processes ...", file=sys.stderr, flush=True)
            results.append(measure_fresh(workload, args.quick, args.processes))
    if not results:
        print("no workload ran: nothing written", file=sys.stderr)
        return 2
    print(format_table(results))
    for module in modules:  # a module may add notes on its own workloads
        if hasattr(module, "summarize"):
            note = module.summarize(results)
            if note:
                print(note)
    write_json(results, args.json)
    print(f"\nwrote {args.json}")
    chart = args.json.with_suffix(".png")
    if plot_ratios(results, chart):
        print(f"wrote {chart}")
    misses = [m for r in results for m in r.misses()]
    if args.check and misses:
        print("\nmissed targets:\n  " + "\n  ".join(misses), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
