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

A database file deleted or replaced while open (the cache folder removed, or replaced
by a file) raises nothing: SQLite goes on writing into the unlinked file and every
entry written from then on is lost. ``SqliteFile`` (what both owners hold) remembers
which file it opened (device and inode) and checks before each use: a lost file is
logged once and opened afresh (or, if that fails, the owner goes on in memory).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FileIdentity:
    """Which file a path named when a database was opened (device, inode)."""

    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return cls(path, stat.st_dev, stat.st_ino)

    def lost(self) -> str:
        """Why the path no longer names the opened file ("deleted", "replaced"), or "" if it does."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return "deleted"
        except OSError as exc:  # e.g. the folder became a file: ENOTDIR
            return f"unreachable ({exc.strerror or exc})"
        return "" if (stat.st_dev, stat.st_ino) == (self.device, self.inode) else "replaced"


class SqliteFile:
    """One database file under the cache dir (``path`` None: none, memory only): opened
    on first use, opened afresh when the file was deleted or replaced meanwhile."""

    def __init__(self, path: Path | None, init: Callable[[sqlite3.Connection], None], *, what: str,
                 check_same_thread: bool = True, log: logging.Logger | None = None) -> None:
        self.path = path
        self.generation = 0  # how many times a lost file was started afresh (its rows are gone)
        self._init = init
        self._what = what
        self._check_same_thread = check_same_thread
        self._log = log if log is not None else logging.getLogger(__name__)
        self._db: sqlite3.Connection | None = None
        self._file: FileIdentity | None = None
        self._opened = False

    def connection(self) -> sqlite3.Connection | None:
        """The open connection, or None (no file, or given up on: memory only)."""
        if not self._opened:
            self._opened = True
            self._open()
        elif self._db is not None and self._file is not None and (why := self._file.lost()):
            self._log.warning("%s %s was %s while in use; starting a new one", self._what, self.path, why)
            _retire(self._db)
            self._open()
            self.generation += 1
        return self._db

    def give_up(self) -> None:
        """Close the database for good (after a failure): the owner works in memory from now on."""
        close_quietly(self._db)
        self._db, self._file, self._opened = None, None, True

    def _open(self) -> None:
        if self.path is not None:
            self._db = open_database(self.path, self._init, what=self._what,
                                     check_same_thread=self._check_same_thread, log=self._log)
            self._file = FileIdentity.of(self.path) if self._db is not None else None


def _retire(db: sqlite3.Connection) -> None:
    """Close a connection whose file is gone from its path. Its write-ahead log may still
    sit at the path (a replaced main file leaves it behind): empty it first, or the next
    connection at that path would replay our pages into the new file."""
    checkpoint_quietly(db)
    close_quietly(db)


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
