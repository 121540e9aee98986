"""The line index and the column conversions hold on big inputs: blocks (built eagerly
or lazily) agree with a plain list of line starts under random edits, and the codec-based
conversions agree with a character-by-character reference, lone surrogates included."""

from __future__ import annotations

import random
import re
from bisect import bisect_right

import pytest

from lsp_server.core import lines as lines_module
from lsp_server.core.lines import LineIndex
from lsp_server.core.text import TextBuffer, _chars_for_units, _units


def reference_starts(data: bytes) -> list[int]:
    """Line starts as LSP counts them: after "\\n", "\\r\\n" or a lone "\\r"."""
    return [0] + [match.end() for match in re.finditer(rb"\r\n|\r|\n", data)]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines and a few bytes, so every test crosses many of them."""
    monkeypatch.setattr(lines_module, "BLOCK", 4)
    monkeypatch.setattr(lines_module, "LAZY_BYTES", 16)


@pytest.mark.parametrize("seed", range(6))
def test_buffer_line_index_follows_random_edits(small_blocks, seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["a", "\n", "bc", "\r\n", "\r", "é", "😀", "\n\n\n", "long line " * 5]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
    buffer = TextBuffer(text)
    for step in range(150):
        size = len(text)
        a = rng.randint(0, size)
        b = rng.randint(a, min(size, a + rng.choice([0, 1, 4, 40])))
        new = "".join(rng.choice(["x", "\n", "\r", "yy\n\n", "😀"]) for _ in range(rng.randint(0, 5)))
        buffer.replace(len(text[:a].encode()), len(text[:b].encode()), new)
        text = text[:a] + new + text[b:]
        data = text.encode()
        starts = reference_starts(data)
        assert buffer.line_count == len(starts), step
        assert [buffer.line_start(row) for row in range(buffer.line_count)] == starts, step
        for offset in range(0, len(data) + 1, max(1, len(data) // 15)):
            assert buffer.row_of_byte(offset) == bisect_right(starts, offset) - 1, (step, offset)


def test_lazy_index_of_text_matches_a_list(small_blocks) -> None:
    rng = random.Random(7)
    for _ in range(200):
        data = bytes(rng.choice(b"ab\n\r") for _ in range(rng.randint(0, 200)))
        index = LineIndex.of(data)
        starts = reference_starts(data)
        assert len(index) == len(starts)
        assert [index.row_of(offset) for offset in range(-1, len(data) + 2)] == [
            max(0, bisect_right(starts, offset) - 1) for offset in range(-1, len(data) + 2)]
        assert [index[row] for row in range(len(index))] == starts


def test_big_pastes_and_whole_replacements_rebuild_the_index() -> None:
    text = "x = 1\n" * 50_000
    buffer = TextBuffer(text)
    edit = buffer.replace(6, 6, "y = 2\n" * 20_000)  # above the re-index threshold
    assert edit.new_end_point == (1 + 20_000, 0)
    assert buffer.line_count == 70_001 and buffer.line_text(70_000) == ""
    assert buffer.line_text(20_001) == "x = 1" and buffer.line_text(1) == "y = 2"
    edit = buffer.replace(0, len(buffer.data), "a\nbc")
    assert edit.new_end_point == (1, 2) and buffer.line_count == 2 and buffer.line_text(1) == "bc"


def slow_units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-16":
        return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    return len(text)


def slow_chars(text: str, units: int, encoding: str) -> int:
    seen = 0
    for index, ch in enumerate(text):
        if seen >= units:
            return index
        code = ord(ch)
        if encoding == "utf-16":
            seen += 2 if code > 0xFFFF else 1
        elif encoding == "utf-8":
            seen += 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        else:
            seen += 1
        if seen > units:
            return index
    return len(text)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_column_conversions_match_a_character_by_character_count(encoding: str) -> None:
    rng = random.Random(encoding)
    alphabet = ["a", "é", "漢", "😀", "\ud800", "\udfff", "\t", "ß", "\U0010ffff"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert _units(text, encoding) == slow_units(text, encoding), repr(text)
        for units in range(45):  # callers pass no negative counts (offset_at clamps first)
            assert _chars_for_units(text, units, encoding) == slow_chars(text, units, encoding), (repr(text), units)


def test_positions_on_a_megabyte_line_with_emoji() -> None:
    line = "x = '" + "😀a" * 250_000 + "'"
    buffer = TextBuffer(line + "\nend\n")
    column = 5 + 3 * 100_000 + 1  # UTF-16: inside the 100,001st emoji
    offset = buffer.offset_at(0, column, "utf-16")
    assert offset == len(("x = '" + "😀a" * 100_000).encode())  # clamped to before it
    assert buffer.position_at(offset, "utf-16") == (0, column - 1)
    assert buffer.position_at(len(buffer.data), "utf-16") == (2, 0)


def test_big_pastes_count_lone_cr_and_crlf_as_lsp_does() -> None:
    buffer = TextBuffer("a\r\nb")
    buffer.replace(1, 1, "\r" + "y = 2\r" * 12_000 + "z\r\n" * 10_000)  # above the re-index threshold
    assert buffer.line_count == 2 + 12_001 + 10_000
    assert buffer.line_text(1) == "y = 2" and buffer.line_text(12_001) == "z"
    assert buffer.line_text(22_001) == "" and buffer.line_text(22_002) == "b"
    assert buffer.row_of_byte(len(buffer.data)) == 22_002
