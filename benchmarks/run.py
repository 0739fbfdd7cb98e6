"""Run every benchmark workload and report its speed as a ratio to hand-written numpy.

Each ``benchmarks/bench_*.py`` module defines ``workloads(quick: bool) -> list[Workload]``.
Usage::

    hatch run bench:bench                 # everything
    hatch run bench:bench smallops deep   # workloads whose name contains a word given
    hatch run bench:bench --quick         # fewer repeats, smaller sizes: a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Result, format_table, measure  # noqa: E402


def load_modules() -> list:
    modules = []
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only workloads whose name contains one")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory runs")
    args = parser.parse_args(argv)

    results: list[Result] = []
    modules = load_modules()
    for module in modules:
        for workload in module.workloads(args.quick):
            if args.names and not any(n in workload.name for n in args.names):
                continue
            print(f"running {workload.name} ...", file=sys.stderr, flush=True)
            results.append(measure(workload, memory=not args.no_memory))
    print(format_table(results))
    for module in modules:  # a module may add notes on its own workloads
        if hasattr(module, "summarize"):
            note = module.summarize(results)
            if note:
                print(note)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": [r.as_dict() for r in results],
    }
    args.json.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {args.json}")
    chart = args.json.with_suffix(".png")
    if plot_ratios(results, chart):
        print(f"wrote {chart}")
    return 0


def plot_ratios(results: list[Result], path: Path) -> bool:
    """A bar chart of each contender's time as a multiple of numpy's (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no bar chart)")
        return False
    names = [r.name for r in results]
    contenders = sorted({c for r in results for c in r.ratios})
    width = 0.8 / max(len(contenders), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 3.5))
    for k, contender in enumerate(contenders):
        xs = [i + k * width for i in range(len(names))]
        ys = [r.ratios.get(contender, 0.0) for r in results]
        ax.bar(xs, ys, width, label=contender)
    ax.axhline(1.0, color="black", linewidth=0.8, label="numpy (reference)")
    ax.set_xticks([i + width * (len(contenders) - 1) / 2 for i in range(len(names))], names)
    ax.set_ylabel("time / numpy time")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


if __name__ == "__main__":
    raise SystemExit(main())
