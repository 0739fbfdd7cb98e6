"""Bad input to the nn layers: constructors and calls (issue 12).

Each case is a call that must raise a given exception whose message names the layer and the
argument; a second table holds inputs accepted by design, with the value they give.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from maligrad import Variable, nn
from maligrad.nn import functional as F

NAN = float("nan")


def v(*shape: int) -> Variable:
    return Variable(np.ones(shape, np.float32))


# (id, call, exception, message pattern)
CONSTRUCTOR_CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("linear-float", lambda: nn.Linear(3.5, 2), TypeError, "Linear: in_features must be an int"),
    ("linear-str", lambda: nn.Linear("3", 2), TypeError, "Linear: in_features .* got str"),
    ("linear-bool", lambda: nn.Linear(True, 2), TypeError, "Linear: in_features .* got bool"),
    ("linear-neg", lambda: nn.Linear(3, -1), ValueError, "Linear: out_features must be at least 0"),
    ("linear-none", lambda: nn.Linear(None, 2), TypeError, "in_features .* got NoneType"),
    ("bilinear-float", lambda: nn.Bilinear(3, 2.0, 1), TypeError, "Bilinear: in2_features"),
    ("flatten-float", lambda: nn.Flatten(1.5), TypeError, "Flatten: start_dim"),
    ("flatten-str", lambda: nn.Flatten(1, "x"), TypeError, "Flatten: end_dim"),
    ("bn1d-zero", lambda: nn.BatchNorm1d(0), ValueError, "BatchNorm1d: num_features .* positive"),
    ("bn1d-neg", lambda: nn.BatchNorm1d(-2), ValueError, "BatchNorm1d: num_features"),
    ("bn1d-float", lambda: nn.BatchNorm1d(3.0), TypeError, "BatchNorm1d: num_features"),
    ("bn1d-eps-neg", lambda: nn.BatchNorm1d(3, eps=-1), ValueError, "BatchNorm1d: eps"),
    ("bn1d-eps-nan", lambda: nn.BatchNorm1d(3, eps=NAN), ValueError, "BatchNorm1d: eps .*finite"),
    ("bn1d-eps-str", lambda: nn.BatchNorm1d(3, eps="1e-5"), TypeError, "BatchNorm1d: eps"),
    ("bn1d-mom-big", lambda: nn.BatchNorm1d(3, momentum=1.5), ValueError, "momentum .* 0 and 1"),
    ("bn1d-mom-neg", lambda: nn.BatchNorm1d(3, momentum=-0.1), ValueError, "momentum"),
    ("bn1d-mom-nan", lambda: nn.BatchNorm1d(3, momentum=NAN), ValueError, "momentum"),
    ("bn2d-zero", lambda: nn.BatchNorm2d(0), ValueError, "BatchNorm2d: num_features"),
    ("bn2d-mom-str", lambda: nn.BatchNorm2d(3, momentum="0.1"), TypeError, "BatchNorm2d: mom"),
    ("sbn-zero", lambda: nn.SyncBatchNorm(0), ValueError, "SyncBatchNorm: num_features"),
    ("sbn-eps", lambda: nn.SyncBatchNorm(3, eps=-1e-5), ValueError, "SyncBatchNorm: eps"),
    ("sbn-mom", lambda: nn.SyncBatchNorm(3, momentum=2), ValueError, "SyncBatchNorm: momentum"),
    ("gn-zero-groups", lambda: nn.GroupNorm(0, 4), ValueError, "GroupNorm: num_groups"),
    ("gn-zero-channels", lambda: nn.GroupNorm(2, 0), ValueError, "GroupNorm: num_channels"),
    ("gn-indivisible", lambda: nn.GroupNorm(3, 4), ValueError, "GroupNorm: num_channels .*divis"),
    ("gn-float", lambda: nn.GroupNorm(2.0, 4), TypeError, "GroupNorm: num_groups"),
    ("gn-eps", lambda: nn.GroupNorm(2, 4, eps=math.inf), ValueError, "GroupNorm: eps"),
    ("ln-zero", lambda: nn.LayerNorm(0), ValueError, "LayerNorm: normalized_shape"),
    ("ln-zero-in-seq", lambda: nn.LayerNorm((3, 0)), ValueError, "LayerNorm: normalized_shape"),
    ("ln-str", lambda: nn.LayerNorm("3"), TypeError, "LayerNorm: normalized_shape"),
    ("ln-float", lambda: nn.LayerNorm(3.0), TypeError, "LayerNorm: normalized_shape"),
    ("ln-eps", lambda: nn.LayerNorm(3, eps=-1), ValueError, "LayerNorm: eps"),
    ("emb-zero", lambda: nn.Embedding(0, 3), ValueError, "Embedding: num_embeddings"),
    ("emb-dim-zero", lambda: nn.Embedding(5, 0), ValueError, "Embedding: embedding_dim"),
    ("emb-float", lambda: nn.Embedding(5.0, 3), TypeError, "Embedding: num_embeddings"),
    ("emb-pad-high", lambda: nn.Embedding(5, 3, padding_idx=5), ValueError, "padding_idx 5"),
    ("emb-pad-low", lambda: nn.Embedding(5, 3, padding_idx=-6), ValueError, "padding_idx -6"),
    ("emb-pad-float", lambda: nn.Embedding(5, 3, padding_idx=1.5), TypeError, "padding_idx"),
    ("emb-max-norm", lambda: nn.Embedding(5, 3, max_norm=-1.0), ValueError, "max_norm"),
    ("mha-indivisible", lambda: nn.MultiheadAttention(5, 2), ValueError, "embed_dim=5 .*num_h"),
    ("mha-zero-heads", lambda: nn.MultiheadAttention(4, 0), ValueError, "num_heads"),
    ("mha-float", lambda: nn.MultiheadAttention(4.0, 2), TypeError, "embed_dim"),
    ("mha-dropout", lambda: nn.MultiheadAttention(4, 2, dropout=1.5), ValueError, "dropout"),
    ("mha-dropout-str", lambda: nn.MultiheadAttention(4, 2, dropout="0"), TypeError, "dropout"),
    ("mha-kdim", lambda: nn.MultiheadAttention(4, 2, kdim=0), ValueError, "kdim"),
    ("tel-ff", lambda: nn.TransformerEncoderLayer(4, 2, 0), ValueError, "dim_feedforward"),
    ("tel-nhead", lambda: nn.TransformerEncoderLayer(4, 1.0), TypeError, "Layer: nhead"),
    ("tel-act", lambda: nn.TransformerEncoderLayer(4, 2, activation="tanh"), ValueError, "act"),
    ("rnn-hidden-zero", lambda: nn.RNN(3, 0), ValueError, "RNN: hidden_size .* positive"),
    ("rnn-input-float", lambda: nn.RNN(3.5, 4), TypeError, "RNN: input_size"),
    ("rnn-nonlin", lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
    ("rnn-nonlin-none", lambda: nn.RNN(3, 4, nonlinearity=None), ValueError, "nonlinearity"),
    ("lstm-layers-zero", lambda: nn.LSTM(3, 4, num_layers=0), ValueError, "LSTM: num_layers"),
    ("lstm-layers-bool", lambda: nn.LSTM(3, 4, num_layers=True), TypeError, "num_layers"),
    ("gru-dropout", lambda: nn.GRU(3, 4, dropout=1.5), ValueError, "GRU: dropout"),
    ("gru-dropout-neg", lambda: nn.GRU(3, 4, dropout=-0.1), ValueError, "GRU: dropout"),
    ("gru-dropout-str", lambda: nn.GRU(3, 4, dropout="a"), TypeError, "GRU: dropout"),
    ("rnncell-zero", lambda: nn.RNNCell(0, 4), ValueError, "RNNCell: input_size"),
    ("lstmcell-str", lambda: nn.LSTMCell(3, "4"), TypeError, "LSTMCell: hidden_size"),
    ("grucell-neg", lambda: nn.GRUCell(3, -4), ValueError, "GRUCell: hidden_size"),
    ("rnncell-nonlin", lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), ValueError, "nonlin"),
    ("dropout-str", lambda: nn.Dropout("0.5"), TypeError, "Dropout: p"),
    ("dropout-high", lambda: nn.Dropout(1.5), ValueError, "Dropout: p"),
    ("leaky-str", lambda: nn.LeakyReLU("a"), TypeError, "LeakyReLU: negative_slope"),
    ("leaky-none", lambda: nn.LeakyReLU(None), TypeError, "LeakyReLU: negative_slope"),
    ("elu-nan", lambda: nn.ELU(NAN), ValueError, "ELU: alpha"),
    ("relu-inplace", lambda: nn.ReLU(inplace="yes"), TypeError, "ReLU: inplace"),
    ("gelu-approx", lambda: nn.GELU("fast"), ValueError, "GELU: approximate"),
    ("softmax-dim", lambda: nn.Softmax(1.5), TypeError, "Softmax: dim"),
    ("logsoftmax-dim", lambda: nn.LogSoftmax("1"), TypeError, "LogSoftmax: dim"),
]

LAYERS: list[tuple[str, Callable[[], Any], Any]] = [
    # (layer name, factory, a valid input)
    ("Linear", lambda: nn.Linear(3, 2), v(2, 3)),
    ("Flatten", lambda: nn.Flatten(), v(2, 3, 4)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3), v(2, 3)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(3), v(2, 3, 4, 4)),
    ("SyncBatchNorm", lambda: nn.SyncBatchNorm(3), v(2, 3, 4)),
    ("LayerNorm", lambda: nn.LayerNorm(3), v(2, 3)),
    ("GroupNorm", lambda: nn.GroupNorm(1, 3), v(2, 3, 4)),
    ("Dropout", lambda: nn.Dropout(0.5).eval(), v(2, 3)),
    ("ReLU", lambda: nn.ReLU(), v(2, 3)),
    ("LeakyReLU", lambda: nn.LeakyReLU(), v(2, 3)),
    ("ELU", lambda: nn.ELU(), v(2, 3)),
    ("GELU", lambda: nn.GELU(), v(2, 3)),
    ("SiLU", lambda: nn.SiLU(), v(2, 3)),
    ("Tanh", lambda: nn.Tanh(), v(2, 3)),
    ("Sigmoid", lambda: nn.Sigmoid(), v(2, 3)),
    ("Softmax", lambda: nn.Softmax(1), v(2, 3)),
    ("LogSoftmax", lambda: nn.LogSoftmax(1), v(2, 3)),
    ("RNN", lambda: nn.RNN(3, 4), v(5, 2, 3)),
    ("LSTM", lambda: nn.LSTM(3, 4), v(5, 2, 3)),
    ("GRU", lambda: nn.GRU(3, 4), v(5, 2, 3)),
    ("RNNCell", lambda: nn.RNNCell(3, 4), v(2, 3)),
    ("LSTMCell", lambda: nn.LSTMCell(3, 4), v(2, 3)),
    ("GRUCell", lambda: nn.GRUCell(3, 4), v(2, 3)),
    ("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(4, 2, 8), v(5, 2, 4)),
]

CALL_CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = []
for _name, _make, _ in LAYERS:
    for _bad, _type in ((None, "NoneType"), ([[1.0, 2.0, 3.0]], "list"), ("x", "str")):
        CALL_CASES.append(
            (
                f"{_name}-{_type}",
                lambda make=_make, bad=_bad: make()(bad),
                TypeError,
                f"{_name}: (input|src) expected a Variable or array, got {_type}",
            )
        )

CALL_CASES += [
    ("bilinear-none", lambda: nn.Bilinear(3, 3, 2)(v(2, 3), None), TypeError, "input2 .* NoneT"),
    ("emb-none", lambda: nn.Embedding(5, 3)(None), TypeError, "Embedding: input .* NoneType"),
    ("emb-list", lambda: nn.Embedding(5, 3)([1, 2]), TypeError, "Embedding: input .* list"),
    ("emb-neg", lambda: nn.Embedding(5, 3)(np.array([-1])), IndexError, r"index -1 .*\[0, 5\)"),
    ("emb-high", lambda: nn.Embedding(5, 3)(np.array([0, 7])), IndexError, r"index 7 .*\[0, 5\)"),
    ("emb-float", lambda: nn.Embedding(5, 3)(np.array([1.0])), TypeError, "integers, got .*float"),
    ("emb-bool", lambda: nn.Embedding(5, 3)(np.array([True])), TypeError, "integers, got .*bool"),
    ("mha-none", lambda: nn.MultiheadAttention(4, 2)(v(3, 4), None, v(3, 4)), TypeError, "key"),
    ("mha-value-str", lambda: nn.MultiheadAttention(4, 2)(v(3, 4), v(3, 4), "v"), TypeError, "va"),
    (
        "mha-width",
        lambda: nn.MultiheadAttention(4, 2)(v(3, 5), v(3, 5), v(3, 5)),
        ValueError,
        "E=4",
    ),
    ("lstm-hx-none-pair", lambda: nn.LSTM(3, 4)(v(5, 2, 3), v(1, 2, 4)), TypeError, "(h_0, c_0)"),
    ("lstm-h0-str", lambda: nn.LSTM(3, 4)(v(5, 2, 3), ("h", "c")), TypeError, "LSTM: h_0"),
    ("gru-h0-list", lambda: nn.GRU(3, 4)(v(5, 2, 3), [[0.0]]), TypeError, "GRU: h_0 .* list"),
    ("lstmcell-hx", lambda: nn.LSTMCell(3, 4)(v(2, 3), v(2, 4)), TypeError, "LSTMCell: hx"),
    ("rnncell-hx-none", lambda: nn.RNNCell(3, 4)(v(2, 3), "h"), TypeError, "RNNCell: hx"),
    # the functional forms of the layers above
    ("F.embedding-none", lambda: F.embedding(None, v(5, 3)), TypeError, "embedding: input .*None"),
    ("F.embedding-neg", lambda: F.embedding(np.array([-5]), v(5, 3)), IndexError, "index -5"),
    ("F.layer_norm-none", lambda: F.layer_norm(None, (3,)), TypeError, "layer_norm: input .*None"),
    ("F.group_norm-list", lambda: F.group_norm([[1.0]], 1), TypeError, "group_norm: input .*list"),
    ("F.batch_norm-str", lambda: F.batch_norm("x", None, None), TypeError, "batch_norm: input .*s"),
    # shape errors name the layer, the expected and the received shape
    ("linear-shape", lambda: nn.Linear(3, 2)(v(2, 4)), ValueError, r"\(2, 4\).*must be 3"),
    ("bn1d-channels", lambda: nn.BatchNorm1d(4)(v(2, 3)), ValueError, r"BatchNorm1d\(4\).*3 chan"),
    ("bn1d-ndim", lambda: nn.BatchNorm1d(3)(v(2, 3, 4, 5)), ValueError, "BatchNorm1d expects"),
    ("bn2d-ndim", lambda: nn.BatchNorm2d(3)(v(2, 3)), ValueError, r"BatchNorm2d .*\(2, 3\)"),
    ("sbn-channels", lambda: nn.SyncBatchNorm(4)(v(2, 3)), ValueError, r"SyncBatchNorm\(4\)"),
    ("gn-channels", lambda: nn.GroupNorm(1, 4)(v(2, 3)), ValueError, r"GroupNorm .*\(N, 4, \*\)"),
    (
        "ln-shape",
        lambda: nn.LayerNorm(4)(v(2, 3)),
        ValueError,
        r"normalized_shape \(4,\).*\(2, 3\)",
    ),
    ("lstm-input", lambda: nn.LSTM(3, 4)(v(5, 2, 4)), ValueError, r"LSTM: .*H_in=3.*\(5, 2, 4\)"),
    (
        "gru-h0-shape",
        lambda: nn.GRU(3, 4)(v(5, 2, 3), v(1, 3, 4)),
        ValueError,
        r"GRU: .*\(1, 2, 4\)",
    ),
    ("grucell-input", lambda: nn.GRUCell(3, 4)(v(2, 5)), ValueError, r"GRUCell: .*\(2, 5\)"),
]

# functional activations and losses: a non-array input or target names the op and argument
FUNCTIONAL_OPERANDS: list[tuple[str, Callable[[Any], Any]]] = [
    ("relu", F.relu),
    ("sigmoid", F.sigmoid),
    ("tanh", F.tanh),
    ("leaky_relu", F.leaky_relu),
    ("elu", F.elu),
    ("gelu", F.gelu),
    ("silu", F.silu),
    ("softmax", lambda x: F.softmax(x, dim=-1)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=-1)),
    ("mse_loss", lambda x: F.mse_loss(x, v(2, 3))),
    ("l1_loss", lambda x: F.l1_loss(x, v(2, 3))),
    ("cross_entropy", lambda x: F.cross_entropy(x, np.array([0, 1]))),
    ("nll_loss", lambda x: F.nll_loss(x, np.array([0, 1]))),
]
for _name, _call in FUNCTIONAL_OPERANDS:
    for _bad, _type in ((None, "NoneType"), ("x", "str")):
        CALL_CASES.append(
            (
                f"F.{_name}-{_type}",
                lambda call=_call, bad=_bad: call(bad),
                TypeError,
                f"{_name}: input expected a Variable or array, got {_type}",
            )
        )
CALL_CASES += [
    ("F.mse_loss-target-none", lambda: F.mse_loss(v(2, 3), None), TypeError, "mse_loss: target"),
    ("F.l1_loss-target-str", lambda: F.l1_loss(v(2, 3), "t"), TypeError, "l1_loss: target"),
    (
        "F.cross_entropy-target-none",
        lambda: F.cross_entropy(v(2, 3), None),
        TypeError,
        "cross_entropy: target",
    ),
    ("F.nll_loss-target-str", lambda: F.nll_loss(v(2, 3), "t"), TypeError, "nll_loss: target"),
]


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [c[1:] for c in CONSTRUCTOR_CASES],
    ids=[c[0] for c in CONSTRUCTOR_CASES],
)
def test_constructor_refuses_bad_arguments(
    call: Callable[[], Any], exc: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize(
    ("call", "exc", "pattern"), [c[1:] for c in CALL_CASES], ids=[c[0] for c in CALL_CASES]
)
def test_call_refuses_bad_input(
    call: Callable[[], Any], exc: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc, match=pattern):
        call()


def test_case_counts() -> None:
    assert len(CONSTRUCTOR_CASES) + len(CALL_CASES) >= 60


@pytest.mark.parametrize(("name", "make", "x"), LAYERS, ids=[c[0] for c in LAYERS])
def test_every_layer_accepts_a_numpy_array_like_a_variable(name: str, make: Any, x: Any) -> None:
    layer = make()
    layer.eval()
    want = layer(x)
    got = layer(x.data.copy())
    if isinstance(want, tuple):  # recurrent layers: (output, state)
        want, got = want[0], got[0]
    np.testing.assert_allclose(got.data, want.data, rtol=1e-6, err_msg=name)


def _emb_rows() -> tuple[Any, Any]:
    emb = nn.Embedding(5, 3)
    return emb(np.array([4, 0])).data, emb.weight.data[[4, 0]]


def _emb_last_padding() -> tuple[Any, Any]:
    emb = nn.Embedding(5, 3, padding_idx=-1)
    return emb.padding_idx, 4


def _bn_cumulative() -> tuple[Any, Any]:
    bn = nn.BatchNorm1d(2, momentum=None)
    bn(Variable(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)))
    bn(Variable(np.array([[5.0, 0.0], [7.0, 0.0]], np.float32)))
    return bn.running_mean.data, np.array([4.0, 2.0], np.float32)  # mean of the two means


ACCEPTED: list[tuple[str, Callable[[], tuple[Any, Any]]]] = [
    # numpy integer sizes are integers (PyTorch accepts them too)
    ("linear-np-int", lambda: (nn.Linear(np.int64(3), np.int32(2))(v(4, 3)).shape, (4, 2))),
    ("bn-np-int", lambda: (nn.BatchNorm1d(np.int64(3)).num_features, 3)),
    ("ln-tuple-np", lambda: (nn.LayerNorm(np.array([2, 3])).normalized_shape, (2, 3))),
    ("gru-np-int", lambda: (nn.GRU(np.int16(3), 4)(v(5, 2, 3))[0].shape, (5, 2, 4))),
    ("mha-np-int", lambda: (nn.MultiheadAttention(np.int64(4), 2).head_dim, 2)),
    # zero-sized Linear, as in PyTorch (an empty map)
    ("linear-zero-in", lambda: (nn.Linear(0, 2)(v(4, 0)).shape, (4, 2))),
    # momentum=None: the cumulative average, as in PyTorch
    ("bn-momentum-none", _bn_cumulative),
    # eps=0 is allowed (PyTorch too); momentum at the bounds
    ("bn-eps-zero", lambda: (nn.BatchNorm1d(3, eps=0).eps, 0.0)),
    ("bn-momentum-one", lambda: (nn.BatchNorm1d(3, momentum=1).momentum, 1.0)),
    # indices at the ends of the table, and a negative padding_idx counting from the end
    ("emb-bounds", _emb_rows),
    ("emb-neg-padding", _emb_last_padding),
    # a numpy scalar index
    ("emb-np-scalar", lambda: (nn.Embedding(5, 3)(np.int64(2)).shape, (3,))),
    # Identity returns whatever it is given, as PyTorch's
    ("identity-none", lambda: (nn.Identity()(None), None)),
    # an unbatched sample runs as a batch of one
    ("lstm-unbatched", lambda: (nn.LSTM(3, 4)(np.ones((5, 3), np.float32))[0].shape, (5, 4))),
    ("flatten-np", lambda: (nn.Flatten()(np.ones((2, 3, 4), np.float32)).shape, (2, 12))),
]


@pytest.mark.parametrize("case", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_accepted_by_design(case: Callable[[], tuple[Any, Any]]) -> None:
    got, want = case()
    if isinstance(got, np.ndarray):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    else:
        assert got == want
