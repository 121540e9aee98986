"""The optional performance category of the review (``review.performance``): asked for only when on,
its findings shown at the setting's severity, dropped when off, and cached apart."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings, load_settings
from lsp_server.core.findings import Severity
from lsp_server.engines.review import ReviewEngine
from lsp_server.model.client import ModelClient
from lsp_server.model.health import ModelHealth
from tests.standin import Reply, StandIn

SOURCE = "def common(a, b):\n    return [x for x in a if x in b]\n"
ANSWER = {"findings": [
    {"line": 2, "quote": "x in b", "severity": "warning", "rule": "performance-quadratic-loop",
     "message": "`x in b` scans the list for every x; make b a set first.", "fix": None},
    {"line": 2, "quote": "return", "severity": "info", "rule": "missing-type", "message": "m", "fix": None},
]}


@pytest.fixture(scope="module")
def standin():
    with StandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(standin: StandIn) -> None:
    standin.reset()
    standin.default = Reply(text=json.dumps(ANSWER))


async def _review(standin: StandIn, cache_dir: Path, level: str):
    settings = replace(Settings(endpoint=standin.base_url, cache_dir=cache_dir), review_performance=level)
    client = ModelClient(settings.endpoint, settings.model, None)
    engine = ReviewEngine(settings, client, ModelHealth(first_backoff_s=0.01), FindingsCache(cache_dir))
    try:
        return await engine.review_text("common.py", SOURCE)
    finally:
        await client.aclose()


@pytest.mark.parametrize("level", ["hint", "info", "warning"])
async def test_on_asks_for_it_and_shows_it_at_its_level(standin: StandIn, tmp_path: Path, level: str) -> None:
    result = await _review(standin, tmp_path, level)
    system = standin.chat_requests()[-1].body["messages"][0]["content"]
    assert "performance-quadratic-loop" in system
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["performance-quadratic-loop"].severity == Severity(level)
    assert by_rule["missing-type"].severity == Severity.INFO


async def test_off_by_default_neither_asked_nor_shown(standin: StandIn, tmp_path: Path) -> None:
    assert Settings().review_performance == "off"
    result = await _review(standin, tmp_path, "off")
    assert "performance-" not in standin.chat_requests()[-1].body["messages"][0]["content"]
    assert [f.rule for f in result.findings] == ["missing-type"]


async def test_turning_it_on_is_not_answered_from_the_cache(standin: StandIn, tmp_path: Path) -> None:
    await _review(standin, tmp_path, "off")
    result = await _review(standin, tmp_path, "hint")
    assert len(standin.chat_requests()) == 2 and result.cached == 0


def test_the_setting_is_checked() -> None:
    settings, problems = load_settings({"review": {"performance": "loud"}}, environ={})
    assert settings.review_performance == "off"
    assert problems == ['editor settings: review.performance = "loud": expected one of off, hint, info, warning']
