"""The error function, ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``.

numpy has no ``erf``, so this vectorises W. J. Cody's rational Chebyshev approximations
("Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
631-638; the coefficients of SPECFUN's CALERF), accurate to float64 rounding:

* ``|x| <= 0.46875``: ``erf(x) = x P(x^2) / Q(x^2)``;
* ``0.46875 < |x| <= 4``: ``erfc(|x|) = exp(-x^2) P(|x|) / Q(|x|)``;
* ``|x| > 4``: ``erfc(|x|) = exp(-x^2) / |x| (1/sqrt(pi) + z P(z) / Q(z))`` with ``z = 1/x^2``.

Derivative: ``d erf(x) / dx = 2/sqrt(pi) exp(-x^2)``.

    >>> import numpy as np
    >>> from maligrad import Variable, erf
    >>> float(erf(Variable(np.array(0.5))).data)
    0.5204998778130465
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.ops.elementwise import real_float

_A = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_B = (
    2.36012909523441209e01,
    2.44024637934444173e02,
    1.28261652607737228e03,
    2.84423683343917062e03,
)
_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_Q = (
    2.56852019228982242e00,
    1.87295284992346047e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
_SQRPI = 5.6418958354775628695e-1  # 1 / sqrt(pi)
_TWO_OVER_SQRT_PI = 1.1283791670955125739


def _exp_neg_square(y: np.ndarray) -> np.ndarray:
    # exp(-y^2) as exp(-ysq^2) exp(-(y-ysq)(y+ysq)) with ysq = y rounded to 1/16:
    # Cody's trick that keeps the relative error of erfc at float64 rounding.
    ysq = np.trunc(y * 16.0) / 16.0
    return np.exp(-ysq * ysq) * np.exp(-(y - ysq) * (y + ysq))


def erf_array(x: np.ndarray) -> np.ndarray:
    """``erf`` of a numpy array, computed in float64 and returned in ``x``'s dtype."""
    x64 = np.asarray(x, dtype=np.float64)
    y = np.abs(x64)
    out = np.empty_like(x64)

    small = y <= 0.46875
    if small.any():
        ys = y[small]
        z = ys * ys
        num = _A[4] * z
        den = z
        for i in range(3):
            num = (num + _A[i]) * z
            den = (den + _B[i]) * z
        out[small] = x64[small] * (num + _A[3]) / (den + _B[3])

    mid = (~small) & (y <= 4.0)
    if mid.any():
        ym = y[mid]
        num = _C[8] * ym
        den = ym
        for i in range(7):
            num = (num + _C[i]) * ym
            den = (den + _D[i]) * ym
        erfc = (num + _C[7]) / (den + _D[7]) * _exp_neg_square(ym)
        out[mid] = np.copysign(1.0 - erfc, x64[mid])

    big = y > 4.0
    if big.any():
        yb = y[big]
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # inf: fixed below
            z = 1.0 / (yb * yb)
            num = _P[5] * z
            den = z
            for i in range(4):
                num = (num + _P[i]) * z
                den = (den + _Q[i]) * z
            r = z * (num + _P[4]) / (den + _Q[4])
            erfc = (_SQRPI - r) / yb * _exp_neg_square(yb)
        out[big] = np.copysign(1.0 - erfc, x64[big])

    out[big & np.isinf(x64)] = np.sign(x64[big & np.isinf(x64)])  # exp(-inf^2) is 0 * nan
    out[np.isnan(x64)] = np.nan
    dtype = x.dtype if isinstance(x, np.ndarray) and x.dtype.kind == "f" else np.float64
    return out.astype(dtype, copy=False)


class Erf(Function):
    """``erf(x)``; ``erf(+-inf) = +-1``. Integer and bool input gives the default float dtype;
    complex input is refused."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = real_float(x, "erf")
        self.save_for_backward(x)
        return erf_array(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy * ((-(x * x)).exp() * _TWO_OVER_SQRT_PI)


def erf(x: Any) -> Any:
    """Elementwise error function, ``erf(x) = 2/sqrt(pi) integral_0^x exp(-t^2) dt``.

    Computed in float64 (W. J. Cody's rational approximations, accurate to rounding) and
    returned in ``x``'s float dtype. Gradient: ``d/dx erf(x) = 2/sqrt(pi) exp(-x^2)``,
    differentiable to any order.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0]), requires_grad=True)
        >>> mg.erf(x).sum().backward()
        >>> np.round(x.grad.data, 6).tolist()
        [1.128379]
    """
    return Erf.apply(x)
