"""Graph export: ``to_dot(v)`` returns Graphviz DOT text of the graph behind ``v``.

Ops are boxes named after their Function; Variables are ellipses with their shape and
dtype (leaves that require grad are filled). Render with ``dot -Tsvg`` if Graphviz is
installed; nothing in maligrad needs it.

    >>> import numpy as np
    >>> from maligrad import Variable, to_dot
    >>> x = Variable(np.ones(2), requires_grad=True)
    >>> print(to_dot((x * 2).sum()).splitlines()[0])
    digraph maligrad {
"""

from __future__ import annotations

from maligrad.function import Function
from maligrad.variable import Variable


def _label(v: Variable) -> str:
    name = f"{v.name}\\n" if v.name else ""
    return f"{name}{tuple(v.data.shape)} {v.data.dtype}"


def to_dot(v: Variable, rankdir: str = "BT") -> str:
    """Graphviz DOT text of the graph that produced ``v``, from the leaves up to ``v``.

    Ops are boxes named after their Function, Variables ellipses labelled with shape and
    dtype; ``rankdir`` is Graphviz's layout direction (``"BT"``: leaves at the bottom).
    Render the text with ``dot -Tsvg``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.ones(2), requires_grad=True)
        >>> "Mul" in mg.to_dot(x * 2)
        True
    """
    lines = [
        "digraph maligrad {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=10];',
        f'  out [label="{_label(v)}", shape=ellipse, style=filled, fillcolor="#cde7f7"];',
    ]
    if v.grad_fn is None:
        lines.append("}")
        return "\n".join(lines)
    ids: dict[int, str] = {}
    stack: list[Function] = [v.grad_fn]
    ids[id(v.grad_fn)] = "f0"
    lines.append("  f0 -> out;")
    while stack:
        fn = stack.pop()
        fid = ids[id(fn)]
        lines.append(f'  {fid} [label="{fn.name}", shape=box, style=rounded];')
        for k, p in enumerate(fn.parents or ()):
            if p is None:
                continue
            if id(p) not in ids:
                ids[id(p)] = f"{'f' if isinstance(p, Function) else 'v'}{len(ids)}"
                if isinstance(p, Function):
                    stack.append(p)
                else:
                    lines.append(
                        f'  {ids[id(p)]} [label="{_label(p)}", shape=ellipse, style=filled, '
                        'fillcolor="#f7e1cd"];'
                    )
            lines.append(f'  {ids[id(p)]} -> {fid} [label="{k}"];')
    lines.append("}")
    return "\n".join(lines)
