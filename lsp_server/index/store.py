"""Persistence of the symbol index: ``<cache_dir>/index.sqlite3``, one row per file.

Rows are keyed by (workspace root, root-relative path) and hold the file's size,
mtime, content digest, language and symbols (compact JSON, see ``symbols.dumps``),
plus when the content was last read (``checked_ns``, the guard against a file
rewritten within one mtime tick). A schema, extractor or secret filter version
change drops the rows (files are re-parsed once), overwriting them on disk. WAL mode
lets two servers share the file.

Any SQLite problem (read-only or full disk, a corrupt file) is logged once and the
store carries on in memory: a broken store costs re-parsing at the next start,
never a feature. A database file deleted or replaced while in use (the cache folder
removed) is noticed before the next call, logged once and created afresh
(``core.sqlite.SqliteFile``); ``generation`` counts these new starts, so an index can
store again what it holds in memory. Thread-safe: calls are serialised by a lock, so
the index can use it from its I/O thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lsp_server.core.secrets import SECRET_FILTER_VERSION
from lsp_server.core.sqlite import SqliteFile, checkpoint_quietly
from lsp_server.index.symbols import EXTRACTOR_VERSION

log = logging.getLogger(__name__)

FILE_NAME = "index.sqlite3"
# Signatures and comments are stored masked: rows masked by an older secret filter go too.
SCHEMA_VERSION = f"1/{EXTRACTOR_VERSION}/{SECRET_FILTER_VERSION}"
_FILES = (
    "CREATE TABLE IF NOT EXISTS files ("
    " root TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    " digest TEXT NOT NULL, language TEXT NOT NULL, payload TEXT NOT NULL, checked_ns INTEGER NOT NULL,"
    " PRIMARY KEY (root, path)) WITHOUT ROWID"
)
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_COLUMNS = "path, size, mtime_ns, digest, language, payload, checked_ns"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file's row."""

    path: str
    size: int
    mtime_ns: int
    digest: str
    language: str
    payload: str
    checked_ns: int


class IndexStore:
    """(root, path) -> StoredFile in SQLite under ``cache_dir`` (None: memory only)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / FILE_NAME if cache_dir is not None else None
        self._lock = threading.Lock()
        self._file = SqliteFile(self.path, _create_schema, what="symbol index store", check_same_thread=False,
                                log=log)
        self._memory: dict[str, dict[str, StoredFile]] = {}

    @property
    def persistent(self) -> bool:
        """Whether rows currently go to disk (False: memory only)."""
        with self._lock:
            return self._connection() is not None

    # -- public -----------------------------------------------------------------------
    def load(self, root: str) -> dict[str, StoredFile]:
        """Every stored file of ``root``, by path."""
        with self._lock:
            db = self._connection()
            if db is None:
                return dict(self._memory.get(root, {}))
            try:
                rows = db.execute(f"SELECT {_COLUMNS} FROM files WHERE root = ?", (root,)).fetchall()
            except sqlite3.Error as exc:
                self._fail(exc)
                return dict(self._memory.get(root, {}))
            return {row[0]: StoredFile(*row) for row in rows}

    def put_many(self, root: str, files: Iterable[StoredFile]) -> None:
        """Insert or replace rows (one transaction)."""
        rows = list(files)
        if not rows:
            return
        with self._lock:
            db = self._connection()
            if db is not None:
                try:
                    with db:
                        db.execute("BEGIN")
                        db.executemany(
                            f"INSERT OR REPLACE INTO files (root, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [(root, f.path, f.size, f.mtime_ns, f.digest, f.language, f.payload, f.checked_ns)
                             for f in rows],
                        )
                    return
                except sqlite3.Error as exc:
                    self._fail(exc)
            self._memory.setdefault(root, {}).update((f.path, f) for f in rows)

    def delete_many(self, root: str, paths: Iterable[str]) -> None:
        gone = list(paths)
        if not gone:
            return
        with self._lock:
            memory = self._memory.get(root, {})
            for path in gone:
                memory.pop(path, None)
            db = self._connection()
            if db is None:
                return
            try:
                with db:
                    db.execute("BEGIN")
                    db.executemany("DELETE FROM files WHERE root = ? AND path = ?", [(root, p) for p in gone])
            except sqlite3.Error as exc:
                self._fail(exc)

    def clear(self, root: str | None = None) -> int:
        """Forget one root's rows (or all); returns how many were removed."""
        with self._lock:
            if root is None:
                removed = sum(len(rows) for rows in self._memory.values())
                self._memory.clear()
            else:
                removed = len(self._memory.pop(root, {}))
            db = self._connection()
            if db is not None:
                try:
                    with db:
                        cursor = (db.execute("DELETE FROM files") if root is None
                                  else db.execute("DELETE FROM files WHERE root = ?", (root,)))
                    removed += max(cursor.rowcount, 0)
                except sqlite3.Error as exc:
                    self._fail(exc)
            return removed

    @property
    def generation(self) -> int:
        """Bumped whenever a lost database file was started afresh (the rows stored before are gone)."""
        return self._file.generation

    def close(self) -> None:
        with self._lock:
            self._file.give_up()  # stay closed: later calls use memory

    # -- connection -------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection | None:
        return self._file.connection()

    def _fail(self, exc: Exception) -> None:
        log.warning("symbol index store %s failed (%s); keeping the index in memory only from now on",
                    self.path, exc)
        self._file.give_up()


def _create_schema(db: sqlite3.Connection) -> None:
    """The tables, emptied first if they were written under another ``SCHEMA_VERSION``."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.execute(_META)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        dropped = row is None or row[0] != SCHEMA_VERSION
        if dropped:
            db.execute("DROP TABLE IF EXISTS files")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        db.execute(_FILES)
    if dropped:
        checkpoint_quietly(db)  # old rows' pages are zeroed (secure_delete); empty the WAL of them too
