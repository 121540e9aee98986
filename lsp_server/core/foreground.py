"""Foreground work in progress, so background work can wait for a gap.

The completion engine marks each request active (``with foreground.active():``);
background work on the same event loop (building the symbol index) calls ``gap``
between its slices, which waits while a request is in flight or ended less than
``hold_s`` ago, but never longer than ``max_wait_s`` in a row, so background work still
progresses while someone types without pause.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Foreground:
    """Counts foreground requests; ``gap()`` waits until there are none."""

    def __init__(self, *, hold_s: float = 0.03, max_wait_s: float = 0.25, poll_s: float = 0.005,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_s = hold_s
        self.max_wait_s = max_wait_s
        self.poll_s = poll_s
        self._clock = clock
        self._active = 0
        self._ended = float("-inf")
        self.waited_s = 0.0  # total time background work spent waiting (stats)

    @contextmanager
    def active(self) -> Iterator[None]:
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            self._ended = self._clock()

    def busy(self) -> bool:
        return self._active > 0 or self._clock() - self._ended < self.hold_s

    async def gap(self) -> None:
        """Wait for a moment without foreground work (at most ``max_wait_s``)."""
        if not self.busy():
            return
        started = self._clock()
        while self.busy() and self._clock() - started < self.max_wait_s:
            await asyncio.sleep(self.poll_s)
        self.waited_s += self._clock() - started
