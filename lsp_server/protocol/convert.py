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


def range_bytes(buf: TextBuffer, rng: types.Range, encoding: str) -> tuple[int, int]:
    """The bytes a client range covers, start first (clamped)."""
    start, end = to_byte(buf, rng.start, encoding), to_byte(buf, rng.end, encoding)
    return min(start, end), max(start, end)


def selected_rows(buf: TextBuffer, selection: types.Range, encoding: str) -> tuple[int, int] | None:
    """The lines a selection covers, its ends clamped (None for an empty one); a selection
    ending at the start of a line does not cover that line."""
    start, end = range_bytes(buf, selection, encoding)
    if start == end:
        return None
    first, last = buf.row_of_byte(start), buf.row_of_byte(end)
    if end == buf.line_start(last) and last > first:
        last -= 1
    return first, last


def client_points(rng: types.Range) -> tuple[tuple[int, int], tuple[int, int]]:
    """A range as (line, character) pairs in the client's units, for engines that follow a
    place of an older version (``DocumentStore.change``, ``actions.Pointed``) before converting."""
    return (rng.start.line, rng.start.character), (rng.end.line, rng.end.character)


def range_json(rng: types.Range) -> dict[str, Any]:
    """A range as JSON (to travel in a command's arguments or an action's data)."""
    return {"start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character}}


def read_range(value: Any) -> types.Range | None:
    """A range from JSON (``{start, end?}``; no end: empty at start); None if it is not one."""
    try:
        start, end = value["start"], value.get("end", value["start"])
        return types.Range(start=types.Position(line=int(start["line"]), character=int(start["character"])),
                           end=types.Position(line=int(end["line"]), character=int(end["character"])))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def takes_document_changes(caps: types.ClientCapabilities | None) -> bool:
    """Whether the client takes ``documentChanges`` (versioned edits) in a workspace edit."""
    edit = caps.workspace.workspace_edit if caps is not None and caps.workspace is not None else None
    return bool(edit is not None and edit.document_changes)


def workspace_edit(changes: Sequence[tuple[str, int | None, list[types.TextEdit]]], *, versioned: bool,
                   creates: Sequence[str] = ()) -> types.WorkspaceEdit:
    """Text edits per document (uri, the version they were computed for, edits) as one
    workspace edit: ``documentChanges`` stamped with each version when ``versioned`` (a
    client refuses them if the document moved on), after creating the files ``creates``
    names (resource operations only exist there); else plain ``changes``."""
    if not versioned and not creates:
        return types.WorkspaceEdit(changes={uri: edits for uri, _, edits in changes})
    document_changes: list[Any] = [
        types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True))
        for uri in creates
    ]
    document_changes += [
        types.TextDocumentEdit(text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                               edits=edits)
        for uri, version, edits in changes
    ]
    return types.WorkspaceEdit(document_changes=document_changes)


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
            out.append((*client_points(rng), change.text))
    return out
