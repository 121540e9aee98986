"""The line starts of a text, kept so that an edit costs what it touches, not the file.

A plain list of line starts makes every keystroke near the top of a 400,000-line file
rewrite 400,000 integers (about 100 ms), and building it for a 5 MB file takes a
Python loop over every line (about 150 ms). ``LineIndex`` keeps the starts in blocks;
a block stores its starts relative to a ``shift``, so an edit rewrites the blocks it
touches and adds its length change to the shift of each later block: O(lines touched
+ number of blocks). ``LineIndex.of`` builds the index lazily: each block of about
``LAZY_BYTES`` only counts its lines (``bytes.count``, C speed) until a lookup or an
edit needs its starts. Reading a start, or finding the line of an offset, is two
binary searches.

Lines end where LSP says they do: at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (``line_starts``
and ``count_breaks`` are the one definition of that for bytes).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable

BLOCK = 1024  # lines per block once built (blocks are rebuilt at 1/2..3/2 of this)
LAZY_BYTES = 32 * 1024  # bytes per block of a lazily built index
_BREAK = re.compile(rb"\r\n|\r|\n")


def line_starts(data: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
    """Offsets in ``(lo, hi]`` where a line starts: just after ``\\n``, ``\\r\\n`` or a lone ``\\r``."""
    hi = len(data) if hi is None else hi
    if data.find(b"\r", lo, hi) == -1:
        starts = []
        pos = data.find(b"\n", lo, hi)
        while pos != -1:
            starts.append(pos + 1)
            pos = data.find(b"\n", pos + 1, hi)
        return starts
    # a "\r" at hi - 1 is judged by the byte after it, hence the one byte of look-ahead
    return [m.end() for m in _BREAK.finditer(data, lo, min(hi + 1, len(data))) if m.end() <= hi]


def count_breaks(data: bytes, lo: int, hi: int) -> int:
    """``len(line_starts(data, lo, hi))`` at C speed (no list, no per-line Python step)."""
    count = data.count(b"\n", lo, hi)
    crs = data.count(b"\r", lo, hi)
    if crs:  # a "\r" followed by "\n" is part of that break; any other "\r" is one itself
        crs -= data.count(b"\r\n", lo, min(hi + 1, len(data)))
    return count + crs


class LineIndex:
    """Sorted line start offsets (the first is always 0), as a sequence of ints."""

    __slots__ = ("_blocks", "_count", "_counts", "_firsts", "_lazy", "_rows", "_shifts", "_source")

    def __init__(self, starts: Iterable[int]) -> None:
        values = list(starts) or [0]
        self._source = b""
        self._blocks: list[list[int] | None] = [values[i : i + BLOCK] for i in range(0, len(values), BLOCK)]
        self._lazy: list[tuple[int, int] | None] = [None] * len(self._blocks)
        self._counts = [len(block) for block in self._blocks]
        self._shifts = [0] * len(self._blocks)
        self._firsts: list[int] = []
        self._reindex()

    @classmethod
    def of(cls, data: bytes, base: int = 0) -> LineIndex:
        """The index of ``data``'s lines (offsets from ``base``), blocks left unbuilt."""
        index = cls.__new__(cls)
        index._source = data
        bounds = [0]
        while bounds[-1] + LAZY_BYTES < len(data):
            cut = data.find(b"\n", bounds[-1] + LAZY_BYTES - 1)
            if cut < 0 or cut + 1 >= len(data):
                break
            bounds.append(cut + 1)
        bounds.append(len(data) + 1)  # past the end: the last line's start may be len(data)
        index._lazy = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
        index._blocks = [None] * len(index._lazy)
        index._counts = [1 + count_breaks(data, a, b - 1) for a, b in index._lazy]
        index._shifts = [base] * len(index._lazy)
        index._reindex()
        return index

    def _reindex(self) -> None:
        """Recompute each block's first row and first start (O(number of blocks))."""
        rows, row = [], 0
        for count in self._counts:
            rows.append(row)
            row += count
        self._rows = rows
        self._count = row
        self._firsts = [self._first(i) for i in range(len(self._counts))]

    def _first(self, index: int) -> int:
        block = self._blocks[index]
        start = block[0] if block is not None else self._lazy[index][0]  # type: ignore[index]
        return start + self._shifts[index]

    def _block(self, index: int) -> list[int]:
        """Block ``index``'s starts (relative to its shift), built on first use."""
        block = self._blocks[index]
        if block is None:
            a, b = self._lazy[index]  # type: ignore[misc]
            block = [a, *line_starts(self._source, a, b - 1)]
            self._blocks[index] = block
            self._lazy[index] = None
        return block

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, row: int) -> int:
        if row < 0:
            row += self._count
        if not 0 <= row < self._count:
            raise IndexError(row)
        index = bisect_right(self._rows, row) - 1
        return self._block(index)[row - self._rows[index]] + self._shifts[index]

    def row_of(self, offset: int) -> int:
        """The last row whose start is <= ``offset`` (0 for offsets before the text)."""
        index = max(0, bisect_right(self._firsts, offset) - 1)
        block = self._block(index)
        return self._rows[index] + max(0, bisect_right(block, offset - self._shifts[index]) - 1)

    def splice(self, lo: int, hi: int, inserted: list[int], delta: int) -> None:
        """Replace the starts of rows ``lo..hi-1`` with ``inserted`` and move every later
        start by ``delta`` (``0 < lo <= hi <= len``: row 0 always starts at 0)."""
        first = bisect_right(self._rows, lo - 1) - 1  # the block holding row lo - 1
        last = bisect_right(self._rows, max(lo, hi) - 1) - 1 if hi > lo else first
        if hi < self._count:
            last = max(last, bisect_right(self._rows, hi) - 1)  # and the one holding row hi
        merged: list[int] = []
        for index in range(first, last + 1):
            shift = self._shifts[index]
            merged.extend(value + shift for value in self._block(index))
        base = self._rows[first]
        head = merged[: lo - base]
        tail = merged[hi - base :]
        if delta:
            tail = [value + delta for value in tail]
        values = head + inserted + tail
        if len(values) < BLOCK // 2 and last + 1 < len(self._blocks):  # too small: take in the next block
            last += 1
            values.extend(value + self._shifts[last] + delta for value in self._block(last))
        pieces = max(1, round(len(values) / BLOCK))  # blocks of BLOCK/2 .. 3*BLOCK/2 lines
        size = -(-len(values) // pieces)
        blocks: list[list[int] | None] = [values[i : i + size] for i in range(0, len(values), size)]
        self._blocks[first : last + 1] = blocks
        self._lazy[first : last + 1] = [None] * len(blocks)
        self._counts[first : last + 1] = [len(block) for block in blocks]  # type: ignore[arg-type]
        self._shifts[first : last + 1] = [0] * len(blocks)
        if delta:
            for index in range(first + len(blocks), len(self._shifts)):
                self._shifts[index] += delta
        self._reindex()
