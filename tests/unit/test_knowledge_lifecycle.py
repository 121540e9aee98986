"""Workspace knowledge over time: folders removed (or the server closing) while an index builds."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.engines.knowledge import WorkspaceKnowledge
from lsp_server.index import build as build_module
from lsp_server.syntax.languages import LanguageRegistry


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
