"""The review findings cache: SQLite under the cache dir, shared by editor and CI runs.

One row per reviewed unit: the key is a digest of the unit's content hash, the model,
the prompt version and the review settings (``ReviewEngine`` builds it), the value
the unit's anchored findings as JSON in unit-relative coordinates. WAL mode lets an
editor and a CI run use one file at once. Every string of a value is secret-masked
before it is stored, and rows written under an older secret filter are deleted (and
overwritten on disk) when the file is opened. Any SQLite problem (read-only or full disk,
a corrupt file) is logged once and the cache carries on in memory: a broken cache
costs model requests, never a feature. A database file deleted or replaced while in
use (the cache folder removed) is noticed before the next use, logged once and
created afresh (``core.sqlite.SqliteFile``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from lsp_server.core.secrets import SECRET_FILTER_VERSION, SecretFilter
from lsp_server.core.sqlite import SqliteFile, checkpoint_quietly

log = logging.getLogger(__name__)

FILE_NAME = "reviews.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS findings ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
)
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def _create_schema(db: sqlite3.Connection) -> None:
    """The table, emptied (and overwritten on disk) if an older secret filter wrote it."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        db.execute(_SCHEMA)
        db.execute(_META)
        row = db.execute("SELECT value FROM meta WHERE key = 'secret_filter'").fetchone()
        stale = row is None or row[0] != str(SECRET_FILTER_VERSION)
        if stale:
            db.execute("DELETE FROM findings")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('secret_filter', ?)",
                       (str(SECRET_FILTER_VERSION),))
    if stale:
        checkpoint_quietly(db)


class FindingsCache:
    """key -> JSON-able value, persisted in ``<cache_dir>/reviews.sqlite3`` (or memory only)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.path_dir = cache_dir
        self.path = cache_dir / FILE_NAME if cache_dir is not None else None
        self._file = SqliteFile(self.path, _create_schema, what="review cache", log=log)
        self._memory: dict[str, str] = {}
        self._secrets = SecretFilter()
        self.hits = 0
        self.misses = 0

    def _connection(self) -> sqlite3.Connection | None:
        return self._file.connection()

    def _fail(self, exc: Exception) -> None:
        log.warning("review cache %s failed (%s); caching in memory only from now on", self.path, exc)
        self.close()

    def get(self, key: str) -> Any | None:
        raw = self._memory.get(key)
        db = self._connection()
        if raw is None and db is not None:
            try:
                row = db.execute("SELECT value FROM findings WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._fail(exc)
                row = None
            raw = row[0] if row else None
        if raw is None:
            self.misses += 1
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self._memory:
            return True
        db = self._connection()
        if db is None:
            return False
        try:
            return db.execute("SELECT 1 FROM findings WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error as exc:
            self._fail(exc)
            return False

    def put(self, key: str, value: Any, *, path: str = "") -> None:
        """Store ``value`` with every string in it secret-masked, as code of a file named
        ``path`` and as prose (a finding holds both: quotes and messages)."""
        raw = json.dumps(self.masked(value, path), ensure_ascii=False, separators=(",", ":"))
        db = self._connection()
        if db is None:
            self._memory[key] = raw
            return
        try:
            db.execute(
                "INSERT OR REPLACE INTO findings (key, value, created) VALUES (?, ?, ?)", (key, raw, time.time())
            )
        except sqlite3.Error as exc:
            self._fail(exc)
            self._memory[key] = raw

    def masked(self, value: Any, path: str = "") -> Any:
        """``value`` as ``put`` stores it."""
        return self._secrets.mask_json(value, path, "")

    def clear(self) -> int:
        """Forget everything; returns how many entries were removed."""
        removed = len(self._memory)
        self._memory.clear()
        db = self._connection()
        if db is not None:
            try:
                removed += db.execute("DELETE FROM findings").rowcount
            except sqlite3.Error as exc:
                self._fail(exc)
        return removed

    def __len__(self) -> int:
        db = self._connection()
        count = len(self._memory)
        if db is not None:
            try:
                count += db.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
            except sqlite3.Error as exc:
                self._fail(exc)
        return count

    def close(self) -> None:
        self._file.give_up()
