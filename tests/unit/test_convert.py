"""protocol/convert.py: positions, spans and edits between LSP and the engines, one clamping rule."""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_server.core.findings import Edit, Span
from lsp_server.core.text import TextBuffer
from lsp_server.protocol.convert import (
    byte_range,
    client_points,
    point_byte,
    range_bytes,
    range_json,
    read_range,
    selected_rows,
    span_range,
    takes_document_changes,
    text_edit,
    text_edits,
    to_byte,
    to_position,
    workspace_edit,
)
from tests.line_break_samples import units

ENCODINGS = ("utf-16", "utf-8", "utf-32")


def _pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


# Each text: its lines' contents (as LSP splits them) and the raw text.
TEXTS = {
    "lf": ("def f(x):\n    return x\n", ["def f(x):", "    return x", ""]),
    "crlf": ("def f(x):\r\n    return x\r\n", ["def f(x):", "    return x", ""]),
    "lone-cr": ("a = 1\rb = 2\rc", ["a = 1", "b = 2", "c"]),
    "emoji": ("s = '😀😀'\nt = 1", ["s = '😀😀'", "t = 1"]),
    "cjk": ("名前 = '値'\n# 注释\n", ["名前 = '値'", "# 注释", ""]),
    "tabs": ("if x:\n\tif y:\n\t\tpass", ["if x:", "\tif y:", "\t\tpass"]),
    "empty": ("", [""]),
    "no-final-break": ("x = 1", ["x = 1"]),
}


@pytest.mark.parametrize("name", list(TEXTS))
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_character_boundary_round_trips(name: str, encoding: str) -> None:
    text, lines = TEXTS[name]
    buf = TextBuffer(text)
    assert buf.line_count == len(lines)
    line_start = 0
    raw = text.encode("utf-8")
    for row, line in enumerate(lines):
        for index in range(len(line) + 1):
            offset = line_start + len(line[:index].encode("utf-8"))
            position = _pos(row, units(line[:index], encoding))
            assert to_byte(buf, position, encoding) == offset
            assert to_position(buf, offset, encoding) == position
        line_start += len(line.encode("utf-8"))
        line_start += 2 if raw[line_start:line_start + 2] == b"\r\n" else (1 if row + 1 < len(lines) else 0)


@pytest.mark.parametrize("name", list(TEXTS))
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_positions_outside_the_document_clamp_to_its_end_and_line_ends(name: str, encoding: str) -> None:
    text, lines = TEXTS[name]
    buf = TextBuffer(text)
    end = len(text.encode("utf-8"))
    last = _pos(len(lines) - 1, units(lines[-1], encoding))
    for line in (len(lines), len(lines) + 5, 2 ** 31 - 1):  # (past 2**31 - 1 is not a Position)
        assert to_byte(buf, _pos(line, 0), encoding) == end
        assert to_byte(buf, _pos(line, 2 ** 31 - 1), encoding) == end
        assert to_position(buf, to_byte(buf, _pos(line, 3), encoding), encoding) == last
    for row, content in enumerate(lines):
        line_end = to_byte(buf, _pos(row, units(content, encoding)), encoding)
        for character in (units(content, encoding) + 1, 10_000, 2 ** 31 - 1):
            assert to_byte(buf, _pos(row, character), encoding) == line_end  # never the line break or beyond
    assert point_byte(buf, -1, 5) == 0 and point_byte(buf, 0, -3) == 0  # (a Position cannot be negative)
    assert to_position(buf, -7, encoding) == _pos(0, 0)
    assert to_position(buf, end + 100, encoding) == last


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_offsets_inside_a_line_break_clamp_to_the_line_end(encoding: str) -> None:
    buf = TextBuffer("ab\r\ncd")
    assert to_position(buf, 3, encoding) == _pos(0, 2)  # between "\r" and "\n"
    assert to_position(buf, 2, encoding) == _pos(0, 2)
    assert to_position(buf, 4, encoding) == _pos(1, 0)


def test_positions_inside_a_character_clamp_to_its_start() -> None:
    buf = TextBuffer("x😀y\n名z")
    # UTF-16: the emoji is a surrogate pair (units 1-2); character 2 is inside it
    assert to_byte(buf, _pos(0, 2), "utf-16") == 1
    assert to_byte(buf, _pos(0, 3), "utf-16") == 5
    # UTF-8: bytes 2..4 are inside the emoji, byte 1 of the CJK character is inside it
    for character in (2, 3, 4):
        assert to_byte(buf, _pos(0, character), "utf-8") == 1
    assert to_byte(buf, _pos(1, 1), "utf-8") == buf.line_start(1)
    # offsets inside a character give that character's start, in every encoding
    for offset in (2, 3, 4):
        assert to_position(buf, offset, "utf-16") == _pos(0, 1)
        assert to_position(buf, offset, "utf-8") == _pos(0, 1)
        assert to_position(buf, offset, "utf-32") == _pos(0, 1)
    assert to_position(buf, buf.line_start(1) + 2, "utf-16") == _pos(1, 0)


def test_an_unknown_encoding_is_utf16() -> None:
    buf = TextBuffer("😀x")
    assert to_byte(buf, _pos(0, 2), "utf-7") == 4
    assert to_position(buf, 4, "") == _pos(0, 2)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_span_and_edit_ranges_use_the_same_rule(encoding: str) -> None:
    text = "名 = 1\r\n\tt = '😀'\r\nlast"
    buf = TextBuffer(text)
    row1 = "\tt = '😀'"
    emoji_col = len("\tt = '".encode())
    span = Span(1, emoji_col, 1, emoji_col + 4)
    rng = span_range(buf, span, encoding)
    assert rng == types.Range(start=_pos(1, units("\tt = '", encoding)), end=_pos(1, units("\tt = '😀", encoding)))
    # columns past the line's content stop before its "\r\n"; rows past the end are the document's end
    assert span_range(buf, Span(0, 0, 0, 999), encoding).end == _pos(0, units("名 = 1", encoding))
    assert span_range(buf, Span(1, len(row1.encode()) + 1, 1, 999), encoding).start == _pos(1, units(row1, encoding))
    doc_end = _pos(2, 4)
    assert span_range(buf, Span(7, 3, 9, 0), encoding) == types.Range(start=doc_end, end=doc_end)
    assert span_range(buf, Span(2, 0, 2 ** 40, 5), encoding).end == doc_end
    # a column inside a multi-byte character is that character's start
    assert span_range(buf, Span(0, 1, 0, 2), encoding).start == _pos(0, 0)
    edits = [Edit(Span(0, 0, 1, 0), ""), Edit(Span(2, 0, 2, 4), "end")]
    assert text_edits(buf, edits, encoding) == [text_edit(buf, e, encoding) for e in edits]
    assert text_edits(buf, edits, encoding)[0] == types.TextEdit(
        range=types.Range(start=_pos(0, 0), end=_pos(1, 0)), new_text="")
    assert text_edits(buf, edits, encoding)[1].range == span_range(buf, Span(2, 0, 2, 4), encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_span_ranges_on_an_empty_document(encoding: str) -> None:
    buf = TextBuffer("")
    origin = types.Range(start=_pos(0, 0), end=_pos(0, 0))
    assert span_range(buf, Span(0, 0, 0, 0), encoding) == origin
    assert span_range(buf, Span(3, 4, 5, 6), encoding) == origin
    assert byte_range(buf, -1, 10, encoding) == origin
    assert point_byte(buf, 2, 2) == 0


def test_point_byte_clamps_rows_and_columns() -> None:
    buf = TextBuffer("ab\r\ncd\rxyz")
    assert point_byte(buf, 0, 1) == 1
    assert point_byte(buf, 0, 3) == 2  # the "\r" of "\r\n" is not the line's content
    assert point_byte(buf, 1, 9) == buf.line_start(1) + 2
    assert point_byte(buf, 2, 1) == buf.line_start(2) + 1
    assert point_byte(buf, 3, 0) == len(buf.data)
    assert point_byte(buf, -1, 4) == 0


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_selected_rows_clamp_like_every_position(encoding: str) -> None:
    buf = TextBuffer("a\r\nb\r\nc\r\nd\r\n😀名\n")  # rows 0-4, and an empty row 5

    def rows(a: int, b: int, c: int, d: int) -> tuple[int, int] | None:
        return selected_rows(buf, types.Range(start=_pos(a, b), end=_pos(c, d)), encoding)

    assert rows(2, 0, 2, 0) is None
    assert rows(2, 0, 2, 1) == (2, 2)
    assert rows(1, 0, 3, 0) == (1, 2)  # ends at the start of line 3: not in it
    assert rows(1, 1, 2, 0) == (1, 1)
    assert rows(0, 1, 3, 1) == (0, 3)
    assert rows(3, 1, 1, 0) == (1, 3)  # a backwards selection
    assert rows(2, 1, 2, 50) is None  # both ends clamp to the end of line 2: empty
    assert rows(1, 0, 10_000, 0) == (1, 4)  # past the end: the document's end (the start of row 5)
    assert rows(4, 0, 4, 10_000) == (4, 4)
    # UTF-8 characters 1 and 2 are both inside the emoji: its start, so nothing is selected
    assert rows(4, 1, 4, 2) == (None if encoding == "utf-8" else (4, 4))
    assert rows(2 ** 31 - 1, 0, 2 ** 31 - 1, 9) is None


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_range_bytes_are_clamped_and_ordered(encoding: str) -> None:
    buf = TextBuffer("名前\r\nx😀\r\n")

    def rng(a: int, b: int, c: int, d: int) -> types.Range:
        return types.Range(start=_pos(a, b), end=_pos(c, d))

    assert range_bytes(buf, rng(0, 0, 0, 10_000), encoding) == (0, 6)  # the line's end, before "\r\n"
    # backwards: start first (UTF-8 character 1 of line 0 is inside "名": its start)
    assert range_bytes(buf, rng(1, 1, 0, 1), encoding) == (0 if encoding == "utf-8" else 3, 9)
    assert range_bytes(buf, rng(9, 0, 2 ** 31 - 1, 3), encoding) == (len(buf.data), len(buf.data))
    assert client_points(rng(1, 2, 3, 4)) == ((1, 2), (3, 4))


def test_ranges_travel_as_json() -> None:
    rng = types.Range(start=_pos(1, 2), end=_pos(3, 4))
    assert read_range(range_json(rng)) == rng
    assert read_range({"start": {"line": 5, "character": 1}}) == types.Range(start=_pos(5, 1), end=_pos(5, 1))
    for bad in (None, "1:2", {}, {"start": {"line": "x", "character": 0}}, {"start": [1, 2]}):
        assert read_range(bad) is None, bad


def test_workspace_edits_are_versioned_for_clients_that_take_document_changes() -> None:
    edits = [types.TextEdit(range=types.Range(start=_pos(0, 0), end=_pos(0, 1)), new_text="y")]
    plain = workspace_edit([("file:///a.py", 3, edits)], versioned=False)
    assert plain.changes == {"file:///a.py": edits} and plain.document_changes is None
    versioned = workspace_edit([("file:///a.py", 3, edits)], versioned=True)
    [change] = versioned.document_changes
    assert change.text_document.version == 3 and change.edits == edits and versioned.changes is None
    created = workspace_edit([("file:///t.py", None, edits)], versioned=False, creates=["file:///t.py"])
    create, write = created.document_changes
    assert isinstance(create, types.CreateFile) and create.options.overwrite is False
    assert write.text_document.uri == "file:///t.py" and write.text_document.version is None
    caps = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
        workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)))
    assert takes_document_changes(caps) and not takes_document_changes(None)
    assert not takes_document_changes(types.ClientCapabilities())
