"""Fire-and-forget coroutines that are still owned: kept, logged when they fail, cancelled on close.

``asyncio`` only holds weak references to tasks, so a task nobody keeps can vanish
mid-run, and an exception in a task nobody awaits surfaces (if at all) as "Task
exception was never retrieved" at garbage collection. ``BackgroundTasks`` keeps the
tasks its owner spawns until they finish, logs a failure with the owner's label, and
cancels what is left when the owner closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    """The set of running tasks of one owner; ``label`` names them in failure warnings."""

    def __init__(self, label: str, *, log: logging.Logger | None = None) -> None:
        self.label = label
        self._log = log if log is not None else logging.getLogger(__name__)
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run ``work`` as a task on the running loop; without one, close it and return None."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return None
        task = loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def cancel_all(self) -> None:
        """Cancel the running tasks and wait until they have finished."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._log.warning("%s failed: %r", self.label, exc)
