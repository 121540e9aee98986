"""Cooperative time slicing: how background indexing stays off the completion path.

tree-sitter's ``Parser.parse`` (and ``Query`` compilation) hold the GIL for the whole
call (measured: a worker thread parsing a 20,000-line file stalls the event loop for
the full 60-70 ms), so a worker thread does not help; indexing runs on the event loop
itself in short slices instead. A ``Pacer`` says when the current slice has used its
budget (``due``); the driver then ``pause``s, which yields with ``asyncio.sleep(0)``.
Long parses are sliced too: the parse's progress callback halts it when the slice is
due, and calling ``parse`` again resumes where it stopped.

While a completion request is in flight (``Foreground``), a pause waits for a gap
instead of taking the next slice, so a request never queues behind index slices.

The pacer records the longest slice it saw (``longest_s``): the figure that matters
for completion latency. A request that arrives during indexing waits for at most the
current slice plus the next one already queued.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from lsp_server.core.foreground import Foreground

T = TypeVar("T")


class Pacer:
    """A time budget per slice of blocking work between event-loop yields.

    Most pauses are ``asyncio.sleep(0)``. That alone would starve other threads (the
    LSP reader thread included): a thread waiting for the GIL only forces a switch if
    the holder kept it for a whole switch interval, and a loop that releases and
    retakes the GIL every few ms never does (measured: a thread posting to the loop
    every 5 ms got through 10% of the time during a cold build). So once per
    ``breathe_every_s`` of work the pause is a real ``breathe_s`` sleep, during which
    the loop waits in ``epoll`` with the GIL released.
    """

    def __init__(self, budget_s: float = 0.0025, *, breathe_every_s: float = 0.005, breathe_s: float = 0.001,
                 clock: Callable[[], float] = time.perf_counter, foreground: Foreground | None = None) -> None:
        self.budget_s = budget_s
        self.foreground = foreground  # completions in flight: wait for a gap before the next slice
        self.breathe_every_s = breathe_every_s
        self.breathe_s = breathe_s
        self._clock = clock
        self._started = clock()
        self._deadline = self._started + budget_s
        self._breathed = self._started
        self.longest_s = 0.0
        self.pauses = 0

    def due(self) -> bool:
        """Whether the current slice has used its budget (cheap: one clock read)."""
        return self._clock() >= self._deadline

    def restart(self) -> None:
        """Start a new slice now (after any await that let the loop run)."""
        self._started = self._clock()
        self._deadline = self._started + self.budget_s

    def end_slice(self) -> None:
        """Record the slice that ends now (call before an await)."""
        self.longest_s = max(self.longest_s, self._clock() - self._started)

    async def pause(self) -> None:
        """End the slice, let the event loop (and, now and then, other threads) run,
        start a new slice."""
        self.end_slice()
        self.pauses += 1
        now = self._clock()
        if self.foreground is not None and self.foreground.busy():
            await self.foreground.gap()
            self._breathed = self._clock()
        elif now - self._breathed >= self.breathe_every_s:
            await asyncio.sleep(self.breathe_s)
            self._breathed = self._clock()
        else:
            await asyncio.sleep(0)
        self.restart()

    async def maybe_pause(self) -> None:
        """``pause`` if the slice is due."""
        if self.due():
            await self.pause()


async def drive(steps: Generator[None, None, T], pacer: Pacer) -> T:
    """Run a generator of work slices to completion, pausing wherever it yields."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value
        await pacer.pause()


def run(steps: Generator[None, None, T]) -> T:
    """Run a generator of work slices to completion without yielding (tests, CLI)."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value
