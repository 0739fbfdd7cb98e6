"""Start a script on N processes, and end the whole job when any of them fails.

``python -m maligrad.nn.parallel.launch [-n N] [--hostfile FILE] script.py [args...]`` runs
``mpiexec -n N [-hostfile FILE] python -m maligrad.nn.parallel.launch script.py args...``; each
process it starts runs ``script.py`` as ``__main__`` with
[`abort_on_exception`][maligrad.nn.parallel.abort_on_exception] in force.
``-n``/``--hostfile`` may appear anywhere; every other argument goes to the script.

The hatch script ``hatch run mpi:train -n 2 ...`` is this launcher with
``examples/train.py``. [`abort_on_exception`][maligrad.nn.parallel.abort_on_exception] makes
a failure on any rank end the whole job. On one machine each rank gets cores of its own
(see [`mpiexec_command`][maligrad.nn.parallel.launch.mpiexec_command]).
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

from maligrad.nn.functional._threads import _available_cores
from maligrad.nn.parallel.abort import abort_on_exception
from maligrad.nn.parallel.comm import launched_by_mpi


def find_mpiexec() -> str | None:
    """``mpiexec`` of this Python's environment (next to ``sys.executable``), else on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("mpiexec")


def mpiexec_command(n: int, hostfile: str | None = None) -> list[str]:
    """``[mpiexec, "-n", "N", ...]``, with each of the N ranks bound to cores of its own.

    MPICH's Hydra ``mpiexec`` leaves processes unbound: the kernel moves them between cores,
    and each rank's thread pool and OpenBLAS size themselves to all the machine's cores, so
    N ranks start N times as many compute threads as there are cores. On one machine (no
    ``hostfile``) and with a Hydra ``mpiexec`` (``hydra_pmi_proxy`` beside it), this adds
    ``-bind-to core:K`` with ``K = cores // N`` (at least 1), as Open MPI binds by default;
    nn's threads and OpenBLAS then use the K cores of their rank. ``HYDRA_BINDING`` in the
    environment, Hydra's own setting, is left to rule instead.

    >>> mpiexec_command(2)[-2:]  # doctest: +SKIP
    ['-bind-to', 'core:1']
    """
    if n <= 0:
        raise ValueError(f"mpiexec_command: n must be positive, got {n}")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise FileNotFoundError(
            "mpiexec not found; pip install 'maligrad-nn[mpi]' (or load your MPI module)"
        )
    command = [mpiexec, "-n", str(n)]
    if hostfile is not None:
        return [*command, "-hostfile", hostfile]  # MPICH and Open MPI both read it
    hydra = (Path(mpiexec).resolve().parent / "hydra_pmi_proxy").is_file()
    if hydra and "HYDRA_BINDING" not in os.environ:
        command += ["-bind-to", f"core:{max(_available_cores() // n, 1)}"]
    return command


def _split(argv: list[str]) -> tuple[int, str | None, list[str]]:
    """(processes, hostfile, the script's argv) from the launcher's arguments."""
    n, hostfile, rest = 2, None, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        key, eq, val = arg.partition("=")
        if key in ("-n", "--np", "--nproc", "--hostfile"):
            if not eq:
                if i + 1 >= len(argv):
                    raise SystemExit(f"launch: {arg} needs a value")
                val = argv[i + 1]
                i += 1
            if key == "--hostfile":
                hostfile = val
            else:
                try:
                    n = int(val)
                except ValueError:
                    raise SystemExit(f"launch: {key} must be an integer, got {val!r}") from None
                if n <= 0:
                    raise SystemExit(f"launch: {key} must be positive, got {n}")
        else:
            rest.append(arg)
        i += 1
    if not rest:
        raise SystemExit("usage: python -m maligrad.nn.parallel.launch [-n N] script.py [args]")
    return n, hostfile, rest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if launched_by_mpi():  # one of the processes mpiexec started: run the script
        script, *args = argv
        abort_on_exception()
        sys.argv = [script, *args]
        sys.path.insert(0, str(Path(script).resolve().parent))
        runpy.run_path(script, run_name="__main__")
        return 0
    n, hostfile, rest = _split(argv)
    try:
        command = mpiexec_command(n, hostfile)
    except FileNotFoundError as error:
        raise SystemExit(f"launch: {error}") from None
    command += [sys.executable, "-m", "maligrad.nn.parallel.launch", *rest]
    return subprocess.call(command)


if __name__ == "__main__":
    raise SystemExit(main())
