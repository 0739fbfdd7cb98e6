"""maligrad.nn.parallel: one-process fallbacks here, and 2 ranks under ``mpiexec -n 2``.

The multi-process tests run ``parallel_job.py`` (and small scripts) with the ``mpiexec`` of
this environment and compare what the ranks computed with single-process results. They
skip where mpi4py or mpiexec is missing (``pip install 'maligrad-nn[mpi]'``).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import maligrad as mg
from maligrad import nn
from maligrad.nn import functional as F
from maligrad.nn import parallel
from maligrad.nn.parallel import launch
from maligrad.nn.parallel.launch import find_mpiexec

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src" / "maligrad" / "nn"
spec = importlib.util.spec_from_file_location("parallel_job", HERE / "parallel_job.py")
assert spec is not None and spec.loader is not None
job = importlib.util.module_from_spec(spec)
spec.loader.exec_module(job)

MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not parallel.is_available(),
    reason="needs mpi4py and mpiexec: pip install 'maligrad-nn[mpi]'",
)


def mpiexec(*args: str, n: int = 2, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert MPIEXEC is not None
    env = {k: v for k, v in os.environ.items() if k != "MALIGRAD_MPI"}
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    return subprocess.run(
        [MPIEXEC, "-n", str(n), sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


# -- one process: rank 0 of 1, collectives return their input -----------------------------
def test_one_process_world() -> None:
    assert (parallel.get_rank(), parallel.get_world_size()) == (0, 1)
    a = np.array([1.0, -2.0], np.float32)
    for op in ("sum", "mean", "max", "min", "prod"):
        out = parallel.all_reduce(a, op=op)
        assert out is a and out.tolist() == [1.0, -2.0]
    v = mg.Variable(np.ones(2, np.float32))
    assert parallel.broadcast(v) is v and v.data.tolist() == [1.0, 1.0]
    assert parallel.all_gather_object({"x": 1}) == [{"x": 1}]
    parallel.barrier()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: parallel.all_reduce(np.ones(2), op="avg"), ValueError, "op must be one of"),
        (lambda: parallel.all_reduce([1.0, 2.0]), TypeError, "numpy array or a Variable"),
        (lambda: parallel.broadcast(np.ones(2), src=1), ValueError, "src=1"),
        (lambda: parallel.DistributedDataParallel("model"), TypeError, "wraps an nn.Module"),
        (
            lambda: parallel.DistributedDataParallel(nn.Linear(2, 2), bucket_cap_mb=0),
            ValueError,
            "bucket_cap_mb",
        ),
    ],
)
def test_bad_input(call: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_wrapper_in_one_process_is_the_module() -> None:
    x, y = job.data()
    plain, wrapped = job.mlp(seed=0), job.mlp(seed=0)
    ddp = parallel.DistributedDataParallel(wrapped)
    assert ddp.module is wrapped
    assert list(ddp.state_dict()) == list(plain.state_dict())  # no "module." prefix
    ref = job.train(plain, plain, x, y)
    got = job.train(wrapped, ddp, x, y)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    fresh = job.mlp(seed=5)
    fresh.load_state_dict(ddp.state_dict())  # a checkpoint of the wrapper loads into a plain model
    np.testing.assert_array_equal(fresh.state_dict()["1.weight"], ref["1.weight"])


# -- SyncBatchNorm in one process is BatchNorm ---------------------------------------------
@pytest.mark.parametrize("shape", [(6, 3), (5, 3, 4), (4, 3, 5, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_sync_batchnorm_matches_batchnorm(shape: tuple[int, ...], momentum: Any) -> None:
    bn = (nn.BatchNorm1d if len(shape) < 4 else nn.BatchNorm2d)(3, momentum=momentum)
    sync = nn.SyncBatchNorm(3, momentum=momentum)
    rng = np.random.default_rng(1)
    with mg.no_grad():
        bn.weight.copy_(rng.standard_normal(3))
        sync.weight.copy_(bn.weight)
    for _ in range(2):
        x = rng.standard_normal(shape).astype(np.float32) * 3 + 1
        g = rng.standard_normal(shape).astype(np.float32)
        outs = []
        for layer in (bn, sync):
            layer.zero_grad()
            xv = mg.Variable(x, requires_grad=True)
            y = layer(xv)
            (y * mg.Variable(g)).sum().backward()
            outs.append((y.data, xv.grad.data, layer.weight.grad.data, layer.bias.grad.data))
        for a, b in zip(*outs):
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(sync, name).data, getattr(bn, name).data, rtol=1e-6)
    bn.eval(), sync.eval()
    x = mg.Variable(rng.standard_normal(shape).astype(np.float32))
    np.testing.assert_allclose(sync(x).data, bn(x).data, rtol=1e-6, atol=1e-6)


def test_sync_batchnorm_gradcheck() -> None:
    sync = nn.SyncBatchNorm(2, dtype=np.float64)
    x = mg.Variable(np.random.default_rng(2).standard_normal((4, 2, 3)), requires_grad=True)
    assert mg.gradcheck(lambda x, w, b: sync(x), (x, sync.weight, sync.bias))


def test_convert_sync_batchnorm() -> None:
    model = job.bn_net(seed=0)
    old = model[1]
    old.running_mean.copy_(np.arange(4.0))
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model and isinstance(model[1], nn.SyncBatchNorm)
    assert model[1].weight is old.weight and model[1].bias is old.bias  # optimizers keep working
    assert model[1].running_mean.data.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert list(model.state_dict()) == list(job.bn_net(seed=0).state_dict())
    alone = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(5, eps=1e-3, affine=False))
    assert isinstance(alone, nn.SyncBatchNorm) and alone.eps == 1e-3 and alone.weight is None
    with pytest.raises(ValueError, match=r"SyncBatchNorm\(5\) expects an input of shape"):
        alone(mg.Variable(np.ones((2, 4), np.float32)))


def test_only_public_core_api() -> None:
    """parallel/ and sync_batchnorm.py import only ``maligrad`` itself from the core, and
    touch no ``_private`` attribute of core objects."""
    files = [*sorted((SRC / "parallel").glob("*.py")), SRC / "sync_batchnorm.py"]

    def allowed(module: str) -> bool:
        return (
            not module.startswith("maligrad")
            or module in ("maligrad", "maligrad.nn")
            or (module.startswith("maligrad.nn."))
        )

    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert allowed(node.module or ""), f"{path.name} imports from {node.module}"
            elif isinstance(node, ast.Import):
                assert all(allowed(a.name) for a in node.names), f"{path.name}: {node.names}"
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                assert own or node.attr.startswith("__"), f"{path.name} uses .{node.attr}"


# -- two ranks --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    out = tmp_path_factory.mktemp("ranks")
    proc = mpiexec(str(HERE / "parallel_job.py"), str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]


def _same_on_both(ranks: list[Any], prefix: str) -> dict[str, np.ndarray]:
    keys = [k for k in ranks[0] if k.startswith(prefix)]
    assert keys
    for k in keys:
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k], err_msg=k)
    return {k[len(prefix) :]: ranks[0][k] for k in keys}


@needs_mpi
def test_two_ranks_train_like_one_process(ranks: list[Any]) -> None:
    # Buckets (reverse order, 300 bytes): [3.bias, 3.weight], [1.bias], [1.weight]. The
    # last layer's bucket starts while backward still owes the first layer's 2 gradients.
    assert int(ranks[0]["size"]) == 2 and int(ranks[0]["mlp_buckets"]) == 3
    assert ranks[0]["still_pending"].tolist() == [2, 0, 0] * job.STEPS
    assert ranks[0]["mlp_keys"].tolist() == ["1.bias", "1.weight", "3.bias", "3.weight"]
    x, y = job.data()
    model = job.mlp(seed=0)  # rank 0's initialisation, which the wrapper broadcast
    ref = job.train(model, model, x, y)
    got = _same_on_both(ranks, "mlp/")
    for k, v in ref.items():
        assert got[k].dtype == np.float32
        np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-6, err_msg=k)


@needs_mpi
def test_two_ranks_start_from_rank_0_frozen_parameters_too(ranks: list[Any]) -> None:
    got = _same_on_both(ranks, "frozen")[""]
    np.testing.assert_array_equal(got, job.mlp(seed=0).state_dict()["1.bias"])
    assert not np.array_equal(got, job.mlp(seed=1).state_dict()["1.bias"])


@needs_mpi
def test_two_ranks_sync_batchnorm_is_one_batchnorm(ranks: list[Any]) -> None:
    x, y = job.data()
    model = job.bn_net(seed=0)
    ref = job.train(model, model, x, y)
    got = _same_on_both(ranks, "sync/")
    assert sorted(got) == sorted(ref)
    for k, v in ref.items():  # weights and running statistics
        np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-6, err_msg=k)


@needs_mpi
def test_two_ranks_no_sync_accumulates(ranks: list[Any]) -> None:
    x, y = job.data()
    model = job.mlp(seed=0)
    F.cross_entropy(model(mg.Variable(x)), y).backward()
    got = _same_on_both(ranks, "accumulated/")
    for i, p in enumerate(model.parameters()):
        np.testing.assert_allclose(got[str(i)], p.grad.data, rtol=1e-5, atol=1e-7)


@needs_mpi
def test_two_ranks_unused_parameters_count_as_zero(ranks: list[Any]) -> None:
    x, y = job.data()
    local = []
    for rank in (0, 1):
        heads = job.TwoHeads()
        xs, ys = job.share(x, rank, 2), job.share(y, rank, 2)
        F.cross_entropy(heads(mg.Variable(xs), use_b=rank == 1), ys).backward()
        local.append(dict(heads.named_parameters()))
    got = _same_on_both(ranks, "unused/")
    for name in ("a.weight", "a.bias", "b.weight", "b.bias"):
        grads = [p[name].grad.data if p[name].grad is not None else 0.0 for p in local]
        np.testing.assert_allclose(got[name], (grads[0] + grads[1]) / 2, rtol=1e-5, atol=1e-7)
    assert np.isnan(got["c.weight"]) and np.isnan(got["c.bias"])  # unused everywhere: None


@needs_mpi
def test_two_ranks_collectives(ranks: list[Any]) -> None:
    expected = {
        "sum": [3.0, 10.0],
        "mean": [1.5, 5.0],
        "max": [2.0, 10.0],
        "min": [1.0, 0.0],
        "prod": [2.0, 0.0],
    }
    got = _same_on_both(ranks, "all_reduce/")
    assert {k: v.tolist() for k, v in got.items()} == expected
    assert _same_on_both(ranks, "broadcast")[""].tolist() == [1.0, 1.0, 1.0]
    assert _same_on_both(ranks, "all_gather")[""].tolist() == [["r", "0"], ["r", "1"]]


@needs_mpi
def test_two_ranks_mismatched_models_fail_on_every_rank(ranks: list[Any]) -> None:
    for r in (0, 1):
        message = str(ranks[r]["mismatch"])
        assert "parameter #0 is 'weight' of shape (2, 4)" in message, message
        assert "(3, 4) (float32) on rank 1" in message


@needs_mpi
@pytest.mark.parametrize("launcher", ["mpiexec", "launch"])
def test_exception_on_one_rank_aborts_the_job(tmp_path: Path, launcher: str) -> None:
    script = tmp_path / "fail.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from maligrad.nn import parallel
            parallel.abort_on_exception()
            if parallel.get_rank() == 1:
                raise RuntimeError("rank one fails on purpose")
            parallel.barrier()  # rank 0 would wait here forever without the abort
            time.sleep(600)
            """
        )
    )
    if launcher == "mpiexec":
        proc = mpiexec(str(script), timeout=60)
    else:
        proc = subprocess.run(
            [sys.executable, "-m", "maligrad.nn.parallel.launch", "-n", "2", str(script)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    seen = f"rc {proc.returncode}, stdout {proc.stdout!r}, stderr {proc.stderr!r}"
    assert proc.returncode != 0, seen
    assert "[rank 1 of 2] uncaught exception" in proc.stderr, seen
    assert "RuntimeError: rank one fails on purpose" in proc.stderr, seen


def test_abort_waits_until_the_launcher_has_read_the_traceback() -> None:
    # Under Hydra the rank's stderr is a pipe to its proxy; aborting before the proxy read it
    # loses the traceback (seen in CI: mpiexec's stderr came back empty).
    from maligrad.nn.parallel.abort import _wait_until_read

    r, w = os.pipe()
    got: list[bytes] = []
    with os.fdopen(r, "rb") as reader, os.fdopen(w, "w") as writer:
        writer.write("[rank 1 of 2] uncaught exception\n")
        writer.flush()
        late = threading.Timer(0.3, lambda: got.append(os.read(reader.fileno(), 1024)))
        late.start()
        try:
            _wait_until_read(writer, limit=30.0)
            assert got == [b"[rank 1 of 2] uncaught exception\n"]  # read before the wait ended
        finally:
            late.cancel()
            late.join()
        writer.write("nobody reads this\n")
        writer.flush()
        _wait_until_read(writer, limit=0.05)  # returns at the limit rather than hanging


# -- the launcher binds each rank to cores of its own ---------------------------------------


def _fake_mpiexec(folder: Path, hydra: bool) -> Path:
    folder.mkdir()
    exe = folder / "mpiexec"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    if hydra:
        (folder / "hydra_pmi_proxy").write_text("")
    return exe


@pytest.mark.parametrize(
    ("hydra", "cores", "n", "bind"),
    [
        (True, 2, 2, "core:1"),
        (True, 16, 2, "core:8"),
        (True, 16, 3, "core:5"),
        (True, 2, 4, "core:1"),
        (False, 16, 2, None),
    ],
)
def test_mpiexec_command_binding(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hydra: bool,
    cores: int,
    n: int,
    bind: str | None,
) -> None:
    exe = _fake_mpiexec(tmp_path / "bin", hydra)
    monkeypatch.setattr(launch, "find_mpiexec", lambda: str(exe))
    monkeypatch.setattr(launch, "_available_cores", lambda: cores)
    monkeypatch.delenv("HYDRA_BINDING", raising=False)
    expected = [str(exe), "-n", str(n)] + (["-bind-to", bind] if bind else [])
    assert launch.mpiexec_command(n) == expected
    # a hostfile spans machines whose cores the launcher cannot see; HYDRA_BINDING rules
    assert launch.mpiexec_command(n, "hosts") == [str(exe), "-n", str(n), "-hostfile", "hosts"]
    monkeypatch.setenv("HYDRA_BINDING", "none")
    assert launch.mpiexec_command(n) == [str(exe), "-n", str(n)]


def test_mpiexec_command_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="n must be positive, got 0"):
        launch.mpiexec_command(0)
    monkeypatch.setattr(launch, "find_mpiexec", lambda: None)
    with pytest.raises(FileNotFoundError, match="mpiexec not found"):
        launch.mpiexec_command(2)


def _binds() -> bool:
    return MPIEXEC is not None and "-bind-to" in launch.mpiexec_command(2)


@needs_mpi
@pytest.mark.skipif(
    launch._available_cores() < 2 or not _binds(), reason="needs Hydra and two cores"
)
def test_launcher_gives_each_rank_its_own_cores(tmp_path: Path) -> None:
    script = tmp_path / "cores.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os
            import numpy as np
            from maligrad import nn
            from maligrad.nn import parallel
            mine = sorted(os.sched_getaffinity(0))
            every = parallel.all_reduce(np.eye(os.cpu_count())[mine].sum(axis=0), op="sum")
            if parallel.get_rank() == 0:
                print(json.dumps({"mine": mine, "every": every.tolist(),
                                  "threads": nn.get_num_threads()}))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MALIGRAD_MPI", "HYDRA_BINDING")}
    env.pop("OMP_NUM_THREADS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "maligrad.nn.parallel.launch", "-n", "2", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    cores = launch._available_cores()
    assert len(got["mine"]) == cores // 2
    assert got["threads"] == cores // 2  # nn's pool sizes itself to the rank's cores
    assert max(got["every"]) == 1  # no core is shared by the two ranks
    assert sum(got["every"]) == 2 * (cores // 2)
