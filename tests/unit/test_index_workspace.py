"""The workspace index: building, ignore/secret rules, budget, restart without re-parsing,
editor text, disk updates, import resolution, the store's fallbacks and the model tools."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.index import IndexStore, WorkspaceIndex
from lsp_server.index.build import BYTES_SETTING, FILES_SETTING
from lsp_server.index.tools import IndexTools, read_lines
from lsp_server.syntax.languages import LanguageRegistry

TREE = {
    "pkg/__init__.py": "",
    "pkg/core.py": (
        "from .helpers import slugify as slug\n"
        "import os\n\n"
        "class Engine:\n"
        '    """Runs things."""\n\n'
        "    def start(self, speed: int = 1) -> bool:\n"
        '        """Start the engine."""\n'
        "        return slug(str(speed)) != ''\n"
    ),
    "pkg/helpers.py": 'def slugify(text: str) -> str:\n    """Turn text into a slug."""\n    return text.lower()\n',
    "web/app.ts": "import { formatName as fmt } from './util';\nexport const VERSION = '1';\n",
    "web/util.ts": "/** Formats a name. */\nexport function formatName(first: string): string {\n  return first;\n}\n",
    "go/mathx/mathx.go": "package mathx\n\n// Clamp limits v.\nfunc Clamp(v, lo, hi int) int { return v }\n",
    "go/cmd/main.go": 'package main\n\nimport m "example.com/proj/go/mathx"\n\nfunc main() { m.Clamp(1, 0, 2) }\n',
    "rs/src/lib.rs": "mod geo;\nuse crate::geo::Shape;\n\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    "rs/src/geo.rs": "/// A shape.\npub struct Shape;\n",
    ".gitignore": "build/\n*.gen.py\n",
    "build/out.py": "def built(): pass\n",
    "pkg/skip.gen.py": "def generated(): pass\n",
    "sub/.gitignore": "local.py\n",
    "sub/local.py": "def local_only(): pass\n",
    "sub/kept.py": "def kept(): pass\n",
    ".env": "TOKEN=abc\n",
    "id_rsa.py": "def private(): pass\n",
    "app_secret.py": "def hush(): pass\n",
    "node_modules/dep/index.js": "export function dep() {}\n",
    ".hidden/x.py": "def hidden(): pass\n",
    "venv/pyvenv.cfg": "home = /usr\n",
    "venv/lib/site.py": "def site(): pass\n",
    "big.py": "X = 1\n" * 5000,
}
INDEXED = {
    "pkg/__init__.py", "pkg/core.py", "pkg/helpers.py", "web/app.ts", "web/util.ts", "go/mathx/mathx.go",
    "go/cmd/main.go", "rs/src/lib.rs", "rs/src/geo.rs", "sub/kept.py",
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def age(root: Path, seconds: float = 3600) -> None:
    """Make every file look old (so size+mtime alone is trusted on the next start)."""
    old = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write_tree(root, TREE)
    return root


def make_index(root: Path, store: IndexStore | None = None, **limits: object) -> WorkspaceIndex:
    secrets = SecretFilter((*DEFAULT_SECRET_GLOBS, "*secret*"))
    options: dict = {"max_file_bytes": 20_000, "text_delay_s": 0.05}
    options.update(limits)
    return WorkspaceIndex(root, LanguageRegistry(), secrets, store=store, **options)


async def test_build_indexes_sources_and_honours_ignores_and_secrets(tree: Path) -> None:
    (tree.parent / "elsewhere.py").write_text("def elsewhere(): pass\n")
    (tree / "pkg/link.py").symlink_to(tree.parent / "elsewhere.py")  # leads outside the root
    index = make_index(tree)
    stats = await index.build()
    assert index.table.paths() == INDEXED
    assert stats.reparsed == len(INDEXED) and stats.over_budget == ""
    assert stats.skipped["secret"] == 2 and stats.skipped["too_large"] == 1  # ignored files are not listed at all
    assert stats.skipped["outside"] == 1
    for gone in ("built", "generated", "local_only", "private", "hush", "dep", "hidden", "site", "elsewhere"):
        assert index.lookup(gone) == [], gone
    [start] = index.lookup("Engine.start")
    assert (start.path, start.kind, start.container, start.start_line, start.end_line) == (
        "pkg/core.py", "method", "Engine", 6, 8)
    assert start.signature == "def start(self, speed: int = 1) -> bool:" and start.doc == "Start the engine."
    assert [s.path for s in index.lookup("formatName")] == ["web/util.ts"]
    assert index.lookup("formatname")[0].name == "formatName"  # case-insensitive fallback
    assert [s.name for s in index.search("slu")] == ["slugify"]
    assert [s.name for s in index.symbols_in(tree / "rs/src/lib.rs")] == ["add"]
    await index.aclose()


async def test_file_budget_stops_with_one_warning(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = make_index(tree, max_files=3)
    with caplog.at_level(logging.WARNING, logger="lsp_server.index"):
        stats = await index.build()
        again = await index.build()
    assert len(index.table) == 3 and stats.candidates == 3
    assert stats.over_budget == FILES_SETTING and again.over_budget == FILES_SETTING
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"{FILES_SETTING}=3" in warnings[0] and "stopped at 3 files" in warnings[0]
    await index.aclose()


async def test_byte_budget(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    index = make_index(tree, max_bytes_total=200)
    with caplog.at_level(logging.WARNING, logger="lsp_server.index"):
        stats = await index.build()
    assert stats.over_budget == BYTES_SETTING
    assert 0 < len(index.table) < len(INDEXED)
    assert sum(entry.size for p in index.table.paths() if (entry := index.table.entry(p))) <= 200
    assert any(BYTES_SETTING in r.getMessage() for r in caplog.records)
    await index.aclose()


async def test_restart_reparses_nothing_and_then_only_what_changed(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = make_index(tree, IndexStore(cache))
    assert (await first.build()).reparsed == len(INDEXED)
    before = {p: first.symbols_in(p) for p in INDEXED}
    await first.aclose()

    # Fresh files: size+mtime are not trusted yet, so files are read and hashed, not parsed.
    second = make_index(tree, IndexStore(cache))
    stats = await second.build()
    assert (stats.reparsed, stats.rehashed, stats.reused) == (0, len(INDEXED), 0)
    assert {p: second.symbols_in(p) for p in INDEXED} == before
    await second.aclose()

    age(tree)
    third = make_index(tree, IndexStore(cache))
    stats = await third.build()
    assert (stats.reparsed, stats.rehashed) == (0, len(INDEXED))  # mtimes moved: re-hashed once
    await third.aclose()
    fourth = make_index(tree, IndexStore(cache))
    stats = await fourth.build()
    assert (stats.reparsed, stats.rehashed, stats.reused) == (0, 0, len(INDEXED))  # not even read
    assert fourth.lookup("slugify")[0].doc == "Turn text into a slug."
    await fourth.aclose()

    (tree / "pkg/helpers.py").write_text("def slugify2(text):\n    return text\n")
    os.utime(tree / "web/util.ts")  # touched, same content
    fifth = make_index(tree, IndexStore(cache))
    stats = await fifth.build()
    assert (stats.reparsed, stats.rehashed, stats.reused) == (1, 1, len(INDEXED) - 2)
    assert fifth.lookup("slugify") == [] and fifth.lookup("slugify2")[0].path == "pkg/helpers.py"
    await fifth.aclose()


async def test_rebuild_drops_deleted_files_from_memory_and_store(tree: Path, tmp_path: Path) -> None:
    store = IndexStore(tmp_path / "cache")
    index = make_index(tree, store)
    await index.build()
    (tree / "web/util.ts").unlink()
    stats = await index.rescan()
    assert stats.removed == 1 and index.lookup("formatName") == []
    assert "web/util.ts" not in store.load(index.root.as_posix())
    await index.aclose()


async def test_update_text_changes_lookup_and_close_restores_disk(tree: Path) -> None:
    index = make_index(tree)
    await index.build()
    index.update_text(tree / "pkg/helpers.py", "def renamed(x):\n    '''New.'''\n    return x\n")
    assert index.lookup("slugify")  # debounced: nothing changed yet
    await index.flush()
    assert index.lookup("slugify") == []
    [renamed] = index.lookup("renamed")
    assert (renamed.path, renamed.doc) == ("pkg/helpers.py", "New.")
    index.update_text(tree / "pkg/helpers.py", "def again(): pass\n")
    for _ in range(100):  # the debounce timer indexes it without a flush
        if index.lookup("again"):
            break
        await asyncio.sleep(0.01)
    assert index.lookup("again") and index.lookup("renamed") == []
    assert index.forget_text(tree / "pkg/helpers.py")
    assert index.lookup("slugify") and index.lookup("again") == []
    index.update_text(tree / "id_rsa.py", "def leaked(): pass\n")  # secret: never indexed
    await index.flush()
    assert index.lookup("leaked") == []
    await index.aclose()


async def test_an_open_document_over_the_size_limit_is_not_indexed(tree: Path) -> None:
    """The index's size limit holds for editor text as for files on disk (issue 12 item 9:
    a 1.7 MB open file was parsed a second time for the index, and a 4 MB one's tree took
    60 ms to free, on the event loop). A document that grows past it leaves the index; one
    that shrinks back under it comes back."""
    index = make_index(tree, max_file_bytes=2_000)
    await index.build()
    path = tree / "pkg/helpers.py"
    index.update_text(path, "def small(): pass\n")
    await index.flush()
    assert index.lookup("small")
    big = "def grown(): pass\n" + "# filler line\n" * 200
    assert len(big) > 2_000
    index.update_text(path, big)
    await index.flush()
    assert index.lookup("grown") == [] and index.lookup("small") == []
    assert index.editor_text(path) == big  # the text is still known (tools read it, within their own limit)
    index.update_text(path, "def back(): pass\n")
    await index.flush()
    assert index.lookup("back")
    await index.aclose()


async def test_text_closed_while_being_indexed_is_dropped(tree: Path) -> None:
    index = make_index(tree, step_budget_s=0.00001, max_file_bytes=200_000)  # every slice is due: yields often
    await index.build()
    path = tree / "pkg/helpers.py"
    index.update_text(path, "".join(f"def stale_{i}(): pass\n" for i in range(3000)))
    flushing = asyncio.ensure_future(index.flush())
    await asyncio.sleep(0)
    assert not flushing.done()
    index.forget_text(path)  # closed while its text is parsed
    await flushing
    assert index.lookup("stale_1") == [] and index.lookup("slugify")
    await index.aclose()


async def test_file_changed_and_remove(tree: Path) -> None:
    index = make_index(tree)
    await index.build()
    new = tree / "pkg/extra.py"
    new.write_text("def fresh(): pass\n")
    assert await index.file_changed(new)
    assert index.lookup("fresh")[0].path == "pkg/extra.py"
    new.write_text("def fresher(): pass\n")
    assert await index.file_changed(new)
    assert index.lookup("fresh") == [] and index.lookup("fresher")
    assert not await index.file_changed(new)  # same content: nothing changed
    new.unlink()
    assert await index.file_changed(new) and index.lookup("fresher") == []  # gone: dropped
    assert index.remove(tree / "web/util.ts") and index.lookup("formatName") == []
    assert not await index.file_changed(tree / "build/late.py")  # ignored
    assert not await index.file_changed("/etc/hostname")  # outside the root
    await index.aclose()


async def test_resolution_through_imports(tree: Path) -> None:
    index = make_index(tree)
    await index.build()
    assert [(s.name, s.path) for s in index.resolve_name(tree / "pkg/core.py", "slug")] == [
        ("slugify", "pkg/helpers.py")]
    assert [(s.name, s.path) for s in index.resolve_name("web/app.ts", "fmt")] == [("formatName", "web/util.ts")]
    assert [(s.name, s.path) for s in index.resolve_name("go/cmd/main.go", "m.Clamp")] == [
        ("Clamp", "go/mathx/mathx.go")]
    assert [(s.name, s.path) for s in index.resolve_name("rs/src/lib.rs", "Shape")] == [("Shape", "rs/src/geo.rs")]
    assert [s.qualified_name for s in index.resolve_name("pkg/helpers.py", "Engine.start")] == ["Engine.start"]
    assert [s.name for s in index.resolve_import("pkg/core.py", ".helpers", "slugify")] == ["slugify"]
    assert index.resolve_name("pkg/core.py", "os.path") == []  # the standard library is not indexed
    await index.aclose()


async def test_store_falls_back_to_memory(tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store = IndexStore(blocker / "cache")
    index = make_index(tree, store)
    with caplog.at_level(logging.WARNING, logger="lsp_server.index"):
        assert (await index.build()).reparsed == len(INDEXED)
    assert not store.persistent and "memory only" in caplog.text
    assert store.load(index.root.as_posix())  # rows kept in memory
    await index.aclose()

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "index.sqlite3").write_bytes(b"this is not a database" * 100)
    store = IndexStore(corrupt)
    index = make_index(tree, store)
    await index.build()
    assert store.persistent and (corrupt / "index.sqlite3.corrupt").exists()
    await index.aclose()
    store.close()
    again = make_index(tree, IndexStore(corrupt))
    assert (await again.build()).reparsed == 0  # the fresh database kept the rows
    await again.aclose()


async def test_read_lines_and_tools(tree: Path) -> None:
    index = make_index(tree)
    await index.build()
    expected = 'def slugify(text: str) -> str:\n    """Turn text into a slug."""'
    assert await read_lines(index, "pkg/helpers.py", 0, 1) == expected
    outside = tree.parent / "outside.py"
    outside.write_text("def escaped(): pass\n")
    (tree / "link.py").symlink_to(outside)
    assert not await index.file_changed(tree / "link.py") and index.lookup("escaped") == []
    refused = ("../outside.py", "/etc/passwd", ".env", "build/out.py", "node_modules/dep/index.js", "missing.py",
               "link.py")
    for path in refused:
        assert await read_lines(index, path, 0, 5) is None, path
    tools = IndexTools(index, max_lines=2)
    answer = await tools.call("read_lines", json.dumps({"path": "pkg/core.py", "start": 4, "end": 50}))
    assert (answer["start"], answer["end"], answer["text"]) == (4, 5, 'class Engine:\n    """Runs things."""')
    looked = await tools.call("lookup_symbol", {"name": "Engine.start"})
    assert looked["results"][0]["lines"] == [7, 9] and looked["results"][0]["container"] == "Engine"
    assert "error" in await tools.call("read_lines", {"path": "pkg/core.py"})
    assert "error" in await tools.call("nope", "{}")
    index.update_text(tree / "pkg/core.py", "API = 'sk-abcdefghijklmnopqrstuvwxyz0123456789'\n")
    assert await read_lines(index, "pkg/core.py", 0, 0) == "API = '<redacted>'"  # editor text, masked
    await index.aclose()
