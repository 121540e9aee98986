"""Typed-ahead reuse, the prompt LRU, and the model health back-off."""

from __future__ import annotations

from lsp_server.engines.completion_cache import CachedCompletion, CompletionCache
from lsp_server.model.health import HealthChange, ModelHealth


def test_typed_ahead_returns_the_rest_of_the_suggestion() -> None:
    cache = CompletionCache()
    cache.remember("u", CachedCompletion(3, "    ", "", "return a + b"), "k")
    assert cache.typed_ahead("u", 3, "    ", "") == "return a + b"
    assert cache.typed_ahead("u", 3, "    ret", "") == "urn a + b"
    assert cache.typed_ahead("u", 3, "    rex", "") is None  # typed something else
    assert cache.typed_ahead("u", 4, "    ret", "") is None  # another line
    assert cache.typed_ahead("u", 3, "    ret", ")") is None  # text after the cursor changed
    assert cache.typed_ahead("u", 3, "    return a + b", "") is None  # fully typed
    assert cache.prompt("k") == "return a + b"
    cache.forget("u")
    assert cache.typed_ahead("u", 3, "    ", "") is None


def test_prompt_lru_is_bounded() -> None:
    cache = CompletionCache(max_prompts=2)
    for key in "abc":
        cache.remember("u", CachedCompletion(0, "", "", key), key)
    assert cache.prompt("a") is None and cache.prompt("c") == "c"


def test_health_backs_off_and_reports_each_transition_once() -> None:
    now = [0.0]
    changes: list[HealthChange] = []
    health = ModelHealth(on_change=changes.append, clock=lambda: now[0])
    health.success()
    assert changes == []  # unknown -> ready is not news
    health.failure("refused")
    health.failure("refused")
    assert [c.state for c in changes] == ["unavailable"]
    assert health.should_skip()
    now[0] += 1.1  # second back-off is 1.0 s
    assert not health.should_skip()
    health.success(12.5)
    assert [c.state for c in changes] == ["unavailable", "ready"]
    assert health.last_latency_ms == 12.5 and not health.should_skip()
