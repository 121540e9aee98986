"""Server-initiated work-done progress (reviews, indexing, AI actions): one bar per job.

The token is created with ``window/workDoneProgress/create``; begin is sent when the
client accepted it, so a job that ends first still ends its bar cleanly. Clients
without work-done progress see nothing. A cancellable bar calls ``on_cancel`` when the user
cancels it (``window/workDoneProgress/cancel``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from lsprotocol import types

from lsp_server.protocol.base import MistralServer

log = logging.getLogger(__name__)


class WorkDoneProgress:
    """One work-done progress bar; quiet when the client cannot show one."""

    def __init__(self, ls: MistralServer, title: str, *, cancellable: bool = False, kind: str = "review",
                 on_cancel: Callable[[], None] | None = None) -> None:
        self._ls = ls
        self._title = title
        self._cancellable = cancellable
        self._on_cancel = on_cancel  # called when the user cancels the bar
        self._token = f"mistral-lsp/{kind}/{uuid.uuid4().hex}"
        self._ready = False
        self._ended: str | None = None
        window = ls.client_capabilities.window if ls.client_capabilities else None
        if window is not None and window.work_done_progress:
            try:
                ls.work_done_progress.create(self._token, callback=self._created)
            except Exception:  # noqa: BLE001 - progress is decoration only
                log.debug("could not create a progress token", exc_info=True)

    def _created(self, *_: Any) -> None:
        self._ready = True
        progress = self._ls.work_done_progress
        progress.begin(self._token, types.WorkDoneProgressBegin(
            title=f"mistral-lsp: {self._title}", cancellable=self._cancellable, percentage=0))
        future = progress.tokens.get(self._token)
        if self._on_cancel is not None and future is not None:
            on_cancel = self._on_cancel
            future.add_done_callback(lambda done: on_cancel() if done.cancelled() else None)
        if self._ended is not None:
            self._end()

    def say(self, message: str) -> None:
        """A message without a percentage (work of unknown length)."""
        if self._ready and self._ended is None:
            self._ls.work_done_progress.report(self._token, types.WorkDoneProgressReport(message=message))

    def update(self, done: int, total: int, message: str) -> None:
        if self._ready and self._ended is None:
            percentage = int(done * 100 / total) if total else 100
            self._ls.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=f"{done}/{total} {message}", percentage=percentage)
            )

    def finish(self, message: str) -> None:
        if self._ended is None:
            self._ended = message
            if self._ready:
                self._end()

    def _end(self) -> None:
        progress = self._ls.work_done_progress
        progress.end(self._token, types.WorkDoneProgressEnd(message=self._ended or ""))
        progress.tokens.pop(self._token, None)

    def cancelled(self) -> bool:
        future = self._ls.work_done_progress.tokens.get(self._token)
        return future is not None and future.cancelled()
