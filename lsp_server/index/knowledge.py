"""Workspace knowledge: the symbol index of each workspace folder, fed and queried.

``WorkspaceKnowledge`` owns one ``WorkspaceIndex`` per workspace folder (sharing one
``IndexStore`` under the cache dir), builds them in the background with progress,
and keeps them fresh: open documents from the editor (once typing pauses for 2 s, 6 s
for big files; the text is read when due, so a keystroke costs a dict insertion), other files from
``workspace/didChangeWatchedFiles`` when the client offers it, else from a
watchfiles ``FileWatcher``; ``IndexFeeds`` makes sure one file has one source.

It answers the engines' questions: definitions from other files for names used
near a completion cursor (``related``), and tool executors for reviews (``tools_for``),
and says whether that answer is still to come: ``pending(path)`` is true while the
index of ``path``'s folder is announced (``expect``, at initialize) or building;
``wait_ready`` waits for it (bounded), and ``on_ready`` callbacks run when a build
completes, so a review made without the index can be made again with it.
No LSP types here; the protocol layer passes paths and plain values.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lsp_server.config import Settings
from lsp_server.core.foreground import Foreground
from lsp_server.core.progress import ProgressSink
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.tasks import BackgroundTasks
from lsp_server.index import FileWatcher, IndexFeeds, IndexStore, Symbol, WorkspaceIndex
from lsp_server.index.tools import IndexTools
from lsp_server.index.watch import DiskSource, EventKind
from lsp_server.syntax.budget import TREE_BYTES
from lsp_server.syntax.languages import LanguageRegistry

log = logging.getLogger(__name__)
_TEXT_DELAY_S = 2.0  # an open document is re-indexed this long after its last change...
_BIG_TEXT_DELAY_S = 6.0  # ...or this long for a big one (a whole-file re-extraction competes with completions)
_BIG_TEXT_BYTES = 200_000
# larger files are not indexed (on disk or open), whatever maxFileBytes says: the most text an
# editor document's tree covers, so no tree the loop frees is larger (syntax.tree_window)
INDEX_MAX_FILE_BYTES = TREE_BYTES
MAX_RELATED = 8  # definitions from other files offered to one completion
_RELATED_MEMO = 256  # remembered related() answers (cleared whenever the index changes)


class WorkspaceKnowledge:
    """Symbol indexes of the workspace folders (none until ``start``)."""

    def __init__(self, settings: Settings, registry: LanguageRegistry, *, persistent: bool = True,
                 foreground: Foreground | None = None) -> None:
        self.settings = settings
        self._foreground = foreground  # completions in flight: index building waits for a gap
        self.enabled = settings.index_enabled
        self._registry = registry
        self._secrets = SecretFilter(settings.secret_globs)
        self.store = IndexStore(settings.cache_dir if persistent else None)
        self._builds: dict[Path, asyncio.Task[Any]] = {}  # the build of each root (running or done)
        self.indexes: dict[Path, WorkspaceIndex] = {}
        self._feeds: dict[Path, IndexFeeds] = {}
        self._watchers: dict[Path, FileWatcher] = {}
        self._tasks = BackgroundTasks("symbol index", log=log)
        self._dirty: dict[str, Callable[[], str]] = {}  # path -> reads the open document's text
        self._flush: asyncio.TimerHandle | None = None
        self.disk_source: DiskSource = "watcher"
        self._related_memo: dict[tuple[str, tuple[str, ...], str], tuple[str, ...]] = {}
        self._related_version: tuple[int, ...] = ()
        self._expected: set[Path] = set()  # folders announced at initialize, not started yet
        self._settled: asyncio.Event | None = None  # set (and replaced) whenever a folder's index settles
        self.on_ready: list[Callable[[], None]] = []  # called when an index build completes

    # -- readiness --------------------------------------------------------------------
    def expect(self, roots: Iterable[Path]) -> None:
        """Folders whose indexes ``start`` will build soon (the editor is still setting up):
        until then ``pending`` is true for their files."""
        if self.enabled:
            self._expected.update(root.resolve() for root in roots if root.is_dir())

    def pending(self, path: str) -> bool:
        """Whether the index of ``path``'s folder is announced or still building."""
        root = _deepest(Path(path), [*self._expected, *self.indexes])
        if root is None:
            return False
        if root in self._expected:
            return True
        build = self._builds.get(root)
        return not self.indexes[root].ready and build is not None and not build.done()

    async def wait_ready(self, path: str, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until ``pending(path)`` is false; whether it is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.pending(path):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if self._settled is None:
                self._settled = asyncio.Event()
            try:
                await asyncio.wait_for(self._settled.wait(), remaining)
            except TimeoutError:
                return not self.pending(path)
        return True

    def _settle(self, *, built: bool) -> None:
        """Something became ready (or will not be): wake the waiters; after a completed
        build, tell the ``on_ready`` listeners."""
        if self._settled is not None:
            self._settled.set()
            self._settled = None
        if built:
            for listener in list(self.on_ready):
                try:
                    listener()
                except Exception:  # noqa: BLE001 - a listener's failure is not the index's
                    log.exception("symbol index ready listener failed")

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, roots: Iterable[Path], *, client_watches: bool,
              progress: Callable[[str], ProgressSink] | None = None) -> None:
        """Index ``roots`` in the background; follow the disk through the client's file
        events when ``client_watches``, else through watchfiles."""
        try:
            self._start(roots, client_watches, progress)
        finally:
            if self._expected:  # whatever was announced was started now, or will not be
                self._expected.clear()
                self._settle(built=False)

    def _start(self, roots: Iterable[Path], client_watches: bool,
               progress: Callable[[str], ProgressSink] | None) -> None:
        if not self.enabled:
            log.info("symbol index off (index.enable = false)")
            return
        self.disk_source = "client" if client_watches else "watcher"
        for root in roots:
            root = root.resolve()
            if root in self.indexes or not root.is_dir():
                continue
            index = WorkspaceIndex(root, self._registry, self._secrets, store=self.store,
                                   max_files=self.settings.index_max_files,
                                   max_bytes_total=self.settings.index_max_bytes,
                                   max_file_bytes=min(self.settings.max_file_bytes, INDEX_MAX_FILE_BYTES),
                                   text_delay_s=0.0, foreground=self._foreground)
            self.indexes[root] = index
            self._feeds[root] = IndexFeeds(index, disk_source=self.disk_source)
            task = self._tasks.spawn(self._build(root, index, progress))
            if task is not None:
                self._builds[root] = task

    async def _build(self, root: Path, index: WorkspaceIndex,
                     progress: Callable[[str], ProgressSink] | None) -> None:
        sink = progress(f"Indexing {root.name}") if progress is not None else None

        def report(done: int, total: int, path: str) -> None:
            if sink is not None and (done % 50 == 0 or done == total):
                sink.update(done, total, path)

        try:
            stats = await index.build(report)
        except BaseException as exc:  # the bar must end; the failure itself is logged by BackgroundTasks
            if sink is not None:
                sink.finish("cancelled" if isinstance(exc, asyncio.CancelledError) else "failed (see the log)")
            self._builds.pop(root, None)  # not building any more: nobody waits for it
            self._settle(built=False)
            raise
        if sink is not None:
            sink.finish(f"{len(index.table)} files, {index.table.symbol_count} symbols")
        log.info("symbol index of %s ready: %d parsed, %d reused", root, stats.reparsed,
                 stats.reused + stats.unchanged + stats.rehashed)
        if self.disk_source == "watcher" and root in self._feeds:
            watcher = FileWatcher(self._feeds[root])
            watcher.start()
            self._watchers[root] = watcher
        self._settle(built=True)

    async def stop_roots(self, roots: Iterable[Path]) -> None:
        """Workspace folders were removed: stop following them and forget their indexes
        (their stored entries stay, so adding a folder back re-parses nothing). A build
        still running is cancelled and waited for before anything it uses is closed."""
        for root in roots:
            root = root.resolve()
            if root in self._expected:
                self._expected.discard(root)
                self._settle(built=False)
            build = self._builds.pop(root, None)
            if build is not None and not build.done():
                build.cancel()
                await asyncio.gather(build, return_exceptions=True)
            watcher = self._watchers.pop(root, None)
            if watcher is not None:
                await watcher.stop()
            feeds = self._feeds.pop(root, None)
            if feeds is not None:
                await feeds.aclose()
            index = self.indexes.pop(root, None)
            if index is not None:
                await index.aclose()
                self._related_memo.clear()
                log.info("symbol index of %s closed (folder removed from the workspace)", root)

    async def ready(self) -> None:
        """Wait until every started index is built (the CI review waits; the editor never does)."""
        if self._builds:
            await asyncio.gather(*self._builds.values(), return_exceptions=True)

    async def aclose(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        for watcher in self._watchers.values():
            await watcher.stop()
        await self._tasks.cancel_all()
        for feeds in self._feeds.values():
            await feeds.aclose()
        for index in self.indexes.values():
            await index.aclose()
        self.store.close()

    def clear(self) -> int:
        """Forget the stored index (the next start re-parses everything)."""
        return self.store.clear()

    # -- editor ---------------------------------------------------------------------------
    def opened(self, path: str, text: str) -> None:
        feeds = self._feeds_for(path)
        if feeds is not None:
            feeds.open(path, text)

    def changed(self, path: str, read: Callable[[], str], size: int = 0) -> None:
        """An open document changed: re-index it once typing pauses, with the text ``read()``
        gives then (cheap here: no text is copied per keystroke)."""
        if self._feeds_for(path) is None:
            return
        self._dirty[path] = read
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._flush is not None:
            self._flush.cancel()
        delay = _BIG_TEXT_DELAY_S if size > _BIG_TEXT_BYTES else _TEXT_DELAY_S
        self._flush = loop.call_later(delay, self._flush_dirty)

    def _flush_dirty(self) -> None:
        self._flush = None
        dirty, self._dirty = self._dirty, {}
        for path, read in dirty.items():
            feeds = self._feeds_for(path)
            if feeds is not None:
                feeds.change(path, read())

    def closed(self, path: str) -> None:
        self._dirty.pop(path, None)
        feeds = self._feeds_for(path)
        if feeds is not None:
            feeds.close(path)

    # -- disk -----------------------------------------------------------------------------
    async def disk_events(self, events: Iterable[tuple[str, EventKind]]) -> int:
        """``workspace/didChangeWatchedFiles`` (only counted when the client is the source)."""
        changed = 0
        by_root: dict[Path, list[tuple[str | Path, EventKind]]] = {}
        for path, kind in events:
            root = self._root_of(path)
            if root is not None:
                by_root.setdefault(root, []).append((path, kind))
        for root, batch in by_root.items():
            changed += await self._feeds[root].disk_events(batch, "client")
        return changed

    # -- queries --------------------------------------------------------------------------
    def index_for(self, path: str) -> WorkspaceIndex | None:
        root = self._root_of(path)
        return self.indexes.get(root) if root is not None else None

    def related(self, path: str, names: tuple[str, ...], comment_prefix: str) -> list[str]:
        """Definitions in other files for ``names`` (nearest-first), as "<comment> path"
        + signature blocks, in path/line order so the prompt prefix stays stable."""
        index = self.index_for(path)
        if index is None or not self.settings.context_cross_file:
            return []
        # keystrokes mostly ask the same question of an unchanged index: remember the answers
        version = (index.updates, len(index.table), index.table.symbol_count, id(index.last_build))
        key = (path, names, comment_prefix)
        if self._related_version != version:
            self._related_version = version
            self._related_memo.clear()
        if key in self._related_memo:
            return list(self._related_memo[key])
        blocks = self._related(index, path, names, comment_prefix)
        if len(self._related_memo) >= _RELATED_MEMO:
            self._related_memo.pop(next(iter(self._related_memo)))
        self._related_memo[key] = tuple(blocks)
        return blocks

    @staticmethod
    def _related(index: WorkspaceIndex, path: str, names: tuple[str, ...], comment_prefix: str) -> list[str]:
        rel = index.files.relpath(path)
        found: dict[tuple[str, int], Symbol] = {}
        for name in names:
            head, _, member = name.rpartition(".")
            for symbol in index.resolve_name(path, name, limit=1):
                # "mod.f" must land on an f; a plain name on a top-level definition (not a method)
                wanted = symbol.name == member if head else symbol.name == name and not symbol.container
                if wanted and symbol.path != rel:
                    found.setdefault((symbol.path, symbol.start_line), symbol)
            if len(found) >= MAX_RELATED:
                break
        return [_block(symbol, comment_prefix) for _, symbol in sorted(found.items())]

    def tools_for(self, path: str) -> IndexTools | None:
        """Read-only tool executor over the index holding ``path`` (None: no index there)."""
        index = self.index_for(path)
        return IndexTools(index) if index is not None and index.ready else None

    def stats(self) -> list[dict[str, Any]]:
        return [index.stats() for index in self.indexes.values()]

    # -- plumbing -------------------------------------------------------------------------
    def _root_of(self, path: str | Path) -> Path | None:
        return _deepest(Path(path), self.indexes)

    def _feeds_for(self, path: str) -> IndexFeeds | None:
        root = self._root_of(path)
        return self._feeds.get(root) if root is not None else None


def _deepest(target: Path, roots: Iterable[Path]) -> Path | None:
    """The innermost of ``roots`` holding ``target`` (or being it)."""
    best: Path | None = None
    for root in roots:
        if (target == root or root in target.parents) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best


def _block(symbol: Symbol, comment_prefix: str) -> str:
    where = f"{comment_prefix} {symbol.path}" + (f" ({symbol.container})" if symbol.container else "")
    doc = f"\n{comment_prefix} {symbol.doc}" if symbol.doc else ""
    return f"{where}{doc}\n{symbol.signature}"
