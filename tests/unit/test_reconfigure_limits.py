"""Limits and in-flight state hold across a settings change (``Services.apply_settings``)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.services import Services
from tests.standin import Reply, StandIn

FUNCTIONS = "\n\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(6))


@pytest.fixture
async def services(standin: StandIn, tmp_path: Path):
    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path / "cache", review_concurrency=2,
                        index_enabled=False, debounce_ms=0)
    built = Services(settings)
    yield built
    await built.aclose()


async def test_review_concurrency_holds_across_a_settings_change(services: Services, standin: StandIn) -> None:
    standin.default = Reply(text='{"findings": []}', first_token_delay=0.4)
    old = services.review_engine
    first = asyncio.create_task(old.run(old.plan_text("a.py", FUNCTIONS)))
    assert await standin.await_for(lambda reqs: len(reqs) >= 2)
    # a settings change mid-review: a new engine, whose units must share the old ones' limit
    await services.apply_settings(replace(services.settings, review_temperature=0.3))
    new = services.review_engine
    assert new is not old
    second = asyncio.create_task(new.run(new.plan_text("b.py", FUNCTIONS.replace("def f", "def g"))))
    await asyncio.gather(first, second)
    assert len(standin.chat_requests()) == 12
    assert standin.max_in_flight == 2


async def test_a_smaller_limit_applies_to_units_already_waiting(services: Services, standin: StandIn) -> None:
    standin.default = Reply(text='{"findings": []}', first_token_delay=0.3)
    engine = services.review_engine
    running = asyncio.create_task(engine.run(engine.plan_text("a.py", FUNCTIONS)))
    assert await standin.await_for(lambda reqs: len(reqs) >= 2)
    await services.apply_settings(replace(services.settings, review_concurrency=1))
    changed = len(standin.chat_requests())
    await running
    later = standin.chat_requests()[changed:]
    assert later  # units that waited at the change ran under the new limit: one at a time
    for request in later:
        overlapping = [r for r in standin.chat_requests() if r is not request and r.received_at < request.received_at
                       and (r.ended_at is None or r.ended_at > request.received_at + 0.05)]
        assert not overlapping, json.dumps([r.body["messages"][1]["content"][-60:] for r in overlapping])


async def test_a_new_request_supersedes_one_in_flight_on_the_replaced_engine(services: Services,
                                                                            standin: StandIn) -> None:
    doc = services.documents.open("file:///w/a.py", "python", 1, "def f(x):\n    \n")
    cursor = doc.syntax.buffer.line_start(1) + 4
    standin.script(Reply(text="return 1", first_token_delay=30), Reply(text="return x"))
    slow = asyncio.create_task(services.completion.complete(doc, cursor, invoked=True))
    assert await standin.await_for(lambda reqs: len(reqs) == 1)
    await services.apply_settings(replace(services.settings, temperature=0.4))
    fresh_answer = await services.completion.complete(doc, cursor, invoked=True)
    assert fresh_answer.text == "return x"
    old_answer = await asyncio.wait_for(slow, 5)
    assert old_answer.text == "" and old_answer.reason == "superseded"
    assert await standin.await_for(lambda reqs: reqs[0].disconnected)  # its model stream was closed
