"""Workspace knowledge over time: folders removed (or the server closing) while an index builds,
and reviews that start before the index they use is ready."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.engines import review_scheduler
from lsp_server.engines.review_scheduler import QuietListener
from lsp_server.index import build as build_module
from lsp_server.index.knowledge import WorkspaceKnowledge
from lsp_server.services import Services
from lsp_server.syntax.languages import LanguageRegistry
from tests.standin import Reply, StandIn


class Sink:
    def __init__(self) -> None:
        self.finished: list[str] = []

    def update(self, done: int, total: int, message: str) -> None:
        return None

    def finish(self, message: str) -> None:
        self.finished.append(message)

    def cancelled(self) -> bool:
        return False


@pytest.fixture
def blocked_reads(monkeypatch: pytest.MonkeyPatch):
    """The build's file reads wait (on the index's I/O thread) until the test lets them go."""
    entered, release = threading.Event(), threading.Event()
    real = build_module.read_files

    def slow_read(root: Path, paths: list[str]):
        entered.set()
        release.wait(10)
        return real(root, paths)

    monkeypatch.setattr(build_module, "read_files", slow_read)
    yield entered, release
    release.set()


def _workspace(tmp_path: Path, files: int = 40) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for i in range(files):
        (root / f"m{i}.py").write_text(f"def f{i}(x):\n    return x\n")
    return root


async def _until(predicate, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


@pytest.mark.parametrize("how", ["folder removed", "server shutdown"])
async def test_closing_while_an_index_builds_cancels_it_cleanly(tmp_path: Path, blocked_reads, how: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    entered, release = blocked_reads
    root = _workspace(tmp_path)
    knowledge = WorkspaceKnowledge(Settings(cache_dir=tmp_path / "cache"), LanguageRegistry())
    sink = Sink()
    knowledge.start([root], client_watches=True, progress=lambda title: sink)
    assert await asyncio.to_thread(entered.wait, 10)  # the build is reading files
    caplog.set_level(logging.DEBUG, logger="lsp_server")
    if how == "folder removed":
        await knowledge.stop_roots([root])
        assert knowledge.indexes == {}
    else:
        await knowledge.aclose()
    release.set()  # the read in progress on the I/O thread ends after the close
    await asyncio.sleep(0.2)
    assert sink.finished == ["cancelled"]
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
    assert not any("cannot schedule new futures" in r.getMessage() for r in caplog.records)
    await knowledge.ready()  # nothing left to wait for
    if how == "folder removed":
        # the folder can come back, and builds again from scratch
        again = Sink()
        knowledge.start([root], client_watches=True, progress=lambda title: again)
        await asyncio.wait_for(knowledge.ready(), 20)
        assert again.finished and "40 files" in again.finished[0]
        await knowledge.aclose()


async def test_closing_an_index_stops_its_own_build(tmp_path: Path, blocked_reads,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Whoever started the build (the knowledge, a rescan), closing the index ends it first."""
    from lsp_server.core.secrets import SecretFilter
    from lsp_server.index import WorkspaceIndex

    entered, release = blocked_reads
    index = WorkspaceIndex(_workspace(tmp_path, 5), LanguageRegistry(), SecretFilter(()))
    build = asyncio.ensure_future(index.build())
    assert await asyncio.to_thread(entered.wait, 10)
    await index.aclose()
    release.set()
    assert build.cancelled() and not index.ready
    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- reviews and the index's readiness ------------------------------------------------------------

HELPER = "def scale(value: float, factor: float) -> float:\n    return value * factor\n"
USER = "from helper import scale\n\n\ndef area(r):\n    return scale(r, r)\n"


class Published(QuietListener):
    def __init__(self) -> None:
        self.uris: list[str] = []

    def publish(self, uri: str) -> None:
        self.uris.append(uri)


def _reviews(standin: StandIn) -> list:
    return [r for r in standin.chat_requests() if "`area`" in json.dumps(r.body)]


@pytest.fixture
async def editor(standin: StandIn, tmp_path: Path):
    """Services as the server builds them, a workspace folder announced but not indexed yet."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "helper.py").write_text(HELPER)
    (root / "user.py").write_text(USER)
    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path / "cache")
    services = Services(settings)
    services.review.listener = Published()
    services.knowledge.expect([root])
    standin.default = Reply(text='{"findings": []}')
    yield services, root
    await services.aclose()


async def test_a_review_waits_for_the_index_it_needs(editor, standin: StandIn) -> None:
    services, root = editor
    uri = (root / "user.py").as_uri()
    services.documents.open(uri, "python", 1, USER)
    assert services.knowledge.pending(str(root / "user.py"))
    task = services.review.review(uri, "open")
    await asyncio.sleep(0.3)
    assert _reviews(standin) == [] and not task.done()  # waiting, not reviewing half-informed
    services.knowledge.start([root], client_watches=True)
    await asyncio.wait_for(task, 20)
    [request] = _reviews(standin)
    assert "tools" in request.body  # the index's tools are offered...
    assert "def scale(value: float, factor: float) -> float" in request.body["messages"][1]["content"]  # ...and context
    assert not services.knowledge.pending(str(root / "user.py"))


async def test_a_review_that_could_not_wait_is_redone_once_the_index_is_ready(
        editor, standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    services, root = editor
    monkeypatch.setattr(review_scheduler, "INDEX_WAIT_S", 0.2)
    uri = (root / "user.py").as_uri()
    services.documents.open(uri, "python", 1, USER)
    await services.review.review(uri, "open")  # the index is slow to come: reviewed without it
    [early] = _reviews(standin)
    assert "tools" not in early.body
    services.knowledge.start([root], client_watches=True)
    await asyncio.wait_for(services.knowledge.ready(), 20)
    assert await _until(lambda: len(_reviews(standin)) == 2 and services.review.running == 0)
    redo = _reviews(standin)[1]
    assert "tools" in redo.body and "def scale(" in redo.body["messages"][1]["content"]
    assert services.review.stats.reasons.get("index-ready") == 1
    # once only; and a later review of the unchanged text is the one made with the index (cached)
    await asyncio.sleep(0.2)
    assert len(_reviews(standin)) == 2
    result = await services.review.review_now(uri)
    assert result is not None and result.cached == result.units and len(_reviews(standin)) == 2


async def test_a_removed_or_failed_folder_releases_the_waiting_reviews(editor, standin: StandIn) -> None:
    services, root = editor
    uri = (root / "user.py").as_uri()
    services.documents.open(uri, "python", 1, USER)
    task = services.review.review(uri, "open")
    await asyncio.sleep(0.1)
    await services.knowledge.stop_roots([root])  # the folder left the workspace before indexing began
    await asyncio.wait_for(task, 5)  # went ahead at once
    assert not services.knowledge.pending(str(root / "user.py")) and len(_reviews(standin)) == 1


async def test_reviews_do_not_wait_when_they_do_not_use_the_index(standin: StandIn, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    settings = Settings(endpoint=standin.base_url, cache_dir=tmp_path / "cache", review_tools=False,
                        context_cross_file=False)
    services = Services(settings)
    services.knowledge.expect([root])
    standin.default = Reply(text='{"findings": []}')
    uri = (root / "user.py").as_uri()
    services.documents.open(uri, "python", 1, USER)
    await asyncio.wait_for(services.review.review(uri, "open"), 5)
    assert len(_reviews(standin)) == 1
    await services.aclose()


async def test_a_workspace_review_waits_for_the_folders_index(editor, standin: StandIn) -> None:
    services, root = editor
    files, _ = services.review.review_workspace(root, lambda p: p.relative_to(root).as_posix())
    assert files == 2
    await asyncio.sleep(0.3)
    assert standin.chat_requests() == []
    services.knowledge.start([root], client_watches=True)
    await asyncio.wait_for(services.review.workspace_job, 20)
    assert _reviews(standin) and all("tools" in r.body for r in standin.chat_requests())


@pytest.mark.parametrize(("name", "language_id", "text"), [
    ("README.md", "markdown", "# Sales\n\n![Sales by quarter](chart.png)\n\nSales rose in every quarter.\n"),
    ("guide.rst", "restructuredtext",
     "Sales\n=====\n\n.. image:: chart.png\n   :alt: Sales by quarter\n\nSales rose in every quarter.\n"),
    ("NOTES", "markdown",  # a document by its language id only (no extension)
     "# Sales\r\n\r\n![Ventes 📈](chart.png)\r\n\r\nSales rose in every quarter.\r\n"),
], ids=["markdown", "rst", "language-id-only"])
async def test_a_documents_figure_check_never_waits_for_the_index(
        editor, standin: StandIn, monkeypatch: pytest.MonkeyPatch, name: str, language_id: str, text: str) -> None:
    """Figure units take nothing from the index (no tools, no cross-file context): a Markdown or
    reStructuredText document opened while the index builds is checked at once, and not again
    when the index is ready."""
    from tests.imagegen import bar_chart

    services, root = editor
    monkeypatch.setattr(review_scheduler, "INDEX_WAIT_S", 600.0)  # waiting would outlast the timeout below
    services.roots = [root]
    (root / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    uri = (root / name).as_uri()
    services.documents.open(uri, language_id, 1, text)
    assert services.knowledge.pending(str(root / name))
    await asyncio.wait_for(services.review.review(uri, "open"), 60)  # the index never started
    [figure] = [r for r in standin.chat_requests() if r.images]
    assert "Sales rose in every quarter." in json.dumps(figure.body) and "tools" not in figure.body
    services.knowledge.start([root], client_watches=True)
    await asyncio.wait_for(services.knowledge.ready(), 20)  # its listeners have run: no redo was started
    assert services.review.stats.reasons.get("index-ready") is None and services.review.running == 0
    assert len([r for r in standin.chat_requests() if r.images]) == 1
