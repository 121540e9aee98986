"""When to review open documents, and the findings each one currently shows.

Triggers (``review.triggers``): a file is reviewed when opened and when saved by
default; "change" reviews after a quiet period (``review.changeDebounceMs``);
"manual" only on command. Each review is an asyncio task per document; a change
cancels the document's running review at once (its in-flight model requests are
closed; finished units are already cached). Reviews share the engine's concurrency
limit and never touch the completion path.

Findings are kept per URI together with the document version they are anchored
to. Before they are shown, ``current`` moves them onto the document's current text:
through the edits made since that version when the document still knows them
(``follow_findings``: exact, also among identical lines), else by their quote
(``reanchor``: each must still find its exact quote nearby), so a stale result is
never shown on the wrong lines. Results are merged unit by unit as they land, and
the protocol layer is told through a ``ReviewListener`` (publish / progress).

A review that starts while the workspace index of its file is still being built (a
file opened at start-up) waits for it, at most ``INDEX_WAIT_S``; if the index is
still not ready then, the review goes ahead without it (no tools, less cross-file
context) and is made again, once, when the index is ready (``index_ready``). Results
made without the index are cached under other keys, so they never stand in for a
review made with it. A document's figure checks (Markdown, reStructuredText) use no index
and never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lsp_server.config import Settings
from lsp_server.core.findings import Finding, Severity, sort_findings
from lsp_server.core.progress import ProgressSink
from lsp_server.core.text import TextBuffer
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.review import ReviewEngine, ReviewResult, UnitOutcome
from lsp_server.engines.review_anchor import follow_findings, reanchor
from lsp_server.engines.review_files import read_source, select_files
from lsp_server.engines.review_plan import ReviewPlan, covers_row

log = logging.getLogger(__name__)
_REFRESH_S = 0.25  # re-anchor and republish this long after the last change
INDEX_WAIT_S = 8.0  # a review waits this long for the index of its file, at most
WORKSPACE_INDEX_WAIT_S = 120.0  # a workspace review waits this long for the folder's index (files are not redone)


class ReviewListener(Protocol):
    """Whoever shows the scheduler's results (the LSP glue): ``publish(uri)`` says a document's
    findings changed (the listener reads them back), ``progress`` opens a progress indicator."""

    def publish(self, uri: str) -> None: ...
    def progress(self, title: str, *, cancellable: bool = False) -> ProgressSink: ...


class IndexReadiness(Protocol):
    """What the workspace index offers the scheduler: is a file's index still to come, and a
    bounded wait for it."""

    def pending(self, path: str) -> bool: ...
    async def wait_ready(self, path: str, timeout_s: float) -> bool: ...


class QuietListener:
    """Publishes nowhere and shows no progress (until the protocol layer attaches its listener)."""

    def publish(self, uri: str) -> None:
        return None

    def progress(self, title: str, *, cancellable: bool = False) -> ProgressSink:
        return self

    def update(self, done: int, total: int, message: str) -> None:
        return None

    def finish(self, message: str) -> None:
        return None

    def cancelled(self) -> bool:
        return False


@dataclass
class DocumentFindings:
    """A document's findings, anchored to ``version`` (None: a file on disk, not open)."""

    uri: str
    version: int | None
    findings: list[Finding]
    buffer: TextBuffer | None = None  # the text of a closed file's findings (for conversions)
    generation: int = 0  # bumped whenever ``findings`` change
    reviews: int = 0  # completed reviews of this text: each is published, findings or not


@dataclass
class SchedulerStats:
    reviews: int = 0
    completed: int = 0
    cancelled: int = 0
    last_review_ms: float | None = None
    workspace_files: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class ReviewScheduler:
    """Review tasks and shown findings per document."""

    def __init__(self, engine: ReviewEngine, documents: DocumentStore, settings: Settings, *,
                 index: IndexReadiness | None = None) -> None:
        self.engine = engine
        self.documents = documents
        self.settings = settings
        self.index = index  # the workspace index's readiness (None: reviews never wait for it)
        self._without_index: set[str] = set()  # reviewed before the index was ready: redo once it is
        self.listener: ReviewListener = QuietListener()
        self.stats = SchedulerStats()
        self._states: dict[str, DocumentFindings] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._timers: dict[str, asyncio.Task[Any]] = {}
        self._workspace: asyncio.Task[Any] | None = None
        self._to_publish: set[str] = set()

    # -- settings -------------------------------------------------------------------------
    def reconfigure(self, settings: Settings, engine: ReviewEngine) -> None:
        floor_moved = settings.review_min_severity != self.settings.review_min_severity
        self.settings, self.engine = settings, engine
        if floor_moved:
            for uri in list(self._states):
                self.publish_soon(uri)

    def _auto(self, trigger: str) -> bool:
        return self.settings.review_enabled and trigger in self.settings.review_triggers

    # -- document events --------------------------------------------------------------------
    def opened(self, uri: str) -> None:
        if uri in self._states:
            self.publish_soon(uri)  # e.g. found by a workspace review: show them re-anchored now
        if self._auto("open"):
            self.review(uri, "open")

    def saved(self, uri: str) -> None:
        if self._auto("save"):
            self.review(uri, "save")

    def changed(self, uri: str) -> None:
        self._cancel(uri)
        if self._auto("change"):
            self._later(uri, self.settings.review_change_debounce_ms / 1000, lambda: self._start(uri, "change"))
        elif uri in self._states:
            self._later(uri, _REFRESH_S, lambda: self._refresh(uri))

    def closed(self, uri: str) -> None:
        self._cancel(uri)
        self._without_index.discard(uri)
        if self._states.pop(uri, None) is not None:
            self.listener.publish(uri)

    # -- reviews ------------------------------------------------------------------------------
    def review(self, uri: str, reason: str) -> asyncio.Task[ReviewResult | None] | None:
        """Start reviewing an open document now (replacing a running review of it)."""
        self._cancel(uri)
        return self._start(uri, reason)

    def _start(self, uri: str, reason: str) -> asyncio.Task[ReviewResult | None] | None:
        doc = self.documents.get(uri)
        if doc is None or doc.binary or (doc.spec is None and not self.engine.reviews_document(doc.path, doc.language_id)):
            return None
        self.stats.reviews += 1
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        task = asyncio.get_running_loop().create_task(self._review_open(uri))
        self._tasks[uri] = task
        task.add_done_callback(lambda done: self._finished(uri, done))
        return task

    def _finished(self, uri: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(uri) is task:
            del self._tasks[uri]
        if task.cancelled():
            self.stats.cancelled += 1
        elif task.exception() is not None:
            log.error("review of %s failed", uri, exc_info=task.exception())

    async def _review_open(self, uri: str) -> ReviewResult | None:
        doc = self.documents.get(uri)
        if doc is None:
            return None
        if self._index_pending(doc.path, doc.language_id):
            await self.wait_for_index(doc.path, INDEX_WAIT_S)
            doc = self.documents.get(uri)
            if doc is None:
                return None
        if self._index_pending(doc.path, doc.language_id):
            log.info("reviewing %s before the symbol index is ready; again once it is", doc.path)
            self._without_index.add(uri)
        else:
            self._without_index.discard(uri)
        started = time.perf_counter()
        name = Path(doc.path).name
        plan = await self.engine.plan_async(doc.syntax, doc.path, display_path=name, version=doc.version, uri=uri,
                                            language_id=doc.language_id)
        if plan is None or self.documents.get(uri) is not doc:
            return None  # the document changed or closed while it was being planned
        self._refresh(uri)  # bring earlier findings onto this version (and show them there)
        fresh: list[Finding] = []
        failed: set[int] = set()
        waiting = sum(unit.key not in self.engine.cache for unit in plan.units)
        sink = self.listener.progress(f"Reviewing {name}") if waiting else None
        done = 0

        def landed(outcome: UnitOutcome) -> None:
            nonlocal done
            if not outcome.cached and sink is not None:
                done += 1
                sink.update(done, waiting, outcome.plan.unit.label)
            if outcome.error:
                failed.update(outcome.plan.rows)
            fresh.extend(outcome.findings)
            self._merge(uri, plan, outcome)

        try:
            result = await self.engine.run(plan, landed)
        except asyncio.CancelledError:
            if sink is not None:
                sink.finish("cancelled: the file changed")
            raise
        if sink is not None:
            sink.finish(f"{len(result.findings)} finding(s)")
        self._settle(uri, plan, fresh, failed, reviewed=not result.units or len(result.errors) < result.units)
        self.stats.completed += 1
        self.stats.last_review_ms = (time.perf_counter() - started) * 1000
        return result

    def _merge(self, uri: str, plan: ReviewPlan, outcome: UnitOutcome) -> None:
        """Replace what the unit's lines showed by the unit's new findings."""
        state = self._state_for(uri, plan)
        if state is None or outcome.error:
            return
        rows = set(outcome.plan.rows)
        merged = [f for f in state.findings if f.span.start_line not in rows] + list(outcome.findings)
        self._set(state, merged)

    def _settle(self, uri: str, plan: ReviewPlan, fresh: list[Finding], failed: set[int], *, reviewed: bool) -> None:
        """The review is complete: drop earlier findings no unit replaced (unless its unit failed,
        or it lies outside what the review saw: a large file's window), and publish, even when
        nothing changed (no findings is news too: the file was reviewed); a review whose every
        unit failed is not news."""
        state = self._state_for(uri, plan)
        if state is not None:
            keep = set(fresh)
            self._set(state, [f for f in state.findings if f in keep or f.span.start_line in failed
                              or not covers_row(plan.rows, f.span.start_line)])
            if reviewed:
                state.reviews += 1
                self.publish_soon(uri)

    def _state_for(self, uri: str, plan: ReviewPlan) -> DocumentFindings | None:
        doc = self.documents.get(uri)
        if plan.version is not None and (doc is None or doc.version != plan.version):
            return None  # the document moved on: these results are cached but not shown
        return self._states.setdefault(uri, DocumentFindings(uri, plan.version, []))

    def _set(self, state: DocumentFindings, findings: list[Finding]) -> None:
        ordered = sort_findings(findings)
        if ordered != state.findings:
            state.findings = ordered
            state.generation += 1
            self.publish_soon(state.uri)

    async def review_now(self, uri: str) -> ReviewResult | None:
        """A manual review of an open document, awaited."""
        task = self.review(uri, "manual")
        if task is None:
            return None
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we were cancelled ourselves
            return None  # the document changed meanwhile

    def review_workspace(self, root: Path, display: Callable[[Path], str]) -> tuple[int, list[str]]:
        """Start reviewing the files under ``root`` in the background; (files, skipped notes)."""
        if self._workspace is not None and not self._workspace.done():
            self._workspace.cancel()
        settings = self.settings
        selection = select_files(
            root, self.engine.secrets, max_bytes=settings.max_file_bytes, limit=settings.review_max_workspace_files,
            documents=self.engine.figures is not None,
        )
        skipped = list(selection.skipped)
        if selection.truncated:
            skipped.append(f"more files not reviewed: the limit is {settings.review_max_workspace_files} "
                           "(review.maxWorkspaceFiles)")
        self.stats.workspace_files += len(selection.files)
        job = self._review_files(root, selection.files, display)
        self._workspace = asyncio.get_running_loop().create_task(job)
        return len(selection.files), skipped

    async def _review_files(self, root: Path, files: list[Path], display: Callable[[Path], str]) -> None:
        """The workspace review: a few workers (twice the review concurrency, so planning overlaps
        the model requests) over ``files``, after a bounded wait for the folder's index (so the
        reviews offer its tools); cancellable through the progress UI, keeping what it finished."""
        sink = self.listener.progress("Reviewing the workspace", cancellable=True)
        pending = list(reversed(files))
        total = len(files)
        done = 0
        sink.update(0, total, "waiting for the symbol index")
        await self.wait_for_index(str(root), WORKSPACE_INDEX_WAIT_S)

        async def worker() -> None:
            nonlocal done
            while pending and not sink.cancelled():
                path = pending.pop()
                try:
                    await self._review_file(path, display(path))
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - one bad file must not end the run
                    log.exception("workspace review of %s failed", path)
                done += 1
                sink.update(done, total, display(path))

        workers = max(1, min(total, self.settings.review_concurrency * 2))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        except asyncio.CancelledError:
            sink.finish("cancelled")
            raise
        sink.finish("cancelled" if sink.cancelled() else f"{done} file(s) reviewed")

    async def _review_file(self, path: Path, shown: str) -> None:
        """One file of a workspace review: an open document from its live text, else from disk."""
        engine = self.engine
        uri = path.as_uri()
        doc = self.documents.get(uri)
        if doc is not None:  # planned in slices (a document's images read first), like every planning on the loop
            found = await engine.plan_async(doc.syntax, doc.path, display_path=shown, version=doc.version, uri=uri,
                                            language_id=doc.language_id)
            if found is None:
                return  # the document changed meanwhile: its own review covers it
            plan = found
        else:
            text = read_source(path)
            if text is None:
                return
            plan = await engine.plan_text_async(str(path), text, display_path=shown, uri=uri)
        result = await engine.run(plan)
        if result.errors and len(result.errors) == result.units:
            return  # nothing reviewed (model down): leave what the file showed
        self.store_file(uri, plan, list(result.findings))

    def store_file(self, uri: str, plan: ReviewPlan, findings: list[Finding]) -> None:
        """Findings of a workspace review (open or not) become what the file shows."""
        doc = self.documents.get(uri)
        if doc is not None and doc.version != plan.version:
            return
        state = self._states.setdefault(uri, DocumentFindings(uri, plan.version, []))
        state.version = plan.version
        state.buffer = plan.buffer if doc is None and findings else None
        state.reviews += 1
        self._set(state, findings)
        self.publish_soon(uri)

    # -- the workspace index -------------------------------------------------------------------
    def _index_pending(self, path: str, language_id: str | None = None) -> bool:
        # a document's figure checks use no index (no tools, no cross-file context): they never wait
        return self.index is not None and self.engine.uses_index \
            and not self.engine.reviews_document(path, language_id) and self.index.pending(path)

    async def wait_for_index(self, path: str, timeout_s: float) -> bool:
        """Wait (bounded) for the index holding ``path``, if reviews use it; whether it is ready."""
        if not self._index_pending(path) or self.index is None:
            return True
        return await self.index.wait_ready(path, timeout_s)

    def index_ready(self) -> None:
        """An index finished building: review again, once, the open documents reviewed without it."""
        for uri in list(self._without_index):
            doc = self.documents.get(uri)
            if doc is None:
                self._without_index.discard(uri)
            elif not self._index_pending(doc.path, doc.language_id):
                self._without_index.discard(uri)
                self.review(uri, "index-ready")

    # -- what is shown -------------------------------------------------------------------------
    def current(self, uri: str) -> DocumentFindings | None:
        """The document's findings, moved onto its current text if it changed since."""
        state = self._states.get(uri)
        doc = self.documents.get(uri)
        if state is None or doc is None or state.version == doc.version:
            return state
        moved = _moved(state, doc)
        state.version, state.buffer = doc.version, None
        if moved != state.findings:
            state.findings = moved
            state.generation += 1
        return state

    def visible(self, uri: str) -> list[Finding]:
        """The findings to show, at or above ``review.minSeverity``."""
        state = self.current(uri)
        if state is None:
            return []
        floor = Severity.parse(self.settings.review_min_severity)
        return [f for f in state.findings if f.severity.at_least(floor)]

    def publish_soon(self, uri: str) -> None:
        """Publish once after the current burst of updates."""
        if uri in self._to_publish:
            return
        self._to_publish.add(uri)

        def flush() -> None:
            self._to_publish.discard(uri)
            self.listener.publish(uri)

        asyncio.get_running_loop().call_soon(flush)

    def _refresh(self, uri: str) -> None:
        state = self._states.get(uri)
        before = state.generation if state is not None else None
        state = self.current(uri)
        if state is not None and state.generation != before:
            self.publish_soon(uri)

    # -- housekeeping ----------------------------------------------------------------------------
    @property
    def workspace_job(self) -> asyncio.Task[Any] | None:
        """The latest workspace review (running or done), if any."""
        return self._workspace

    @property
    def running(self) -> int:
        return sum(not task.done() for task in self._tasks.values())

    def _later(self, uri: str, delay: float, action: Callable[[], object]) -> None:
        async def wait() -> None:
            await asyncio.sleep(delay)
            self._timers.pop(uri, None)
            action()

        self._timers[uri] = asyncio.get_running_loop().create_task(wait())

    def _cancel(self, uri: str) -> None:
        for tasks in (self._tasks, self._timers):
            task = tasks.pop(uri, None)
            if task is not None and not task.done():
                task.cancel()

    async def aclose(self) -> None:
        tasks = [*self._tasks.values(), *self._timers.values()]
        if self._workspace is not None:
            tasks.append(self._workspace)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._timers.clear()


def _moved(state: DocumentFindings, doc: OpenDocument) -> list[Finding]:
    """``state``'s findings on ``doc``'s current text."""
    if state.version is not None:
        edits = doc.history.since(state.version)
        if edits is not None:
            return follow_findings(state.findings, edits, doc.syntax.buffer)
    elif state.buffer is not None and state.buffer.data == doc.syntax.buffer.data:
        return list(state.findings)  # found in the file on disk, opened unchanged
    return reanchor(state.findings, doc.syntax.buffer)
