"""One open document: a TextBuffer plus its tree-sitter tree, kept in step incrementally.

Edits are applied to the buffer and to the tree (``Tree.edit``) immediately; the
reparse is lazy and happens on the next access of ``tree``, so a burst of keystrokes
costs one incremental reparse. Trees handed out by ``tree`` are never mutated later
(the first edit after a parse edits a copy), so a caller may keep one as a snapshot.

Each reparse appends a ``TreeDelta`` to a short history, which lets derived caches
(the ``Outline`` of imports and definitions) update only the changed ranges.

Not thread-safe: the protocol layer serialises access to a document.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import tree_sitter

from ..core.text import ByteEdit, Encoding, TextBuffer, tree_bytes
from .languages import LanguageRegistry, LanguageSpec
from .outline import Outline

_HISTORY = 256  # reparses an Outline can lag behind before it rebuilds from scratch


@dataclass(frozen=True, slots=True)
class TreeDelta:
    """What changed between tree ``version - 1`` and tree ``version``."""

    version: int
    edits: tuple[ByteEdit, ...]           # in order, each in the coordinates after the previous
    changed: tuple[tuple[int, int], ...]  # tree-sitter changed_ranges, new-tree bytes
    reset: bool                           # a fresh full parse: nothing carries over


class SyntaxDocument:
    """A TextBuffer plus its tree-sitter tree, kept in step incrementally.

    ``spec`` is None for plain text, including a language whose grammar failed to load.
    """

    def __init__(self, text: str, spec: LanguageSpec | None, registry: LanguageRegistry) -> None:
        self.buffer = TextBuffer(text)
        self.registry = registry
        self._parser = registry.parser(spec) if spec is not None else None
        self.spec: LanguageSpec | None = spec if self._parser is not None else None
        self._tree: tree_sitter.Tree | None = None
        self._stale = self._parser is not None
        self._owned = False  # whether self._tree is a private copy we may edit
        self._pending: list[ByteEdit] = []
        self._version = 0
        self._history: deque[TreeDelta] = deque(maxlen=_HISTORY)
        self._outline: Outline | None = None

    # -- editing -------------------------------------------------------------------
    def apply_change(
        self,
        start: tuple[int, int] | None,
        end: tuple[int, int] | None,
        new_text: str,
        encoding: Encoding,
    ) -> ByteEdit | None:
        """Apply one LSP content change (``start``/``end`` None = full replacement); the
        edit as applied (None for a full replacement)."""
        if start is None or end is None:
            self.buffer.replace(0, len(self.buffer.data), new_text)
            self._tree, self._owned, self._pending = None, False, []
            self._stale = self._parser is not None
            return None
        edit = self.buffer.apply_change(start, end, new_text, encoding)
        if self._parser is None:
            return edit
        if self._tree is not None:
            if not self._owned:
                self._tree, self._owned = self._tree.copy(), True
            self._tree.edit(
                start_byte=edit.start_byte,
                old_end_byte=edit.old_end_byte,
                new_end_byte=edit.new_end_byte,
                start_point=edit.start_point,
                old_end_point=edit.old_end_point,
                new_end_point=edit.new_end_point,
            )
        self._pending.append(edit)
        self._stale = True
        return edit

    # -- trees ---------------------------------------------------------------------
    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The current tree (None for plain text); reparses incrementally if edits are pending."""
        if self._stale and self._parser is not None:
            self._reparse()
        return self._tree

    @property
    def version(self) -> int:
        """Tree version: bumped by every (re)parse. Read ``tree`` first to bring it up to date."""
        return self._version

    def full_parse(self) -> tree_sitter.Tree | None:
        """A fresh full parse of the current text (for tests/validation); leaves state alone."""
        if self._parser is None:
            return None
        return self._parser.parse(self.buffer.tree_data)

    def parse_bytes(self, data: bytes, old_tree: tree_sitter.Tree | None = None) -> tree_sitter.Tree | None:
        """Parse other bytes with this document's parser (e.g. a candidate insertion)."""
        if self._parser is None:
            return None
        if old_tree is None:
            return self._parser.parse(tree_bytes(data))
        return self._parser.parse(tree_bytes(data), old_tree=old_tree)

    def deltas_since(self, version: int) -> list[TreeDelta] | None:
        """The deltas that lead from tree ``version`` to the current one, or None if they
        are no longer known (too old, or a full reparse happened since)."""
        if version == self._version:
            return []
        wanted = []
        for delta in reversed(self._history):  # newest first: stop at the first known one
            if delta.version <= version:
                break
            wanted.append(delta)
        wanted.reverse()
        if not wanted or wanted[0].version != version + 1 or any(d.reset for d in wanted):
            return None
        return wanted

    @property
    def outline(self) -> Outline:
        """The document's imports/definitions index, updated lazily from tree deltas."""
        if self._outline is None:
            self._outline = Outline(self)
        return self._outline

    def _reparse(self) -> None:
        old = self._tree
        data = self.buffer.tree_data
        if old is None:
            new = self._parser.parse(data)
            changed: tuple[tuple[int, int], ...] = ()
        else:
            new = self._parser.parse(data, old_tree=old)
            changed = tuple((r.start_byte, r.end_byte) for r in old.changed_ranges(new))
        self._version += 1
        self._history.append(TreeDelta(self._version, tuple(self._pending), changed, old is None))
        self._tree, self._owned, self._pending, self._stale = new, False, [], False
