"""Time budgets for syntax work done on the event loop.

tree-sitter holds the GIL while it parses or runs a query, so work that can grow
with the input (a parse full of error recovery, a query over a node with 100,000
children, a walk up a 100,000-deep tree) is bounded instead. (A parse that reads its
text through a callback is the exception: it lets go of the GIL at each callback, so
the server's long parses run in a worker thread: ``syntax.document.WORKER_BYTES``.)
What cannot be halted at all is bounded by size: the text one tree covers
(``tree_bytes``, ``syntax.tree_window``) and the brackets a parsed text keeps open
(``open_brackets``, ``syntax.nesting``).

A ``Deadline`` is a point in time: Python loops ask ``expired()`` between steps, and
tree-sitter calls ``progress`` (a parse's ``progress_callback``) every 100 parser
operations, which is a few milliseconds on ordinary code and up to about 25 ms of CPU
on the worst error recovery measured (scripts/bench_worst_case.py).
Queries are kept small by their shape instead (``definitions.run_query``). A halted
step degrades (less context, a check skipped, work left for a later slice); it never
blocks.

The budgets below are what the editor path allows per step. ``None`` anywhere means
"no budget" (the CLI review and tests parse and query whole files at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lsp_server.syntax.nesting import MAX_UNCLOSED

Clock = Callable[[], float]

#: Synchronous parse work per ``SyntaxDocument.tree`` access before the rest is left
#: to the background (an ordinary keystroke's incremental reparse takes 1-5 ms).
PARSE_SLICE_S = 0.008
#: One background slice of parsing or outline work between event-loop turns.
BACKGROUND_SLICE_S = 0.003
#: Outline re-query work per tree version (what a keystroke pays for imports/definitions).
OUTLINE_SLICE_S = 0.004
#: The completion context (scopes, nearby signatures, names from elsewhere) per request.
CONTEXT_S = 0.008
#: Validating one completion (trial parses, error comparison).
VALIDATE_S = 0.012
#: How long a completion waits (without blocking: the slices above run meanwhile) for
#: a document's parse and outline to catch up before it plans with what there is.
SETTLE_WAIT_S = 0.25
#: Tree walks per node lookup: deeper paths are cut here (and the context degrades).
MAX_PATH_DEPTH = 1024
#: The most text one editor document's tree covers; a larger document's tree covers a
#: window of this size around where the user works (``syntax.tree_window``).
TREE_BYTES = 512 * 1024


class Deadline:
    """A point in time after which a step stops; ``None`` seconds never expires."""

    __slots__ = ("_clock", "_end", "halted")

    def __init__(self, seconds: float | None, *, clock: Clock = time.perf_counter) -> None:
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds
        self.halted = False  # set when ``progress`` told tree-sitter to stop

    @classmethod
    def never(cls) -> Deadline:
        return cls(None)

    @property
    def bounded(self) -> bool:
        return self._end is not None

    def expired(self) -> bool:
        return self._end is not None and self._clock() >= self._end

    def remaining(self) -> float | None:
        """Seconds left (0 once expired; None: unbounded)."""
        return None if self._end is None else max(0.0, self._end - self._clock())

    def progress(self, *_state: object) -> bool:
        """A parse's progress callback: True (halt) once expired, remembered in ``halted``."""
        if self._end is not None and self._clock() >= self._end:
            self.halted = True
            return True
        return False


@dataclass(frozen=True)
class SyntaxBudget:
    """The per-step budgets of one document (``None``: unbounded)."""

    parse_s: float | None = PARSE_SLICE_S
    outline_s: float | None = OUTLINE_SLICE_S
    context_s: float | None = CONTEXT_S
    validate_s: float | None = VALIDATE_S
    tree_bytes: int | None = TREE_BYTES
    open_brackets: int | None = MAX_UNCLOSED  # more kept open at once: not parsed (``syntax.nesting``)

    @classmethod
    def unbounded(cls) -> SyntaxBudget:
        return cls(None, None, None, None, None, None)
