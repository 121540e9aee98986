"""window(): line-aligned, within budget, syntax-aware, and a start that stays put."""

from __future__ import annotations

import pytest

from lsp_server.syntax.context import window
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.window import grid_step

from .test_syntax_samples import big_python

PREFIX, SUFFIX = 12_000, 3_000


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


@pytest.fixture(scope="module")
def source() -> str:
    return big_python()


def at_line_boundary(data: bytes, offset: int) -> bool:
    return offset in (0, len(data)) or data[offset - 1 : offset] == b"\n"


@pytest.mark.parametrize("language", ["python", None])
def test_line_boundaries_and_budget(registry: LanguageRegistry, source: str, language: str | None) -> None:
    doc = SyntaxDocument(source, SPECS[language] if language else None, registry)
    data = doc.buffer.data
    for row in range(0, doc.buffer.line_count, 97):
        cursor = doc.buffer.line_start(row) + min(3, len(doc.buffer.line_text(row)))
        start, end = window(doc, cursor, PREFIX, SUFFIX)
        assert start <= cursor <= end
        assert cursor - start <= PREFIX and end - cursor <= SUFFIX
        assert at_line_boundary(data, start) and at_line_boundary(data, end)
        assert cursor - start >= PREFIX // 2 or start == 0  # the budget is mostly used


def test_prefers_syntax_boundaries(registry: LanguageRegistry, source: str) -> None:
    doc = SyntaxDocument(source, SPECS["python"], registry)
    root = doc.tree.root_node
    starts = {node.start_byte for node in root.children}
    for child in root.children:
        starts.update(grandchild.start_byte for grandchild in child.children)
    hits = 0
    rows = range(500, doc.buffer.line_count, 211)
    for row in rows:
        start, _ = window(doc, doc.buffer.line_start(row), PREFIX, SUFFIX)
        line = doc.buffer.line_text(doc.buffer.row_of_byte(start))
        first_code = start + len(line) - len(line.lstrip())
        hits += first_code in starts or any(
            node.start_byte == first_code for node in _nodes_at(root, first_code)
        )
    assert hits >= len(rows) * 0.8


def _nodes_at(root, offset):  # noqa: ANN001, ANN202 - tiny helper
    node = root.descendant_for_byte_range(offset, offset)
    while node is not None:
        yield node
        node = node.parent


@pytest.mark.parametrize("language", ["python", None])
def test_start_is_stable_while_typing_and_moving(
    registry: LanguageRegistry, source: str, language: str | None
) -> None:
    doc = SyntaxDocument(source, SPECS[language] if language else None, registry)
    buffer = doc.buffer
    step = grid_step(PREFIX)
    # A cursor whose lower bound sits just past a grid point: the next jump is far away.
    row = buffer.row_of_byte(6 * step + PREFIX + 40) + 1
    buffer_row_text = buffer.line_text(row)
    column = len(buffer_row_text)
    cursor = buffer.line_start(row) + column
    start, _ = window(doc, cursor, PREFIX, SUFFIX)
    for index, ch in enumerate("result = compute(x)#"):
        doc.apply_change((row, column + index), (row, column + index), ch, "utf-16")
        cursor = buffer.line_start(row) + column + index + 1
        assert window(doc, cursor, PREFIX, SUFFIX)[0] == start
    for delta in range(1, 6):
        assert window(doc, buffer.line_start(row + delta), PREFIX, SUFFIX)[0] == start


def test_start_rarely_moves_on_small_cursor_moves(registry: LanguageRegistry, source: str) -> None:
    doc = SyntaxDocument(source, SPECS["python"], registry)
    buffer = doc.buffer
    moved = total = 0
    for row in range(2000, buffer.line_count - 10, 13):
        here = window(doc, buffer.line_start(row), PREFIX, SUFFIX)[0]
        there = window(doc, buffer.line_start(row + 5), PREFIX, SUFFIX)[0]
        total += 1
        moved += here != there
    assert moved <= total * 0.15  # about (5 lines / grid step) of the moves cross a grid point


def test_small_file_and_plain_text(registry: LanguageRegistry) -> None:
    text = "line one\nline two\nline three\n"
    doc = SyntaxDocument(text, None, registry)
    assert window(doc, 12, 1000, 1000) == (0, len(text))
    start, end = window(doc, text.index("two"), 6, 12)  # tight budgets, still line-aligned
    assert (start, end) == (text.index("line two"), text.index("line three"))


def test_budget_smaller_than_the_cursor_line(registry: LanguageRegistry) -> None:
    text = "a" * 100 + "\n" + "b" * 100 + "\n"
    doc = SyntaxDocument(text, SPECS["python"], registry)
    cursor = 150
    start, end = window(doc, cursor, 10, 10)
    assert start <= cursor <= end and cursor - start <= 10 and end - cursor <= 10
    assert window(doc, cursor, 0, 0) == (cursor, cursor)
