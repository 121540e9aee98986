"""A document's file-level imports and its definitions table, maintained incrementally.

The first use runs the "imports" and "definitions" queries over the whole tree (a few
ms on a large file, once per open). After that, each refresh replays the document's
``TreeDelta``s: entries after an edit are shifted, entries touching an edit or a
tree-sitter changed range are dropped, and only those ranges (widened to whole lines)
are re-queried with ``QueryCursor.set_byte_range``. So a keystroke costs work
proportional to the edit, not to the file.

Entries store byte offsets only; texts are sliced from the buffer on demand.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from typing import TYPE_CHECKING, NamedTuple

import tree_sitter

from ..core.text import ByteEdit
from .nodes import ancestors, header_end

if TYPE_CHECKING:
    from .document import SyntaxDocument

_FULL_TEXT_MAX_LINES = 12
_NO_BODY_MAX_LINES = 6
_SIGNATURE_MAX_BYTES = 800


class Definition(NamedTuple):
    """One same-file definition (function, method, class, struct, type...)."""

    name: str
    start: int       # start of the signature (decorators included)
    end: int         # end of the definition
    node_start: int  # start of the definition node proper (matches scope nodes)
    name_start: int  # start of the name token
    sig_end: int     # end of the signature text

    def shifted(self, delta: int) -> Definition:
        return Definition(
            self.name, self.start + delta, self.end + delta, self.node_start + delta,
            self.name_start + delta, self.sig_end + delta,
        )


Span = tuple[int, int]


class Outline:
    """File-level imports and definitions of one SyntaxDocument (not thread-safe)."""

    def __init__(self, doc: SyntaxDocument) -> None:
        self._doc = doc
        self._version = -1
        self._imports: list[Span] = []
        self._defs: list[Definition] = []
        self._by_name: dict[str, list[Definition]] | None = None

    # -- public --------------------------------------------------------------------
    def imports(self) -> list[str]:
        """File-level import statements (text), in file order."""
        self.refresh()
        data = self._doc.buffer.data
        return [data[s:e].decode("utf-8", errors="replace").rstrip() for s, e in self._imports]

    def definitions(self) -> list[Definition]:
        """All definitions, in file order."""
        self.refresh()
        return self._defs

    def by_name(self) -> dict[str, list[Definition]]:
        """Definitions grouped by name (each list in file order)."""
        self.refresh()
        if self._by_name is None:
            index: dict[str, list[Definition]] = {}
            for definition in self._defs:
                index.setdefault(definition.name, []).append(definition)
            self._by_name = index
        return self._by_name

    def signature(self, definition: Definition) -> str:
        """The definition's header line(s), dedented; brace languages lose the ``{``."""
        buffer = self._doc.buffer
        begin = buffer.line_start(buffer.row_of_byte(definition.start))
        if any(ch in buffer.data[begin : definition.start] for ch in b"{};"):
            begin = definition.start  # several definitions share this line
        end = min(definition.sig_end, begin + _SIGNATURE_MAX_BYTES)
        text = textwrap.dedent(buffer.slice(begin, end)).rstrip()
        spec = self._doc.spec
        if spec is not None and spec.brace_language and text.endswith("{") and end == definition.sig_end:
            text = text[:-1].rstrip()
        return text

    def refresh(self) -> None:
        """Bring the tables up to date with the document's current tree."""
        doc = self._doc
        tree = doc.tree
        if tree is None or doc.spec is None:
            self._imports, self._defs, self._by_name, self._version = [], [], None, doc.version
            return
        if self._version == doc.version:
            return
        deltas = doc.deltas_since(self._version) if self._version >= 0 else None
        if deltas is None:
            self._imports = sorted(set(self._query_imports(tree.root_node, None)))
            self._defs = sorted(self._query_defs(tree.root_node, None), key=_file_order)
        else:
            self._update(tree.root_node, deltas)
        self._by_name = None
        self._version = doc.version

    # -- incremental update ----------------------------------------------------------
    def _update(self, root: tree_sitter.Node, deltas: list) -> None:
        imports, defs, dirty = self._imports, self._defs, []
        for delta in deltas:
            for edit in delta.edits:
                imports = [s for s in (_shift_span(span, edit) for span in imports) if s]
                defs = _shift_defs(defs, edit)
                dirty = [_shift_span(span, edit, keep=True) for span in dirty]
                dirty.append((edit.start_byte, edit.new_end_byte))
            dirty.extend(delta.changed)
        ranges = self._whole_lines(dirty)
        if not ranges:
            self._imports, self._defs = imports, defs
            return
        imports = [s for s in imports if not _touches(s, ranges)]
        defs = [d for d in defs if not _touches((d.start, d.end), ranges)]
        for lo, hi in ranges:
            imports.extend(self._query_imports(root, (lo, hi)))
            defs.extend(self._query_defs(root, (lo, hi)))
        self._imports = sorted(set(imports))
        unique = {d.name_start: d for d in sorted(defs, key=lambda d: -d.start)}
        self._defs = sorted(unique.values(), key=_file_order)

    def _whole_lines(self, spans: list) -> list[Span]:
        """Spans widened to whole lines (plus one byte of slack) and merged."""
        buffer = self._doc.buffer
        size = len(buffer.data)
        widened = sorted(
            (buffer.line_start(buffer.row_of_byte(max(0, min(lo, size)))),
             buffer.line_end(buffer.row_of_byte(max(0, min(hi, size))), keep_newline=True))
            for lo, hi in spans
        )
        merged: list[list[int]] = []
        for lo, hi in widened:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return [(max(0, lo - 1), min(size, hi + 1)) for lo, hi in merged]

    # -- queries -------------------------------------------------------------------
    def _matches(self, kind: str, root: tree_sitter.Node, span: Span | None) -> list:
        doc = self._doc
        query = doc.registry.query(doc.spec, kind)
        if query is None:
            return []
        cursor = tree_sitter.QueryCursor(query)
        if span is not None:
            cursor.set_byte_range(span[0], span[1])
        return cursor.matches(root)

    def _query_imports(self, root: tree_sitter.Node, span: Span | None) -> list[Span]:
        local = self._doc.registry.data(self._doc.spec).local_types
        found = []
        for _, captures in self._matches("imports", root, span):
            for node in captures.get("import", ()):
                parents = ancestors(node.parent)
                if not any(parent.type in local for parent in parents):
                    found.append((node.start_byte, node.end_byte))
        return found

    def _query_defs(self, root: tree_sitter.Node, span: Span | None) -> list[Definition]:
        data = self._doc.registry.data(self._doc.spec)
        python = not self._doc.spec.brace_language
        source = self._doc.buffer.data
        found: dict[int, Definition] = {}
        for _, captures in self._matches("definitions", root, span):
            outer, name = captures.get("def", [None])[0], captures.get("name", [None])[0]
            if outer is None or name is None:
                continue
            inner = outer
            if outer.type == "decorated_definition":
                inner = outer.child_by_field_name("definition") or outer
            sig_end = _signature_end(inner, python, inner.type in data.full_text_types, source)
            candidate = Definition(
                name.text.decode("utf-8", errors="replace"), outer.start_byte, outer.end_byte,
                inner.start_byte, name.start_byte, sig_end,
            )
            known = found.get(candidate.name_start)
            if known is None or candidate.start < known.start:
                found[candidate.name_start] = candidate
        return list(found.values())


def _file_order(definition: Definition) -> tuple[int, int]:
    return definition.start, definition.name_start


def _signature_end(node: tree_sitter.Node, python: bool, full_text: bool, data: bytes) -> int:
    """Where a definition's signature text ends: the whole node for short record-like
    definitions, else the end of the header, else (no body) the node or its first line."""
    lines = node.end_point[0] - node.start_point[0] + 1
    if full_text and lines <= _FULL_TEXT_MAX_LINES:
        return node.end_byte
    end = header_end(node, python)
    if end is not None:
        return end
    if lines <= _NO_BODY_MAX_LINES:
        return node.end_byte
    newline = data.find(b"\n", node.start_byte, node.end_byte)
    return newline if newline >= 0 else node.end_byte


def _shift_span(span: Span, edit: ByteEdit, keep: bool = False) -> Span | None:
    """Move a span across an edit; a span touching the edit is dropped (or, with
    ``keep``, stretched to cover the edit's new text)."""
    lo, hi = span
    delta = edit.new_end_byte - edit.old_end_byte
    if hi < edit.start_byte:
        return span
    if lo > edit.old_end_byte:
        return lo + delta, hi + delta
    if not keep:
        return None
    return min(lo, edit.start_byte), max(edit.new_end_byte, hi + delta)


def _shift_defs(defs: list[Definition], edit: ByteEdit) -> list[Definition]:
    """Move definitions (sorted by start) across an edit, dropping those it touches."""
    cut = bisect_right(defs, edit.old_end_byte, key=lambda d: d.start)
    start = edit.start_byte
    kept = [d for d in defs[:cut] if d.end < start]
    delta = edit.new_end_byte - edit.old_end_byte
    if delta:
        kept.extend(d.shifted(delta) for d in defs[cut:])
    else:
        kept.extend(defs[cut:])
    return kept


def _touches(span: Span, ranges: list[Span]) -> bool:
    """Intersection exactly as ``QueryCursor.set_byte_range`` decides it, so whatever is
    dropped here is found again by the range query."""
    lo, hi = span
    return any(lo < r_hi and hi > r_lo for r_lo, r_hi in ranges)
