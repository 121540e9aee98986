"""The in-memory side of the index: per-file entries in two layers and a name table.

A file has a *disk* entry (what the walk / file events read) and, while it is open in
the editor, an *editor* entry (from the document's text). The editor entry wins; the
name table always reflects the winning entry of every file, and is updated per file
(old symbols out, new in) so an update costs the file's size, not the workspace's.

Not thread-safe: the index touches it from the event loop only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lsp_server.index.symbols import FileSymbols, Symbol

Row = tuple[Any, ...]  # a Symbol's fields as a plain tuple


@dataclass(frozen=True, slots=True)
class FileEntry:
    """What the index knows about one file's content."""

    path: str
    size: int
    mtime_ns: int      # 0 for editor text
    digest: str
    checked_ns: int    # when the content was read (0 for editor text)
    found: FileSymbols


class SymbolTable:
    """path -> FileEntry (editor layer over disk layer); name -> symbols."""

    def __init__(self) -> None:
        self._disk: dict[str, FileEntry] = {}
        self._editor: dict[str, FileEntry] = {}
        # Plain tuples, not lists, sets or NamedTuples: tuples of strings and ints leave
        # the cyclic GC's books, which keeps full collections short (see FileSymbols).
        self._names: dict[str, tuple[Row, ...]] = {}
        self._lower: dict[str, tuple[str, ...]] = {}
        self.generation = 0  # bumped on every change (for derived caches)
        self.symbol_count = 0

    # -- reading ----------------------------------------------------------------------
    def entry(self, path: str) -> FileEntry | None:
        """The winning entry of ``path`` (editor over disk)."""
        return self._editor.get(path) or self._disk.get(path)

    def disk_entry(self, path: str) -> FileEntry | None:
        return self._disk.get(path)

    def editor_entry(self, path: str) -> FileEntry | None:
        return self._editor.get(path)

    def paths(self) -> set[str]:
        """Every indexed path (disk or editor)."""
        return self._disk.keys() | self._editor.keys()

    def disk_paths(self) -> list[str]:
        return list(self._disk)

    def __len__(self) -> int:
        return len(self._disk.keys() | self._editor.keys())

    def __contains__(self, path: object) -> bool:
        return path in self._disk or path in self._editor

    def named(self, name: str, *, limit: int | None = None) -> list[Symbol]:
        """Symbols called exactly ``name``: top-level first, then by path and line."""
        return _view(self._names.get(name, ()), limit)

    def named_ignoring_case(self, name: str, *, limit: int | None = None) -> list[Symbol]:
        rows: list[Row] = []
        for spelled in self._lower.get(name.lower(), ()):
            rows.extend(self._names.get(spelled, ()))
        return _view(rows, limit)

    def names(self) -> Iterator[str]:
        return iter(self._names)

    def lowered_names(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(lower-cased name, its spellings) pairs."""
        return iter(self._lower.items())

    # -- writing ----------------------------------------------------------------------
    def set_disk(self, entry: FileEntry) -> None:
        self._replace(entry.path, lambda: self._disk.__setitem__(entry.path, entry))

    def drop_disk(self, path: str) -> bool:
        if path not in self._disk:
            return False
        self._replace(path, lambda: self._disk.pop(path, None))
        return True

    def set_editor(self, entry: FileEntry) -> None:
        self._replace(entry.path, lambda: self._editor.__setitem__(entry.path, entry))

    def drop_editor(self, path: str) -> bool:
        if path not in self._editor:
            return False
        self._replace(path, lambda: self._editor.pop(path, None))
        return True

    def _replace(self, path: str, change: Callable[[], object]) -> None:
        before = self.entry(path)
        change()
        after = self.entry(path)
        if before is after:
            return
        if before is not None:
            self._remove(before.found.rows)
        if after is not None:
            self._add(after.found.rows)
        self.generation += 1

    def _add(self, rows: tuple[Row, ...]) -> None:
        names, lower = self._names, self._lower
        for row in rows:
            name = row[0]
            same = names.get(name)
            if same is None:
                names[name] = (row,)
                key = name.lower()
                lower[key] = lower.get(key, ()) + (name,)
            else:
                names[name] = same + (row,)
        self.symbol_count += len(rows)

    def _remove(self, rows: tuple[Row, ...]) -> None:
        for row in rows:
            name = row[0]
            same = self._names.get(name)
            if same is None:
                continue
            at = next((i for i, known in enumerate(same) if known is row), None)
            if at is None:
                continue
            self.symbol_count -= 1
            if len(same) > 1:
                self._names[name] = same[:at] + same[at + 1:]
                continue
            del self._names[name]
            key = name.lower()
            spellings = tuple(n for n in self._lower.get(key, ()) if n != name)
            if spellings:
                self._lower[key] = spellings
            else:
                self._lower.pop(key, None)


def _view(rows: Iterable[Row], limit: int | None) -> list[Symbol]:
    """Rows ordered (top-level first, then path, line) and turned into Symbols, up to
    ``limit``: sorting the plain rows first converts only what is returned."""
    ordered = sorted(rows, key=lambda r: (r[7] != "", r[2], r[3]))
    if limit is not None:
        ordered = ordered[:limit]
    return [Symbol._make(row) for row in ordered]
