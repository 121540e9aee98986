"""scripts/loop_watch.py: the benchmark's watch on the real server's event loop records the
callbacks and collections that hold the loop, and nothing shorter than its threshold."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import loop_watch  # noqa: E402


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(asyncio.events.Handle, "_run", asyncio.events.Handle._run)  # undone after the test
    callbacks = list(gc.callbacks)
    path = tmp_path / "watch.jsonl"
    loop_watch.LoopWatch(str(path), 0.02).install()
    yield path
    gc.callbacks[:] = callbacks


def test_a_callback_that_holds_the_loop_is_recorded_and_a_short_one_is_not(watched: Path) -> None:
    def hold() -> None:
        time.sleep(0.05)

    def brief() -> None:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(hold)
        loop.call_soon(brief)
        await asyncio.sleep(0.01)

    before = time.monotonic()
    asyncio.run(main())
    lines = [json.loads(line) for line in watched.read_text().splitlines()]
    assert len(lines) == 1
    [line] = lines
    assert "hold" in line["what"] and line["ms"] >= 45 and line["cpu_ms"] < 40  # asleep: wall, not CPU
    assert before <= line["at"] <= time.monotonic()
