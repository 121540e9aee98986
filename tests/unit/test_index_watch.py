"""Keeping the index fresh: one owner per file (editor text over disk events, one disk
source), and the watchfiles fallback on a real temporary tree."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.index import FileWatcher, IndexFeeds, WorkspaceIndex, watch_globs
from lsp_server.syntax.languages import LanguageRegistry


def make_index(root: Path) -> WorkspaceIndex:
    return WorkspaceIndex(root, LanguageRegistry(), SecretFilter(DEFAULT_SECRET_GLOBS), text_delay_s=0.02)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``check`` until it holds (True) or ``timeout`` passes (False)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


@pytest.fixture()
async def index(tmp_path: Path) -> AsyncIterator[WorkspaceIndex]:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src/a.py").write_text("def alpha(): pass\n")
    (root / "src/b.py").write_text("def beta(): pass\n")
    built = make_index(root)
    await built.build()
    yield built
    await built.aclose()


async def test_disk_events_for_open_documents_are_ignored(index: WorkspaceIndex) -> None:
    feeds = IndexFeeds(index, disk_source="client")
    path = index.root / "src/a.py"
    feeds.open(path, "def from_editor(): pass\n")
    await index.flush()
    path.write_text("def from_disk(): pass\n")
    assert not await feeds.disk_event(path, "changed", "client")
    assert feeds.dropped["open"] == 1
    assert index.lookup("from_editor") and index.lookup("from_disk") == []
    feeds.change(path, "def edited(): pass\n")
    await index.flush()
    assert index.lookup("edited") and index.lookup("from_editor") == []
    feeds.close(path)  # back to the disk, re-checked once
    assert await eventually(lambda: bool(index.lookup("from_disk")))
    assert index.lookup("edited") == []
    await feeds.aclose()


async def test_events_from_the_other_source_are_dropped(index: WorkspaceIndex) -> None:
    feeds = IndexFeeds(index, disk_source="client")
    (index.root / "src/c.py").write_text("def gamma(): pass\n")
    assert not await feeds.disk_event(index.root / "src/c.py", "created", "watcher")
    assert feeds.dropped["other_source"] == 1 and index.lookup("gamma") == []
    assert await feeds.disk_event(index.root / "src/c.py", "created", "client")
    assert index.lookup("gamma")
    (index.root / "src/c.py").unlink()
    assert await feeds.disk_event(index.root / "src/c.py", "deleted", "client")
    assert index.lookup("gamma") == []
    with pytest.raises(ValueError):
        FileWatcher(feeds).start()  # the client owns disk events: no second source
    assert watch_globs()[0].startswith("**/*.{") and "py" in watch_globs()[0]


async def test_watchfiles_keeps_the_index_fresh(index: WorkspaceIndex) -> None:
    feeds = IndexFeeds(index, disk_source="watcher", rescan_delay_s=0.05)
    watcher = FileWatcher(feeds, debounce_ms=50, tick_ms=100)
    watcher.start()
    try:
        await asyncio.wait_for(watcher.ready.wait(), timeout=5)
        root = index.root
        (root / "src/new.py").write_text("def created_on_disk(): pass\n")
        assert await eventually(lambda: bool(index.lookup("created_on_disk")))
        (root / "src/b.py").write_text("def beta_two(): pass\n")
        assert await eventually(lambda: bool(index.lookup("beta_two")) and not index.lookup("beta"))
        (root / "src/new.py").unlink()
        assert await eventually(lambda: not index.lookup("created_on_disk"))

        feeds.open(root / "src/a.py", "def alpha_open(): pass\n")
        await index.flush()
        (root / "src/a.py").write_text("def alpha_disk(): pass\n")
        (root / "node_modules/dep").mkdir(parents=True)
        (root / "node_modules/dep/x.py").write_text("def vendored(): pass\n")
        (root / "src/marker.py").write_text("def marker(): pass\n")  # a later event to wait for
        assert await eventually(lambda: bool(index.lookup("marker")))
        assert index.lookup("alpha_open") and index.lookup("alpha_disk") == []
        assert feeds.dropped["open"] >= 1
        assert index.lookup("vendored") == []

        (root / ".gitignore").write_text("src/marker.py\n")  # new ignore rules: rescan
        assert await eventually(lambda: not index.lookup("marker"))
    finally:
        await watcher.stop()
        await feeds.aclose()
    assert watcher.batches >= 4
