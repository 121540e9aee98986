"""A sorted collection of byte-positioned items whose positions shift lazily across edits.

``SpanIndex`` keeps items (NamedTuples with ``start``/``end`` byte offsets and a
``shifted(delta)`` method, e.g. ``Definition``) in file order, cut into blocks of a few
dozen. A block stores its items in *block coordinates*: an item's real offsets are its
stored ones plus the block's ``shift``. So an edit costs

* one integer addition per block after the edit (no new objects for the thousands of
  items there),
* a look at each earlier block's largest end (to find the items that enclose the edit),
* and, in the one block straddling the edit, dropping the items the edit touches and
  splitting off (or, if few, rewriting) the items after it.

That is O(blocks + block size) instead of O(items); lookups resolve only the items they
return. Items are handed out as ``Entry`` handles that resolve to the item's current
offsets until the item is removed. Not thread-safe.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any, Generic, Protocol, TypeVar

BLOCK = 64  # target block size: a block splits in two above 2 * BLOCK
SMALL = 8   # a block below this merges into its predecessor; a shorter tail is rewritten

Key = tuple[int, int]
Raw = tuple[Any, ...]


class Spanned(Protocol):
    """What ``SpanIndex`` needs of an item: a NamedTuple with ``start`` and ``end`` byte
    offsets and a ``shifted(delta)`` method."""

    _fields: tuple[str, ...]

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    def shifted(self, delta: int) -> Spanned: ...


T = TypeVar("T", bound=Spanned)


class Entry(Generic[T]):
    """A handle on one stored item; ``item()`` gives it at its current offsets.

    The item is kept as a plain tuple of its fields (``raw``, in block coordinates): the
    garbage collector stops tracking a plain tuple of strings and numbers, but never a
    NamedTuple, and a big file has tens of thousands of entries, each of which a full
    collection would otherwise visit twice while it holds the event loop."""

    __slots__ = ("block", "raw")

    def __init__(self, raw: Raw, block: _Block[T]) -> None:
        self.raw = raw  # in block coordinates
        self.block = block

    @property
    def stored(self) -> T:
        """The item in block coordinates."""
        return self.block.kind._make(self.raw)  # type: ignore[attr-defined, no-any-return]

    def item(self) -> T:
        block = self.block
        stored = block.kind._make(self.raw)  # type: ignore[attr-defined]
        return stored.shifted(block.shift) if block.shift else stored  # type: ignore[no-any-return]


class _Block(Generic[T]):
    __slots__ = ("end_of", "entries", "kind", "max_end", "shift")

    def __init__(self, entries: list[Entry[T]], shift: int, kind: type[T], end_of: itemgetter) -> None:
        self.entries = entries
        self.shift = shift
        self.kind = kind
        self.end_of = end_of
        for entry in entries:
            entry.block = self
        self.max_end = max((end_of(e.raw) for e in entries), default=0)

    def refresh_max_end(self) -> None:
        end_of = self.end_of
        self.max_end = max((end_of(e.raw) for e in self.entries), default=0)


class SpanIndex(Generic[T]):
    """Items of ``kind`` sorted by the two fields ``key`` names (byte offsets, the first
    being ``start``)."""

    def __init__(self, kind: type[T], key: tuple[str, str]) -> None:
        fields = kind._fields
        self._kind = kind
        self._key_of = itemgetter(fields.index(key[0]), fields.index(key[1]))  # Raw -> Key
        self._start_of = itemgetter(fields.index("start"))
        self._end_of = itemgetter(fields.index("end"))
        self._blocks: list[_Block[T]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __del__(self) -> None:
        # An entry and its block point at each other. Unlinked here, the entries go when the
        # index goes (reference counting) instead of waiting for a full garbage collection,
        # which would free tens of thousands of them while it holds the event loop.
        for block in self._blocks:
            block.entries = []

    # -- reading ---------------------------------------------------------------------
    def entries(self) -> Iterator[Entry[T]]:
        """All entries, in key order."""
        for block in self._blocks:
            yield from block.entries

    def items(self) -> list[T]:
        """All items at their current offsets, in key order."""
        return [entry.item() for block in self._blocks for entry in block.entries]

    def entry_key(self, entry: Entry[T]) -> Key:
        """The key of the entry's item at its current offsets (without resolving it)."""
        shift = entry.block.shift
        first, second = self._key_of(entry.raw)
        return first + shift, second + shift

    def find(self, item: T) -> Entry[T] | None:
        """The entry whose key equals ``item``'s, if any."""
        if not self._blocks:
            return None
        key = self._key_of(item)
        block = self._blocks[self._block_for(key)]
        shift = block.shift
        stored_key = (key[0] - shift, key[1] - shift)
        key_of = self._key_of
        index = bisect_left(block.entries, stored_key, key=lambda e: key_of(e.raw))
        if index < len(block.entries) and key_of(block.entries[index].raw) == stored_key:
            return block.entries[index]
        return None

    def overlapping(self, lo: int, hi: int, *, remove: bool = False) -> list[Entry[T]]:
        """Entries whose item intersects ``(lo, hi)``: ``start < hi and end > lo``
        (removed from the index with ``remove``)."""
        start_of, end_of = self._start_of, self._end_of
        found: list[Entry[T]] = []
        for block in self._blocks:
            shift, entries = block.shift, block.entries
            if start_of(entries[0].raw) + shift >= hi:
                break
            if block.max_end + shift <= lo:
                continue
            low, high = lo - shift, hi - shift  # in block coordinates
            hits = [e for e in entries if start_of(e.raw) < high and end_of(e.raw) > low]
            if hits and remove:
                block.entries = [e for e in entries if not (start_of(e.raw) < high and end_of(e.raw) > low)]
                block.refresh_max_end()
            found.extend(hits)
        if remove and found:
            self._size -= len(found)
            self._tidy()
        return found

    # -- writing ---------------------------------------------------------------------
    def reset(self, items: Iterable[T]) -> list[Entry[T]]:
        """Replace the contents with ``items`` (any order); returns their entries."""
        ordered = sorted((tuple(item) for item in items), key=self._key_of)
        entries: list[Entry[T]] = []
        self._blocks = []
        for begin in range(0, len(ordered), BLOCK):
            chunk = [Entry(raw, None) for raw in ordered[begin : begin + BLOCK]]  # type: ignore[arg-type]
            self._blocks.append(self._block(chunk, 0))
            entries.extend(chunk)
        self._size = len(entries)
        return entries

    def insert(self, item: T) -> Entry[T]:
        """Add ``item`` (duplicates are the caller's business)."""
        key = self._key_of(item)
        self._size += 1
        if not self._blocks:
            entry: Entry[T] = Entry(tuple(item), None)  # type: ignore[arg-type]
            self._blocks.append(self._block([entry], 0))
            return entry
        index = self._block_for(key)
        block = self._blocks[index]
        stored = tuple(item.shifted(-block.shift)) if block.shift else tuple(item)
        key_of = self._key_of
        entries = block.entries
        at = bisect_right(entries, key_of(stored), key=lambda e: key_of(e.raw))
        entry = Entry(stored, block)
        entries.insert(at, entry)
        block.max_end = max(block.max_end, self._end_of(stored))
        if len(entries) > 2 * BLOCK:
            self._blocks.insert(index + 1, self._block(entries[BLOCK:], block.shift))
            del entries[BLOCK:]
            block.refresh_max_end()
        return entry

    def remove(self, entry: Entry[T]) -> None:
        """Remove one entry (which must be in the index)."""
        block = entry.block
        block.entries.remove(entry)
        if self._end_of(entry.raw) == block.max_end:
            block.refresh_max_end()
        self._size -= 1
        self._tidy()

    def apply_edit(self, start: int, old_end: int, new_end: int) -> list[Entry[T]]:
        """Follow a text edit: items it touches (``start <= old_end and end >= start``)
        are removed and returned; items after it move by ``new_end - old_end``."""
        delta = new_end - old_end
        blocks = self._blocks
        start_of, end_of = self._start_of, self._end_of
        after = bisect_right(blocks, old_end, key=lambda b: start_of(b.entries[0].raw) + b.shift)
        removed: list[Entry[T]] = []
        for block in blocks[:after]:
            shift = block.shift
            if block.max_end + shift < start:
                continue  # nothing here reaches the edit
            entries = block.entries
            cut = bisect_right(entries, old_end - shift, key=lambda e: start_of(e.raw))
            head = [e for e in entries[:cut] if end_of(e.raw) + shift < start]
            if len(head) < cut:
                removed.extend(e for e in entries[:cut] if end_of(e.raw) + shift >= start)
            tail = entries[cut:]  # non-empty only in the last block before ``after``
            if delta and len(tail) >= SMALL:
                block.entries = head
                blocks.insert(after, self._block(tail, shift))  # moved with the later blocks below
            else:
                if delta:
                    for entry in tail:
                        entry.raw = self._shifted(entry.raw, delta)
                block.entries = head + tail
            block.refresh_max_end()
        if delta:
            for block in blocks[after:]:
                block.shift += delta
        if removed:
            self._size -= len(removed)
        self._tidy()
        return removed

    # -- internals -------------------------------------------------------------------
    def _block(self, entries: list[Entry[T]], shift: int) -> _Block[T]:
        return _Block(entries, shift, self._kind, self._end_of)

    def _shifted(self, raw: Raw, delta: int) -> Raw:
        return tuple(self._kind._make(raw).shifted(delta))  # type: ignore[attr-defined]

    def _block_for(self, key: Key) -> int:
        """Index of the last block whose first key is <= ``key`` (0 if none)."""
        key_of = self._key_of

        def first(block: _Block[T]) -> Key:
            a, b = key_of(block.entries[0].raw)
            return a + block.shift, b + block.shift
        return max(0, bisect_right(self._blocks, key, key=first) - 1)

    def _tidy(self) -> None:
        """Drop empty blocks; merge small ones into their predecessor."""
        blocks = self._blocks
        index = 0
        while index < len(blocks):
            block = blocks[index]
            size = len(block.entries)
            if size == 0:
                del blocks[index]
                continue
            if size < SMALL and index > 0 and len(blocks[index - 1].entries) + size <= 2 * BLOCK:
                previous = blocks[index - 1]
                delta = block.shift - previous.shift
                for entry in block.entries:
                    if delta:
                        entry.raw = self._shifted(entry.raw, delta)
                    entry.block = previous
                previous.entries.extend(block.entries)
                previous.refresh_max_end()
                del blocks[index]
                continue
            index += 1
