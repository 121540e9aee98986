"""Position arithmetic of TextBuffer: UTF-8/16/32 columns on emoji, CJK and tab lines."""

from __future__ import annotations

import random

import pytest

from lsp_server.core.text import TextBuffer

LINES = ["plain ascii", "tab\there", "emoji 😀 then 🎉!", "日本語のテキスト = 1", "mixé 😀日\tend", ""]
TEXT = "\n".join(LINES)


def _units(s: str, enc: str) -> int:
    return {"utf-8": len(s.encode("utf-8")), "utf-16": len(s.encode("utf-16-le")) // 2, "utf-32": len(s)}[enc]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_every_character_boundary_round_trips(encoding: str) -> None:
    buf = TextBuffer(TEXT)
    for row, line in enumerate(LINES):
        for index in range(len(line) + 1):
            character = _units(line[:index], encoding)
            offset = buf.offset_at(row, character, encoding)
            expected = len("\n".join(LINES[:row]).encode()) + (1 if row else 0) + len(line[:index].encode())
            assert offset == expected
            assert buf.position_at(offset, encoding) == (row, character)


def test_utf16_position_inside_a_surrogate_pair_clamps_to_the_character_start() -> None:
    buf = TextBuffer("a😀b")
    assert buf.offset_at(0, 2, "utf-16") == 1  # between the two halves of 😀
    assert buf.offset_at(0, 3, "utf-16") == 5


def test_positions_past_the_end_clamp() -> None:
    buf = TextBuffer("ab\r\ncd")
    assert buf.offset_at(0, 99, "utf-16") == 2  # before \r\n
    assert buf.offset_at(7, 0, "utf-16") == len(buf.data)
    assert buf.line_text(0) == "ab" and buf.eol() == "\r\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_random_edits_match_plain_string_slicing(encoding: str) -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", " ", "\t", "\n", "😀", "日", "é", "x\ny", "\r\n"]
    reference = TEXT
    buf = TextBuffer(reference)
    for _ in range(400):
        a, b = sorted(rng.randrange(len(reference) + 1) for _ in range(2))
        # never split a \r\n pair with an edit boundary (LSP positions cannot point between them)
        if a and reference[a - 1 : a + 1] == "\r\n":
            a -= 1
        if b and reference[b - 1 : b + 1] == "\r\n":
            b -= 1
        a, b = min(a, b), max(a, b)
        new = "".join(rng.choice(alphabet) for _ in range(rng.randrange(4)))

        def pos(i: int) -> tuple[int, int]:
            head = reference[:i]
            row = head.count("\n")
            col_text = head[head.rfind("\n") + 1 :]
            return row, _units(col_text, encoding)

        edit = buf.apply_change(pos(a), pos(b), new, encoding)
        reference = reference[:a] + new + reference[b:]
        assert buf.text == reference
        assert edit.new_end_byte - edit.start_byte == len(new.encode())
        fresh = TextBuffer(reference)
        assert [buf.line_start(r) for r in range(buf.line_count)] == [fresh.line_start(r) for r in range(fresh.line_count)]
        assert buf.point_of_byte(edit.new_end_byte) == edit.new_end_point
