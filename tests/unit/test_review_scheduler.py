"""The review scheduler: triggers, cancellation, stale results, re-anchoring, workspace runs."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.engines.documents import DocumentStore
from lsp_server.engines.review import ReviewEngine
from lsp_server.engines.review_scheduler import QuietListener, ReviewScheduler
from lsp_server.model.client import ModelClient
from lsp_server.model.health import ModelHealth
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.document import SyntaxDocument, settle
from lsp_server.syntax.languages import LanguageRegistry
from tests.standin import Reply, StandIn

SOURCE = "def first(items):\n    return items[len(items)]\n\n\ndef ok(x):\n    return x\n"
URI = "file:///w/app.py"


def responder(body: dict) -> Reply:
    user = body["messages"][1]["content"]
    if "`first`" not in user:
        return Reply(text='{"findings": []}')
    items = [{"line": 2, "quote": "items[len(items)]", "severity": "error", "rule": "off-by-one", "message": "m",
              "fix": None},
             {"line": 1, "quote": "def first", "severity": "hint", "rule": "naming", "message": "m", "fix": None}]
    return Reply(text=json.dumps({"findings": items}))


class Recorder(QuietListener):
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, uri: str) -> None:
        self.published.append(uri)


@pytest.fixture(scope="module")
def standin():
    with StandIn() as server:
        yield server


@pytest.fixture
async def setup(standin: StandIn, tmp_path: Path):
    standin.reset()
    standin.responder = responder
    registry = LanguageRegistry()
    documents = DocumentStore(registry, max_parse_bytes=1_000_000)
    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path / "cache", review_change_debounce_ms=100)
    client = ModelClient(settings.endpoint, settings.model, None)
    engine = ReviewEngine(settings, client, ModelHealth(), FindingsCache(settings.cache_dir), registry=registry)
    scheduler = ReviewScheduler(engine, documents, settings)
    recorder = Recorder()
    scheduler.listener = recorder
    yield scheduler, documents, recorder
    await scheduler.aclose()
    await client.aclose()


async def until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def test_open_trigger_reviews_and_publishes(setup) -> None:
    scheduler, documents, recorder = setup
    documents.open(URI, "python", 1, SOURCE)
    scheduler.opened(URI)
    assert await until(lambda: URI in recorder.published)
    # the hint is below the default minimum severity (info)
    assert [(f.rule, f.span.start_line) for f in scheduler.visible(URI)] == [("off-by-one", 1)]
    scheduler.settings = replace(scheduler.settings, review_min_severity="hint")
    assert {f.rule for f in scheduler.visible(URI)} == {"off-by-one", "naming"}


async def test_manual_trigger_does_nothing_on_open(setup, standin: StandIn) -> None:
    scheduler, documents, recorder = setup
    scheduler.settings = replace(scheduler.settings, review_triggers=("manual",))
    documents.open(URI, "python", 1, SOURCE)
    scheduler.opened(URI)
    scheduler.saved(URI)
    await asyncio.sleep(0.05)
    assert standin.chat_requests() == [] and recorder.published == []
    result = await scheduler.review_now(URI)
    assert result is not None and len(result.findings) == 2


async def test_change_trigger_reviews_after_a_quiet_period(setup, standin: StandIn) -> None:
    scheduler, documents, recorder = setup
    scheduler.settings = replace(scheduler.settings, review_triggers=("change",))
    documents.open(URI, "python", 1, SOURCE)
    for version in range(2, 6):  # a burst of keystrokes: one review at the end
        documents.change(URI, version, [((5, 12), (5, 12), " ")], "utf-16")
        scheduler.changed(URI)
    assert await until(lambda: scheduler.stats.completed == 1)
    assert URI in recorder.published
    assert len(standin.chat_requests()) == 2 and scheduler.stats.reasons == {"change": 1}


async def test_results_for_an_old_version_are_not_shown(setup, standin: StandIn) -> None:
    scheduler, documents, recorder = setup
    standin.responder = lambda body: replace(responder(body), first_token_delay=0.2)
    documents.open(URI, "python", 1, SOURCE)
    task = scheduler.review(URI, "manual")
    assert await standin.await_for(lambda reqs: len(reqs) == 2)
    documents.change(URI, 2, [((0, 0), (0, 0), "\n")], "utf-16")  # moved on, without telling the scheduler
    await task
    assert scheduler.visible(URI) == [] and len(scheduler.engine.cache) == 2
    again = await scheduler.review_now(URI)  # the cached result, anchored to the new text
    assert len(standin.chat_requests()) == 2 and again.cached == 2
    assert [f.span.start_line for f in scheduler.visible(URI)] == [2]


async def test_a_change_cancels_and_findings_follow_their_text(setup, standin: StandIn) -> None:
    scheduler, documents, recorder = setup
    documents.open(URI, "python", 1, SOURCE)
    await scheduler.review_now(URI)
    assert [f.span.start_line for f in scheduler.visible(URI)] == [1]
    standin.responder = lambda body: Reply(text='{"findings": []}', first_token_delay=30)
    documents.change(URI, 2, [((0, 0), (0, 0), "# one\n# two\n"), ((7, 12), (7, 12), " + 0")], "utf-16")
    scheduler.changed(URI)
    task = scheduler.review(URI, "save")  # `ok` changed: one request, which hangs
    assert await standin.await_for(lambda reqs: len(reqs) == 3)
    documents.change(URI, 3, [((0, 0), (0, 0), "# three\n")], "utf-16")
    scheduler.changed(URI)
    assert await standin.await_for(lambda reqs: reqs[2].disconnected)
    assert await until(lambda: task.cancelled() and scheduler.stats.cancelled == 1)  # (its done callback runs next)
    assert scheduler.running == 0
    recorder.published.clear()
    assert await until(lambda: URI in recorder.published)  # re-anchored, republished
    assert [f.span.start_line for f in scheduler.visible(URI)] == [4]
    scheduler.closed(URI)
    documents.close(URI)
    assert scheduler.visible(URI) == [] and recorder.published[-1] == URI


async def test_workspace_review_covers_files_on_disk(setup, tmp_path: Path) -> None:
    scheduler, documents, recorder = setup
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text(SOURCE)
    (root / "b.py").write_text("def ok(x):\n    return x\n")
    (root / "c.py").write_bytes(b"\x00\x01binary")
    (root / ".env").write_text("KEY=1\n")
    files, skipped = scheduler.review_workspace(root, lambda p: p.relative_to(root).as_posix())
    assert files == 2 and any("c.py: binary" in note for note in skipped)
    await scheduler.workspace_job
    uri = (root / "pkg" / "a.py").as_uri()
    assert [f.span.start_line for f in scheduler.visible(uri)] == [1]
    assert scheduler.current(uri).buffer is not None and (root / "b.py").as_uri() in recorder.published
    documents.open(uri, "python", 1, "\n" + SOURCE)  # opened later: its findings move onto its text
    assert [f.span.start_line for f in scheduler.visible(uri)] == [2]


async def test_every_completed_review_is_published_even_without_findings(setup, standin: StandIn) -> None:
    scheduler, documents, recorder = setup
    clean = "file:///w/clean.py"
    documents.open(clean, "python", 1, "def ok(x):\n    return x\n")
    await scheduler.review_now(clean)
    await asyncio.sleep(0)  # publishing happens once the burst of updates is over
    assert recorder.published.count(clean) == 1 and scheduler.visible(clean) == []
    assert scheduler.current(clean).reviews == 1
    await scheduler.review_now(clean)  # again (from the cache): the same nothing, published again
    await asyncio.sleep(0)
    assert recorder.published.count(clean) == 2 and scheduler.current(clean).reviews == 2
    # a review whose every request fails says nothing new
    standin.responder = lambda body: Reply(mode="error", status=500)
    scheduler.engine.cache.clear()
    await scheduler.review_now(clean)
    await asyncio.sleep(0)
    assert recorder.published.count(clean) == 2 and scheduler.current(clean).reviews == 2
    # a file with nothing to send (a secret file) is done too: its empty list is published
    secret = "file:///w/.env.py"
    asked = len(standin.chat_requests())
    documents.open(secret, "python", 1, "TOKEN = 'x'\n")
    result = await scheduler.review_now(secret)
    await asyncio.sleep(0)
    assert result is not None and result.skipped == "secret file" and len(standin.chat_requests()) == asked
    assert recorder.published.count(secret) == 1


async def test_a_large_files_review_keeps_findings_outside_its_window(standin: StandIn, tmp_path: Path) -> None:
    """A large editor document's tree covers a window (``syntax.tree_window``): its review sees
    the window and the file's head only, and findings elsewhere stand until a review sees them."""
    def answer(body: dict) -> Reply:  # ``responder``'s finding, on the unit's own lines
        user = body["messages"][1]["content"]
        found = re.search(r"`first` \(lines (\d+)-", user)
        if found is None:
            return Reply(text='{"findings": []}')
        item = {"line": int(found.group(1)) + 1, "quote": "items[len(items)]", "severity": "error",
                "rule": "off-by-one", "message": "m", "fix": None}
        return Reply(text=json.dumps({"findings": [item]}))

    standin.reset()
    standin.responder = answer
    registry = LanguageRegistry()
    documents = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget(tree_bytes=64 * 1024))
    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path / "cache")
    client = ModelClient(settings.endpoint, settings.model, None)
    engine = ReviewEngine(settings, client, ModelHealth(), FindingsCache(settings.cache_dir), registry=registry)
    scheduler = ReviewScheduler(engine, documents, settings)
    scheduler.listener = Recorder()
    try:
        filler = "".join(f"def ok_{i}(x):\n" + "".join(f"    x = x + {j}\n" for j in range(30)) + "    return x\n\n\n"
                         for i in range(200))
        head = filler[:filler.index("def ok_60(")]  # about 30 KB: past the head, inside the first window
        text = head + SOURCE + "\n\n" + filler[len(head):]
        documents.open(URI, "python", 1, text)
        first_row = text[:text.index("def first(")].count("\n")
        result = await scheduler.review_now(URI)
        assert result is not None
        assert [(f.rule, f.span.start_line) for f in scheduler.visible(URI)] == [("off-by-one", first_row + 1)]
        syntax = documents.get(URI).syntax
        assert syntax.window is not None
        syntax.focus(len(syntax.buffer.data) - 10)  # the user works at the end now
        assert await documents_settled(syntax)
        window = syntax.window
        assert window is not None and window.start > len(text[:text.index("def first(")].encode()) > window.head
        standin.reset()
        assert await scheduler.review_now(URI) is not None
        asked = [r.body["messages"][1]["content"] for r in standin.chat_requests()]
        assert asked and not any("`first`" in content for content in asked)  # not in what it saw
        assert [(f.rule, f.span.start_line) for f in scheduler.visible(URI)] == [("off-by-one", first_row + 1)]
    finally:
        await scheduler.aclose()
        await client.aclose()
        await documents.aclose()


async def documents_settled(syntax: SyntaxDocument) -> bool:
    return await settle(syntax, timeout_s=30)
