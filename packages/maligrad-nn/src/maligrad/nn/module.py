"""``Module``: the base class of every layer and model.

A Module owns parameters ([`Parameter`][maligrad.nn.Parameter]), buffers (Variables saved in the
``state_dict`` but not trained, such as running statistics) and submodules. Assigning them
as attributes registers them, in order::

    >>> import numpy as np, maligrad
    >>> from maligrad import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 8)
    ...         self.fc2 = nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> net = Net()
    >>> [name for name, _ in net.named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    >>> net(maligrad.Variable(np.ones((3, 4), np.float32))).shape
    (3, 2)

Registered objects are also kept in the instance ``__dict__``, so that ``self.weight`` is a
plain attribute lookup in ``forward`` (no ``__getattr__`` on the hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from maligrad import Variable, no_grad
from maligrad.nn.parameter import Parameter


class IncompatibleKeys(NamedTuple):
    """The keys that [`load_state_dict`][maligrad.nn.Module.load_state_dict] did not match.

    Returned by ``load_state_dict(..., strict=False)``.
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


def _check_name(name: Any, kind: str, owner: Module) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f'{kind} name must be non-empty and contain no ".", got {name!r}')
    if hasattr(type(owner), name) and name not in owner.__dict__:
        raise KeyError(f"attribute {name!r} already exists on {type(owner).__name__}")


class Module:
    """Base class for layers and models: subclass it and define ``forward``.

    Attributes:
        training: True in training mode (the default), False after ``eval()``.
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Variable | None]
    _non_persistent: set[str]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module: subclasses override it; call the module, ``module(x)``, to
        run it with hooks.
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- registration ------------------------------------------------------------------
    def _registries(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        try:
            return self._parameters, self._buffers, self._modules
        except AttributeError:
            raise AttributeError(
                f"cannot assign attributes before {type(self).__name__}.__init__ calls "
                "super().__init__()"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} {name!r} before "
                    f"{type(self).__name__}.__init__ calls super().__init__()"
                )
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(a Parameter or None is required)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    "(a Module or None is required)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Variable):
                if not isinstance(value, np.ndarray):
                    raise TypeError(
                        f"cannot assign {type(value).__name__} as buffer {name!r} "
                        "(a Variable, numpy array or None is required)"
                    )
                value = Variable(value)
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails (e.g. before __init__ ran).
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                del d[reg][name]
                d["_non_persistent"].discard(name)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, e.g. ``bias=False``) under ``name``."""
        params = self._registries()[0]
        if name not in params:
            _check_name(name, "parameter", self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot register {type(param).__name__} as parameter {name!r} "
                "(a Parameter or None is required)"
            )
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        params[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Add a buffer: state that is saved but not trained (e.g. running statistics).

        ``tensor`` is a Variable, a numpy array (wrapped in a Variable) or None.
        Non-persistent buffers are left out of ``state_dict()``.
        """
        buffers = self._registries()[1]
        if name not in buffers:
            _check_name(name, "buffer", self)
        if tensor is not None and not isinstance(tensor, Variable):
            if not isinstance(tensor, np.ndarray):
                raise TypeError(
                    f"cannot register {type(tensor).__name__} as buffer {name!r} "
                    "(a Variable, numpy array or None is required)"
                )
            tensor = Variable(tensor)
        if isinstance(tensor, Parameter):
            raise TypeError(f"buffer {name!r} cannot be a Parameter; use register_parameter")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (same as attribute assignment)."""
        modules = self._registries()[2]
        if name not in modules:
            _check_name(name, "module", self)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is ``self``)."""
        mod: Module = self
        if not target:
            return mod
        for part in target.split("."):
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} ({target})")
            mod = child
        return mod

    # -- traversal ---------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for this module and every descendant, depth first, in order.

        A module reachable by several paths is listed once (under its first name).
        """
        return iter(self._named_modules_list(prefix, remove_duplicate, memo))

    def _named_modules_list(
        self, prefix: str = "", remove_duplicate: bool = True, memo: set[int] | None = None
    ) -> list[tuple[str, Module]]:
        out: list[tuple[str, Module]] = []
        seen: set[int] = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
            out.append((name, mod))
            children = [
                (f"{name}.{k}" if name else k, m) for k, m in mod._modules.items() if m is not None
            ]
            stack.extend(reversed(children))
        return out

    def modules(self) -> Iterator[Module]:
        """This module and every descendant (each once)."""
        return iter([m for _, m in self._named_modules_list()])

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for the direct children (each once)."""
        seen: set[int] = set()
        out = []
        for k, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                out.append((k, m))
        return iter(out)

    def children(self) -> Iterator[Module]:
        """The direct child modules (each once)."""
        return iter([m for _, m in self.named_children()])

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> list[tuple[str, Any]]:
        if not recurse:
            mods = [(prefix, self)]
        elif not self._modules:
            mods = [(prefix, self)]
        else:
            mods = self._named_modules_list(prefix, remove_duplicate)
        out: list[tuple[str, Any]] = []
        seen: set[int] = set()
        for mod_name, mod in mods:
            for k, v in getattr(mod, registry).items():
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                out.append((f"{mod_name}.{k}" if mod_name else k, v))
        return out

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` in registration order; shared parameters appear once."""
        return iter(self._named_members("_parameters", prefix, recurse, remove_duplicate))

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters in registration order (each once)."""
        return iter([p for _, p in self._named_members("_parameters", "", recurse, True)])

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Variable]]:
        """``(dotted name, buffer)`` in registration order."""
        return iter(self._named_members("_buffers", prefix, recurse, remove_duplicate))

    def buffers(self, recurse: bool = True) -> Iterator[Variable]:
        """The buffers in registration order (each once)."""
        return iter([b for _, b in self._named_members("_buffers", "", recurse, True)])

    # -- modes and bulk operations -----------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and its descendants (returns ``self``)."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for m in self._named_modules_list():
            m[1].__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``): dropout off, batch norm uses running stats."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None, or to new zero arrays)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = Variable(np.zeros_like(p.data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (e.g. False to freeze a part)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on ``self``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert floating parameters and buffers to ``dtype`` in place (e.g. np.float64).

        The Parameter objects stay the same (optimizers keep working); their gradients are
        dropped. As in PyTorch, each gets a new array (``.data`` is replaced, not written
        into), so the version counter does not move.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to expects a floating dtype, got {dtype}")
        with no_grad():
            for p in self.parameters():
                if p.data.dtype != dtype:
                    p.data = p.data.astype(dtype)
                    p.grad = None
            for b in self.buffers():
                if b.data.dtype.kind == "f" and b.data.dtype != dtype:
                    b.data = b.data.astype(dtype)
        return self

    def double(self) -> Module:
        """``to(np.float64)``."""
        return self.to(np.float64)

    def float(self) -> Module:
        """``to(np.float32)``."""
        return self.to(np.float32)

    # -- state -------------------------------------------------------------------------
    def state_dict(
        self, destination: dict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, in registration order.

        Values are copies of the numpy arrays (a snapshot), or the Variables themselves
        with ``keep_vars=True``. Shared parameters appear under every name that reaches them.
        """
        out: dict[str, Any] = {} if destination is None else destination
        for mod_name, mod in self._named_modules_list(prefix.rstrip("."), False):
            pre = f"{mod_name}." if mod_name else ""
            for k, p in mod._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.data.copy()
            for k, b in mod._buffers.items():
                if b is not None and k not in mod._non_persistent:
                    out[pre + k] = b if keep_vars else b.data.copy()
        return out

    def _state_targets(self) -> dict[str, Variable]:
        targets: dict[str, Variable] = {}
        for mod_name, mod in self._named_modules_list("", False):
            pre = f"{mod_name}." if mod_name else ""
            for k, p in mod._parameters.items():
                if p is not None:
                    targets[pre + k] = p
            for k, b in mod._buffers.items():
                if b is not None and k not in mod._non_persistent:
                    targets[pre + k] = b
        return targets

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy arrays from ``state_dict`` into the parameters and buffers, in place.

        With ``strict=True`` (the default) any missing key, unexpected key or shape mismatch
        raises one ``RuntimeError`` that lists all of them, and nothing is changed. With
        ``strict=False`` missing and unexpected keys are returned instead; shape mismatches
        still raise. Values may be numpy arrays or Variables; they are cast to each target's
        dtype.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"expected a mapping of names to arrays, got {type(state_dict).__name__}"
            )
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        mismatched: list[str] = []
        arrays: dict[str, np.ndarray] = {}
        for k, target in targets.items():
            if k not in state_dict:
                continue
            value = state_dict[k]
            array = value.data if isinstance(value, Variable) else np.asarray(value)
            if array.shape != target.data.shape:
                mismatched.append(
                    f"{k}: copying an array of shape {array.shape}, the module has shape "
                    f"{target.data.shape}"
                )
                continue
            if array.dtype.kind not in "biuf" or (
                array.dtype.kind == "f" and target.data.dtype.kind in "biu"
            ):
                mismatched.append(f"{k}: cannot copy dtype {array.dtype} into {target.data.dtype}")
                continue
            arrays[k] = array
        errors = []
        if strict and missing:
            errors.append("missing keys: " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            errors.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if mismatched:
            errors.append("size mismatch: " + "; ".join(mismatched))
        if errors:
            raise RuntimeError(
                f"error(s) in loading state_dict for {type(self).__name__}:\n  "
                + "\n  ".join(errors)
            )
        with no_grad():  # copy_ bumps each target's version counter
            for k, array in arrays.items():
                target = targets[k]
                target.copy_(array.astype(target.dtype, copy=False))
        return IncompatibleKeys(missing, unexpected)

    # -- repr --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """One line of constructor arguments shown in ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, mod in self._modules.items():
            body = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()))

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
