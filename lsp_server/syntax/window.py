"""The slice of a document shown to the model around the cursor.

``window`` returns a byte range ``[start, end)`` cut at line boundaries, preferring
syntax boundaries (the start of a top-level definition/statement, the end of one).
The START is chosen to be stable for vLLM's prefix cache: the lowest admissible byte
``cursor - max_prefix_bytes`` is rounded UP to a fixed grid (a power of two no larger
than a quarter of the budget), and the start is the first syntax boundary (else line
start) after that grid point. Typing or moving the cursor therefore leaves the start
where it is until the lower bound crosses the next grid point; then it jumps one grid
step. Only bytes before the cursor decide the start, so edits at the cursor never move it.

Boundaries are looked for at most ``_MAX_DEPTH`` levels down and among at most
``_MAX_SIBLINGS`` siblings per level (a TreeCursor steps through them: ``Node``'s own
sibling links cost time proportional to the node's depth), so an ERROR node with
100,000 children or a 1 MB line costs no more than an ordinary file.
"""

from __future__ import annotations

import tree_sitter

from lsp_server.core.text import TextBuffer
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.nodes import child_at_or_after

_MIN_GRID = 256
_MAX_DEPTH = 3
_MAX_SIBLINGS = 256


def window(
    doc: SyntaxDocument, cursor_byte: int, max_prefix_bytes: int, max_suffix_bytes: int
) -> tuple[int, int]:
    """The ``[start, end)`` byte range of the text to show around ``cursor_byte``."""
    buffer = doc.buffer
    cursor = max(0, min(cursor_byte, len(buffer.data)))
    tree = doc.tree
    root = tree.root_node if tree is not None else None
    start = _window_start(buffer, root, cursor, max(0, max_prefix_bytes))
    end = _window_end(buffer, root, cursor, max(0, max_suffix_bytes))
    return start, end


def grid_step(max_prefix_bytes: int) -> int:
    """The quantisation step for the window start: a power of two <= budget / 4."""
    step = _MIN_GRID
    while step * 2 <= max_prefix_bytes // 4:
        step *= 2
    return step


def _window_start(buffer: TextBuffer, root: tree_sitter.Node | None, cursor: int, budget: int) -> int:
    lowest = cursor - budget
    if lowest <= 0:
        return 0
    step = grid_step(budget)
    grid = -(-lowest // step) * step
    if grid > cursor:
        grid = lowest
    line = _line_start_at_or_after(buffer, grid)
    if root is not None:
        snapped = _boundary_after(buffer, root, grid, min(cursor, grid + step // 2))
        if snapped is not None:
            return snapped
    if line <= cursor:
        return line
    cursor_line = buffer.line_start(buffer.row_of_byte(cursor))
    return cursor_line if cursor_line >= lowest else cursor


def _line_start_at_or_after(buffer: TextBuffer, offset: int) -> int:
    row = buffer.row_of_byte(offset)
    if buffer.line_start(row) == offset:
        return offset
    return buffer.line_start(row + 1) if row + 1 < buffer.line_count else len(buffer.data)


def _boundary_after(buffer: TextBuffer, root: tree_sitter.Node, lo: int, hi: int) -> int | None:
    """The first node start in ``[lo, hi]`` that begins its line, shallowest depth first."""
    node = root
    for _ in range(_MAX_DEPTH):
        cursor = node.walk()
        if node.child_count == 0 or cursor.goto_first_child_for_byte(lo) is None:
            return None
        child = cursor.node
        more = child.start_byte >= lo or cursor.goto_next_sibling()
        for _step in range(_MAX_SIBLINGS):
            candidate = cursor.node
            if not more or candidate.start_byte > hi:
                break
            begin = buffer.line_start(candidate.start_point[0])
            if begin >= lo and not buffer.data[begin : candidate.start_byte].strip():
                return begin
            more = cursor.goto_next_sibling()
        if child.start_byte >= lo:
            return None
        node = child
    return None


def _window_end(buffer: TextBuffer, root: tree_sitter.Node | None, cursor: int, budget: int) -> int:
    size = len(buffer.data)
    highest = cursor + budget
    if highest >= size:
        return size
    end = buffer.line_start(buffer.row_of_byte(highest))
    if end < cursor:  # not even the rest of the cursor's line fits
        return cursor
    if root is not None:
        snapped = _boundary_before(buffer, root, max(cursor, end - budget // 4), end)
        if snapped is not None:
            return snapped
    return end


def _boundary_before(buffer: TextBuffer, root: tree_sitter.Node, lo: int, hi: int) -> int | None:
    """The last node end in ``[lo, hi]`` that ends its line, as the next line's start."""
    node = root
    for _ in range(_MAX_DEPTH):
        if node.child_count == 0:
            return None
        best = None
        cursor = node.walk()
        if cursor.goto_first_child_for_byte(max(lo - 1, 0)) is not None:
            for _step in range(_MAX_SIBLINGS):
                sibling = cursor.node
                if sibling.end_byte > hi:
                    break
                if sibling.end_byte < lo:
                    if not cursor.goto_next_sibling():
                        break
                    continue
                after = _next_line_start(buffer, sibling.end_byte)
                if lo <= after <= hi and not buffer.data[sibling.end_byte : after].strip():
                    best = after
                if not cursor.goto_next_sibling():
                    break
        if best is not None:
            return best
        child = child_at_or_after(node, hi)
        if child is None or child.start_byte >= hi:
            return None
        node = child
    return None


def _next_line_start(buffer: TextBuffer, offset: int) -> int:
    row = buffer.row_of_byte(offset)
    return buffer.line_start(row + 1) if row + 1 < buffer.line_count else len(buffer.data)
