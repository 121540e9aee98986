"""Keeping the index fresh: one owner per file, and a watchfiles fallback.

``IndexFeeds`` is what the LSP wiring calls. It enforces two rules:

* an open document is owned by the editor: its text comes from didOpen/didChange
  (``open``/``change``), and disk events for it are ignored until ``close``, which
  hands the file back to the disk (and re-checks it once);
* disk events come from exactly one source, fixed at construction: ``"client"``
  (``workspace/didChangeWatchedFiles``, when the client supports dynamic
  registration: register ``watch_globs()``), or ``"watcher"`` (``FileWatcher``, the
  watchfiles fallback, e.g. Neovim on Linux and CI). Events from the other source
  are counted and dropped, so no file is ever updated from both.

A changed ``.gitignore`` or a new folder triggers a debounced rescan; a deleted folder
drops the files indexed under it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from lsp_server.core.tasks import BackgroundTasks
from lsp_server.index.project_files import IGNORE_FILE
from lsp_server.index.workspace import WorkspaceIndex
from lsp_server.syntax.languages import EXTENSIONS

log = logging.getLogger(__name__)

DiskSource = Literal["client", "watcher"]
EventKind = Literal["created", "changed", "deleted"]


def watch_globs() -> list[str]:
    """Glob patterns to register for ``workspace/didChangeWatchedFiles``."""
    extensions = sorted(ext.lstrip(".") for ext in EXTENSIONS)
    return [f"**/*.{{{','.join(extensions)}}}", f"**/{IGNORE_FILE}"]


class IndexFeeds:
    """Routes document and file events into a ``WorkspaceIndex``, one source per file."""

    def __init__(self, index: WorkspaceIndex, *, disk_source: DiskSource, rescan_delay_s: float = 1.0) -> None:
        self.index = index
        self.disk_source: DiskSource = disk_source
        self.dropped: Counter[str] = Counter()  # why events were ignored
        self._open: set[str] = set()
        self._rescan_delay_s = rescan_delay_s
        self._rescan: asyncio.TimerHandle | None = None
        self._tasks = BackgroundTasks("symbol index update", log=log)

    # -- editor -----------------------------------------------------------------------
    def open(self, path: str | Path, text: str) -> None:
        """didOpen: the editor owns the file from now on."""
        rel = self.index.files.relpath(path)
        if rel is not None:
            self._open.add(rel)
            self.index.update_text(path, text)

    def change(self, path: str | Path, text: str) -> None:
        """didChange (with the document's full current text; indexing is debounced)."""
        rel = self.index.files.relpath(path)
        if rel is not None and rel in self._open:
            self.index.update_text(path, text)

    def close(self, path: str | Path) -> None:
        """didClose: back to the disk, which is re-checked once (it may have been saved)."""
        rel = self.index.files.relpath(path)
        if rel is None or rel not in self._open:
            return
        self._open.discard(rel)
        self.index.forget_text(path)
        self._tasks.spawn(self.index.file_changed(path))

    def is_open(self, path: str | Path) -> bool:
        rel = self.index.files.relpath(path)
        return rel is not None and rel in self._open

    # -- disk -------------------------------------------------------------------------
    async def disk_event(self, path: str | Path, kind: EventKind, source: DiskSource) -> bool:
        """A file was created, changed or deleted; True if the index changed."""
        if source != self.disk_source:
            self.dropped["other_source"] += 1
            return False
        index = self.index
        rel = index.files.relpath(path)
        if rel is None:
            self.dropped["outside"] += 1
            return False
        if rel.rsplit("/", 1)[-1] == IGNORE_FILE:
            self.request_rescan()
            return False
        if rel in self._open:
            self.dropped["open"] += 1
            return False
        if kind == "deleted":
            if rel in index.table:
                return index.remove(rel)
            prefix = rel + "/"
            inside = [p for p in index.table.disk_paths() if p.startswith(prefix) and p not in self._open]
            return any([index.remove(p) for p in inside])
        if os.path.isdir(index.files.abspath(rel)):
            self.request_rescan()
            return False
        return await index.file_changed(rel)

    async def disk_events(self, events: Iterable[tuple[str | Path, EventKind]], source: DiskSource) -> int:
        """Several events in order; returns how many changed the index."""
        changed = 0
        for path, kind in events:
            try:
                changed += await self.disk_event(path, kind, source)
            except Exception:  # noqa: BLE001 - one bad file must not stop the others
                log.exception("symbol index: event for %s failed", path)
        return changed

    def request_rescan(self) -> None:
        """Rescan the workspace soon (debounced)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._rescan is not None:
            self._rescan.cancel()
        self._rescan = loop.call_later(self._rescan_delay_s, lambda: self._tasks.spawn(self.index.rescan()))

    # -- plumbing -----------------------------------------------------------------------
    async def aclose(self) -> None:
        if self._rescan is not None:
            self._rescan.cancel()
        await self._tasks.cancel_all()


class FileWatcher:
    """watchfiles on the index root, feeding ``IndexFeeds`` as the ``"watcher"`` source.

    Start it only when the client does not offer ``didChangeWatchedFiles``. ``ready`` is
    set once the OS watch is in place (first timeout tick or first batch).
    """

    def __init__(self, feeds: IndexFeeds, *, debounce_ms: int = 300, tick_ms: int = 1000,
                 force_polling: bool | None = None) -> None:
        self.feeds = feeds
        self.ready = asyncio.Event()
        self.batches = 0
        self._debounce_ms = debounce_ms
        self._tick_ms = tick_ms
        self._force_polling = force_polling
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.feeds.disk_source != "watcher":
            raise ValueError("the feeds take disk events from the client; a watcher would double them")
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None

    def _accept(self, _change: Any, path: str) -> bool:
        """watchfiles' filter: indexable sources, ignore files, and folders (which may
        hold sources: a new folder triggers a rescan, a deleted one drops its files)."""
        files = self.feeds.index.files
        rel = files.relpath(path)
        if rel is None:
            return False
        name = rel.rsplit("/", 1)[-1]
        if name == IGNORE_FILE:
            return True
        if files.supported(rel):
            return files.accepts(rel)
        return "." not in name and files.accepts(rel, any_extension=True)

    async def _run(self) -> None:
        import watchfiles

        root = self.feeds.index.root
        try:
            async for changes in watchfiles.awatch(
                root, watch_filter=self._accept, stop_event=self._stop, debounce=self._debounce_ms,
                rust_timeout=self._tick_ms, yield_on_timeout=True, force_polling=self._force_polling,
            ):
                self.ready.set()
                if changes:
                    self.batches += 1
                    await self._handle({path for _, path in changes})
        except Exception:  # noqa: BLE001 - fail per feature: the index just stops following the disk
            log.exception("symbol index: file watcher on %s stopped", root)
        finally:
            self.ready.set()

    async def _handle(self, paths: set[str]) -> None:
        events: list[tuple[str | Path, EventKind]] = []
        for path in sorted(paths):
            kind: EventKind = "changed" if os.path.exists(path) else "deleted"
            events.append((path, kind))
        await self.feeds.disk_events(events, "watcher")
