"""``save`` / ``load``: checkpoints as ``.npz`` (or ``.safetensors``) files, without pickle.

A module's ``state_dict()`` (names to arrays) is stored with one ``.npy`` member per name.
Anything nested (an optimizer's ``state_dict()``, or a dict holding both) is stored as
arrays plus a JSON description of the structure (dicts with str or int keys, lists,
tuples, Python scalars, strings, None, numpy scalars), kept in a uint8 array together with
the checkpoint format's version. Files are read with ``allow_pickle=False``; anything
that is not such a file is refused with a
[`CheckpointError`][maligrad.nn.CheckpointError] naming the file.

A path ending in ``.safetensors`` is read and written with the ``safetensors`` package's
numpy API instead (``pip install maligrad-nn[safetensors]``): a flat dict of named arrays,
as PyTorch's ``safetensors.torch.load_file`` expects.

Writes go to a temporary file next to the target (``.<name>.tmp-<pid>-<random>``) that is
renamed into place, so a crash never leaves a half-written checkpoint; a temporary file
left by a killed save is removed by the next save to the same target. New files get the
mode the umask allows (as ``open()`` gives); an overwritten file keeps its mode.

    >>> import os, tempfile
    >>> from maligrad import nn
    >>> model = nn.Linear(2, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> nn.save(model, path)
    >>> state = nn.load(path)
    >>> sorted(state)
    ['bias', 'weight']
    >>> model.load_state_dict(state)
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import time
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from maligrad import Variable

_META = "__maligrad_meta__"
_FORMAT = 1
"""Version of the checkpoint layout; a file with a higher one was written by a newer maligrad."""

STALE_AFTER_S = 600.0
"""A temporary file not written to for this long belongs to a dead save (a live one writes)."""

_SAFETENSORS_DTYPES = frozenset(
    ["float64", "float32", "float16", "int64", "int32", "int16", "int8"]
    + ["uint64", "uint32", "uint16", "uint8", "bool", "complex64"]
)


class CheckpointError(ValueError):
    """A file [`load`][maligrad.nn.load] cannot read: not a checkpoint, damaged, or newer.

    ``path`` is the file and ``reason`` what is wrong with it; ``str()`` gives both.

    >>> str(CheckpointError("m.npz", "empty file"))
    'm.npz: empty file'
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _name(self, path: list[str]) -> str:
        base = "/".join(path) or "value"
        base = base.replace("\\", "_")
        name, i = base, 1
        while name in self.arrays or name == _META:
            name = f"{base}~{i}"
            i += 1
        return name

    def encode(self, obj: Any, path: list[str]) -> Any:
        if isinstance(obj, Variable):
            obj = obj.data
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError(f"cannot save an object array at {'/'.join(path) or 'top level'}")
            name = self._name(path)
            self.arrays[name] = obj
            return {"__array__": name}
        if isinstance(obj, np.generic):
            name = self._name(path)
            self.arrays[name] = np.asarray(obj)
            return {"__scalar__": name}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(
                        f"cannot save a dict key of type {type(k).__name__} ({k!r}); "
                        "keys must be str or int"
                    )
                items.append([k, self.encode(v, [*path, str(k)])])
            return {"__dict__": items}
        if isinstance(obj, (list, tuple)):
            enc = [self.encode(v, [*path, str(i)]) for i, v in enumerate(obj)]
            return enc if isinstance(obj, list) else {"__tuple__": enc}
        raise TypeError(
            f"cannot save an object of type {type(obj).__name__} at "
            f"{'/'.join(path) or 'top level'} (arrays, numbers, strings, None, dicts, lists "
            "and tuples are supported)"
        )


def _decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The object the metadata tree ``obj`` describes; ``ValueError`` names what is wrong."""
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) != 1:
        raise ValueError(f"unknown metadata entry {sorted(obj)}")
    ((kind, value),) = obj.items()
    if kind in ("__array__", "__scalar__"):
        if not isinstance(value, str):
            raise ValueError(f"an array name in the metadata is {value!r}, not a string")
        if value not in arrays:
            raise ValueError(f"the metadata names the array {value!r}, which is not in the file")
        return arrays[value] if kind == "__array__" else arrays[value][()]
    if kind in ("__tuple__", "__dict__") and not isinstance(value, list):
        raise ValueError(f"{kind} in the metadata holds {type(value).__name__}, not a list")
    if kind == "__tuple__":
        return tuple(_decode(v, arrays) for v in value)
    if kind == "__dict__":
        out = {}
        for item in value:
            if not (isinstance(item, list) and len(item) == 2):
                raise ValueError(f"a dict entry in the metadata is {item!r}, not a [key, value]")
            key = item[0]
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise ValueError(f"a dict key in the metadata is {key!r}, not a str or int")
            out[key] = _decode(item[1], arrays)
        return out
    raise ValueError(f"unknown metadata entry {sorted(obj)}")


def _as_path(path: Any, argument: str = "path") -> str:
    if isinstance(path, bytes):
        return os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a str or os.PathLike, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text:
        raise ValueError(f"{argument} is an empty string")
    return text


def _is_safetensors(path: str) -> bool:
    return path.lower().endswith(".safetensors")


def _safetensors_module(action: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            f"{action} a .safetensors file needs the safetensors package: "
            "pip install 'maligrad-nn[safetensors]' (or use a .npz path)"
        ) from None
    return safetensors.numpy


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write a Module's state, a ``state_dict`` or any nested state to ``path``.

    ``path`` ending in ``.safetensors`` writes a safetensors file (a Module or a flat dict
    of named arrays only); anything else is written as an ``.npz`` checkpoint. The file is
    written to a temporary file in the same folder and renamed into place.
    """
    from maligrad.nn.module import Module

    path = _as_path(path)
    if isinstance(obj, Module):
        obj = obj.state_dict()
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path}: it is a directory")
    if _is_safetensors(path):
        module = _safetensors_module("writing")
        tensors = _flat_arrays(obj, path)

        def write(f: IO[bytes], tmp: str) -> None:
            module.save_file(tensors, tmp)

    else:
        enc = _Encoder()
        tree = enc.encode(obj, [])
        meta = json.dumps({"format": _FORMAT, "tree": tree}, allow_nan=True)
        arrays = dict(enc.arrays)
        arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)

        def write(f: IO[bytes], tmp: str) -> None:
            _write_npz(f, arrays)

    _remove_stale_temporaries(path)
    _atomic_write(path, write)


def _flat_arrays(obj: Any, path: str) -> dict[str, np.ndarray]:
    """``obj`` as the flat dict of contiguous arrays a safetensors file holds."""
    if not isinstance(obj, dict):
        raise TypeError(
            f"cannot save {type(obj).__name__} to {path}: a .safetensors file holds a Module's "
            "state or a flat dict of named arrays (use a .npz path for other state)"
        )
    tensors = {}
    for key, value in obj.items():
        if isinstance(value, Variable):
            value = value.data
        if not isinstance(key, str) or not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(
                f"cannot save {key!r}: {type(value).__name__} to {path}: a .safetensors file "
                "holds str names of arrays only (use a .npz path for nested state such as an "
                "optimizer's)"
            )
        array = np.asarray(value, order="C")  # safetensors reads the raw buffer
        if array.dtype.name not in _SAFETENSORS_DTYPES:
            raise TypeError(
                f"cannot save {key!r} to {path}: safetensors has no dtype {array.dtype} "
                f"(it has {', '.join(sorted(_SAFETENSORS_DTYPES))})"
            )
        tensors[key] = array
    return tensors


def _temporary_prefix(path: str) -> str:
    return f".{os.path.basename(path)}.tmp-"


def _atomic_write(path: str, write: Callable[[IO[bytes], str], None]) -> None:
    """Call ``write`` on a fresh temporary file next to ``path``, then rename it to ``path``.

    The temporary file is created with mode 0o666 less the umask, as ``open()`` would;
    when ``path`` exists, its mode is kept.
    """
    folder = os.path.dirname(os.path.abspath(path))
    name = f"{_temporary_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}"
    tmp = os.path.join(folder, name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        except FileNotFoundError:
            pass
        with os.fdopen(fd, "wb") as f:
            write(f, tmp)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists
        return True
    return True


_LEGACY_TEMPORARY = re.compile(r"\.tmp-[A-Za-z0-9_]{8}\.npz")


def _remove_stale_temporaries(path: str) -> None:
    """Remove temporary files of earlier saves to ``path`` that were killed.

    A temporary file is stale when its process is gone or it has not been written to for
    ``STALE_AFTER_S`` seconds; a concurrent save's file is fresh and left alone.
    Temporary files of maligrad 0.1 (``.tmp-XXXXXXXX.npz``) are removed by age only.
    """
    folder = os.path.dirname(os.path.abspath(path))
    prefix = _temporary_prefix(path)
    now = time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            pid_text = name[len(prefix) :].split("-", 1)[0]
            owner = int(pid_text) if pid_text.isdigit() else None
        elif _LEGACY_TEMPORARY.fullmatch(name):
            owner = None
        else:
            continue
        full = os.path.join(folder, name)
        try:
            age = now - os.stat(full).st_mtime
            dead = owner is not None and owner != os.getpid() and not _pid_alive(owner)
            if dead or age > STALE_AFTER_S:
                os.remove(full)
        except OSError:  # removed meanwhile by another save, or not ours to remove
            continue


def _write_npz(f: Any, arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez`` writes (one ``.npy`` member per name), for any member name.

    ``np.savez(f, **arrays)`` would take names such as ``file`` or ``allow_pickle`` as its
    own arguments.
    """
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def load(path: str | os.PathLike[str]) -> Any:
    """Read what [`save`][maligrad.nn.save] wrote (never unpickles); arrays come back as numpy.

    A plain ``.npz`` written by other tools loads as a dict of its arrays; a ``.safetensors``
    file as a dict of its arrays. A file that is neither (a raw ``.npy``, a damaged or
    truncated archive, foreign metadata, a newer checkpoint format) raises
    [`CheckpointError`][maligrad.nn.CheckpointError] naming the file and the problem. A
    missing file raises ``FileNotFoundError``.
    """
    path = _as_path(path)
    with open(path, "rb") as fh:  # FileNotFoundError / IsADirectoryError name the file
        head = fh.read(16)
    if _is_safetensors(path):
        return _load_safetensors(path)
    if not head:
        raise CheckpointError(path, "empty file, not a checkpoint")
    if head.startswith(b"\x93NUMPY"):
        raise CheckpointError(
            path, "a single .npy array, not an .npz checkpoint (read it with numpy.load)"
        )
    if not head.startswith(b"PK"):
        if len(head) > 8 and head[8:9] == b"{":
            raise CheckpointError(
                path, "looks like a safetensors file: give it the .safetensors suffix"
            )
        raise CheckpointError(path, f"not an .npz checkpoint (it starts with {head[:8]!r})")
    arrays = _read_npz(path)
    raw = arrays.pop(_META, None)
    if raw is None:
        return arrays
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError(f"the metadata is a {raw.dtype} array of shape {raw.shape}")
        try:
            meta = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"the metadata is not JSON ({err})") from None
        if not isinstance(meta, dict):
            raise ValueError(f"the metadata is a JSON {type(meta).__name__}, not an object")
        version = meta.get("format")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"unknown checkpoint format {version!r}")
        if version > _FORMAT:
            raise ValueError(
                f"written by a newer maligrad (checkpoint format {version}; this maligrad-nn "
                f"reads format {_FORMAT}): upgrade maligrad-nn"
            )
        if "tree" not in meta:
            raise ValueError("the metadata has no 'tree' entry")
        return _decode(meta["tree"], arrays)
    except RecursionError:
        raise CheckpointError(path, "the metadata is nested too deeply") from None
    except ValueError as err:
        raise CheckpointError(path, str(err)) from None


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """Every member of the ``.npz`` at ``path``, or
    a [`CheckpointError`][maligrad.nn.CheckpointError]."""
    member = None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {}
            for member in data.files:
                value = data[member]
                if not isinstance(value, np.ndarray):
                    raise CheckpointError(path, f"the member {member!r} is not a .npy array")
                arrays[member] = value
            return arrays
    except CheckpointError:
        raise
    except ValueError as err:
        if "pickle" in str(err):
            raise CheckpointError(
                path, f"the member {member!r} holds Python objects, which maligrad never loads"
            ) from None
        raise CheckpointError(path, f"damaged .npz archive ({err})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError) as err:
        where = f" in the member {member!r}" if member is not None else ""
        raise CheckpointError(
            path, f"damaged or truncated .npz archive{where} ({type(err).__name__}: {err})"
        ) from None


def _load_safetensors(path: str) -> dict[str, np.ndarray]:
    module = _safetensors_module("reading")
    try:
        tensors = module.load_file(path)
    except Exception as err:  # safetensors raises its own SafetensorError (and others)
        raise CheckpointError(
            path, f"not a valid safetensors file ({type(err).__name__}: {err})"
        ) from None
    return {name: np.array(value) for name, value in tensors.items()}  # own, writable copies
