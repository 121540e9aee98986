"""The SQLite findings cache: persistence, clearing, corrupt and unwritable files; review settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsp_server.cache import FILE_NAME, FindingsCache
from lsp_server.config import load_settings
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.review_plan import fingerprint_of, unit_key
from lsp_server.syntax.units import ReviewUnit


def test_values_persist_across_instances(tmp_path: Path) -> None:
    first = FindingsCache(tmp_path)
    first.put("k", [{"i": 0, "q": "日本"}])
    assert first.get("k") == [{"i": 0, "q": "日本"}] and "k" in first
    first.close()
    second = FindingsCache(tmp_path)
    assert second.get("k") == [{"i": 0, "q": "日本"}] and len(second) == 1
    assert second.get("missing") is None and "missing" not in second
    assert (second.hits, second.misses) == (1, 1)


def test_clear_removes_everything(tmp_path: Path) -> None:
    cache = FindingsCache(tmp_path)
    for index in range(3):
        cache.put(f"k{index}", [])
    assert cache.clear() == 3 and len(cache) == 0 and cache.get("k1") is None


def test_corrupt_file_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    cache = FindingsCache(tmp_path)
    cache.put("k", [1])
    assert cache.get("k") == [1]
    assert (tmp_path / (FILE_NAME + ".corrupt")).exists()
    assert FindingsCache(tmp_path).get("k") == [1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_dir_falls_back_to_memory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        cache = FindingsCache(locked / "sub")
        cache.put("k", [2])
        assert cache.get("k") == [2]
    finally:
        locked.chmod(0o700)


def test_unusable_path_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = FindingsCache(blocker)  # a file where the folder should be
    cache.put("k", [3])
    assert cache.get("k") == [3] and len(cache) == 1 and cache.clear() == 1


def test_memory_only_cache() -> None:
    cache = FindingsCache(None)
    cache.put("k", {"a": 1})
    assert cache.get("k") == {"a": 1} and cache.path is None


def test_key_covers_content_model_prompt_and_settings() -> None:
    unit = ReviewUnit("function", "f", (3, 4))
    lines = ("def f():", "    return 1")
    base = fingerprint_of("model-a", 1024, 0.0, None)
    key = unit_key(base, "python", unit, lines)
    assert key == unit_key(base, "python", ReviewUnit("function", "f", (30, 31)), lines)  # moved: same key
    assert key != unit_key(base, "python", unit, ("def f():", "    return 2"))
    assert key != unit_key(fingerprint_of("model-b", 1024, 0.0, None), "python", unit, lines)
    assert key != unit_key(fingerprint_of("model-a", 2048, 0.0, None), "python", unit, lines)
    assert key != unit_key(base, "python", ReviewUnit("method", "f", (3, 4), "class A:"), lines)


def test_mask_lines_keeps_one_line_per_line() -> None:
    secrets = SecretFilter(())
    lines = ["x = 1", "-----BEGIN RSA PRIVATE KEY-----", "MIIEabc", "-----END RSA PRIVATE KEY-----",
             'token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"']
    masked = secrets.mask_lines(lines, "keys.py")
    assert len(masked) == len(lines) and masked[0] == "x = 1"
    assert "MIIE" not in "".join(masked) and "ghp_" not in masked[4]


def test_review_settings_resolve(tmp_path: Path) -> None:
    editor = {"review": {"triggers": ["save", "change"], "minSeverity": "warning", "concurrency": 8},
              "priority": {"review": 20}}
    settings, problems = load_settings(editor, root=tmp_path, environ={})
    assert problems == []
    assert settings.review_triggers == ("save", "change") and settings.review_min_severity == "warning"
    assert settings.review_concurrency == 8 and settings.review_priority == 20
    env, _ = load_settings(None, root=tmp_path, environ={"MISTRAL_LSP_REVIEW_TRIGGERS": "manual"})
    assert env.review_triggers == ("manual",)
    bad, problems = load_settings({"review": {"triggers": "open,manual", "minSeverity": "loud"}},
                                  root=tmp_path, environ={})
    assert bad.review_triggers == ("open", "save") and bad.review_min_severity == "info" and len(problems) == 2


def test_huge_units_are_cut_and_minified_lines_left_out() -> None:
    from lsp_server.engines.review_plan import MAX_UNIT_CHARS, plan_review
    from lsp_server.syntax.document import SyntaxDocument
    from lsp_server.syntax.languages import SPECS, LanguageRegistry

    minified = "var a=" + "1+" * MAX_UNIT_CHARS + "1;"
    long_lines = "".join(f"  x{i} = '{'y' * 200}';\n" for i in range(150))
    text = f"function f() {{\n{long_lines}}}\n{minified}\n"
    syntax = SyntaxDocument(text, SPECS["javascript"], LanguageRegistry())
    plan = plan_review(syntax, "app.js", secrets=SecretFilter(()), fingerprint="fp")
    assert [u.unit.name for u in plan.units] == ["f (part 1/2)", "f (part 2/2)"]
    assert all(sum(len(line) + 1 for line in u.lines) <= MAX_UNIT_CHARS for u in plan.units)
    assert all(len(u.messages[1]["content"]) < 2 * MAX_UNIT_CHARS for u in plan.units)


def _cache_bytes(cache_dir: Path) -> bytes:
    """Every SQLite file under the cache dir (database, WAL, shared memory), byte for byte."""
    return b"".join(path.read_bytes() for path in sorted(cache_dir.rglob("*")) if path.is_file())


def test_nothing_unmasked_is_written(tmp_path: Path) -> None:
    cache = FindingsCache(tmp_path)
    cache.put("k", [{"q": 'password = "cache-secret-1"', "m": "token: cache-secret-2 is hard-coded",
                     "f": [0, 0, 'API_KEY = "cache-secret-3"']}], path="app.py")
    stored = cache.get("k")[0]
    assert stored["q"] == 'password = "<redacted>"' and "cache-secret-2" not in stored["m"]
    cache.close()
    data = _cache_bytes(tmp_path)
    for secret in (b"cache-secret-1", b"cache-secret-2", b"cache-secret-3"):
        assert secret not in data


def test_rows_written_by_an_older_secret_filter_are_purged_from_the_file(tmp_path: Path) -> None:
    import sqlite3

    cache = FindingsCache(tmp_path)
    cache.put("fresh", [])
    cache.close()
    db = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)  # what an older version left behind
    db.execute("INSERT INTO findings (key, value, created) VALUES ('old', ?, 0)",
               ('[{"q":"password = \\"leaked-by-old-filter\\""}]',))
    db.execute("UPDATE meta SET value = '1' WHERE key = 'secret_filter'")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert b"leaked-by-old-filter" in _cache_bytes(tmp_path)
    reopened = FindingsCache(tmp_path)
    assert reopened.get("old") is None and len(reopened) == 0
    reopened.close()
    assert b"leaked-by-old-filter" not in _cache_bytes(tmp_path)


def test_memory_only_cache_masks_too() -> None:
    cache = FindingsCache(None)
    cache.put("k", ["secret_key = 'memory-secret-4'"], path="a.py")
    assert cache.get("k") == ["secret_key = '<redacted>'"]
