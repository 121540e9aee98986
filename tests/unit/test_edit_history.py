"""Following lines and spans of an older version through a document's edits (fixes, findings)."""

from __future__ import annotations

import pytest

from lsp_server.core.findings import Finding, LineFix, Severity, Span, lines_hash
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.edit_history import EditHistory, follow, follow_lines
from lsp_server.engines.fixes import OfferedFix, fix_data, fix_edits, lines_now
from lsp_server.engines.review_anchor import follow_findings, reanchor
from lsp_server.syntax.languages import LanguageRegistry

Change = tuple[tuple[int, int] | None, tuple[int, int] | None, str]


def _store() -> DocumentStore:
    return DocumentStore(LanguageRegistry(), max_parse_bytes=1_000_000)


def _edit(doc: OpenDocument, store: DocumentStore, *changes: Change) -> None:
    store.change(doc.uri, doc.version + 1, list(changes), "utf-16")


def _insert(row: int, col: int, text: str) -> Change:
    return (row, col), (row, col), text


# (language, source, the two identical lines' rows, the text of that line)
CASES = [
    ("python", "def f(n):\n    n += 1\n    n += 1\n    return n\n", "    n += 1"),
    ("javascript", "function f(n) {\n  n++;\n  n++;\n  return n;\n}\n", "  n++;"),
    ("go", "package p\n\nfunc f(n int) int {\n\tn++\n\tn++\n\treturn n\n}\n", "\tn++"),
    ("rust", "fn f(mut n: i32) -> i32 {\r\n    n += 1; // ✓ 日本\r\n    n += 1; // ✓ 日本\r\n    n\r\n}\r\n",
     "    n += 1; // ✓ 日本"),
]


@pytest.mark.parametrize(("language", "source", "line"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("where", ["start of file", "just above", "between"])
def test_a_fix_follows_its_line_when_an_identical_line_is_inserted(language: str, source: str, line: str,
                                                                     where: str) -> None:
    store = _store()
    ext = {"python": "py", "javascript": "js", "go": "go", "rust": "rs"}[language]
    doc = store.open(f"file:///w/a.{ext}", language, 1, source)
    rows = [row for row in range(doc.syntax.buffer.line_count) if doc.syntax.buffer.line_text(row) == line]
    target = rows[1]  # the second of the two identical lines
    eol = "\r\n" if "\r\n" in source else "\n"
    offered = OfferedFix.read(fix_data(LineFix(target, target, line + "  # fixed", line), doc.version))
    at = {"start of file": 0, "just above": target, "between": rows[0]}[where]
    _edit(doc, store, _insert(at, 0, line + eol))
    assert doc.syntax.buffer.line_text(target) == line  # the line now at the old row reads the same...
    fix = offered.now(doc)
    assert fix is not None and fix.start_line == fix.end_line == target + 1  # ...but the fix is for the next one
    [edit] = fix_edits(doc.syntax.buffer, fix)
    assert edit.span.start_line == target + 1


def test_lines_now_moves_with_edits_before_and_ignores_edits_after() -> None:
    store = _store()
    doc = store.open("file:///w/a.py", "python", 1, "a = 1\nb = 2\nc = 3\nd = 4\n")
    _edit(doc, store, _insert(0, 0, "# one\n# two\n"), _insert(5, 5, "  # after"), _insert(1, 2, "x"))
    assert lines_now(doc, 1, 1, 2) == (3, 4)
    _edit(doc, store, ((0, 0), (1, 0), ""))  # a line above deleted
    assert lines_now(doc, 1, 1, 2) == (2, 3)
    _edit(doc, store, _insert(3, 5, "\n"))  # Enter at the end of the last line: the line itself is untouched...
    assert lines_now(doc, 1, 1, 2) is None  # ...but an edit on the last line is refused (cannot see the line end)


@pytest.mark.parametrize(("change", "why"), [
    (((2, 0), (2, 1), "C"), "an edit in the first line"),
    (((3, 3), (3, 4), ""), "an edit in the last line"),
    (((1, 5), (2, 0), ""), "the first line joined to the one above"),
    (((0, 0), (4, 0), ""), "an edit around the lines"),
    (((2, 0), (2, 0), "x = 0; "), "text typed at the start of the first line"),
])
def test_lines_now_refuses_lines_an_edit_touched(change: Change, why: str) -> None:
    store = _store()
    doc = store.open("file:///w/a.py", "python", 1, "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n")
    _edit(doc, store, change)
    assert lines_now(doc, 1, 2, 3) is None, why


def test_history_limits_and_resets() -> None:
    history = EditHistory(1, max_edits=3)
    store = _store()
    doc = store.open("file:///w/a.py", "python", 1, "x\n")
    edit = doc.syntax.apply_change((0, 0), (0, 0), "y", "utf-16")
    history.record(2, [edit, edit])
    history.record(3, [edit])
    assert history.since(1) == [edit, edit, edit] and history.since(3) == [] and history.since(4) is None
    history.record(4, [edit])  # over the limit: version 1 can no longer be followed
    assert history.since(1) is None and history.since(2) == [edit, edit]
    history.record(5, None)  # a full replacement
    assert history.since(4) is None and history.since(5) == []
    history.record(5, [edit])  # a version that did not increase: nothing before it is trusted
    assert history.since(4) is None
    # the store resets a document's history on a full-text change
    store.change(doc.uri, 2, [(None, None, "z\n")], "utf-16")
    assert doc.history.since(1) is None
    assert lines_now(doc, 1, 0, 0) is None and lines_now(doc, None, 0, 0) is None


def test_follow_keeps_insertions_at_the_edges_outside() -> None:
    store = _store()
    doc = store.open("file:///w/a.py", "python", 1, "value = compute(x)\n")
    _edit(doc, store, _insert(0, 8, "  "), _insert(0, 22, "  # done"))  # right before and right after "compute(x)"
    assert follow(doc.history.since(1), (0, 8), (0, 18)) == ((0, 10), (0, 20))
    assert follow_lines([], 3, 4) == (3, 4)


def _finding(row: int, col: int, quote: str, fix: LineFix | None = None) -> Finding:
    return Finding("a.py", Span(row, col, row, col + len(quote.encode())), Severity.WARNING, "r", "m", quote, fix)


def test_findings_follow_edits_exactly_among_identical_lines() -> None:
    store = _store()
    source = "def f(n):\n    n += 1\n    n += 1\n    return n\n"
    doc = store.open("file:///w/a.py", "python", 1, source)
    line = "    n += 1"
    finding = _finding(2, 4, "n += 1", LineFix(2, 2, "    n += 2", line))
    _edit(doc, store, _insert(1, 0, line + "\n"))
    [moved] = follow_findings([finding], doc.history.since(1), doc.syntax.buffer)
    assert moved.span == Span(3, 4, 3, 10) and moved.fix is not None and moved.fix.start_line == 3
    # the quote search alone keeps it on the identical line now at row 2: the wrong one
    [by_quote] = reanchor([finding], doc.syntax.buffer)
    assert by_quote.span.start_line == 2
    # an edit inside the quote drops the finding; one on the fix's lines only drops the fix
    _edit(doc, store, ((3, 6), (3, 7), "-"))
    assert follow_findings([finding], doc.history.since(1), doc.syntax.buffer) == []


def test_a_finding_keeps_its_place_when_its_fix_lines_were_edited() -> None:
    store = _store()
    doc = store.open("file:///w/a.py", "python", 1, "x = [1,\n     2]\ny = x[2]\n")
    finding = _finding(2, 4, "x[2]", LineFix(0, 2, "x = [1, 2]\ny = x[1]", "x = [1,\n     2]\ny = x[2]"))
    _edit(doc, store, _insert(1, 7, "  # two"))
    [moved] = follow_findings([finding], doc.history.since(1), doc.syntax.buffer)
    assert moved.span == finding.span and moved.fix is None


def test_offered_fix_data_round_trip_and_bad_data() -> None:
    fix = LineFix(3, 4, "new", "old\nlines")
    offered = OfferedFix.read(fix_data(fix, 7))
    assert offered == OfferedFix(3, 4, "new", lines_hash(["old", "lines"]), 7)
    assert OfferedFix.read({"start": "x"}) is None and OfferedFix.read(None) is None
    assert OfferedFix.read({"start": 1, "end": 1, "replacement": "", "hash": "h"}).version is None
