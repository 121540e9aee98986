"""How the review scheduler talks to whoever shows its results (the LSP glue, or nobody),
and how it learns whether the workspace index it reviews with is ready.

``ReviewListener.publish(uri)`` says a document's findings changed (the listener
reads them back from the scheduler); ``progress`` opens a progress indicator. The
scheduler starts with a ``QuietListener`` and the protocol layer attaches its own.
``IndexReadiness`` is what ``WorkspaceKnowledge`` offers: whether a file's index is
still to come, and a bounded wait for it.
"""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    def update(self, done: int, total: int, message: str) -> None: ...
    def finish(self, message: str) -> None: ...
    def cancelled(self) -> bool: ...


class ReviewListener(Protocol):
    def publish(self, uri: str) -> None: ...
    def progress(self, title: str, *, cancellable: bool = False) -> ProgressSink: ...


class IndexReadiness(Protocol):
    def pending(self, path: str) -> bool: ...
    async def wait_ready(self, path: str, timeout_s: float) -> bool: ...


class QuietListener:
    """Publishes nowhere and shows no progress (until the protocol layer attaches)."""

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
