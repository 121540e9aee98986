"""Background work waits for a gap between completion requests, but never forever."""

from __future__ import annotations

import asyncio
import time

from lsp_server.core.foreground import Foreground
from lsp_server.index.pacing import Pacer


async def test_gap_waits_while_a_request_runs_and_a_little_after() -> None:
    fg = Foreground(hold_s=0.05, max_wait_s=2.0, poll_s=0.002)
    assert not fg.busy()

    async def request() -> None:
        with fg.active():
            await asyncio.sleep(0.1)

    task = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    assert fg.busy()
    started = time.monotonic()
    await fg.gap()
    waited = time.monotonic() - started
    await task
    assert 0.12 <= waited < 1.0  # the rest of the request (~0.09 s) plus the hold (0.05 s)
    assert not fg.busy()


async def test_gap_gives_up_after_max_wait() -> None:
    fg = Foreground(hold_s=0.0, max_wait_s=0.05, poll_s=0.005)
    with fg.active():
        started = time.monotonic()
        await fg.gap()
        assert 0.04 <= time.monotonic() - started < 0.5


async def test_a_pacer_pause_waits_for_the_gap() -> None:
    fg = Foreground(hold_s=0.0, max_wait_s=1.0, poll_s=0.002)
    pacer = Pacer(0.001, foreground=fg)
    order: list[str] = []

    async def request() -> None:
        with fg.active():
            order.append("request starts")
            await asyncio.sleep(0.05)
            order.append("request ends")

    task = asyncio.create_task(request())
    await asyncio.sleep(0)  # the request is now in flight
    await pacer.pause()
    order.append("next slice")
    await task
    assert order == ["request starts", "request ends", "next slice"]
