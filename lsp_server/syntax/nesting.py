"""How many brackets a text keeps open at once: a guard against input tree-sitter
cannot be halted on.

At the end of a run of brackets opened and never closed (``f(f(f(...`` in Go,
``f([f([...`` in Java, ``{a:{a:...`` in Rust), tree-sitter's error recovery works for a
time proportional to the run with no read or progress callback in between: 30-35 ms at
8,000 brackets, 300 ms at 50,000 and 2.4 s at 250,000 (Go), so neither a slice on the
event loop nor the parse thread's hand-over of the GIL can cut it short. So the editor's
documents and the index do not parse a text that keeps more than ``MAX_UNCLOSED``
brackets open at once: it is plain text until they are closed (the CLI review, with no
event loop to keep free, parses it).

``open_run`` is an upper bound, cheap enough for every fresh parse (C-speed
``translate`` and ``count``; 0.3 ms for 512 KB of code): brackets in strings and comments
count too, and it may exceed the truth by up to 512 (it reads the brackets 256 at a time).
Real code keeps a few dozen brackets open at most.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The most brackets a parsed text may keep open at once (an error recovery of 10-20 ms).
MAX_UNCLOSED = 4096
_CHUNK = 256  # brackets per step of the count (the bound is at most twice this above the truth)
_TO_ROUND = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"()[]{}")


def open_run(data: bytes, spans: Iterable[tuple[int, int]] | None = None) -> int:
    """An upper bound of the most brackets open at once in ``data`` (or in ``spans`` of it,
    read one after the other as tree-sitter reads included ranges): the rise of the
    bracket depth above its lowest point so far, so closers before the run do not hide it."""
    parts = [data] if spans is None else [data[lo:hi] for lo, hi in spans]
    brackets = b"".join(part.translate(_TO_ROUND, _NOT_BRACKETS) for part in parts)
    depth = lowest = best = 0  # ``lowest``: at most the lowest depth so far
    for start in range(0, len(brackets), _CHUNK):
        chunk = brackets[start:start + _CHUNK]
        opened = chunk.count(b"(")
        closed = len(chunk) - opened
        lowest = min(lowest, depth - closed)  # inside the chunk the depth falls by ``closed`` at most
        best = max(best, depth + opened - lowest)  # and rises by ``opened`` at most
        depth += opened - closed
    return best


def too_deep(data: bytes, spans: Iterable[tuple[int, int]] | None = None) -> bool:
    """Whether ``data`` (or ``spans`` of it) may keep more than ``MAX_UNCLOSED`` brackets open."""
    return open_run(data, spans) > MAX_UNCLOSED
