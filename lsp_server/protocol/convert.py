"""The one seam between LSP positions and the engines' byte offsets.

LSP positions count UTF-16 code units by default (UTF-8 or UTF-32 when negotiated);
the engines and tree-sitter work in UTF-8 bytes. ``TextBuffer`` does the arithmetic;
this module only moves values between lsprotocol types and it.
"""

from __future__ import annotations

from typing import Any, cast

from lsprotocol import types

from lsp_server.core.findings import Edit
from lsp_server.core.text import Encoding, TextBuffer


def encoding_of(name: str) -> Encoding:
    return cast(Encoding, name if name in ("utf-8", "utf-16", "utf-32") else "utf-16")


def to_byte(buf: TextBuffer, position: types.Position, encoding: str) -> int:
    return buf.offset_at(position.line, position.character, encoding_of(encoding))


def to_position(buf: TextBuffer, offset: int, encoding: str) -> types.Position:
    line, character = buf.position_at(offset, encoding_of(encoding))
    return types.Position(line=line, character=character)


def text_edits(buf: TextBuffer, edits: list[Edit] | tuple[Edit, ...], encoding: str) -> list[types.TextEdit]:
    """Engine edits (rows and byte columns of ``buf``) as LSP text edits in the client's encoding."""
    return [
        types.TextEdit(
            range=types.Range(
                start=to_position(buf, buf.line_start(e.span.start_line) + e.span.start_col, encoding),
                end=to_position(buf, buf.line_start(e.span.end_line) + e.span.end_col, encoding),
            ),
            new_text=e.new_text,
        )
        for e in edits
    ]


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
