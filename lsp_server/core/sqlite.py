"""Opening the SQLite files under the cache dir, with the fallback both of them share.

The review cache (``cache.py``) and the symbol index store (``index/store.py``) open
their database the same way: create the folder, connect in autocommit mode with WAL
journaling (so an editor and a CI run, or two servers, can share the file), and run
the owner's schema set-up. A file that is not a database (or is malformed) is moved
aside to ``<name>.corrupt`` and a fresh one is started; any other problem (read-only
or full disk, a file where the folder should be) is logged as a warning and ``None``
is returned, and the owner keeps working in memory only. What to do when SQLite fails
later stays with the owner; ``close_quietly`` is the close both use then and at shutdown.
Deleted rows are overwritten on disk (``secure_delete``): a row dropped because an
older secret filter wrote it must not stay readable in a free page;
``checkpoint_quietly`` empties the WAL after such a purge.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path


def open_database(
    path: Path,
    init: Callable[[sqlite3.Connection], None],
    *,
    what: str,
    check_same_thread: bool = True,
    log: logging.Logger | None = None,
) -> sqlite3.Connection | None:
    """Connect to ``path`` (WAL, autocommit) and run ``init`` on the new connection.

    ``what`` names the database in warnings (e.g. "review cache"); ``log`` is the
    owner's logger (default: this module's). Returns ``None`` if the file cannot be
    used; a corrupt file is moved to ``<name>.corrupt`` and replaced first.
    """
    log = log if log is not None else logging.getLogger(__name__)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _connect(path, init, check_same_thread)
    except sqlite3.DatabaseError as exc:
        if "not a database" not in str(exc) and "malformed" not in str(exc):
            log.warning("%s %s unusable (%s); working in memory only", what, path, exc)
            return None
        aside = path.with_name(path.name + ".corrupt")
        log.warning("%s %s is corrupt; moved it to %s and started afresh", what, path, aside)
        try:
            path.replace(aside)
            return _connect(path, init, check_same_thread)
        except (OSError, sqlite3.Error) as again:
            log.warning("%s %s unusable (%s); working in memory only", what, path, again)
            return None
    except (OSError, sqlite3.Error) as exc:
        log.warning("%s %s unusable (%s); working in memory only", what, path, exc)
        return None


def close_quietly(db: sqlite3.Connection | None) -> None:
    """Close ``db`` (if any), ignoring SQLite errors: the owner is giving up on it anyway."""
    if db is None:
        return
    try:
        db.close()
    except sqlite3.Error:
        pass


def checkpoint_quietly(db: sqlite3.Connection) -> None:
    """Copy the WAL into the database and truncate it, so that rows just deleted are
    not left behind in the WAL file (best effort: another connection may hold it)."""
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass


def _connect(path: Path, init: Callable[[sqlite3.Connection], None], check_same_thread: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=check_same_thread)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
        init(db)
    except sqlite3.Error:
        db.close()
        raise
    return db
