"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

With ``x_t`` the input and ``h_{t-1}`` the previous hidden state (PyTorch's equations and
gate order)::

    RNN :  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)          (or relu)
    LSTM:  i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
           c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g);  h_t = sigmoid(o) tanh(c_t)
    GRU :  r, z, n' = split(W_ih x_t + b_ih);  r', z', n'' = split(W_hh h_{t-1} + b_hh)
           r = sigmoid(r + r'); z = sigmoid(z + z'); n = tanh(n' + r n'')
           h_t = (1 - z) n + z h_{t-1}

The input projection of a whole sequence is one matmul; each time step then costs one
``(N, H) @ (H, G H)`` matmul and a few elementwise ops, all maligrad ops, so gradients
(through time) of any order work. All weights start ``U(-1/sqrt(H), 1/sqrt(H))``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> lstm = nn.LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True)
    >>> out, (h, c) = lstm(mg.Variable(np.zeros((3, 5, 4), np.float32)))
    >>> out.shape, h.shape, c.shape
    ((3, 5, 16), (4, 3, 8), (4, 3, 8))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import maligrad as mg
from maligrad import Variable
from maligrad.nn import init
from maligrad.nn.functional._common import check_number, check_size, layer_input
from maligrad.nn.functional.dropout import dropout
from maligrad.nn.functional.linear import linear
from maligrad.nn.module import Module
from maligrad.nn.parameter import Parameter, parameter_dtype

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# --- one time step ----------------------------------------------------------------------


def _rnn_step(xw: Any, h: Any, w_hh: Any, b_hh: Any, relu: bool) -> Any:
    pre = xw + linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(xw: Any, h: Any, c: Any, w_hh: Any, b_hh: Any) -> tuple[Any, Any]:
    gates = xw + linear(h, w_hh, b_hh)
    n = h.shape[-1]
    i = gates[..., :n].sigmoid()
    f = gates[..., n : 2 * n].sigmoid()
    g = gates[..., 2 * n : 3 * n].tanh()
    o = gates[..., 3 * n :].sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


def _gru_step(xw: Any, h: Any, w_hh: Any, b_hh: Any) -> Any:
    hw = linear(h, w_hh, b_hh)
    n = h.shape[-1]
    rz = (xw[..., : 2 * n] + hw[..., : 2 * n]).sigmoid()
    r, z = rz[..., :n], rz[..., n:]
    cand = (xw[..., 2 * n :] + r * hw[..., 2 * n :]).tanh()
    return cand + z * (h - cand)


# --- cells ------------------------------------------------------------------------------


def _state_pair(hx: Any, where: str, name: str) -> tuple[Any, Any]:
    """An LSTM's ``(h, c)`` state, refusing anything that is not a pair."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"{where}: {name} must be a tuple (h, c), got {type(hx).__name__}")
    return hx[0], hx[1]


class _CellBase(Module):
    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        input_size = check_size(name, "input_size", input_size)
        hidden_size = check_size(name, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = parameter_dtype(dtype)
        g = _GATES[self._mode] * hidden_size
        self.weight_ih = Parameter(np.empty((g, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((g, hidden_size), dtype=dtype))
        self.bias_ih = Parameter(np.empty((g,), dtype=dtype)) if bias else None
        self.bias_hh = Parameter(np.empty((g,), dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Every weight and bias ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator=generator)

    def _prepare(self, input: Any, hx: Any) -> tuple[Any, Any, bool]:
        name = type(self).__name__
        x = input if isinstance(input, Variable) else layer_input(input, name)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (N, {self.input_size}) or ({self.input_size},), got "
                f"shape {x.shape}"
            )
        unbatched = x.ndim == 1
        if unbatched:
            x = x.reshape(1, self.input_size)
        shape = (x.shape[0], self.hidden_size)
        if hx is None:
            hx = Variable(np.zeros(shape, dtype=self.weight_ih.dtype))
        else:
            hx = hx if isinstance(hx, Variable) else layer_input(hx, name, "hx")
            if unbatched:
                hx = hx.reshape(1, self.hidden_size)
            if hx.shape != shape:
                raise ValueError(
                    f"{name}: expected a hidden state of shape {shape}, got {hx.shape}"
                )
        return x, hx, unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


class RNNCell(_CellBase):
    """One Elman step ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ``relu``).

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.RNNCell(3, 5)(mg.Variable(np.zeros((2, 3), np.float32))).shape
    (2, 5)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(nonlinearity, str) or nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Variable:
        """One time step: the next hidden state (and cell state) from ``input`` and the previous
        state.
        """
        x, h, unbatched = self._prepare(input, hx)
        xw = linear(x, self.weight_ih, self.bias_ih)
        h = _rnn_step(xw, h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu")
        return h.reshape(self.hidden_size) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step; returns ``(h', c')``. ``hx`` is ``(h, c)`` or None (zeros).

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> h, c = nn.LSTMCell(3, 5)(mg.Variable(np.zeros((2, 3), np.float32)))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    _mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        """One time step: the next hidden state (and cell state) from ``input`` and the previous
        state.
        """
        h0, c0 = (None, None) if hx is None else _state_pair(hx, "LSTMCell", "hx")
        x, h, unbatched = self._prepare(input, h0)
        _, c, _ = self._prepare(input, c0)
        xw = linear(x, self.weight_ih, self.bias_ih)
        h, c = _lstm_step(xw, h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            return h.reshape(self.hidden_size), c.reshape(self.hidden_size)
        return h, c


class GRUCell(_CellBase):
    """One GRU step ``h' = (1 - z) n + z h``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.GRUCell(3, 5)(mg.Variable(np.zeros((2, 3), np.float32))).shape
    (2, 5)
    """

    _mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Variable:
        """One time step: the next hidden state (and cell state) from ``input`` and the previous
        state.
        """
        x, h, unbatched = self._prepare(input, hx)
        xw = linear(x, self.weight_ih, self.bias_ih)
        h = _gru_step(xw, h, self.weight_hh, self.bias_hh)
        return h.reshape(self.hidden_size) if unbatched else h


# --- multi-layer sequence models --------------------------------------------------------


class _RNNBase(Module):
    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        input_size = check_size(name, "input_size", input_size)
        hidden_size = check_size(name, "hidden_size", hidden_size)
        num_layers = check_size(name, "num_layers", num_layers)
        dropout = check_number(name, "dropout", dropout, 0.0, 1.0)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.generator = generator
        dtype = parameter_dtype(dtype)
        g = _GATES[self._mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * dirs
            for suffix in ("", "_reverse")[:dirs]:
                tag = f"l{layer}{suffix}"
                setattr(self, f"weight_ih_{tag}", Parameter(np.empty((g, in_size), dtype)))
                setattr(self, f"weight_hh_{tag}", Parameter(np.empty((g, hidden_size), dtype)))
                if bias:
                    setattr(self, f"bias_ih_{tag}", Parameter(np.empty((g,), dtype)))
                    setattr(self, f"bias_hh_{tag}", Parameter(np.empty((g,), dtype)))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Every weight and bias ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator=generator)

    def _weights(self, layer: int, reverse: bool) -> tuple[Any, Any, Any, Any]:
        tag = f"l{layer}{'_reverse' if reverse else ''}"
        get = getattr
        if self.bias:
            b_ih, b_hh = get(self, f"bias_ih_{tag}"), get(self, f"bias_hh_{tag}")
        else:
            b_ih = b_hh = None
        return get(self, f"weight_ih_{tag}"), get(self, f"weight_hh_{tag}"), b_ih, b_hh

    def _initial(self, hx: Any, batch: int, unbatched: bool, what: str) -> Any:
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            return Variable(np.zeros(shape, dtype=self.weight_ih_l0.dtype))
        if not isinstance(hx, Variable):
            hx = layer_input(hx, type(self).__name__, what)
        if unbatched:
            if hx.ndim != 2:
                raise ValueError(
                    f"{type(self).__name__}: for an unbatched input {what} must be 2-D "
                    f"{(shape[0], shape[2])}, got shape {hx.shape}"
                )
            hx = hx.reshape(shape)
        if hx.shape != shape:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {shape} "
                f"(num_layers * num_directions, N, hidden_size), got {hx.shape}"
            )
        return hx

    def _run(self, xw: Any, state: tuple[Any, ...], w_hh: Any, b_hh: Any, reverse: bool) -> Any:
        steps = range(xw.shape[0] - 1, -1, -1) if reverse else range(xw.shape[0])
        outs: list[Any] = [None] * xw.shape[0]
        h = state[0]
        c = state[1] if len(state) > 1 else None
        mode = self._mode
        for t in steps:
            if mode == "LSTM":
                h, c = _lstm_step(xw[t], h, c, w_hh, b_hh)
            elif mode == "GRU":
                h = _gru_step(xw[t], h, w_hh, b_hh)
            else:
                h = _rnn_step(xw[t], h, w_hh, b_hh, mode == "RNN_RELU")
            outs[t] = h
        return mg.stack(outs, axis=0), h, c

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Any]:
        name = type(self).__name__
        x = input if isinstance(input, Variable) else layer_input(input, name)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ValueError(
                f"{name}: expected input {layout} or (L, H_in) with H_in={self.input_size}, "
                f"got shape {x.shape}"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.swapaxes(0, 1)  # (L, N, H_in) inside
        batch = x.shape[1]
        lstm = self._mode == "LSTM"
        if lstm:
            hx_h, hx_c = (None, None) if hx is None else _state_pair(hx, name, "(h_0, c_0)")
            h0 = self._initial(hx_h, batch, unbatched, "h_0")
            c0 = self._initial(hx_c, batch, unbatched, "c_0")
        else:
            h0 = self._initial(hx, batch, unbatched, "h_0")
        dirs = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d == 1)
                xw = linear(x, w_ih, b_ih)  # (L, N, G H): the whole sequence at once
                k = layer * dirs + d
                init = (h0[k], c0[k]) if lstm else (h0[k],)
                out, h, c = self._run(xw, init, w_hh, b_hh, reverse=d == 1)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else mg.concatenate(outs, axis=-1)
            if self.dropout > 0.0 and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, training=True, generator=self.generator)
        h_out = mg.stack(h_n, axis=0)
        c_out = mg.stack(c_n, axis=0) if lstm else None
        if unbatched:
            x = x.reshape(x.shape[0], x.shape[2])
            h_out = h_out.reshape(-1, self.hidden_size)
            if c_out is not None:
                c_out = c_out.reshape(-1, self.hidden_size)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        return x, ((h_out, c_out) if lstm else h_out)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    """Multi-layer Elman RNN, ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    ``forward(input, h_0=None)`` returns ``(output, h_n)``: ``output`` is ``(L, N, D H)``
    (``(N, L, D H)`` with ``batch_first``; ``D = 2`` if bidirectional), ``h_n`` is
    ``(num_layers * D, N, H)``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> out, h = nn.RNN(3, 4, num_layers=2)(mg.Variable(np.zeros((6, 2, 3), np.float32)))
        >>> out.shape, h.shape
        ((6, 2, 4), (2, 2, 4))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(nonlinearity, str) or nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.__dict__["_mode"] = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            dtype, generator,
        )  # fmt: skip
        self.nonlinearity = nonlinearity


class LSTM(_RNNBase):
    """Multi-layer LSTM. ``forward(input, (h_0, c_0)=None)`` returns
    ``(output, (h_n, c_n))`` with the shapes of [`RNN`][maligrad.nn.RNN].

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> out, (h, c) = nn.LSTM(3, 4)(mg.Variable(np.zeros((6, 2, 3), np.float32)))
        >>> out.shape, h.shape, c.shape
        ((6, 2, 4), (1, 2, 4), (1, 2, 4))
    """

    _mode = "LSTM"


class GRU(_RNNBase):
    """Multi-layer GRU. ``forward(input, h_0=None)`` returns ``(output, h_n)``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> out, h = nn.GRU(3, 4, bidirectional=True)(mg.Variable(np.zeros((6, 2, 3), np.float32)))
    >>> out.shape, h.shape
    ((6, 2, 8), (2, 2, 4))
    """

    _mode = "GRU"
