"""The edits an open document went through since each version, and following a range through them.

The document store records, per ``didChange`` version, the edits it applied (as
``core.text.ByteEdit``: points in rows and byte columns, each in the coordinates left
by the one before). Whatever was computed against an older version (a finding's span,
the lines a fix rewrites) is moved onto the current text with ``follow``: edits after
it leave it alone, edits before it move it, and an edit touching it loses it (None),
as does a version the history no longer reaches (too old, or before a full-text
replacement). Content alone cannot do this: with identical lines, the text at the old
row numbers may read the same while being another line.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence

from lsp_server.core.text import ByteEdit

Point = tuple[int, int]  # (row, byte column)
LINE_END = sys.maxsize  # a column past the end of any line
MAX_EDITS = 4096  # edits remembered per document (older versions can no longer be followed)


class EditHistory:
    """The edits of one document, by the version they led to."""

    def __init__(self, version: int, *, max_edits: int = MAX_EDITS) -> None:
        self.base = version  # the oldest version the history reaches back to
        self.version = version
        self._max = max_edits
        self._entries: deque[tuple[int, tuple[ByteEdit, ...]]] = deque()
        self._count = 0

    def record(self, version: int, edits: Sequence[ByteEdit] | None) -> None:
        """The document reached ``version`` through ``edits`` (None: a full replacement,
        which nothing can be followed across). A version that does not increase (a
        client bug) starts the history afresh too."""
        if edits is None or version <= self.version:
            self._entries.clear()
            self._count = 0
            self.base = version
        elif edits:
            self._entries.append((version, tuple(edits)))
            self._count += len(edits)
            while self._count > self._max and self._entries:
                dropped, old = self._entries.popleft()
                self._count -= len(old)
                self.base = dropped
        self.version = version

    def since(self, version: int) -> list[ByteEdit] | None:
        """The edits from ``version`` to now, in order; None if they are not known."""
        if version == self.version:
            return []
        if version < self.base or version > self.version:
            return None
        return [edit for at, edits in self._entries if at > version for edit in edits]


def _moved(point: Point, edit: ByteEdit) -> Point:
    """Where ``point`` (at or after the end of what ``edit`` replaced) is after it."""
    (row, col), (old_row, old_col), (new_row, new_col) = point, edit.old_end_point, edit.new_end_point
    if row == old_row:
        return new_row, new_col + col - old_col
    return row + new_row - old_row, col


def follow(edits: Sequence[ByteEdit], start: Point, end: Point) -> tuple[Point, Point] | None:
    """The range ``start..end`` moved through ``edits``; None when one of them touches it
    (an insertion right at ``start`` counts as before it, one right at ``end`` as after)."""
    for edit in edits:
        if edit.old_end_point <= start:
            start, end = _moved(start, edit), _moved(end, edit)
        elif edit.start_point < end:
            return None
    return start, end


def follow_lines(edits: Sequence[ByteEdit], first: int, last: int) -> tuple[int, int] | None:
    """Whole lines ``first..last`` moved through ``edits``; None when an edit touched
    them, joined them to the line above, or started on the last of them."""
    moved = follow(edits, (first, 0), (last, LINE_END))
    if moved is None or moved[0][1] != 0:
        return None
    return moved[0][0], moved[1][0]
