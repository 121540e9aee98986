"""The progress of a long background job (a workspace review, the symbol index's build), as the
job reports it; the LSP glue turns it into work-done progress, and nobody's sink ignores it."""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    """One job's progress: steps done of a total with a message, the end, and whether the user
    asked to cancel it."""

    def update(self, done: int, total: int, message: str) -> None: ...
    def finish(self, message: str) -> None: ...
    def cancelled(self) -> bool: ...
