"""The review engine against the vLLM stand-in: requests, cache, bad output, fallbacks, limits."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.engines.review import ReviewEngine
from lsp_server.model.client import ModelClient
from lsp_server.model.health import ModelHealth
from tests.standin import Reply, StandIn

SOURCE = '''import os

API_KEY = "sk-abcdefghijklmnopqrstuvwxyz123456"


def load(path):
    f = open(path)
    return f.read()


def first(items):
    return items[len(items)]


def broken_fix(x):
    return x + 1
'''


def finding(line: int, quote: str, rule: str, fix: dict | None = None) -> dict:
    return {"line": line, "quote": quote, "severity": "warning", "rule": rule, "message": "m", "fix": fix}


def responder(body: dict) -> Reply:
    user = body["messages"][1]["content"]
    if "`load`" in user:
        fix = {"start_line": 7, "end_line": 8, "replacement": "    with open(path) as f:\n        return f.read()"}
        return Reply(text=json.dumps({"findings": [finding(5, "open(path)", "unclosed-file", fix)]}))
    if "`first`" in user:  # truncated after the first finding
        text = json.dumps({"findings": [finding(12, "items[len(items)]", "off-by-one"), finding(12, "items", "x")]})
        return Reply(text=text[: text.rindex('"quote"')])
    if "`broken_fix`" in user:
        fix = {"start_line": 16, "end_line": 16, "replacement": "    return (x + 1"}
        return Reply(text=json.dumps({"findings": [finding(16, "x + 1", "overflow", fix)]}))
    return Reply(text='{"findings": []}')


@pytest.fixture(scope="module")
def standin():
    with StandIn(scheduling_priority=True) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(standin: StandIn) -> None:
    standin.reset()
    standin.responder = responder


def engine_for(standin: StandIn, cache_dir: Path, **changes) -> tuple[ReviewEngine, ModelClient]:
    settings = replace(Settings(endpoint=standin.base_url, cache_dir=cache_dir), **changes)
    client = ModelClient(settings.endpoint, settings.model, None)
    return ReviewEngine(settings, client, ModelHealth(first_backoff_s=0.01), FindingsCache(cache_dir)), client


async def test_one_request_per_unit_then_none(standin: StandIn, tmp_path: Path) -> None:
    engine, client = engine_for(standin, tmp_path)
    result = await engine.review_text("app.py", SOURCE)
    assert result.units == 4 and result.cached == 0 and len(standin.chat_requests()) == 4
    by_rule = {f.rule: f for f in result.findings}
    assert set(by_rule) == {"unclosed-file", "off-by-one", "overflow"}
    assert by_rule["unclosed-file"].span.start_line == 6 and by_rule["unclosed-file"].fix.start_line == 6
    assert by_rule["overflow"].fix is None  # its fix does not parse: dropped, the finding kept
    prompts = json.dumps([r.body for r in standin.chat_requests()])
    assert "sk-abcdef" not in prompts and "<redacted>" in prompts
    assert all(r.body["response_format"]["json_schema"]["strict"] for r in standin.chat_requests())
    assert all("priority" not in r.body for r in standin.chat_requests())
    await client.aclose()

    again, client = engine_for(standin, tmp_path)  # a new process, same cache dir
    moved = await again.review_text("app.py", "# header\n\n" + SOURCE)
    assert len(standin.chat_requests()) == 4 and moved.cached == 4
    assert {f.rule: f.span.start_line for f in moved.findings}["unclosed-file"] == 8
    assert {f.rule: f for f in moved.findings}["unclosed-file"].fix.start_line == 8
    await client.aclose()


async def test_bad_output_keeps_what_is_good(standin: StandIn, tmp_path: Path) -> None:
    def mixed(body: dict) -> Reply:
        user = body["messages"][1]["content"]
        if "`load`" in user:
            return Reply(mode="garbage")
        if "`first`" in user:
            return Reply(text="no json at all, sorry")
        return responder(body)

    standin.responder = mixed
    engine, client = engine_for(standin, tmp_path)
    result = await engine.review_text("app.py", SOURCE)
    assert [f.rule for f in result.findings] == ["overflow"]
    # garbage from the server, and prose with no findings JSON: both are that unit's error, not "no findings"
    assert len(result.errors) == 2 and engine.stats.errors == 2
    assert "no findings JSON" in " ".join(result.errors)
    standin.responder = responder
    await asyncio.sleep(0.05)  # the (shortened) health back-off after the garbage answer
    retry = await engine.review_text("app.py", SOURCE)
    assert len(standin.chat_requests()) == 6  # only the two failed units are asked again (nothing was cached)
    # the prose answer had hidden first()'s real finding: asked again, it is found
    assert {f.rule for f in retry.findings} == {"unclosed-file", "overflow", "off-by-one"}
    assert retry.errors == ()
    await client.aclose()


async def test_server_without_structured_output(standin: StandIn, tmp_path: Path) -> None:
    def no_schema(body: dict) -> Reply:
        if "response_format" in body:
            return Reply(mode="error", status=400, error_message="response_format json_schema is not supported")
        return Reply(text="```json\n" + responder(body).text + "\n```")

    standin.responder = no_schema
    engine, client = engine_for(standin, tmp_path)
    result = await engine.review_text("app.py", SOURCE)
    assert "unclosed-file" in {f.rule for f in result.findings}
    first_run = len(standin.chat_requests())
    await engine.review_text("other.py", "def load(path):\n    f = open(path)\n")
    assert not any("response_format" in r.body for r in standin.chat_requests()[first_run:])
    await client.aclose()


async def test_concurrency_limit_and_priority(standin: StandIn, tmp_path: Path) -> None:
    standin.responder = lambda body: Reply(text='{"findings": []}', first_token_delay=0.05)
    engine, client = engine_for(standin, tmp_path, review_concurrency=2, priority_enabled=True, review_priority=7)
    code = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(8))
    result = await engine.review_text("many.py", code)
    assert result.units == 8 and standin.max_in_flight <= 2
    assert {r.body["priority"] for r in standin.chat_requests()} == {7}
    await client.aclose()


async def test_secret_files_and_unsupported_languages_send_nothing(standin: StandIn, tmp_path: Path) -> None:
    engine, client = engine_for(standin, tmp_path)
    assert (await engine.review_text(".env", "API_KEY=1\n")).skipped == "secret file"
    assert (await engine.review_text("id_rsa_tool.py", SOURCE)).skipped == "secret file"
    assert (await engine.review_text("notes.txt", "hello\n")).skipped == "unsupported language"
    assert standin.chat_requests() == []
    await client.aclose()


async def test_cancelling_a_review_closes_its_requests(standin: StandIn, tmp_path: Path) -> None:
    standin.responder = lambda body: Reply(text='{"findings": []}', first_token_delay=30)
    engine, client = engine_for(standin, tmp_path)
    task = asyncio.create_task(engine.review_text("app.py", SOURCE))
    assert await standin.await_for(lambda reqs: len(reqs) == 4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await standin.await_for(lambda reqs: all(r.disconnected for r in reqs))
    assert len(engine.cache) == 0
    await client.aclose()


async def test_identical_units_share_one_request_cold_and_warm(standin: StandIn, tmp_path: Path) -> None:
    """The same code in two files (and twice in one) is one cache key: one request, one answer,
    in the cold run as in the warm one, even when the model would answer differently each time."""
    asked = 0

    def changing(body: dict) -> Reply:
        nonlocal asked
        asked += 1
        return Reply(text=json.dumps({"findings": [finding(2, "open(path)", f"answer-{asked}")]}),
                     first_token_delay=0.3)

    standin.responder = changing
    unit = "def load(path):\n    f = open(path)\n    return f.read()\n"
    engine, client = engine_for(standin, tmp_path)
    cold = await asyncio.gather(*(engine.review_text(name, unit) for name in ("a.py", "b.py", "c.py")))
    assert len(standin.chat_requests()) == 1 and asked == 1
    assert [[f.rule for f in r.findings] for r in cold] == [["answer-1"]] * 3
    assert [f.span.start_line for r in cold for f in r.findings] == [1, 1, 1]
    assert sum(r.cached for r in cold) == 2  # the two that waited made no request
    await client.aclose()
    warm_engine, client = engine_for(standin, tmp_path)
    warm = await asyncio.gather(*(warm_engine.review_text(name, unit) for name in ("a.py", "b.py", "c.py")))
    assert len(standin.chat_requests()) == 1
    assert [[f.rule for f in r.findings] for r in warm] == [["answer-1"]] * 3
    await client.aclose()


async def test_a_shared_failure_is_every_waiting_units_error_and_not_cached(standin: StandIn,
                                                                            tmp_path: Path) -> None:
    standin.responder = lambda body: Reply(text="Sure! Here is my review: looks fine.", first_token_delay=0.2)
    unit = "def twice(x):\n    return x * 2\n"
    engine, client = engine_for(standin, tmp_path)
    results = await asyncio.gather(*(engine.review_text(name, unit) for name in ("a.py", "b.py")))
    assert len(standin.chat_requests()) == 1
    assert all(r.findings == () and len(r.errors) == 1 and "no findings JSON" in r.errors[0] for r in results)
    assert len(engine.cache) == 0  # nothing cached: the next review asks again
    standin.responder = lambda body: Reply(text='{"findings": []}')
    again = await engine.review_text("a.py", unit)
    assert len(standin.chat_requests()) == 2 and again.errors == () and len(engine.cache) == 1
    await client.aclose()


async def test_a_cancelled_request_lets_the_waiting_unit_ask_itself(standin: StandIn, tmp_path: Path) -> None:
    standin.responder = lambda body: Reply(text='{"findings": []}', first_token_delay=0.5)
    unit = "def f(x):\n    return x\n"
    engine, client = engine_for(standin, tmp_path)
    first = asyncio.create_task(engine.review_text("a.py", unit))
    assert await asyncio.to_thread(standin.wait_for, lambda reqs: any(r.path.endswith("/chat/completions")
                                                                       for r in reqs), 10.0)
    second = asyncio.create_task(engine.review_text("b.py", unit))
    await asyncio.sleep(0.05)
    first.cancel()
    result = await asyncio.wait_for(second, 30)
    assert result.errors == () and result.units == 1
    assert len(standin.chat_requests()) == 2  # the waiting unit asked once the first was cancelled
    await client.aclose()
