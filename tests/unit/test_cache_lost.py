"""The cache folder deleted, or replaced by a file, while the SQLite files in it are open."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from lsp_server.cache import FILE_NAME, FindingsCache
from lsp_server.core.secrets import SecretFilter
from lsp_server.index import IndexStore, WorkspaceIndex
from lsp_server.index.store import FILE_NAME as INDEX_FILE, StoredFile
from lsp_server.syntax.languages import LanguageRegistry


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def _rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_findings_cache_folder_deleted_is_noticed_once_and_recreated(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "cache"
    cache = FindingsCache(folder)
    cache.put("a", [1])
    shutil.rmtree(folder)
    caplog.set_level(logging.WARNING)
    cache.put("b", [2])
    cache.put("c", [3])
    [warning] = _warnings(caplog)
    assert "deleted" in warning and str(folder) in warning
    assert cache.get("b") == [2] and cache.get("a") is None  # the user removed "a" with the folder
    assert _rows(folder / FILE_NAME, "findings") == 2  # b and c are on disk, not in the unlinked file
    cache.close()
    assert FindingsCache(folder).get("c") == [3]  # a new process finds them


def test_findings_cache_file_replaced_is_reopened(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "cache"
    cache = FindingsCache(folder)
    cache.put("a", [1])
    other = FindingsCache(tmp_path / "other")
    other.put("x", ["from elsewhere"])
    other.close()
    for suffix in ("", "-wal", "-shm"):
        if (tmp_path / "other" / (FILE_NAME + suffix)).exists():
            os.replace(tmp_path / "other" / (FILE_NAME + suffix), folder / (FILE_NAME + suffix))
    caplog.set_level(logging.WARNING)
    assert cache.get("x") == ["from elsewhere"]  # the file now at the path is the one used
    assert cache.get("a") is None  # and none of the old file's pages leaked into it (its WAL)
    cache.put("y", [4])
    with sqlite3.connect(folder / FILE_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert "replaced" in _warnings(caplog)[0] and len(_warnings(caplog)) == 1


def test_findings_cache_folder_replaced_by_a_file_goes_on_in_memory(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "cache"
    cache = FindingsCache(folder)
    cache.put("a", [1])
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    caplog.set_level(logging.WARNING)
    cache.put("b", [2])
    for key in "cdef":
        cache.put(key, [key])
    assert cache.get("b") == [2] and cache.get("f") == ["f"] and "b" in cache
    warnings = _warnings(caplog)
    assert warnings and len(warnings) <= 2  # what happened, and that it now works in memory; then quiet
    assert "memory" in warnings[-1]
    assert folder.read_text() == "not a folder"


def test_index_store_folder_deleted_is_recreated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "cache"
    store = IndexStore(folder)
    row = StoredFile("a.py", 1, 2, "d", "python", "{}", 3)
    store.put_many("/w", [row])
    shutil.rmtree(folder)
    caplog.set_level(logging.WARNING)
    store.put_many("/w", [StoredFile("b.py", 1, 2, "e", "python", "{}", 3)])
    assert store.generation == 1 and len(_warnings(caplog)) == 1
    assert set(store.load("/w")) == {"b.py"} and _rows(folder / INDEX_FILE, "files") == 1
    store.close()


async def test_an_index_stores_what_it_holds_again_after_the_store_was_lost(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    for i in range(5):
        (root / f"m{i}.py").write_text(f"def f{i}(x):\n    return x\n")
    folder = tmp_path / "cache"
    store = IndexStore(folder)
    index = WorkspaceIndex(root, LanguageRegistry(), SecretFilter(()), store=store)
    await index.build()
    assert len(store.load(index.key)) == 5
    shutil.rmtree(folder)
    (root / "m0.py").write_text("def changed(x):\n    return x\n")
    assert await index.file_changed(root / "m0.py")
    assert store.generation == 1
    for _ in range(500):  # the files are stored again in the background
        if len(store.load(index.key)) == 5:
            break
        await asyncio.sleep(0.01)
    await index.aclose()
    store.close()
    again = IndexStore(folder)
    stored = again.load(index.key)
    assert set(stored) == {f"m{i}.py" for i in range(5)}, "the files held in memory were not stored again"
    assert "changed" in stored["m0.py"].payload
    again.close()
