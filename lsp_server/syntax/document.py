"""One open document: a TextBuffer plus its tree-sitter tree, kept in step incrementally.

Edits are applied to the buffer at once and queued for the tree; the reparse is lazy
and happens on the next access of ``tree``, so a burst of keystrokes costs one
incremental reparse. Trees handed out by ``tree`` are never mutated later (each
parse starts from an edited copy), so a caller may keep one as a snapshot.

Parsing is budgeted when the document has a ``SyntaxBudget`` (editor documents do):
an access of ``tree`` parses for at most ``budget.parse_s``. tree-sitter's progress
callback halts a longer parse (error recovery over 100 KB of unclosed brackets can
take seconds) and the halted parse resumes where it stopped on the next
``parse_step``, which a background task calls in short slices between event-loop
turns (``engines/documents.py``). Until the parse catches up, ``tree`` is None and
``parsing`` is True: callers fall back to plain-text behaviour. Edits made while a
parse runs are queued for the next one. A document without a budget (the CLI
review, the index, tests) parses in one go, as before.

A document given a ``worker`` (an executor; the server's documents are) parses in a
worker thread when the parse is known to be long: the first parse of a file of
``WORKER_BYTES`` or more, and any parse that did not fit in one slice. tree-sitter
holds the GIL while it parses, but such a parse reads its text through a callback
(16 KB at a time) and reports progress every 100 operations, and at those callbacks,
at most once a millisecond, the worker lets go of the GIL for a loop that waits for
it (``_parse_job``). One lexer step over a file-long unclosed comment held the loop
for 150 ms in a slice; with the worker, the server's longest loop callback on that
input is 25 ms, 1 ms of it CPU (scripts/bench_worst_case.py). The job belongs to the document, not to
the ``settle`` that started it. While the worker owns the parser, nothing on the loop
touches it: ``tree`` answers None (plain-text behaviour), and edits queue for the next
parse as above (which starts from the worker's tree: incremental). A full replacement,
a closed or re-opened document, or the store's shutdown cancels the job through its
progress callback, and the worker then resets the parser.

A budgeted document larger than ``budget.tree_bytes`` parses a window of its text
(``syntax.tree_window``): freeing a tree holds the GIL for as long as the tree is big,
and cannot be split. ``focus`` says where a request points; a position or an edit
outside the window moves it there (``tree`` is None until that parse is done, and
``on_refocus`` asks the store to drive it). Nodes keep their positions in the whole text.

Edits reach the old tree through ``Tree.edit``, which costs time proportional to the
tree's depth at the edit (130 ms at the bottom of ``1 + 1 + ... + 1`` with 100,000
terms); where the tree is deeper than ``MAX_PATH_DEPTH`` the next parse starts from
scratch instead (sliced like any other).

Each parse appends a ``TreeDelta`` to a short history, which lets derived caches
(the ``Outline`` of imports and definitions) update only the changed ranges. After a
parse that took more than one slice the changed ranges are not computed (tree-sitter
cannot halt that walk, and it costs up to a third of the parse): the delta says
"unknown" and the outline rechecks the file in the background.

Not thread-safe: the protocol layer serialises access to a document (the worker only
ever holds the parser, its job's private copy of the old tree and its job's bytes).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import tree_sitter

from lsp_server.core.text import ByteEdit, Encoding, TextBuffer, tree_bytes
from lsp_server.syntax.budget import BACKGROUND_SLICE_S, Deadline, SyntaxBudget
from lsp_server.syntax.languages import LanguageRegistry, LanguageSpec
from lsp_server.syntax.nesting import open_run
from lsp_server.syntax.nodes import node_path
from lsp_server.syntax.outline import Outline
from lsp_server.syntax.tree_window import TreeWindow, window_around

log = logging.getLogger(__name__)

#: A document's first parse goes to the worker from this size on (a slice on the loop cannot
#: be halted inside one token, and a file-long comment or string is one token).
WORKER_BYTES = 64 * 1024
_YIELD_S = 0.001  # how often a worker parse hands the GIL to a waiting event loop
_HISTORY = 256  # reparses an Outline can lag behind before it rebuilds from scratch
_WAIT_S = 0.002  # how often a ``settle`` waiting for another one looks again
# Bytes per read callback of a budgeted parse. A tree parsed from a callback has no
# source of its own: ``Node.text`` calls the callback again and copies what it returns.
_READ_BYTES = 16 * 1024
_RECOUNT_BYTES = 1024  # edits adding this much recount the open brackets before a parse

Read = Callable[[int, object], bytes]


@dataclass(frozen=True, slots=True)
class TreeDelta:
    """What changed between tree ``version - 1`` and tree ``version``."""

    version: int
    edits: tuple[ByteEdit, ...]                  # in order, each in the coordinates after the previous
    changed: tuple[tuple[int, int], ...] | None  # tree-sitter changed_ranges, new-tree bytes (None: unknown)
    reset: bool                                  # a fresh full parse: nothing carries over


@dataclass(slots=True)
class _Job:
    """One parse in progress: the bytes it parses, the edited old tree, how many
    queued edits it covers."""

    data: bytes
    old: tree_sitter.Tree | None
    edits: int
    read: Read
    ranges: list[tree_sitter.Range] | None = None  # a window's included ranges (None: the whole text)
    started: bool = False
    halted: bool = False  # took more than one slice
    cancelled: bool = False  # replaced text or a closed document, while a worker ran it: the worker stops


def reader(data: bytes) -> Read:
    """A tree-sitter read callback over ``data`` (for parses with a progress callback)."""
    def read(offset: int, _point: object) -> bytes:
        return data[offset:offset + _READ_BYTES]
    return read


def parse_within(parser: tree_sitter.Parser, data: bytes, old_tree: tree_sitter.Tree | None,
                 deadline: Deadline) -> tree_sitter.Tree | None:
    """Parse ``data`` with ``parser`` unless ``deadline`` passes first (then None, and
    the parser is reset). Unbounded deadlines parse the bytes directly. The parse covers
    what ``old_tree`` covers (a window of a large document, moved by its edits), or the
    whole text."""
    parser.included_ranges = old_tree.included_ranges if old_tree is not None else []
    if not deadline.bounded:
        return _parse(parser, data, old_tree)
    try:
        tree = _parse(parser, reader(data), old_tree, deadline.progress)
    except ValueError:
        tree = None
    if tree is None:
        parser.reset()
    return tree


def _parse(parser: tree_sitter.Parser, data: bytes | Read, old_tree: tree_sitter.Tree | None,
           progress: Callable[..., bool] | None = None) -> tree_sitter.Tree | None:
    """``Parser.parse`` (its ``old_tree`` must be a Tree or left out)."""
    kwargs: dict[str, object] = {}
    if old_tree is not None:
        kwargs["old_tree"] = old_tree
    if progress is not None:
        kwargs["progress_callback"] = progress
    return parser.parse(data, **kwargs)


_JobResult = tuple[tree_sitter.Tree | None, float]  # a worker's tree (None: halted or failed), its CPU seconds


def _parse_job(parser: tree_sitter.Parser, job: _Job) -> _JobResult:
    """A worker thread's parse of ``job`` to its end, halted only by ``job.cancelled``, and
    the CPU time it took; a halted or failed parse resets the parser (the worker owns it
    until it returns).

    At its callbacks, at most once per ``_YIELD_S``, the worker lets go of the GIL
    (``time.sleep(0)``): a loop waiting for it takes it then, not after Python's 5 ms
    switch interval plus the rest of tree-sitter's step. Measured on a 3.9 MB file: a loop
    step with three system calls waited up to 11 ms, and 2 ms with this; the parse took
    6-12% longer."""
    started = time.thread_time()
    due = [0.0]

    def pause() -> None:
        now = time.perf_counter()
        if now >= due[0]:
            time.sleep(0)
            due[0] = time.perf_counter() + _YIELD_S

    def read(offset: int, point: object) -> bytes:
        pause()
        return job.read(offset, point)

    def progress(*_state: object) -> bool:
        pause()
        return job.cancelled

    try:
        tree = _parse(parser, read, job.old, progress)
    except Exception:  # noqa: BLE001 - ValueError on a halt; anything else: the loop parses instead
        tree = None
    if tree is None:
        parser.reset()
    return tree, time.thread_time() - started


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: object) -> None:
    """Schedule ``callback(*args)`` on ``loop`` from a worker thread (a closed loop: nothing to do)."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        pass


class SyntaxDocument:
    """A TextBuffer plus its tree-sitter tree, kept in step incrementally.

    ``spec`` is None for plain text, including a language whose grammar failed to load.
    """

    def __init__(self, text: str, spec: LanguageSpec | None, registry: LanguageRegistry, *,
                 budget: SyntaxBudget | None = None, worker: Executor | None = None) -> None:
        self.buffer = TextBuffer(text)
        self.registry = registry
        self.budget = budget if budget is not None else SyntaxBudget.unbounded()
        self.worker = worker if self.budget.parse_s is not None else None  # long parses run there
        self._in_worker: _Job | None = None  # the job a worker thread is parsing (it owns the parser)
        self._worker_waiter: asyncio.Future[None] | None = None  # done when that job has ended
        self._worker_failed = False  # a worker parse failed: parse on the loop from now on
        self._parser = registry.parser(spec) if spec is not None else None
        self.spec: LanguageSpec | None = spec if self._parser is not None else None
        self._trial: tree_sitter.Parser | None = None  # trial parses never touch the main parser
        self._tree: tree_sitter.Tree | None = None  # the last finished parse (never mutated)
        self._pending: list[ByteEdit] = []  # edits since ``_tree`` (or since a reset)
        self._job: _Job | None = None
        self._stale = self._parser is not None
        self._handed_off = False  # the pending parse missed its synchronous slice
        self._version = 0
        self._history: deque[TreeDelta] = deque(maxlen=_HISTORY)
        self._outline: Outline | None = None
        self.driven = False  # a ``settle`` is bringing this document up to date
        self._slow = False  # the last parse took more than one slice: leave the next to the background
        # a text over ``budget.tree_bytes``: the window its tree covers (None: not chosen yet, or the
        # whole text), the byte it is chosen around, and whether the current tree is a window's
        self._window: TreeWindow | None = None
        self._focus = 0
        self._tree_windowed = False
        self._deep_logged = False  # the text was found too deeply open to parse (logged once)
        self.too_deep = False  # the current text keeps too many brackets open: plain text (``_unparsed``)
        self.on_refocus: Callable[[], None] | None = None  # told when ``focus`` moves the window

    # -- editing -------------------------------------------------------------------
    def apply_change(
        self,
        start: tuple[int, int] | None,
        end: tuple[int, int] | None,
        new_text: str,
        encoding: Encoding,
    ) -> ByteEdit | None:
        """Apply one LSP content change (``start``/``end`` None = full replacement); the
        edit as applied (None for a full replacement)."""
        if start is None or end is None:
            self.buffer.replace(0, len(self.buffer.data), new_text)
            self._tree, self._pending, self._window = None, [], None
            self._cancel_job()
            edit = None
        else:
            edit = self.buffer.apply_change(start, end, new_text, encoding)
            if self._parser is None:
                return edit
            self._focus = edit.new_end_byte
            window = self._window
            if window is not None:
                window = self._window = window.shifted(edit)
                if not window.covers(edit.start_byte, len(self.buffer.data)):
                    self._move_window()  # the user works elsewhere now
                    return edit
            self._pending.append(edit)
        self._stale = self._parser is not None
        self._handed_off = False
        return edit

    # -- trees ---------------------------------------------------------------------
    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The current tree, or None for plain text and while a budgeted parse has not
        caught up with the text (see ``parsing``). Reparses incrementally if edits are
        pending, within ``budget.parse_s`` once per batch of edits (not at all when the
        last parse, or the one under way, took more than one slice: a background task
        finishes it)."""
        slow = self._slow or (self._job is not None and self._job.halted)  # known not to fit in a slice
        if self._in_worker is not None or self.wants_worker():
            slow = True  # the worker has the parser, or will take this parse
        if self._stale and self._parser is not None and not self._handed_off and not slow:
            if not self._step(Deadline(self.budget.parse_s)):
                self._handed_off = True
        return None if self._stale else self._tree

    @property
    def windowed(self) -> bool:
        """Whether the tree covers only a window of the text (``syntax.tree_window``)."""
        size = self.budget.tree_bytes
        return size is not None and self._parser is not None and len(self.buffer.data) > size

    @property
    def window(self) -> TreeWindow | None:
        """The window the tree covers, or will once parsed (None: the whole text)."""
        return self._window if self.windowed else None

    def focus(self, offset: int) -> bool:
        """Make the tree cover byte ``offset`` (where a request points); True when it does
        already, or will once the pending parse is done. Otherwise the window moves there:
        until its parse is done, ``tree`` is None (plain-text behaviour), and ``on_refocus``
        is told so the parse is driven."""
        if not self.windowed:
            return True
        self._focus = max(0, min(offset, len(self.buffer.data)))
        window = self._window
        if window is None or window.covers(self._focus, len(self.buffer.data)):
            return True  # (None: no parse has chosen a window yet; the next one is chosen around it)
        self._move_window()
        if self.on_refocus is not None:
            self.on_refocus()
        return False

    def covered(self) -> list[tuple[int, int]]:
        """The byte spans the current tree covers: the whole text, or its window's ranges (the
        head, the lines opening the blocks around the window, the window)."""
        tree = self._tree
        if tree is None or not self._tree_windowed:
            return [(0, len(self.buffer.data))]
        return [(r.start_byte, r.end_byte) for r in tree.included_ranges]

    def _move_window(self) -> None:
        """Drop the tree: the next parse is a fresh one of a window around ``_focus``."""
        self._cancel_job()
        self._tree, self._pending, self._window = None, [], None
        self._stale, self._handed_off, self._slow = True, False, False

    @property
    def parsing(self) -> bool:
        """Whether the tree lags behind the text (a parse is pending or halted)."""
        return self._stale and self._parser is not None

    def parse_step(self, seconds: float | None) -> bool:
        """Advance the pending parse for at most ``seconds`` (None: to the end);
        True when the tree is current."""
        if not self.parsing:
            return True
        return self._step(Deadline(seconds))

    def wants_worker(self) -> bool:
        """Whether the pending parse should run in the worker: known to be long (it did not fit
        in a slice, or the last one did not), or a first parse of ``WORKER_BYTES`` or more."""
        if self.worker is None or self._worker_failed or self._in_worker is not None or not self.parsing:
            return False
        job = self._job
        if self._slow or (job is not None and job.halted):
            return True
        return (self._tree is None or (job is not None and job.old is None)) and len(self.buffer.data) >= WORKER_BYTES

    @property
    def worker_busy(self) -> bool:
        """Whether a worker thread is parsing (a cancelled job may still be ending)."""
        return self._in_worker is not None

    def start_worker(self) -> bool:
        """Hand the pending parse to the worker thread and return at once (False: nothing to
        hand over). The job belongs to the document, not to whoever started it: it ends on
        its own, on the loop (``_worker_finished``); ``wait_worker`` waits for it."""
        worker, parser = self.worker, self._parser
        if worker is None or parser is None or self._in_worker is not None or not self.parsing:
            return False
        job = self._ready_job()  # (set up before the worker owns the parser)
        if job is None:
            return False  # too deeply open to parse: plain text for now
        loop = asyncio.get_running_loop()
        self._in_worker, self._worker_waiter = job, loop.create_future()
        future = worker.submit(_parse_job, parser, job)
        future.add_done_callback(lambda done: _call_soon(loop, self._worker_finished, job, done))
        return True

    async def wait_worker(self, timeout_s: float | None) -> bool:
        """Wait for the worker's job to end, at most ``timeout_s`` (None: as long as it takes);
        False when it is still running."""
        waiter = self._worker_waiter
        if waiter is None or self._in_worker is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    def cancel_worker(self) -> None:
        """Stop the worker's job (the document is closed or replaced): it halts at its next
        progress call, and the worker resets the parser."""
        if self._in_worker is not None:
            self._in_worker.cancelled = True

    def _worker_finished(self, job: _Job, done: concurrent.futures.Future[_JobResult]) -> None:
        """On the loop, when the worker has let go of the parser: take its tree."""
        if self._in_worker is job:
            self._in_worker = None
            if self._worker_waiter is not None and not self._worker_waiter.done():
                self._worker_waiter.set_result(None)
            self._worker_waiter = None
        if done.cancelled():  # never ran (the store shut down): the parser may hold a halted slice
            if self._parser is not None:
                self._parser.reset()
            if self._job is job:
                self._job = None
            return
        tree, seconds = done.result()  # _parse_job does not raise
        if job.cancelled or self._job is not job:
            if self._job is job:
                self._job = None  # the worker reset the parser: a next parse starts afresh
            return  # replaced text or a closed document
        if tree is None:  # failed without being cancelled: parse on the loop from now on
            log.warning("a worker parse failed; parsing in slices on the event loop instead")
            self._worker_failed = True
            self._job = None
            return
        # longer than a slice: its changed ranges are not computed (see above), and the next
        # parse goes to the worker too; a short one (a keystroke after it) brings back slices
        job.halted = job.halted or seconds > (self.budget.parse_s or 0.0)
        self._finish_job(job, tree)

    def settle_step(self, seconds: float | None) -> bool:
        """One slice of catching up: the pending parse, then the outline's queued queries;
        True when both are done."""
        deadline = Deadline(seconds)
        if self.parsing and not self._step(deadline):
            return False
        outline = self.outline
        if not outline.complete and not deadline.expired():
            outline.refresh(deadline)
        return not self.parsing and outline.complete

    @property
    def version(self) -> int:
        """Tree version: bumped by every (re)parse. Read ``tree`` first to bring it up to date."""
        return self._version

    def full_parse(self) -> tree_sitter.Tree | None:
        """A fresh parse of the current text, over what the tree covers (the whole text, or
        its window's ranges), for tests and checks; leaves state alone."""
        parser = self._trial_parser()
        if parser is None:
            return None
        window = self.window
        if self._tree is not None and not self._stale and self._tree_windowed:
            parser.included_ranges = self._tree.included_ranges
        else:
            parser.included_ranges = window.ranges(self.buffer) if window is not None else []
        return parser.parse(self.buffer.tree_data)

    def parse_bytes(self, data: bytes, old_tree: tree_sitter.Tree | None = None,
                    deadline: Deadline | None = None) -> tree_sitter.Tree | None:
        """Parse other bytes with this document's grammar (e.g. a candidate insertion);
        None for plain text or when ``deadline`` (default: ``budget.validate_s`` from
        now) passes first."""
        parser = self._trial_parser()
        if parser is None:
            return None
        return parse_within(parser, tree_bytes(data), old_tree, deadline or Deadline(self.budget.validate_s))

    def deltas_since(self, version: int) -> list[TreeDelta] | None:
        """The deltas that lead from tree ``version`` to the current one, or None if they
        are no longer known (too old, or a full reparse happened since)."""
        if version == self._version:
            return []
        wanted = []
        for delta in reversed(self._history):  # newest first: stop at the first known one
            if delta.version <= version:
                break
            wanted.append(delta)
        wanted.reverse()
        if not wanted or wanted[0].version != version + 1 or any(d.reset for d in wanted):
            return None
        return wanted

    @property
    def outline(self) -> Outline:
        """The document's imports/definitions index, updated lazily from tree deltas."""
        if self._outline is None:
            self._outline = Outline(self)
        return self._outline

    # -- parsing -------------------------------------------------------------------
    def _trial_parser(self) -> tree_sitter.Parser | None:
        if self._trial is None and self.spec is not None:
            self._trial = self.registry.parser(self.spec)
        return self._trial

    def _cancel_job(self) -> None:
        job = self._job
        if job is not None and job is self._in_worker:
            job.cancelled = True  # the worker halts at its next progress call and resets the parser
        elif job is not None and job.started and self._parser is not None:
            self._parser.reset()  # a halted parse would otherwise resume on the old text
        self._job = None

    def _step(self, deadline: Deadline) -> bool:
        """Work on the pending parses until the tree is current or ``deadline`` passes."""
        if self._in_worker is not None:
            return False  # a worker thread owns the parser
        while self._stale:
            job = self._ready_job()
            if job is None:
                break  # too deeply open to parse: plain text for now
            if deadline.bounded:
                try:
                    tree = _parse(self._parser, job.read, job.old, deadline.progress)
                except ValueError:
                    tree = None
                if tree is None:
                    job.halted = True
                    if not deadline.halted:  # not our halt: start this parse over next time
                        self._cancel_job()
                    return False
            else:
                tree = _parse(self._parser, job.data, job.old)
            self._finish_job(job, tree)
            if deadline.expired():
                break
        return not self._stale

    def _ready_job(self) -> _Job | None:
        """The pending parse, started if it was not and with the parser set up for it (a halted
        parse resumes as it was); None when the text keeps too many brackets open to be parsed."""
        job = self._job
        if job is None:
            job = self._job = self._start_job()
            if job is None:
                return None
        if not job.started and self._parser is not None:
            self._parser.included_ranges = job.ranges if job.ranges is not None else []  # []: the whole text
        job.started = True
        return job

    def _job_window(self) -> tuple[TreeWindow | None, bool]:
        """The window the next parse covers (None: the whole text) and whether it is new
        (a fresh parse: the old tree covered other text)."""
        size = self.budget.tree_bytes
        if not self.windowed or size is None:
            self._window = None
            return None, self._tree_windowed
        window = self._window
        if window is not None and self._tree is not None and self._tree_windowed and window.span <= 2 * size:
            return window, False
        self._window = window_around(self.buffer.tree_data, self._focus, size)  # (lone "\r" read as "\n")
        return self._window, True

    def _start_job(self) -> _Job | None:
        """The next parse (None: the text keeps too many brackets open to be parsed, and the
        document is plain text until it changes: ``_unparsed``)."""
        data = self.buffer.tree_data  # lone "\r" read as "\n": rows as LSP counts them
        window, fresh = self._job_window()
        if self._too_deep(data, window, fresh):
            self._unparsed()
            return None
        old = None
        if self._tree is not None and not fresh:
            old = self._tree.copy()
            for edit in self._pending:
                if not node_path(old.root_node, edit.start_byte).complete:
                    old = None  # ``Tree.edit`` costs the depth at the edit: parse from scratch instead
                    break
                old.edit(
                    start_byte=edit.start_byte,
                    old_end_byte=edit.old_end_byte,
                    new_end_byte=edit.new_end_byte,
                    start_point=edit.start_point,
                    old_end_point=edit.old_end_point,
                    new_end_point=edit.new_end_point,
                )
        # (the window's own ranges, not the old tree's: tree-sitter's edit leaves text inserted at
        # a range's start outside it, even at the file's start)
        return _Job(data, old, len(self._pending), reader(data), window.ranges(self.buffer) if window else None)

    def _too_deep(self, data: bytes, window: TreeWindow | None, fresh: bool) -> bool:
        """Whether the next parse's text keeps more than ``budget.open_brackets`` brackets open
        (counted for a parse from scratch, or after edits that add 1 KB or more; between those,
        a keystroke changes the count by a few at most)."""
        limit = self.budget.open_brackets
        if limit is None:
            return False
        added = sum(edit.new_end_byte - edit.start_byte for edit in self._pending)
        if self._tree is not None and not fresh and added < _RECOUNT_BYTES:
            return False
        run = open_run(data, None if window is None else window.spans(len(data)))
        if run <= limit:
            return False
        if not self._deep_logged:
            log.info("%d brackets open at once (more than %d): this text is not parsed until they are closed",
                     run, limit)
            self._deep_logged = True
        return True

    def _unparsed(self) -> None:
        """No tree for the current text (see ``_too_deep``): plain text, an outline of nothing."""
        self._tree, self._pending, self._job = None, [], None
        self._stale = self._handed_off = self._slow = False
        self.too_deep = True
        self._version += 1
        self._history.append(TreeDelta(self._version, (), None, True))

    def _finish_job(self, job: _Job, tree: tree_sitter.Tree) -> None:
        old = job.old
        changed: tuple[tuple[int, int], ...] | None = ()
        if old is not None and job.halted:
            changed = None  # ``changed_ranges`` cannot be halted and costs up to a third of the parse
        elif old is not None:
            changed = tuple((r.start_byte, r.end_byte) for r in old.changed_ranges(tree))
        edits = tuple(self._pending[:job.edits])
        del self._pending[:job.edits]
        self._version += 1
        self._history.append(TreeDelta(self._version, edits, changed, old is None))
        self._tree, self._job = tree, None
        self._tree_windowed = job.ranges is not None
        self._deep_logged = self.too_deep = False
        self._slow = job.halted
        self._stale = bool(self._pending)


async def settle(doc: SyntaxDocument, slice_s: float = BACKGROUND_SLICE_S, *,
                 timeout_s: float | None = None) -> bool:
    """Bring ``doc``'s tree and outline up to date in slices of ``slice_s``, letting the
    event loop run between slices; give up after ``timeout_s`` (None: never). True when
    both are up to date. One caller drives a document at a time; others wait for it
    (two drivers would run two slices per turn of the loop)."""
    waited = Deadline(timeout_s)
    while doc.driven:
        if waited.expired():
            return False
        await asyncio.sleep(_WAIT_S)
    doc.driven = True
    try:
        while True:
            if doc.wants_worker():
                doc.start_worker()
            if doc.worker_busy:  # the worker has the parser: wait for it, within our own time
                if not await doc.wait_worker(waited.remaining()):
                    return False
                continue
            if doc.settle_step(slice_s):
                break
            if waited.expired():
                return False
            await asyncio.sleep(0)
    finally:
        doc.driven = False
    return True
