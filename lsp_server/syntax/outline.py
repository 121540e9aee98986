"""A document's file-level imports and its definitions table, maintained incrementally.

The first use runs the "imports" and "definitions" queries over the whole tree (a few
ms on a large file, once per open). After that, each refresh replays the document's
``TreeDelta``s: entries touching an edit or a tree-sitter changed range are dropped,
and only those ranges (widened to whole lines) are re-queried with
``QueryCursor.set_byte_range``. Entries live in ``SpanIndex``es, which move the entries
after an edit lazily (one shift per block of entries), and a per-name index is kept in
step, so a keystroke costs work proportional to the edit, not to the file.

Entries store byte offsets only; texts are sliced from the buffer on demand.
"""

from __future__ import annotations

import textwrap
from bisect import bisect_right
from collections.abc import Collection, Iterator, KeysView, Mapping
from typing import TYPE_CHECKING

import tree_sitter

from ..core.text import ByteEdit, as_lf
from .definitions import (
    Definition,
    ImportSpan,
    Span,
    definition_key,
    query_defs,
    query_imports,
    span_key,
)
from .spans import Entry, SpanIndex

if TYPE_CHECKING:
    from .document import SyntaxDocument

__all__ = ["Definition", "Outline"]

_SIGNATURE_MAX_BYTES = 800


class _ByName(Mapping[str, list[Definition]]):
    """Read-only view: name -> that name's definitions in file order (resolved on access)."""

    def __init__(self, names: dict[str, list[Entry[Definition]]]) -> None:
        self._names = names

    def __getitem__(self, name: str) -> list[Definition]:
        return [entry.item() for entry in self._names[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def keys(self) -> KeysView[str]:
        return self._names.keys()


class Outline:
    """File-level imports and definitions of one SyntaxDocument (not thread-safe)."""

    def __init__(self, doc: SyntaxDocument) -> None:
        self._doc = doc
        self._version = -1
        self._imports: SpanIndex[ImportSpan] = SpanIndex(span_key)
        self._defs: SpanIndex[Definition] = SpanIndex(definition_key)
        self._names: dict[str, list[Entry[Definition]]] = {}  # each list in file order
        self._import_texts: list[str] | None = None
        self._all: list[Definition] | None = None

    # -- public --------------------------------------------------------------------
    def imports(self) -> list[str]:
        """File-level import statements (text), in file order."""
        self.refresh()
        if self._import_texts is None:
            data = self._doc.buffer.data
            self._import_texts = [
                data[s:e].decode("utf-8", errors="replace").rstrip() for s, e in self._imports.items()
            ]
        return list(self._import_texts)

    def definitions(self) -> list[Definition]:
        """All definitions, in file order."""
        self.refresh()
        if self._all is None:
            self._all = self._defs.items()
        return self._all

    def by_name(self) -> Mapping[str, list[Definition]]:
        """Definitions grouped by name (each list in file order); a read-only view that
        resolves a name's definitions when it is looked up."""
        self.refresh()
        return _ByName(self._names)

    def names(self) -> KeysView[str]:
        """The defined names (a live view)."""
        self.refresh()
        return self._names.keys()

    def first_definitions(self, name: str, limit: int, exclude: Collection[int] = ()) -> list[Definition]:
        """Up to ``limit`` definitions of ``name`` in file order, skipping those whose
        ``node_start`` is in ``exclude``; resolves only what it returns (and skips)."""
        self.refresh()
        found: list[Definition] = []
        for entry in self._names.get(name, ()):
            if len(found) >= limit:
                break
            definition = entry.item()
            if definition.node_start not in exclude:
                found.append(definition)
        return found

    def overlapping(self, lo: int, hi: int) -> list[Definition]:
        """Definitions intersecting the byte range ``(lo, hi)``, in file order."""
        self.refresh()
        return [entry.item() for entry in self._defs.overlapping(lo, hi)]

    def signature(self, definition: Definition) -> str:
        """The definition's header line(s), dedented; brace languages lose the ``{``."""
        buffer = self._doc.buffer
        begin = buffer.line_start(buffer.row_of_byte(definition.start))
        if any(ch in buffer.data[begin : definition.start] for ch in b"{};"):
            begin = definition.start  # several definitions share this line
        end = min(definition.sig_end, begin + _SIGNATURE_MAX_BYTES)
        text = textwrap.dedent(as_lf(buffer.slice(begin, end))).rstrip()  # dedent reads "\n" breaks only
        spec = self._doc.spec
        if spec is not None and spec.brace_language and text.endswith("{") and end == definition.sig_end:
            text = text[:-1].rstrip()
        return text

    def refresh(self) -> None:
        """Bring the tables up to date with the document's current tree."""
        doc = self._doc
        tree = doc.tree
        if tree is None or doc.spec is None:
            if self._version != doc.version or len(self._defs) or len(self._imports):
                self._reset([], [])
            self._version = doc.version
            return
        if self._version == doc.version:
            return
        deltas = doc.deltas_since(self._version) if self._version >= 0 else None
        if deltas is None:
            root = tree.root_node
            self._reset(query_imports(doc, root, None), query_defs(doc, root, None))
        else:
            self._update(tree.root_node, deltas)
        self._version = doc.version

    # -- incremental update ----------------------------------------------------------
    def _reset(self, imports: list[ImportSpan], defs: list[Definition]) -> None:
        self._imports.reset(set(imports))
        self._names = {}
        for entry in self._defs.reset(defs):
            self._names.setdefault(entry.stored.name, []).append(entry)
        self._import_texts = self._all = None

    def _update(self, root: tree_sitter.Node, deltas: list) -> None:
        imports, defs = self._imports, self._defs
        dirty: list[Span] = []
        for delta in deltas:
            for edit in delta.edits:
                if imports.apply_edit(edit.start_byte, edit.old_end_byte, edit.new_end_byte):
                    self._import_texts = None
                self._forget(defs.apply_edit(edit.start_byte, edit.old_end_byte, edit.new_end_byte))
                dirty = [_shift_span(span, edit) for span in dirty]
                dirty.append((edit.start_byte, edit.new_end_byte))
            dirty.extend(delta.changed)
        self._all = None
        ranges = self._whole_lines(dirty)
        for lo, hi in ranges:
            if imports.overlapping(lo, hi, remove=True):
                self._import_texts = None
            self._forget(defs.overlapping(lo, hi, remove=True))
        found: dict[int, Definition] = {}
        for lo, hi in ranges:
            for span in query_imports(self._doc, root, (lo, hi)):
                if imports.find(span) is None:
                    imports.insert(span)
                    self._import_texts = None
            for definition in query_defs(self._doc, root, (lo, hi)):
                known = found.get(definition.name_start)
                if known is None or definition.start <= known.start:
                    found[definition.name_start] = definition
        for definition in found.values():
            self._add(definition)

    def _add(self, definition: Definition) -> None:
        """Insert a re-queried definition; for one name token the widest wins (on a tie,
        the fresh one), as in a full rebuild."""
        defs = self._defs
        at = definition.name_start
        for entry in defs.overlapping(at, at + 1):
            known = entry.item()
            if known.name_start == at:
                if known.start < definition.start:
                    return
                defs.remove(entry)
                self._forget([entry])
        entry = defs.insert(definition)
        same_name = self._names.setdefault(definition.name, [])
        index = bisect_right(same_name, definition_key(definition), key=defs.entry_key)
        same_name.insert(index, entry)

    def _forget(self, entries: list[Entry[Definition]]) -> None:
        """Drop removed entries from the per-name index."""
        for entry in entries:
            name = entry.stored.name
            same_name = self._names[name]
            same_name.remove(entry)
            if not same_name:
                del self._names[name]

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


def _shift_span(span: Span, edit: ByteEdit) -> Span:
    """Move a dirty span across an edit; a span touching the edit is stretched to
    cover the edit's new text."""
    lo, hi = span
    delta = edit.new_end_byte - edit.old_end_byte
    if hi < edit.start_byte:
        return span
    if lo > edit.old_end_byte:
        return lo + delta, hi + delta
    return min(lo, edit.start_byte), max(edit.new_end_byte, hi + delta)
