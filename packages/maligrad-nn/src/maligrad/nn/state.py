"""``save`` / ``load``: checkpoints as ``.npz`` files, without pickle.

A module's ``state_dict()`` (names to arrays) is stored with one ``.npy`` member per name.
Anything nested (an optimizer's ``state_dict()``, or a dict holding both) is stored as
arrays plus a JSON description of the structure (dicts with str or int keys, lists,
tuples, Python scalars, strings, None, numpy scalars), kept in a uint8 array. Files are
read with ``allow_pickle=False`` and written to a temporary file in the same folder that is
then renamed, so a crash never leaves a half-written checkpoint.

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
import tempfile
import zipfile
from typing import Any

import numpy as np

from maligrad import Variable

_META = "__maligrad_meta__"
_FORMAT = 1


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


def _decode(obj: Any, arrays: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__scalar__" in obj:
            return arrays[obj["__scalar__"]][()]
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: _decode(v, arrays) for k, v in obj["__dict__"]}
        raise ValueError(f"corrupt checkpoint metadata: unknown entry {sorted(obj)}")
    return obj


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write a Module's state, a ``state_dict`` or any nested state to ``path`` (``.npz``).

    The file is written to a temporary file in the same folder and renamed into place.
    """
    from maligrad.nn.module import Module

    if isinstance(obj, Module):
        obj = obj.state_dict()
    enc = _Encoder()
    tree = enc.encode(obj, [])
    meta = json.dumps({"format": _FORMAT, "tree": tree}, allow_nan=True)
    arrays = dict(enc.arrays)
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
    """Read what :func:`save` wrote (never unpickles). Arrays come back as numpy arrays.

    A plain ``.npz`` written by other tools loads as a dict of its arrays.
    """
    with np.load(os.fspath(path), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    raw = arrays.pop(_META, None)
    if raw is None:
        return arrays
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: corrupt checkpoint metadata ({err})") from None
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{path}: unsupported checkpoint format {meta.get('format')!r}")
    return _decode(meta["tree"], arrays)
