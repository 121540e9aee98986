"""Which part of a large editor document its syntax tree covers.

A tree-sitter tree costs time in proportion to the text it covers, and some of that
time holds the GIL with no way to halt it: freeing the tree of a 3.9 MB file (1.75
million nodes) is one 60-70 ms C call, and 1 MB of nested calls already costs 75 ms
(scripts/bench_worst_case.py). So an editor document parses at most
``SyntaxBudget.tree_bytes`` of its text. A larger document's tree covers a window of
that size around where the user works (the *focus*: a request's position, or an edit
outside the window), plus the file's head (its imports), through tree-sitter's
included ranges. Nodes keep their positions in the whole file; text outside the
ranges is simply not in the tree, as if it were not there.

Cuts fall at line starts of the least indentation found near the wanted byte, other
than lines that start with a closing bracket (so: a top-level statement, or a class
member in a class-wrapped Java file), and the head and the window join as whole
statements. A window that starts inside a block (the methods of a class that fills
the file) also covers the lines that open the blocks around it (``class Big:``,
``public class A {``): the nearest line above with less indentation, for each level. A
line longer than the search span is cut at a character boundary instead.

``TreeWindow`` is a value: the document shifts it through edits (``shifted``) and asks
whether a byte lies well inside it (``covers``); a focus near a window edge that is
not the file's edge moves the window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tree_sitter

from lsp_server.core.text import ByteEdit, TextBuffer

#: The file's head kept in every window (imports and module-level declarations), at most
#: a quarter of the window.
HEAD_BYTES = 16 * 1024
#: The share of the window a cut may move to find a line of least indentation, and the
#: margin a focus keeps from a window edge other than the file's own (closer: the window
#: moves): 16 KB of a 512 KB window.
_MARGIN_SHARE = 1 / 32
_MIN_MARGIN = 256
#: The share of the window placed before the focus (code above the cursor matters most).
_BEFORE = 3 / 4
_INDENT = re.compile(rb"[ \t]*")
_LINE_START = re.compile(rb"\n([ \t]*)(?=[^\s)\]}])")  # a line that starts a statement (not a closer)
_LOOKAHEAD = 256  # indentation read past ``high`` to judge a line that starts at it
_HEADER_STEP = 16 * 1024  # the first stretch searched above for an enclosing block's line (then 4x, 16x...)
_MAX_HEADERS = 16


@dataclass(frozen=True, slots=True)
class TreeWindow:
    """Bytes ``[0, head)``, the ``headers`` (lines, in file order) and ``[start, end)`` of
    the text (``head`` 0: no head)."""

    head: int
    start: int
    end: int
    margin: int = _MIN_MARGIN
    headers: tuple[tuple[int, int], ...] = ()

    def covers(self, offset: int, size: int) -> bool:
        """Whether ``offset`` lies well inside the window of a text of ``size`` bytes: at
        least ``margin`` from an edge (no margin is needed at the text's own ends)."""
        low = self.start if self.start == 0 else self.start + self.margin
        high = self.end if self.end >= size else self.end - self.margin
        return low <= offset <= high

    @property
    def span(self) -> int:
        return self.end - self.start + self.head + sum(b - a for a, b in self.headers)

    def shifted(self, edit: ByteEdit) -> TreeWindow:
        """The window after ``edit``: text inserted inside it, or at the file's start when it
        starts there, stays inside it."""
        head = _shift(self.head, edit) if self.head else 0
        start = _shift(self.start, edit) if self.start else 0
        headers = tuple((_shift(a, edit), _shift(b, edit)) for a, b in self.headers)
        return TreeWindow(head, start, _shift(self.end, edit), self.margin, headers)

    def spans(self, size: int) -> list[tuple[int, int]]:
        """The byte spans covered in a text of ``size`` bytes, in order: the head, the
        block-opening lines, the window (empty ones left out)."""
        spans = [(0, self.head), *self.headers, (self.start, min(self.end, size))]
        return [(a, b) for a, b in spans if b > a]

    def ranges(self, buffer: TextBuffer) -> list[tree_sitter.Range]:
        """The included ranges of a parse of ``buffer`` (its points as tree-sitter counts them)."""
        return [tree_sitter.Range(buffer.point_of_byte(a), buffer.point_of_byte(b), a, b)
                for a, b in self.spans(len(buffer.data))]


def _shift(offset: int, edit: ByteEdit) -> int:
    if offset < edit.start_byte:
        return offset
    if offset >= edit.old_end_byte:
        return offset + edit.new_end_byte - edit.old_end_byte
    return edit.start_byte  # the replaced text held this edge: it moves to where the edit starts


def window_around(data: bytes, focus: int, size: int) -> TreeWindow:
    """A window of at most ``size`` bytes of ``data`` around byte ``focus`` (three quarters
    of it before), plus the head when the window does not reach the start. The focus is
    at least the window's ``margin`` from its edges (``covers``)."""
    total = len(data)
    margin = max(_MIN_MARGIN, int(size * _MARGIN_SHARE))
    if total <= size:
        return TreeWindow(0, 0, total, margin)
    head_bytes = min(HEAD_BYTES, size // 4)
    focus = max(0, min(focus, total))
    low = max(0, focus - int(size * _BEFORE))
    high = min(total, low + size)
    low = max(0, high - size)
    start = 0 if low <= head_bytes else _cut(data, low, max(low, min(low + margin, focus - margin)), last=False)
    end = total if high >= total else _cut(data, max(high - margin, min(focus + margin, high)), high, last=True)
    head = 0 if start == 0 else _cut(data, 0, head_bytes, last=True, fallback=0)
    headers = _headers(data, start, head) if start else ()
    return TreeWindow(head, start, max(end, start), margin, headers)


def _headers(data: bytes, start: int, floor: int) -> tuple[tuple[int, int], ...]:
    """The lines that open the blocks around the line at ``start``: for each smaller
    indentation, the nearest line above it with that indentation (not a closing bracket or
    a comment), between ``floor`` and ``start``. None when ``start`` is inside a line (a cut
    in a long line, where no line start was near): that is no indentation."""
    if data[start - 1:start] != b"\n":
        return ()
    line = _INDENT.match(data, start)
    indent = len(line.group(0)) if line is not None else 0
    found: list[tuple[int, int]] = []
    above = start
    while indent > 0 and len(found) < _MAX_HEADERS:
        last = _last_line_below(data, indent, floor, above)
        if last is None:
            break
        header, indent = last
        found.append((header, data.index(b"\n", header) + 1))
        above = header
    return tuple(reversed(found))


def _last_line_below(data: bytes, indent: int, floor: int, above: int) -> tuple[int, int] | None:
    """The start and indentation of the last line in ``[floor, above)`` indented less than
    ``indent`` (not blank, a closing bracket or a comment), searched upwards in stretches
    that grow fourfold (a class that fills a 4 MB file is read once, at C speed)."""
    opener = re.compile(rb"\n([ \t]{0,%d})(?=[^\s)\]}#/*])" % (indent - 1))
    step, high = _HEADER_STEP, above
    while high > floor:
        low = max(floor, high - step)
        last = None
        for last in opener.finditer(data, max(0, low - 1), high):  # noqa: B007 - the last one is wanted
            pass
        if last is not None and last.start() + 1 >= floor:
            return last.start() + 1, len(last.group(1))
        high, step = low, step * 4
    return None


def _cut(data: bytes, low: int, high: int, *, last: bool, fallback: int | None = None) -> int:
    """A line start in ``[low, high]`` of the least indentation (the first or ``last`` of
    those); when there is none, ``fallback`` or a character boundary at ``low`` (``high``
    when ``last``)."""
    best: tuple[int, int] | None = None  # (indentation, offset)
    for match in _LINE_START.finditer(data, max(0, low - 1), high + _LOOKAHEAD):
        offset, indent = match.start() + 1, len(match.group(1))
        if offset < low or offset > high:
            continue
        if best is None or indent < best[0] or (last and indent == best[0]):
            best = (indent, offset)
    if best is not None:
        return best[1]
    if fallback is not None:
        return fallback
    return _char_start(data, high if last else low)


def _char_start(data: bytes, offset: int) -> int:
    """``offset`` moved back to the first byte of the UTF-8 character it falls in."""
    while 0 < offset < len(data) and (data[offset] & 0xC0) == 0x80:
        offset -= 1
    return offset
