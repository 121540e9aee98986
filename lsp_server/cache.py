"""The review findings cache: SQLite under the cache dir, shared by editor and CI runs.

One row per reviewed unit: the key is a digest of the unit's content hash, the model,
the prompt version and the review settings (``ReviewEngine`` builds it), the value
the unit's anchored findings as JSON in unit-relative coordinates. WAL mode lets an
editor and a CI run use one file at once. Any SQLite problem (read-only or full disk,
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

from .core.sqlite import SqliteFile

log = logging.getLogger(__name__)

FILE_NAME = "reviews.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS findings ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
)


def _create_schema(db: sqlite3.Connection) -> None:
    db.execute(_SCHEMA)


class FindingsCache:
    """key -> JSON-able value, persisted in ``<cache_dir>/reviews.sqlite3`` (or memory only)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.path_dir = cache_dir
        self.path = cache_dir / FILE_NAME if cache_dir is not None else None
        self._file = SqliteFile(self.path, _create_schema, what="review cache", log=log)
        self._memory: dict[str, str] = {}
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

    def put(self, key: str, value: Any) -> None:
        raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
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
