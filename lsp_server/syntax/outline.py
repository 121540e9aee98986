"""A document's file-level imports and its definitions table, maintained incrementally.

The tables are filled by the "imports" and "definitions" queries, one byte range
(``QueryCursor.set_byte_range``) of at most ``CHUNK_BYTES`` at a time; querying a range
replaces the entries that intersect it. The first use queues the whole file; after
that, each refresh replays the document's ``TreeDelta``s: entries touching an edit are
dropped, and the edits and tree-sitter's changed ranges (widened to whole lines,
within limits) are queued (a delta whose changes are unknown queues the whole file,
keeping the entries, moved across the edits, until their ranges are queried again).
Entries live in ``SpanIndex``es, which move the entries after an edit lazily (one
shift per block of entries), and a per-name index is kept in step, so a keystroke
costs work proportional to the edit, not to the file.

Readers spend the document's ``budget.outline_s`` on the queue once per tree version
and leave the rest; the background task that finishes parses calls ``refresh`` with
a deadline of its own and always finishes at least one range, so the queue drains
(a range's queries cost time bounded by its size, ``definitions.run_query``: a few
milliseconds for ``CHUNK_BYTES`` even of pathological input). The tables may lag for
a while after a big change. While the document's parse lags behind its text, the
tables are not shown (they would not match the text) but kept for the incremental
update.

Entries store byte offsets only; texts are sliced from the buffer on demand.
"""

from __future__ import annotations

import textwrap
import weakref
from bisect import bisect_right
from collections.abc import Collection, Iterator, KeysView, Mapping, Sequence
from typing import TYPE_CHECKING

import tree_sitter

from lsp_server.core.text import ByteEdit, as_lf
from lsp_server.syntax.budget import Deadline
from lsp_server.syntax.definitions import (
    Definition,
    ImportSpan,
    Span,
    query_defs,
    query_imports,
)
from lsp_server.syntax.spans import Entry, SpanIndex

if TYPE_CHECKING:
    from lsp_server.syntax.document import SyntaxDocument

__all__ = ["Definition", "Outline"]

_SIGNATURE_MAX_BYTES = 800
CHUNK_BYTES = 4 * 1024  # query range per step (well under a millisecond on ordinary code)
FORCED_S = 0.010  # what a background slice may spend on one range before the range is cut in two
_FORCED_MIN_BYTES = 256  # a range this small is finished in one go (its queries cost little)
_WIDEN_MAX = 512  # dirty ranges widen to whole lines, but by at most this many bytes
_Named = Entry[Definition] | list[Entry[Definition]]  # a name's definitions (see ``Outline._names``)


class _ByName(Mapping[str, list[Definition]]):
    """Read-only view: name -> that name's definitions in file order (resolved on access)."""

    def __init__(self, names: dict[str, _Named]) -> None:
        self._names = names

    def __getitem__(self, name: str) -> list[Definition]:
        return [entry.item() for entry in _listed(self._names[name])]

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
        # a weak reference: the document owns its outline, and a cycle between them left a
        # closed document (and its tree: 60 ms of C to free for 4 MB) to a full garbage
        # collection, which then held the event loop for 100-190 ms at a random later time
        self._doc: SyntaxDocument = weakref.proxy(doc)
        self._version = -1
        self._imports: SpanIndex[ImportSpan] = SpanIndex(ImportSpan, ("start", "end"))
        self._defs: SpanIndex[Definition] = SpanIndex(Definition, ("start", "name_start"))
        # name -> its definitions in file order: the entry itself while a name has one (most
        # do; a list per name would double what a full garbage collection visits)
        self._names: dict[str, _Named] = {}
        self._import_texts: list[str] | None = None
        self._all: list[Definition] | None = None
        self._todo: list[Span] = []  # byte ranges still to query (current coordinates), sorted
        self._worked = -1  # the tree version readers last spent a budget on

    @property
    def complete(self) -> bool:
        """Whether every range of the current tree has been queried (at once for plain
        text, which has no tree to query)."""
        doc = self._doc
        return not self._todo and not doc.parsing and (self._version == doc.version or doc.spec is None)

    # -- public --------------------------------------------------------------------
    def imports(self) -> list[str]:
        """File-level import statements (text), in file order."""
        if not self.refresh():
            return []
        if self._import_texts is None:
            data = self._doc.buffer.data
            self._import_texts = [
                data[s:e].decode("utf-8", errors="replace").rstrip() for s, e in self._imports.items()
            ]
        return list(self._import_texts)

    def definitions(self) -> list[Definition]:
        """All definitions, in file order."""
        if not self.refresh():
            return []
        if self._all is None:
            self._all = self._defs.items()
        return self._all

    def by_name(self) -> Mapping[str, list[Definition]]:
        """Definitions grouped by name (each list in file order); a read-only view that
        resolves a name's definitions when it is looked up."""
        return _ByName(self._names if self.refresh() else {})

    def names(self) -> KeysView[str]:
        """The defined names (a live view)."""
        return self._names.keys() if self.refresh() else {}.keys()

    def first_definitions(self, name: str, limit: int, exclude: Collection[int] = ()) -> list[Definition]:
        """Up to ``limit`` definitions of ``name`` in file order, skipping those whose
        ``node_start`` is in ``exclude``; resolves only what it returns (and skips)."""
        if not self.refresh():
            return []
        found: list[Definition] = []
        for entry in _listed(self._names.get(name, ())):
            if len(found) >= limit:
                break
            definition = entry.item()
            if definition.node_start not in exclude:
                found.append(definition)
        return found

    def overlapping(self, lo: int, hi: int) -> list[Definition]:
        """Definitions intersecting the byte range ``(lo, hi)``, in file order."""
        if not self.refresh():
            return []
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

    def refresh(self, deadline: Deadline | None = None) -> bool:
        """Bring the tables up to date with the document's current tree, querying until
        ``deadline`` (and at least one range). Without one (the readers below), query
        for the document's ``budget.outline_s`` once per tree version. False when there
        is nothing to show: plain text, or a parse still catching up."""
        doc = self._doc
        tree = doc.tree
        if tree is None or doc.spec is None:
            if not doc.parsing:  # plain text: nothing to show, nothing to keep
                if self._version != doc.version or len(self._defs) or len(self._imports) or self._todo:
                    self._reset([], [])
                    self._todo = []
                self._version = doc.version
            return False
        if self._version != doc.version:
            deltas = doc.deltas_since(self._version) if self._version >= 0 else None
            if deltas is None:
                self._reset([], [])
                self._todo = []
                self._queue(doc.covered())
            else:
                self._update(deltas)
            self._version = doc.version
        if self._todo and deadline is not None:  # background work: some progress whatever the time
            self._work(tree.root_node, deadline, force=True)
        elif self._todo and self._worked != doc.version:  # a reader: one budget per tree version
            self._worked = doc.version
            self._work(tree.root_node, Deadline(doc.budget.outline_s), force=False)
        return True

    # -- incremental update ----------------------------------------------------------
    def _reset(self, imports: list[ImportSpan], defs: list[Definition]) -> None:
        self._imports.reset(set(imports))
        self._names = {}
        for entry in self._defs.reset(defs):
            self._name(entry.item().name, entry)
        self._import_texts = self._all = None

    def _update(self, deltas: list) -> None:
        """Move the tables and the queue across ``deltas``; drop what the edits touched
        and queue what they (and the changed ranges) cover."""
        imports, defs = self._imports, self._defs
        queued: list[Span] = list(self._todo)  # whole lines already: moved, not widened again
        dirty: list[Span] = []
        covered = self._doc.covered()  # (a large file's tree covers a window: nothing to find elsewhere)
        for delta in deltas:
            for edit in delta.edits:
                if imports.apply_edit(edit.start_byte, edit.old_end_byte, edit.new_end_byte):
                    self._import_texts = None
                self._forget(defs.apply_edit(edit.start_byte, edit.old_end_byte, edit.new_end_byte))
                queued = [_shift_span(span, edit) for span in queued]
                dirty = [_shift_span(span, edit) for span in dirty]
                dirty.append((edit.start_byte, edit.new_end_byte))
            dirty.extend(delta.changed if delta.changed is not None else covered)
        self._all = None
        self._todo = []
        self._queue(self._whole_lines(dirty, queued))

    def _queue(self, ranges: list[Span]) -> None:
        """Add ``ranges`` (sorted, disjoint) to the queue, cut into ``CHUNK_BYTES`` pieces."""
        for lo, hi in ranges:
            while hi - lo > CHUNK_BYTES:
                self._todo.append((lo, lo + CHUNK_BYTES))
                lo += CHUNK_BYTES
            self._todo.append((lo, hi))
        self._todo.sort()

    def _work(self, root: tree_sitter.Node, deadline: Deadline, *, force: bool) -> None:
        """Query queued ranges until the queue is empty or ``deadline`` has passed. With
        ``force`` the first range makes progress whatever the time: it gets ``FORCED_S`` of
        its own, and one that needs longer (in an ERROR node of 60,000 children a range
        takes one ranged query per error-free run, up to 50 ms in all) is cut in two for
        the next slices, down to ``_FORCED_MIN_BYTES``, which is finished in one go."""
        doc = self._doc
        imports = self._imports
        first = force
        while self._todo and (first or not deadline.expired()):
            span = self._todo[0]
            small = span[1] - span[0] <= _FORCED_MIN_BYTES
            limit = (None if small else Deadline(FORCED_S)) if first else deadline
            forced, first = first, False
            found_imports = query_imports(doc, root, span, limit)
            found_defs = query_defs(doc, root, span, limit) if found_imports is not None else None
            if found_imports is None or found_defs is None:
                if forced:  # too big for one slice: halves, the first of which the next slice takes
                    middle = (span[0] + span[1]) // 2
                    self._todo[0:1] = [(span[0], middle), (middle, span[1])]
                return  # out of time: this range comes first next time
            del self._todo[0]
            if imports.overlapping(span[0], span[1], remove=True):
                self._import_texts = None
            removed = self._defs.overlapping(span[0], span[1], remove=True)
            if removed:
                self._forget(removed)
                self._all = None
            for item in found_imports:
                if imports.find(item) is None:
                    imports.insert(item)
                    self._import_texts = None
            found: dict[int, Definition] = {}
            for definition in found_defs:
                known = found.get(definition.name_start)
                if known is None or definition.start <= known.start:
                    found[definition.name_start] = definition
            if found:
                self._all = None
            for definition in found.values():
                self._add(definition)

    def _add(self, definition: Definition) -> None:
        """Insert a re-queried definition. No entry for its name token is left: its range
        was cleared first, and any version of the definition intersects that range (the
        widest per name token was picked among the range's matches)."""
        self._name(definition.name, self._defs.insert(definition))

    def _name(self, name: str, entry: Entry[Definition]) -> None:
        """Add ``entry`` to the per-name index, in file order."""
        known = self._names.get(name)
        if known is None:
            self._names[name] = entry
            return
        same_name = known if isinstance(known, list) else [known]
        index = bisect_right(same_name, self._defs.entry_key(entry), key=self._defs.entry_key)
        same_name.insert(index, entry)
        self._names[name] = same_name

    def _forget(self, entries: list[Entry[Definition]]) -> None:
        """Drop removed entries from the per-name index."""
        for entry in entries:
            name = entry.stored.name
            same_name = self._names[name]
            if not isinstance(same_name, list):
                del self._names[name]
                continue
            same_name.remove(entry)
            if len(same_name) == 1:
                self._names[name] = same_name[0]

    def _whole_lines(self, spans: list, widened_already: Sequence[Span] = ()) -> list[Span]:
        """Spans widened to whole lines (by at most ``_WIDEN_MAX`` bytes each way, plus
        one byte of slack) and merged, with ``widened_already`` (merged as they are)."""
        buffer = self._doc.buffer
        size = len(buffer.data)
        widened = []
        for lo, hi in spans:
            lo, hi = max(0, min(lo, size)), max(0, min(hi, size))
            start = max(lo - _WIDEN_MAX, buffer.line_start(buffer.row_of_byte(lo)))
            end = min(hi + _WIDEN_MAX, buffer.line_end(buffer.row_of_byte(hi), keep_newline=True))
            widened.append((start, end))
        size_ok = [(max(0, min(lo, size)), max(0, min(hi, size))) for lo, hi in widened_already]
        widened.extend(span for span in size_ok if span[1] > span[0])
        widened.sort()
        merged: list[list[int]] = []
        for lo, hi in widened:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return [(max(0, lo - 1), min(size, hi + 1)) for lo, hi in merged]


def _listed(named: _Named | tuple[()]) -> list[Entry[Definition]] | tuple[Entry[Definition], ...]:
    """A per-name index value as a sequence of entries."""
    return named if isinstance(named, list | tuple) else (named,)


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
