"""One build of a workspace index: list, reuse, read, parse, forget what is gone.

Files the index already holds, or the store holds, are kept without reading when
their size and mtime match and were trusted (``content.trusted``): ``unchanged`` /
``reused``. The rest are read in batches on the I/O thread; a known digest means no
parse (``rehashed``), otherwise they are parsed in ``Pacer`` slices (``reparsed``).
The files are ``WorkspaceFiles``' (git's list or the walk, see ``project_files``);
a file-count and a byte budget stop the listing, with one warning per index naming the
limit and its setting. A file updated by an event during the build keeps the
event's result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lsp_server.index.content import FileRead, read_batches, read_files, trusted
from lsp_server.index.project_files import Candidate
from lsp_server.index.store import StoredFile
from lsp_server.index.symbols import loads
from lsp_server.index.tables import FileEntry

if TYPE_CHECKING:
    from lsp_server.index.workspace import WorkspaceIndex

log = logging.getLogger(__name__)

#: The settings the budget warning names (proposed keys, see the index's docs).
FILES_SETTING = "index.maxFiles"
BYTES_SETTING = "index.maxBytes"

Progress = Callable[[int, int, str], None]


@dataclass
class BuildStats:
    """What one build did."""

    candidates: int = 0     # files selected by the listing (within budget)
    unchanged: int = 0      # already in memory, stat unchanged
    reused: int = 0         # taken from the store by size + mtime
    rehashed: int = 0       # read and hashed; same content, not parsed
    reparsed: int = 0       # parsed
    removed: int = 0        # gone, ignored or over budget since the last build
    unreadable: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # check: secret, outside, unreadable, too_large
    over_budget: str = ""   # the setting whose limit stopped the listing ("" if none)
    seconds: float = 0.0
    longest_step_ms: float = 0.0
    pauses: int = 0


class IndexBuild:
    """One run of the build over a ``WorkspaceIndex`` (use ``WorkspaceIndex.build``)."""

    def __init__(self, index: WorkspaceIndex, progress: Progress | None) -> None:
        self.index = index
        self.stats = BuildStats()
        self._progress = progress
        self._pacer = index.content.pacer()
        self._since = index.clock.now

    async def run(self) -> BuildStats:
        index, stats, pacer = self.index, self.stats, self._pacer
        started = time.perf_counter()
        selected = await self._select()
        pacer.end_slice()
        stored = await index.content.in_io(index.store.load, index.key)
        pacer.restart()
        to_read: list[Candidate] = []
        for candidate in selected:
            if not self._keep_known(candidate, stored.get(candidate.path)):
                to_read.append(candidate)
            await pacer.maybe_pause()
        done = len(selected) - len(to_read)
        self._report(done, "")
        for batch in read_batches(to_read):
            pacer.end_slice()
            reads = await index.content.in_io(read_files, index.root, [c.path for c in batch])
            pacer.restart()
            rows = []
            for read in reads:
                row = await self._take(read, stored.get(read.path))
                if row is not None:
                    rows.append(row)
                done += 1
                self._report(done, read.path)
                await pacer.maybe_pause()
            pacer.end_slice()
            await index.content.in_io(index.store.put_many, index.key, rows)
            pacer.restart()
        await self._forget_missing({c.path for c in selected}, stored)
        pacer.end_slice()
        stats.seconds = time.perf_counter() - started
        stats.longest_step_ms = pacer.longest_s * 1000
        stats.pauses = pacer.pauses
        return stats

    async def _select(self) -> list[Candidate]:
        index = self.index
        selected: list[Candidate] = []
        total = 0
        self._pacer.end_slice()
        listed = await index.content.in_io(index.files.git_list)  # None: not a git work tree
        self._pacer.restart()
        for candidate in index.files.walk(listed):
            if candidate is not None:
                if len(selected) >= index.max_files:
                    self._over_budget(FILES_SETTING, index.max_files, len(selected), total)
                    break
                if total + candidate.size > index.max_bytes_total:
                    self._over_budget(BYTES_SETTING, index.max_bytes_total, len(selected), total)
                    break
                selected.append(candidate)
                total += candidate.size
            await self._pacer.maybe_pause()
        self.stats.candidates = len(selected)
        self.stats.skipped = dict(index.files.skipped)
        return selected

    def _over_budget(self, setting: str, limit: int, files: int, total: int) -> None:
        self.stats.over_budget = setting
        if self.index.budget_warned:
            return
        self.index.budget_warned = True
        what = "file-count" if setting == FILES_SETTING else "size"
        log.warning(
            "symbol index of %s stopped at %d files (%.1f MB): the %s limit %s=%d was reached, so the rest "
            "of the workspace is not indexed (shallow folders come first). Raise %s to index more.",
            self.index.root, files, total / 1e6, what, setting, limit, setting,
        )

    def _keep_known(self, candidate: Candidate, row: StoredFile | None) -> bool:
        """Keep a file without reading it, if memory or the store vouch for it."""
        table = self.index.table
        if self.index.clock.touched_since(candidate.path, self._since):
            return True  # an event handled it meanwhile
        current = table.disk_entry(candidate.path)
        if current is not None and trusted(current.size, current.mtime_ns, current.checked_ns, candidate):
            self.stats.unchanged += 1
            return True
        if row is None or not trusted(row.size, row.mtime_ns, row.checked_ns, candidate):
            return False
        try:
            found = loads(row.payload, row.path, row.language)
        except ValueError:
            return False
        table.set_disk(FileEntry(row.path, row.size, row.mtime_ns, row.digest, row.checked_ns, found))
        self.stats.reused += 1
        return True

    async def _take(self, read: FileRead, row: StoredFile | None) -> StoredFile | None:
        if read.data is None:
            self.stats.unreadable += 1
            return None
        entry, stored, parsed = await self.index.content.from_read(read, row, self._pacer)
        if entry is None:
            return None
        if parsed:
            self.stats.reparsed += 1
        else:
            self.stats.rehashed += 1
        await self._pacer.maybe_pause()
        if not self.index.clock.touched_since(read.path, self._since):
            self.index.table.set_disk(entry)
        return stored

    async def _forget_missing(self, kept: set[str], stored: dict[str, StoredFile]) -> None:
        index = self.index
        for path in index.table.disk_paths():
            if path not in kept and not index.clock.touched_since(path, self._since):
                index.table.drop_disk(path)
                self.stats.removed += 1
        gone = [path for path in stored if path not in kept and path not in index.table]
        self._pacer.end_slice()
        await index.content.in_io(index.store.delete_many, index.key, gone)
        self._pacer.restart()

    def _report(self, done: int, path: str) -> None:
        if self._progress is not None:
            try:
                self._progress(done, self.stats.candidates, path)
            except Exception:  # noqa: BLE001 - a broken progress reporter must not stop the build
                log.debug("index progress callback failed", exc_info=True)
