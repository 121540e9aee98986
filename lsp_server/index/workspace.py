"""The workspace symbol index of one root: built in the background, kept fresh, queried.

``build`` (see ``build.py``) lists the root's files (``project_files``), reuses what
memory or the store know and parses the rest, on the event loop in slices of ``step_budget_s`` (see ``pacing.py``);
reads, hashing, SQLite and grammar loading run on the index's own I/O thread.

Freshness has three doors, and the caller (``watch.IndexFeeds``) uses exactly one per
file: ``update_text``/``forget_text`` for open documents (debounced; editor text wins
over disk), ``file_changed``/``remove`` for disk events, ``rescan`` when ignore rules
change. An update racing a build wins: the build drops its older result for that file.

Queries (``lookup``, ``search``, ``symbols_in``, ``resolve_name``...) are synchronous,
read the in-memory ``SymbolTable`` and never touch the disk.

If the store's database had to be started afresh (the cache folder was deleted while
in use), the index stores what it holds in memory again after its next write, so the
next start still re-parses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lsp_server.core.foreground import Foreground
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.tasks import BackgroundTasks
from lsp_server.index.build import BuildStats, IndexBuild, Progress
from lsp_server.index.content import ContentIndexer, EventClock, read_files
from lsp_server.index.extract import SymbolExtractor
from lsp_server.index.project_files import WorkspaceFiles
from lsp_server.index.resolve import ImportResolver
from lsp_server.index.store import IndexStore, StoredFile
from lsp_server.index.symbols import Import, Symbol, dumps
from lsp_server.index.tables import FileEntry, SymbolTable
from lsp_server.syntax.languages import LanguageRegistry

log = logging.getLogger(__name__)


class WorkspaceIndex:
    """Symbols of every indexable file under ``root``; see the module docstring.

    ``store`` may be shared by the indexes of several roots (the caller closes it).
    """

    def __init__(
        self,
        root: Path,
        registry: LanguageRegistry,
        secrets: SecretFilter,
        *,
        store: IndexStore | None = None,
        max_files: int = 5000,
        max_bytes_total: int = 100_000_000,
        max_file_bytes: int = 1_000_000,
        step_budget_s: float = 0.0025,
        text_delay_s: float = 0.5,
        foreground: Foreground | None = None,
    ) -> None:
        self.files = WorkspaceFiles(root, secrets, max_file_bytes=max_file_bytes)
        self.root = self.files.root
        self.key = self.root.as_posix()
        self.table = SymbolTable()
        self.store = store if store is not None else IndexStore(None)
        self.content = ContentIndexer(SymbolExtractor(registry, secrets), self.table, step_budget_s=step_budget_s,
                                      foreground=foreground)
        self.clock = EventClock()
        self.secrets = secrets
        self.max_files = max_files
        self.max_bytes_total = max_bytes_total
        self.last_build = BuildStats()
        self.budget_warned = False
        self.ready = False
        self.updates = 0
        self._resolver = ImportResolver(self.table)
        self._text_delay_s = text_delay_s
        self._build_lock = asyncio.Lock()
        self._building: asyncio.Task[Any] | None = None  # the task running ``build`` (``aclose`` cancels it)
        self._texts: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._tasks = BackgroundTasks("symbol index update", log=log)
        self._store_generation = self.store.generation  # a new one: our rows there are gone

    # -- build ------------------------------------------------------------------------
    async def build(self, progress: Progress | None = None) -> BuildStats:
        """Walk, reuse what is known, parse the rest; ``progress(done, total, path)``
        is called as files are done. A second call waits for a running build, then
        rescans (cheap: unchanged files are not even read)."""
        async with self._build_lock:
            self._building = asyncio.current_task()
            try:
                stats = await IndexBuild(self, progress).run()
            finally:
                self._building = None
            self.last_build = stats
            self.ready = True
            self._check_store()
            log.info(
                "symbol index of %s: %d files, %d symbols (%d unchanged, %d reused, %d rehashed, %d parsed, "
                "%d removed) in %.2f s; longest step %.1f ms",
                self.root, len(self.table), self.table.symbol_count, stats.unchanged, stats.reused,
                stats.rehashed, stats.reparsed, stats.removed, stats.seconds, stats.longest_step_ms,
            )
            return stats

    async def rescan(self) -> BuildStats:
        """Re-read the ignore rules and re-walk (after a ``.gitignore`` changed)."""
        self.files.invalidate()
        return await self.build()

    # -- disk events --------------------------------------------------------------------
    async def file_changed(self, path: str | Path) -> bool:
        """Re-read one file from disk (created or modified); True if the index changed."""
        rel = self.files.relpath(path)
        if rel is None:
            return False
        seq = self.clock.mark(rel)
        if not self.files.accepts(rel) or not self.files.inside(rel):
            return self._forget_disk(rel)
        candidate = self.files.stat(rel)
        if candidate is None:
            return self._forget_disk(rel)
        if rel not in self.table and not self._room_for(candidate.size):
            log.debug("symbol index: %s not added, the index is at its budget", rel)
            return False
        reads = await self.content.in_io(read_files, self.root, [rel])
        pacer = self.content.pacer()
        entry, row, _ = await self.content.from_read(reads[0], None, pacer)
        self.content.note(pacer)
        if entry is None or not self.clock.is_latest(rel, seq):
            return False  # unreadable, or a newer event owns the file now
        before = self.table.disk_entry(rel)
        self.table.set_disk(entry)
        self.updates += 1
        if row is not None:
            await self.content.in_io(self.store.put_many, self.key, [row])
            self._check_store()
        return before is None or before.digest != entry.digest

    def remove(self, path: str | Path) -> bool:
        """Forget a deleted file; True if it was indexed."""
        rel = self.files.relpath(path)
        if rel is None:
            return False
        self.clock.mark(rel)
        return self._forget_disk(rel)

    def _forget_disk(self, rel: str) -> bool:
        if not self.table.drop_disk(rel):
            return False
        self.updates += 1
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.store.delete_many(self.key, [rel])
        else:
            self._tasks.spawn(self.content.in_io(self.store.delete_many, self.key, [rel]))
        return True

    def _check_store(self) -> None:
        """After a write: if the store started a new database meanwhile, store every file again."""
        if self.store.generation != self._store_generation:
            self._store_generation = self.store.generation
            entries = [entry for path in self.table.disk_paths() if (entry := self.table.disk_entry(path)) is not None]
            self._tasks.spawn(self.content.in_io(self._store_all, entries))

    def _store_all(self, entries: list[FileEntry]) -> None:
        """(I/O thread) Write ``entries`` to the store."""
        self.store.put_many(self.key, [StoredFile(e.path, e.size, e.mtime_ns, e.digest, e.found.language, dumps(e.found),
                                                  e.checked_ns) for e in entries])
        log.info("symbol index of %s: stored %d files again in a new store", self.root, len(entries))

    def _room_for(self, size: int) -> bool:
        paths = self.table.disk_paths()
        if len(paths) >= self.max_files:
            return False
        total = sum(e.size for p in paths if (e := self.table.disk_entry(p)) is not None)
        return total + size <= self.max_bytes_total

    # -- open documents -----------------------------------------------------------------
    def update_text(self, path: str | Path, text: str) -> None:
        """An open document's current text (didOpen/didChange). O(1): the text is
        indexed ``text_delay_s`` after the last call, or by ``flush`` (not at all above the
        index's file size limit, as on disk)."""
        rel = self.files.relpath(path)
        if rel is None or not self.files.accepts(rel):
            return
        self._texts[rel] = text
        if len(text) > self.files.max_file_bytes:
            # the size limit of files on disk holds for open ones too: indexing a file of
            # megabytes is a second whole parse, and freeing its tree is one C call of 60 ms
            self._pending.pop(rel, None)
            self.table.drop_editor(rel)
            return
        self._pending[rel] = text
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: ``flush`` will do it
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = loop.call_later(self._text_delay_s, self._start_flush)

    def forget_text(self, path: str | Path) -> bool:
        """The document was closed: its editor text no longer counts, the disk entry
        does (re-check the disk with ``file_changed``). True if it had editor text."""
        rel = self.files.relpath(path)
        if rel is None:
            return False
        self._pending.pop(rel, None)
        known = self._texts.pop(rel, None) is not None
        return self.table.drop_editor(rel) or known

    def editor_text(self, path: str | Path) -> str | None:
        """The open document's latest text, if the file is open."""
        rel = self.files.relpath(path)
        return None if rel is None else self._texts.get(rel)

    async def flush(self) -> None:
        """Index pending open-document texts now."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        while self._pending:
            rel = next(iter(self._pending))
            text = self._pending.pop(rel)
            entry = await self.content.from_text(rel, text)
            if entry is not None and self._texts.get(rel) is text:  # not edited again or closed meanwhile
                self.table.set_editor(entry)
                self.updates += 1

    def _start_flush(self) -> None:
        self._flush_handle = None
        self._tasks.spawn(self.flush())

    # -- queries ------------------------------------------------------------------------
    def lookup(self, name: str, *, limit: int = 20) -> list[Symbol]:
        """Definitions named ``name``: exact, else ``Container.name`` / ``module.name``,
        else ignoring case. Top-level first, then by path."""
        name = name.strip()
        if not name:
            return []
        found = self.table.named(name, limit=limit)
        if not found and ("." in name or "::" in name):
            owner, _, member = name.replace("::", ".").rpartition(".")
            found = [s for s in self.table.named(member) if _owned_by(s, owner)][:limit]
        return found or self.table.named_ignoring_case(name, limit=limit)

    def search(self, query: str, *, limit: int = 100) -> list[Symbol]:
        """Symbols whose name contains ``query`` (ignoring case), prefix matches and
        shorter names first."""
        needle = query.strip().lower()
        if not needle:
            return []
        prefix: list[tuple[int, str]] = []
        inner: list[tuple[int, str]] = []
        for lowered, spellings in self.table.lowered_names():
            if needle in lowered:
                (prefix if lowered.startswith(needle) else inner).extend((len(n), n) for n in spellings)
        found: list[Symbol] = []
        for _, name in sorted(prefix) + sorted(inner):
            found.extend(self.table.named(name, limit=limit - len(found)))
            if len(found) >= limit:
                break
        return found

    def symbols_in(self, path: str | Path) -> list[Symbol]:
        entry = self._entry(path)
        return list(entry.found.symbols) if entry is not None else []

    def imports_of(self, path: str | Path) -> list[Import]:
        entry = self._entry(path)
        return list(entry.found.imports) if entry is not None else []

    def resolve_import(self, from_path: str | Path, module: str, name: str | None) -> list[Symbol]:
        """Definitions ``name`` refers to when ``from_path`` imports it from ``module``."""
        rel = self.files.relpath(from_path)
        return [] if rel is None else self._resolver.resolve_import(rel, module, name)

    def resolve_name(self, from_path: str | Path, name: str, *, limit: int = 5) -> list[Symbol]:
        """Where a name used in ``from_path`` is defined (through its imports first)."""
        rel = self.files.relpath(from_path)
        return [] if rel is None else self._resolver.resolve_name(rel, name, limit=limit)

    def abspath(self, symbol_or_path: Symbol | str) -> Path:
        return self.root / (symbol_or_path.path if isinstance(symbol_or_path, Symbol) else symbol_or_path)

    def stats(self) -> dict[str, Any]:
        """A loggable snapshot."""
        return {
            "root": str(self.root), "ready": self.ready, "files": len(self.table),
            "symbols": self.table.symbol_count, "open": len(self._texts), "updates": self.updates,
            "persistent": self.store.persistent, "last_build": asdict(self.last_build),
            "longest_update_ms": round(self.content.longest_update_ms, 2),
        }

    # -- plumbing -----------------------------------------------------------------------
    def _entry(self, path: str | Path) -> FileEntry | None:
        rel = self.files.relpath(path)
        return None if rel is None else self.table.entry(rel)

    async def aclose(self) -> None:
        """Stop pending work, a running build (waited for: it must not reach the I/O thread
        once that is shut down), then the I/O thread (the store belongs to the caller)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        building = self._building
        if building is not None and building is not asyncio.current_task() and not building.done():
            building.cancel()
            await asyncio.gather(building, return_exceptions=True)
        await self._tasks.cancel_all()
        self.content.close()


def _owned_by(symbol: Symbol, owner: str) -> bool:
    """``owner`` is the symbol's container (or its tail), or its file's module name."""
    if symbol.container == owner or symbol.container.endswith("." + owner):
        return True
    stem = symbol.path.rsplit("/", 1)[-1].split(".", 1)[0]
    module = symbol.path.rsplit(".", 1)[0].replace("/", ".")
    return not symbol.container and (stem == owner or module == owner or module.endswith("." + owner))
