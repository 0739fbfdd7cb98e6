"""A character-level LSTM language model trained on the Zen of Python, then sampled.

The text ships with Python (the ``this`` module), so this runs offline.

    python examples/char_lstm.py
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io

import numpy as np

import maligrad as mg
from maligrad import nn
from maligrad.nn import functional as F

with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the poem
    import this
TEXT = codecs.decode(this.s, "rot13")


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, hidden: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):  # type: ignore[no-untyped-def]
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def sample(model: CharLSTM, chars: list[str], start: str, n: int, rng: np.random.Generator) -> str:
    """Generate ``n`` characters after ``start``, drawing from the softmax."""
    lookup = {c: i for i, c in enumerate(chars)}
    out = list(start)
    state = None
    idx = np.array([[lookup[c] for c in start]])
    model.eval()
    with mg.no_grad():
        for _ in range(n):
            logits, state = model(idx, state)
            p = F.softmax(logits[0, -1] / 0.7, dim=-1).data.astype(np.float64)
            nxt = int(rng.choice(len(chars), p=p / p.sum()))
            out.append(chars[nxt])
            idx = np.array([[nxt]])
    return "".join(out)


def main(argv: list[str] | None = None) -> float:
    p = argparse.ArgumentParser(description="character-level LSTM on the Zen of Python")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seq-len", type=int, default=48)
    p.add_argument("--hidden", type=int, default=128)
    args = p.parse_args(argv)

    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    chars = sorted(set(TEXT))
    data = np.array([chars.index(c) for c in TEXT])
    model = CharLSTM(len(chars), args.hidden)
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for step in range(args.steps):
        starts = rng.integers(0, len(data) - args.seq_len - 1, size=16)
        x = np.stack([data[s : s + args.seq_len] for s in starts])
        y = np.stack([data[s + 1 : s + args.seq_len + 1] for s in starts])
        model.train()
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        first = loss.item() if first is None else first
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}: loss {loss.item():.3f}")
    print("sample:", sample(model, chars, "Beautiful ", 120, rng))
    print(f"loss went from {first:.3f} to {loss.item():.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
