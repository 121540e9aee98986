"""The line starts of a text, kept so that an edit costs what it touches, not the file.

A plain list of line starts makes every keystroke near the top of a 400,000-line file
rewrite 400,000 integers (about 100 ms). ``LineIndex`` keeps the starts in blocks of
about ``BLOCK`` lines; a block stores its starts relative to a ``shift``, so an edit
rewrites the blocks it touches and adds its length change to the shift of each later
block: O(lines touched + number of blocks). Reading a start, or finding the line of
an offset, is two binary searches.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

BLOCK = 1024


class LineIndex:
    """Sorted line start offsets (the first is always 0), as a sequence of ints."""

    __slots__ = ("_blocks", "_count", "_firsts", "_rows", "_shifts")

    def __init__(self, starts: Iterable[int]) -> None:
        values = list(starts) or [0]
        self._blocks = [values[i : i + BLOCK] for i in range(0, len(values), BLOCK)]
        self._shifts = [0] * len(self._blocks)
        self._reindex()

    def _reindex(self) -> None:
        """Recompute each block's first row and first start (O(number of blocks))."""
        rows, row = [], 0
        for block in self._blocks:
            rows.append(row)
            row += len(block)
        self._rows = rows
        self._count = row
        self._firsts = [block[0] + shift for block, shift in zip(self._blocks, self._shifts)]

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, row: int) -> int:
        if row < 0:
            row += self._count
        if not 0 <= row < self._count:
            raise IndexError(row)
        index = bisect_right(self._rows, row) - 1
        return self._blocks[index][row - self._rows[index]] + self._shifts[index]

    def row_of(self, offset: int) -> int:
        """The last row whose start is <= ``offset`` (0 for offsets before the text)."""
        index = max(0, bisect_right(self._firsts, offset) - 1)
        block = self._blocks[index]
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
            merged.extend(value + shift for value in self._blocks[index])
        base = self._rows[first]
        head = merged[: lo - base]
        tail = merged[hi - base :]
        if delta:
            tail = [value + delta for value in tail]
        values = head + inserted + tail
        if len(values) < BLOCK // 2 and last + 1 < len(self._blocks):  # too small: take in the next block
            last += 1
            values.extend(value + self._shifts[last] + delta for value in self._blocks[last])
        pieces = max(1, round(len(values) / BLOCK))  # blocks of BLOCK/2 .. 3*BLOCK/2 lines
        size = -(-len(values) // pieces)
        blocks = [values[i : i + size] for i in range(0, len(values), size)]
        self._blocks[first : last + 1] = blocks
        self._shifts[first : last + 1] = [0] * len(blocks)
        if delta:
            for index in range(first + len(blocks), len(self._shifts)):
                self._shifts[index] += delta
        self._reindex()
