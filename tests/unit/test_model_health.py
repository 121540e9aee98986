"""Which failures are the server's health and which are one request's own (a 400 "too long")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.engines.completion import CompletionEngine
from lsp_server.engines.documents import DocumentStore
from lsp_server.engines.fixes_ai import AiFixer
from lsp_server.engines.review import ReviewEngine
from lsp_server.model.client import ModelClient, ModelError
from lsp_server.model.health import (
    ModelHealth,
    context_limit,
    context_overflow,
    request_failure,
)
from lsp_server.model.tokens import TokenCounter
from lsp_server.syntax.languages import LanguageRegistry
from tests.standin import Reply, StandIn

TOO_LONG = ("This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
            "(4800 in the messages, 200 in the completion). Please reduce the length of the messages or completion.")


def http(status: int, message: str = "nope") -> ModelError:
    return ModelError("model-missing" if status == 404 else "http", f"the model server answered {status}: {message}",
                      status)


@pytest.mark.parametrize("status", [400, 413, 414, 422])
def test_request_statuses_are_the_requests_failure(status: int) -> None:
    health = ModelHealth()
    assert request_failure(http(status))
    assert health.failed(http(status)) is False
    assert health.state == "unknown" and not health.should_skip()


@pytest.mark.parametrize("error", [
    http(500), http(502), http(503), http(404), http(401), http(403), http(429),
    ModelError("unreachable", "cannot connect to the model server (ConnectError)"),
    ModelError("timeout", "the model server did not answer in time"),
    ModelError("protocol", "unexpected answer from the model server"),
], ids=lambda e: f"{e.kind}-{e.status}")
def test_outages_pause_the_model(error: ModelError) -> None:
    changes = []
    health = ModelHealth(on_change=changes.append)
    assert not request_failure(error)
    assert health.failed(error) is True
    assert health.state == "unavailable" and health.should_skip() and len(changes) == 1


def test_a_slow_review_is_not_an_outage_but_a_refused_connection_is() -> None:
    health = ModelHealth()
    assert health.failed(ModelError("timeout", "slow"), timeouts=False) is False
    assert health.state == "unknown"
    assert health.failed(ModelError("unreachable", "refused"), timeouts=False) is True


def test_context_length_is_read_from_the_answer() -> None:
    assert context_overflow(http(400, TOO_LONG)) and context_limit(http(400, TOO_LONG)) == 4096
    assert context_overflow(http(413, "Payload Too Large")) and context_limit(http(413, "Payload Too Large")) is None
    assert not context_overflow(http(400, "continue_final_message=True requires final message to be an assistant."))
    assert not context_overflow(http(500, TOO_LONG))  # a server error stays an outage, whatever it says
    assert context_limit(http(422, "Input should be a valid integer")) is None


def _engine(standin: StandIn) -> tuple[CompletionEngine, ModelHealth, ModelClient, DocumentStore]:
    settings = Settings(endpoint=standin.base_url, debounce_ms=0)
    client = ModelClient(settings.endpoint, settings.model, None)
    health = ModelHealth()
    registry = LanguageRegistry()
    engine = CompletionEngine(settings, client, health, TokenCounter())
    return engine, health, client, DocumentStore(registry, max_parse_bytes=1_000_000)


async def test_context_too_long_fails_one_completion_and_shrinks_the_next_prompt(standin: StandIn) -> None:
    engine, health, client, documents = _engine(standin)
    doc = documents.open("file:///w/a.py", "python", 1, "def f(x):\n    \n")
    cursor = doc.syntax.buffer.line_start(1) + 4
    full = engine._budget()
    standin.script(Reply(mode="error", status=400, error_message=TOO_LONG), Reply(text="return x"))
    first = await engine.complete(doc, cursor, invoked=True)
    assert first.text == "" and first.reason == "rejected"
    assert health.state != "unavailable" and not health.should_skip()
    assert engine.max_model_len == 4096 and engine._budget() < full
    second = await engine.complete(doc, cursor, invoked=True)  # at once: nothing is paused
    assert second.text == "return x"
    assert len(standin.chat_requests()) == 2
    # the server says "too long" again with the limit it already gave: a smaller share from now on
    before = engine._budget()
    standin.script(Reply(mode="error", status=400, error_message=TOO_LONG))
    engine.clear_cache()
    assert (await engine.complete(doc, cursor, invoked=True)).reason == "rejected"
    assert engine._budget() < before and not health.should_skip()
    await client.aclose()


async def test_a_server_error_still_pauses_completions(standin: StandIn) -> None:
    engine, health, client, documents = _engine(standin)
    doc = documents.open("file:///w/b.py", "python", 1, "def g():\n    \n")
    standin.script(Reply(mode="error", status=503, error_message="overloaded"))
    result = await engine.complete(doc, doc.syntax.buffer.line_start(1) + 4, invoked=True)
    assert result.reason == "model-error" and health.should_skip()
    await client.aclose()


async def test_a_unit_refused_as_too_long_is_that_units_failure(standin: StandIn, tmp_path: Path) -> None:
    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path)
    client = ModelClient(settings.endpoint, settings.model, None)
    health = ModelHealth()
    engine = ReviewEngine(settings, client, health, FindingsCache(tmp_path))
    standin.script(Reply(mode="error", status=400, error_message=TOO_LONG), Reply(text='{"findings": []}'))
    outcomes = []
    result = await engine.run(engine.plan_text("a.py", "def f():\n    return 1\n\n\ndef g():\n    return 2\n"),
                              outcomes.append)
    assert result.units == 2 and len(result.errors) == 1
    failed = next(o for o in outcomes if o.error)
    assert "maximum context length" in failed.error and failed.model_error is False  # CI goes on
    assert health.state == "ready" and not health.should_skip()
    standin.script(Reply(mode="error", status=500, error_message="boom"))
    outage = await engine.run(engine.plan_text("b.py", "def h():\n    return 3\n"), outcomes.append)
    assert outage.errors and outcomes[-1].model_error is True and health.should_skip()
    await client.aclose()


async def test_fix_with_ai_refused_does_not_pause_the_server(standin: StandIn) -> None:
    settings = replace(Settings(endpoint=standin.base_url))
    client = ModelClient(settings.endpoint, settings.model, None)
    health = ModelHealth()
    fixer = AiFixer(settings, client, health)
    documents = DocumentStore(LanguageRegistry(), max_parse_bytes=1_000_000)
    doc = documents.open("file:///w/c.py", "python", 1, "def f(items):\n    return items[len(items)]\n")
    plan = fixer.plan(doc, 1, 1, "off by one")
    assert plan is not None
    standin.script(Reply(mode="error", status=422, error_message="bad"))
    outcome = await fixer.run(doc, plan)
    assert outcome.edits is None and "422" in outcome.reason and not health.should_skip()
    await client.aclose()


async def test_a_tool_conversation_grown_too_long_is_asked_again_without_tools(standin: StandIn,
                                                                                 tmp_path: Path) -> None:
    class Tools:
        async def call(self, name: str, arguments: object) -> dict:
            return {"text": "x" * 5000}

    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path)
    client = ModelClient(settings.endpoint, settings.model, None)
    health = ModelHealth()
    engine = ReviewEngine(settings, client, health, FindingsCache(tmp_path), tools_for=lambda path: Tools(),
                          tool_schemas=({"type": "function", "function": {"name": "read_lines", "parameters": {}}},))

    def answer(body: dict) -> Reply:
        if "tools" not in body:
            return Reply(text='{"findings": []}')
        if any(m.get("role") == "tool" for m in body["messages"]):
            return Reply(mode="error", status=400, error_message=TOO_LONG)
        return Reply(tool_calls=[{"name": "read_lines", "arguments": {"path": "a.py", "start": 1, "end": 2}}])

    standin.responder = answer
    result = await engine.review_text("a.py", "def f():\n    return 1\n")
    assert result.errors == () and result.units == 1
    plain = standin.chat_requests()[-1].body
    assert "tools" not in plain and plain["response_format"]["type"] == "json_schema"
    assert not health.should_skip()
    await client.aclose()
