"""A document's text as UTF-8 bytes with a line index, and position arithmetic.

This is the one place that converts client positions (line + character in UTF-8,
UTF-16 or UTF-32 code units) to byte offsets and tree-sitter points (row, byte
column), and back. It also applies incremental edits and reports them in the form
tree-sitter's ``Tree.edit`` wants, so the syntax mirror never re-splits the file.

Lines end where LSP says they do: at ``\\n``, ``\\r\\n`` or a lone ``\\r``. Positions past
the end of a line's content clamp to before its line break. Tree-sitter counts rows
at ``\\n`` only, so a text with lone ``\\r`` is parsed as ``tree_bytes`` (each lone
``\\r`` read as ``\\n``, same length, same offsets): its rows and columns then agree
with the line index here, and so with every LSP position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lsp_server.core.lines import LineIndex, line_starts

Encoding = Literal["utf-8", "utf-16", "utf-32"]

BINARY_PROBE = 8192  # how much of a file's start ``looks_binary`` reads
_REINDEX_BYTES = 64 * 1024  # an edit inserting more than this rebuilds the line index lazily
_LONE_CR = re.compile(rb"\r(?!\n)")
_TEXT_BREAK = re.compile(r"\r\n|\r|\n")


def tree_bytes(data: bytes) -> bytes:
    """``data`` as tree-sitter should read it: each lone ``\\r`` as ``\\n`` (same offsets)."""
    if b"\r" not in data:
        return data
    return _LONE_CR.sub(b"\n", data)


def split_lines(text: str) -> list[str]:
    """``text`` split at LSP line breaks only (not at the form feeds, ``\\x85`` or
    ``\\u2028`` that ``str.splitlines`` also splits at). Unlike ``splitlines``, a text
    ending in a line break ends with an empty line, as LSP counts it. This is the one
    way line numbers are taken from text that is not in a ``TextBuffer``."""
    if "\r" not in text:
        return text.split("\n")
    return _TEXT_BREAK.split(text)


def as_lf(text: str) -> str:
    """``text`` with each line break (``\\r\\n``, lone ``\\r``) written as ``\\n``: the lines of
    ``split_lines``, as a model or a ``"\\n"``-joined list expects them."""
    return "\n".join(split_lines(text)) if "\r" in text else text


def looks_binary(data: bytes | str) -> bool:
    """Whether content is binary rather than text: a NUL in its first ``BINARY_PROBE`` units."""
    probe = data[:BINARY_PROBE]
    return (b"\x00" in probe) if isinstance(probe, bytes) else ("\x00" in probe)


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """One applied edit, in the terms of tree-sitter's ``Tree.edit``."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def _units(text: str, encoding: Encoding) -> int:
    """Length of ``text`` in the client's code units (codec work, no per-character loop)."""
    if encoding == "utf-8":
        return len(text.encode("utf-8", errors="surrogatepass"))
    if encoding == "utf-16" and not text.isascii():
        return len(text.encode("utf-16-le", errors="surrogatepass")) // 2
    return len(text)


def _chars_for_units(text: str, units: int, encoding: Encoding) -> int:
    """How many code points of ``text`` cover ``units`` client code units (clamped; a
    position inside a character counts as before it). Codec work, no per-character loop,
    so a megabyte-long line costs about a millisecond."""
    if encoding == "utf-32" or text.isascii():
        return min(units, len(text))
    if encoding == "utf-16":
        try:
            data = text.encode("utf-16-le")
        except UnicodeEncodeError:  # lone surrogates (from undecodable bytes): one unit each
            return _chars_for_units_slow(text, units)
        end = min(max(units, 0) * 2, len(data))
        if 0 < end < len(data) and 0xDC <= data[end + 1] <= 0xDF and 0xD8 <= data[end - 1] <= 0xDB:
            end -= 2  # inside a surrogate pair
        return len(data[:end].decode("utf-16-le", errors="surrogatepass"))
    data = text.encode("utf-8", errors="surrogatepass")
    end = min(max(units, 0), len(data))
    while 0 < end < len(data) and (data[end] & 0xC0) == 0x80:
        end -= 1  # inside a multi-byte character
    return len(data[:end].decode("utf-8", errors="surrogatepass"))


def _chars_for_units_slow(text: str, units: int) -> int:
    """``_chars_for_units`` for UTF-16 one character at a time (text with lone surrogates)."""
    seen = 0
    for index, ch in enumerate(text):
        if seen >= units:
            return index
        seen += 2 if ord(ch) > 0xFFFF else 1
        if seen > units:
            return index
    return len(text)


class TextBuffer:
    """Mutable UTF-8 text with line starts, cheap incremental edits and conversions."""

    __slots__ = ("_data", "_line_starts", "_text_cache", "_newlines", "_tree_cache")

    def __init__(self, text: str) -> None:
        self._data = text.encode("utf-8", errors="surrogatepass")
        self._line_starts = LineIndex.of(self._data)
        self._newlines = self._data.count(b"\n")
        self._text_cache: str | None = text
        self._tree_cache: bytes | None = None

    # -- reading -----------------------------------------------------------------
    @property
    def data(self) -> bytes:
        """The whole text as UTF-8 bytes (what tree-sitter parses)."""
        return self._data

    @property
    def tree_data(self) -> bytes:
        """The bytes tree-sitter parses: ``data``, with lone ``\\r`` read as ``\\n`` (see ``tree_bytes``)."""
        if len(self._line_starts) - 1 == self._newlines:  # no lone "\r"
            return self._data
        if self._tree_cache is None:
            self._tree_cache = tree_bytes(self._data)
        return self._tree_cache

    @property
    def text(self) -> str:
        """The whole text as a string (decoded lazily, cached until the next edit)."""
        if self._text_cache is None:
            self._text_cache = self._data.decode("utf-8", errors="surrogatepass")
        return self._text_cache

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_start(self, row: int) -> int:
        return self._line_starts[row]

    def line_end(self, row: int, *, keep_newline: bool = False) -> int:
        """Byte offset of the end of ``row``'s content (before ``\\r\\n`` unless kept)."""
        if row + 1 < len(self._line_starts):
            end = self._line_starts[row + 1]
            if keep_newline:
                return end
            end -= 1
            if end > self._line_starts[row] and self._data[end - 1 : end] == b"\r":
                end -= 1
            return end
        end = len(self._data)
        if not keep_newline and end > self._line_starts[row] and self._data[end - 1 : end] == b"\r":
            end -= 1
        return end

    def line_text(self, row: int) -> str:
        """The content of line ``row`` without its line ending."""
        return self._data[self._line_starts[row] : self.line_end(row)].decode(
            "utf-8", errors="surrogatepass"
        )

    def slice(self, start_byte: int, end_byte: int) -> str:
        return self._data[start_byte:end_byte].decode("utf-8", errors="replace")

    def eol(self) -> str:
        """The file's line ending, judged from its first line break."""
        if len(self._line_starts) > 1:
            first = self._line_starts[1] - 1
            if self._data[first : first + 1] == b"\r":
                return "\r"
            if first > 0 and self._data[first - 1 : first] == b"\r":
                return "\r\n"
        return "\n"

    # -- conversions ---------------------------------------------------------------
    def row_of_byte(self, offset: int) -> int:
        """The 0-based line containing byte ``offset``."""
        return self._line_starts.row_of(offset)

    def point_of_byte(self, offset: int) -> tuple[int, int]:
        """Tree-sitter point (row, byte column) of a byte offset."""
        row = self.row_of_byte(offset)
        return row, offset - self._line_starts[row]

    def offset_at(self, line: int, character: int, encoding: Encoding) -> int:
        """Byte offset of a client position; out-of-range positions clamp like LSP says."""
        if line < 0:
            return 0
        if line >= len(self._line_starts):
            return len(self._data)
        start = self._line_starts[line]
        if character <= 0:
            return start
        end = self.line_end(line)
        if encoding == "utf-8":
            offset = min(start + character, end)
            # never split a multi-byte character
            data = self._data
            while start < offset < len(data) and (data[offset] & 0xC0) == 0x80:
                offset -= 1
            return offset
        content = self._data[start:end].decode("utf-8", errors="surrogatepass")
        chars = _chars_for_units(content, character, encoding)
        return start + len(content[:chars].encode("utf-8", errors="surrogatepass"))

    def position_at(self, offset: int, encoding: Encoding) -> tuple[int, int]:
        """Client position (line, character) of a byte offset, clamped like ``offset_at``:
        into the text, to before its line's break, and back to the start of a character."""
        offset = max(0, min(offset, len(self._data)))
        row = self.row_of_byte(offset)
        start = self._line_starts[row]
        offset = min(offset, self.line_end(row))
        data = self._data
        while start < offset < len(data) and (data[offset] & 0xC0) == 0x80:
            offset -= 1
        if encoding == "utf-8":
            return row, offset - start
        head = self._data[start:offset].decode("utf-8", errors="replace")
        return row, _units(head, encoding)

    # -- editing -------------------------------------------------------------------
    def replace(self, start_byte: int, end_byte: int, new_text: str) -> ByteEdit:
        """Replace bytes ``[start_byte, end_byte)`` with ``new_text``; returns the edit."""
        data = self._data
        end_byte = max(start_byte, min(end_byte, len(data)))
        start_point = self.point_of_byte(start_byte)
        old_end_point = self.point_of_byte(end_byte)
        new = new_text.encode("utf-8", errors="surrogatepass")
        self._newlines += new.count(b"\n") - data.count(b"\n", start_byte, end_byte)
        self._data = data = data[:start_byte] + new + data[end_byte:]
        self._text_cache = self._tree_cache = None
        delta = len(new) - (end_byte - start_byte)
        new_end_byte = start_byte + len(new)
        if len(new) > _REINDEX_BYTES:  # a big paste or a whole new text: count lines at C speed
            self._line_starts = LineIndex.of(data)
        else:
            # starts before the edit stand; those after the old end move by delta; in between,
            # a "\r" just before the edit or at its end may now pair with a "\n" (or stop doing so)
            starts = self._line_starts
            first = start_point[0] + (starts[start_point[0]] < start_byte or start_point[0] == 0)
            after = old_end_point[0] + 1  # rows whose start is <= end_byte are recomputed
            starts.splice(first, after, line_starts(data, max(start_byte - 1, 0), new_end_byte), delta)
        new_end_point = self.point_of_byte(new_end_byte)
        return ByteEdit(start_byte, end_byte, new_end_byte, start_point, old_end_point, new_end_point)

    def apply_change(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        new_text: str,
        encoding: Encoding,
    ) -> ByteEdit:
        """Apply an LSP incremental change given as client positions."""
        start_byte = self.offset_at(start[0], start[1], encoding)
        end_byte = self.offset_at(end[0], end[1], encoding)
        if end_byte < start_byte:
            start_byte, end_byte = end_byte, start_byte
        return self.replace(start_byte, end_byte, new_text)
