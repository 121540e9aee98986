"""How the review scheduler talks to whoever shows its results (the LSP glue, or nobody).

``ReviewListener.publish(uri)`` says a document's findings changed (the listener
reads them back from the scheduler); ``progress`` opens a progress indicator. The
scheduler starts with a ``QuietListener`` and the protocol layer attaches its own.
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
