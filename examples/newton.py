"""Second-order optimisation with ``maligrad.grad(create_graph=True)``.

Newton's method on the Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2: the
gradient is computed with ``create_graph=True`` so that the Hessian comes from
differentiating it again (one Hessian-vector product per coordinate), then each step
solves H d = -g. Converges to the minimum (1, 1) in a handful of steps, where gradient
descent needs thousands.

    python examples/newton.py
"""

from __future__ import annotations

import argparse

import numpy as np

import maligrad as mg


def rosenbrock(p: mg.Variable) -> mg.Variable:
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def gradient_and_hessian(f, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    v = mg.Variable(p, requires_grad=True)
    (g,) = mg.grad(f(v), v, create_graph=True)
    rows = []
    for i in range(len(p)):
        (row,) = mg.grad(g[i], v, retain_graph=True)  # d g_i / d p: one Hessian row
        rows.append(row.data)
    return g.data, np.stack(rows)


def main(argv: list[str] | None = None) -> np.ndarray:
    parser = argparse.ArgumentParser(description="Newton's method on the Rosenbrock function")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    p = np.array([-1.2, 1.0])
    for step in range(args.steps):
        g, h = gradient_and_hessian(rosenbrock, p)
        p = p - np.linalg.solve(h, g)
        value = float(rosenbrock(mg.Variable(p)).data)
        print(f"step {step + 1}: x = {p[0]:.6f}, y = {p[1]:.6f}, f = {value:.3e}")
        if np.linalg.norm(g) < 1e-10:
            break
    # The same Hessian-vector product, without forming H, via the functional API:
    _, hv = mg.functional.hvp(rosenbrock, p, np.array([1.0, 0.0]))
    print("H @ [1, 0] at the minimum:", hv.data)
    return p


if __name__ == "__main__":
    main()
