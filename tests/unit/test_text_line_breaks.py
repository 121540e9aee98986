"""LSP line breaks in the text model: ``\\n``, ``\\r\\n`` and a lone ``\\r``, on mixed text with
emoji and CJK, under random incremental edits, and tree-sitter rows that agree."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.core.text import TextBuffer, line_starts, split_lines, tree_bytes
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import LanguageRegistry


def _reference_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


MIXED = "def f(x):\r    y = x\r\n    return y  # 🙂 中文\n\rz = '面'\r"


def test_a_lone_cr_is_a_line_break() -> None:
    buf = TextBuffer("def f(x):\r    y = x\r    return y\r")
    assert buf.line_count == 4
    assert [buf.line_text(i) for i in range(4)] == ["def f(x):", "    y = x", "    return y", ""]
    assert buf.position_at(buf.data.index(b"y ="), "utf-16") == (1, 4)
    assert buf.offset_at(2, 4, "utf-16") == buf.data.index(b"return")
    assert buf.eol() == "\r"


def test_mixed_line_endings_with_emoji_and_cjk() -> None:
    buf = TextBuffer(MIXED)
    lines = _reference_lines(MIXED)
    assert [buf.line_text(i) for i in range(buf.line_count)] == lines
    for row, line in enumerate(lines):
        end = buf.offset_at(row, 10 ** 6, "utf-16")  # past the end: clamps before the line break
        assert buf.position_at(end, "utf-16") == (row, _utf16(line))
        assert buf.position_at(end, "utf-8") == (row, len(line.encode()))
        assert buf.position_at(end, "utf-32") == (row, len(line))


def test_split_lines_is_lsp_not_splitlines() -> None:
    text = "a\x0cb\u2028c\x85d\re\r\nf\ng"
    assert split_lines(text) == ["a\x0cb\u2028c\x85d", "e", "f", "g"]
    assert TextBuffer(text).line_count == len(split_lines(text))


def test_tree_bytes_keeps_offsets_and_crlf() -> None:
    data = MIXED.encode()
    tree = tree_bytes(data)
    assert len(tree) == len(data) and b"\r\n" in tree and tree.count(b"\n") == len(line_starts(data))


def test_tree_sitter_rows_agree_with_lsp_lines() -> None:
    registry = LanguageRegistry()
    doc = SyntaxDocument("import os\rdef f(x):\r    return x\r\ndef g():\n    pass\r", registry.for_document("python", "a.py"),
                         registry)
    tree = doc.tree
    assert tree is not None and not tree.root_node.has_error
    rows = [child.start_point[0] for child in tree.root_node.children]
    assert rows == [doc.buffer.row_of_byte(child.start_byte) for child in tree.root_node.children] == [0, 1, 3]
    # an edit that turns a lone "\r" into "\r\n" and one that splits "\r\n": still in step
    doc.apply_change((1, 9), (1, 9), "\n", "utf-16")
    doc.apply_change((3, 12), (3, 12), "\r", "utf-16")
    assert doc.tree is not None
    fresh = doc.full_parse()
    assert str(doc.tree.root_node) == str(fresh.root_node)
    for node, other in zip(doc.tree.root_node.children, fresh.root_node.children):
        assert (node.start_point, node.end_point) == (other.start_point, other.end_point)
        assert node.start_point[0] == doc.buffer.row_of_byte(node.start_byte)


_text = st.lists(st.sampled_from(["a", "é", "🙂", "中", " ", "\t", "\r", "\n", "\r\n", "x = 1"]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(start=_text, edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 20), _text), max_size=8))
def test_random_edits_keep_the_line_index_exact(start: str, edits: list[tuple[int, int, str]]) -> None:
    """Edits that join or split "\\r\\n" pairs, at any offset: the index equals a fresh one."""
    buf = TextBuffer(start)
    for at, length, new in edits:
        data = buf.data
        at = min(at, len(data))
        while 0 < at < len(data) and (data[at] & 0xC0) == 0x80:
            at -= 1
        end = min(at + length, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end += 1
        edit = buf.replace(at, end, new)
        fresh = TextBuffer(buf.text)
        assert list(buf._line_starts) == list(fresh._line_starts)
        assert buf.tree_data == tree_bytes(buf.data)
        assert edit.new_end_point == fresh.point_of_byte(edit.new_end_byte)
        assert [buf.line_text(i) for i in range(buf.line_count)] == _reference_lines(buf.text)


@pytest.mark.parametrize("text", ["", "\r", "\n", "\r\n", "\r\r\n\n", "a\rb", "🙂\r中"])
def test_small_texts(text: str) -> None:
    buf = TextBuffer(text)
    assert [buf.line_text(i) for i in range(buf.line_count)] == _reference_lines(text)
