"""Parsing ``git diff -U0`` into changed lines, and the headless review's file selection."""

from __future__ import annotations

from pathlib import Path

from lsp_server.ci.files import collect
from lsp_server.ci.git import ChangedLines, _unquote, parse_unified_zero
from lsp_server.core.secrets import SecretFilter
from lsp_server.config import DEFAULT_SECRET_GLOBS

PATCH = """diff --git a/src/a.py b/src/a.py
index 1..2 100644
--- a/src/a.py
+++ b/src/a.py
@@ -3 +3 @@ def f():
-    return 1
+    return 2
@@ -10,0 +11,3 @@ def g():
+    x = 1
+    y = 2
+    z = 3
@@ -20,2 +23,0 @@ def h():
-    gone = 1
-    gone = 2
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
diff --git "a/caf\\303\\251 \\"q\\".py" "b/caf\\303\\251 \\"q\\".py"
--- "a/caf\\303\\251 \\"q\\".py"
+++ "b/caf\\303\\251 \\"q\\".py"
@@ -0,0 +1 @@
+print(1)
"""


def test_parse_unified_zero_added_lines_only() -> None:
    files = parse_unified_zero(PATCH)
    assert files == {"src/a.py": {2, 10, 11, 12}, 'café "q".py': {0}}


def test_unquote_plain_and_escaped() -> None:
    assert _unquote("b/plain.py") == "b/plain.py"
    assert _unquote('"b/tab\\there.py"') == "b/tab\there.py"
    assert _unquote('"b/caf\\303\\251.py"') == "b/café.py"


def test_changed_lines_queries() -> None:
    changed = ChangedLines("main", {"a.py": {4, 5}}, whole={"new.py"})
    assert changed.touches("a.py") and changed.touches("new.py") and not changed.touches("b.py")
    assert changed.changed("a.py", range(0, 5)) and not changed.changed("a.py", range(6, 9))
    assert changed.changed("new.py", [100])
    assert not changed.changed("b.py", [4])


def test_collect_outside_git_notes_skips(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("def f():\n    return 1\n")
    (tmp_path / "pkg" / "raw.py").write_bytes(b"\x00\x00")
    (tmp_path / "pkg" / "notes.txt").write_text("hello\n")
    (tmp_path / "pkg" / "id_rsa.py").write_text("k = 1\n")
    (tmp_path / ".gitignore").write_text("gen/\n")
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "out.py").write_text("x = 1\n")
    found = collect(tmp_path, [tmp_path], SecretFilter(DEFAULT_SECRET_GLOBS), max_bytes=10_000)
    assert [p.name for p in found.files] == ["ok.py"]
    assert "pkg/raw.py: binary" in found.skipped
    assert "pkg/id_rsa.py: secret file, never sent" in found.skipped
    assert not any("gen/" in note for note in found.skipped)


def test_collect_named_unsupported_file_gets_its_own_note(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    found = collect(tmp_path, [tmp_path / "notes.txt"], SecretFilter(()), max_bytes=10_000)
    assert found.files == [] and found.skipped == ["notes.txt: unsupported language"]


def test_collect_outside_git_honours_nested_gitignore_and_links(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "app" / "gen").mkdir(parents=True)
    (root / "app" / ".gitignore").write_text("gen/\n*_pb2.py\n")
    (root / "app" / "main.py").write_text("def main():\n    return 1\n")
    (root / "app" / "api_pb2.py").write_text("X = 1\n")
    (root / "app" / "gen" / "out.py").write_text("Y = 2\n")
    (root / ".venv").mkdir()
    (root / ".venv" / "lib.py").write_text("Z = 3\n")
    outside = tmp_path / "elsewhere.py"
    outside.write_text("SECRET = 1\n")
    (root / "app" / "link.py").symlink_to(outside)
    found = collect(root, [root], SecretFilter(DEFAULT_SECRET_GLOBS), max_bytes=10_000)
    assert [p.relative_to(root).as_posix() for p in found.files] == ["app/main.py"]
    assert found.skipped == ["app/link.py: symbolic link out of the folder, not followed",
                             "1 file(s) in unsupported languages: (no extension) x1"]  # app/.gitignore
