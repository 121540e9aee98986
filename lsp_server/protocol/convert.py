"""The one seam between LSP positions, ranges and edits and the engines' byte offsets.

LSP positions count UTF-16 code units by default (UTF-8 or UTF-32 when negotiated);
the engines and tree-sitter work in UTF-8 bytes: byte offsets, and spans and edits as
rows with byte columns (``Span``, ``Edit``). ``TextBuffer`` does the arithmetic; this
module only moves values between lsprotocol types and it, and every handler converts
here (no handler adds line starts and columns itself).

One clamping rule, in both directions, for every place outside the document: a line
(row) before the first is the document's start, a line past the last is the
document's end; a character (column) past the end of its line's content is the end of
that content (before the line break, which is ``\\n``, ``\\r\\n`` or a lone ``\\r``); one
inside a character (a UTF-16 surrogate pair, a multi-byte UTF-8 sequence) is that
character's start; and a byte offset before or past the text is its start or end.
So an out-of-range request gets an answer at the nearest real place, never an error,
and no range sent to a client points outside the text it was computed for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from lsprotocol import types

from lsp_server.core.findings import Edit, Span
from lsp_server.core.text import Encoding, TextBuffer


def encoding_of(name: str) -> Encoding:
    return cast(Encoding, name if name in ("utf-8", "utf-16", "utf-32") else "utf-16")


def to_byte(buf: TextBuffer, position: types.Position, encoding: str) -> int:
    """The byte offset of a client position (clamped)."""
    return buf.offset_at(position.line, position.character, encoding_of(encoding))


def to_position(buf: TextBuffer, offset: int, encoding: str) -> types.Position:
    """The client position of a byte offset (clamped)."""
    line, character = buf.position_at(offset, encoding_of(encoding))
    return types.Position(line=line, character=character)


def point_byte(buf: TextBuffer, row: int, column: int) -> int:
    """The byte offset of an engine point (row, byte column), clamped."""
    return buf.offset_at(row, column, "utf-8")


def byte_range(buf: TextBuffer, start: int, end: int, encoding: str) -> types.Range:
    """The client range of bytes ``start..end`` (clamped)."""
    return types.Range(start=to_position(buf, start, encoding), end=to_position(buf, end, encoding))


def span_range(buf: TextBuffer, span: Span, encoding: str) -> types.Range:
    """The client range of an engine span (clamped)."""
    return byte_range(buf, point_byte(buf, span.start_line, span.start_col),
                      point_byte(buf, span.end_line, span.end_col), encoding)


def text_edit(buf: TextBuffer, edit: Edit, encoding: str) -> types.TextEdit:
    """An engine edit on ``buf`` as an LSP text edit in the client's encoding (clamped)."""
    return types.TextEdit(range=span_range(buf, edit.span, encoding), new_text=edit.new_text)


def text_edits(buf: TextBuffer, edits: Sequence[Edit], encoding: str) -> list[types.TextEdit]:
    """Engine edits on ``buf`` as LSP text edits (``text_edit`` each)."""
    return [text_edit(buf, edit, encoding) for edit in edits]


def selected_rows(buf: TextBuffer, selection: types.Range, encoding: str) -> tuple[int, int] | None:
    """The lines a selection covers, its ends clamped (None for an empty one); a selection
    ending at the start of a line does not cover that line."""
    start, end = sorted((to_byte(buf, selection.start, encoding), to_byte(buf, selection.end, encoding)))
    if start == end:
        return None
    first, last = buf.row_of_byte(start), buf.row_of_byte(end)
    if end == buf.line_start(last) and last > first:
        last -= 1
    return first, last


def content_changes(
    changes: list[Any],
) -> list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]]:
    """didChange content changes -> (start, end, text); None range = whole document."""
    out: list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]] = []
    for change in changes:
        rng = getattr(change, "range", None)
        if rng is None:
            out.append((None, None, change.text))
        else:
            out.append(
                ((rng.start.line, rng.start.character), (rng.end.line, rng.end.character), change.text)
            )
    return out
