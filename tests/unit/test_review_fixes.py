"""Fixes as minimal, validated edits; tidying model replacements; "Fix with AI" validation."""

from __future__ import annotations

from lsp_server.config import Settings
from lsp_server.core.findings import Edit, LineFix
from lsp_server.core.text import TextBuffer
from lsp_server.engines.documents import DocumentStore
from lsp_server.engines.fixes import fix_adds_errors, fix_edits, make_fix, tidy_replacement
from lsp_server.engines.fixes_ai import AiFixer, fix_lines
from lsp_server.model.health import ModelHealth
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.edits import edit_adds_errors
from lsp_server.syntax.languages import SPECS, LanguageRegistry

REGISTRY = LanguageRegistry()


def apply(text: str, edits: list[Edit]) -> str:
    buf = TextBuffer(text)
    for edit in sorted(edits, key=lambda e: (e.span.start_line, e.span.start_col), reverse=True):
        start = buf.line_start(edit.span.start_line) + edit.span.start_col
        end = buf.line_start(edit.span.end_line) + edit.span.end_col
        buf.replace(start, end, edit.new_text)
    return buf.text


SOURCE = "def load(path):\n    f = open(path)\n    data = f.read()\n    return data\n\nprint(load('x'))\n"
FIXED = "    with open(path) as f:\n        data = f.read()\n    return data"


def test_minimal_edits_touch_only_changed_lines() -> None:
    buf = TextBuffer(SOURCE)
    fix = make_fix(buf, 1, 3, FIXED)
    edits = fix_edits(buf, fix)
    assert apply(SOURCE, edits) == SOURCE.replace("    f = open(path)\n    data = f.read()\n",
                                                  "    with open(path) as f:\n        data = f.read()\n")
    assert all(1 <= e.span.start_line <= e.span.end_line <= 3 for e in edits)
    assert not any("return data" in e.new_text for e in edits)  # the unchanged line is not rewritten


def test_crlf_files_keep_their_line_endings() -> None:
    text = SOURCE.replace("\n", "\r\n")
    buf = TextBuffer(text)
    result = apply(text, fix_edits(buf, make_fix(buf, 1, 3, FIXED)))
    assert "\r\n" in result and "\n" not in result.replace("\r\n", "")
    assert result.replace("\r\n", "\n").split("\n")[1] == "    with open(path) as f:"


def test_last_line_without_newline_and_deletions() -> None:
    text = "a = 1\nb = 2"
    buf = TextBuffer(text)
    assert apply(text, fix_edits(buf, make_fix(buf, 1, 1, "b = 3\nc = 4"))) == "a = 1\nb = 3\nc = 4"
    assert apply(text, fix_edits(buf, make_fix(buf, 0, 0, ""))) == "b = 2"


def test_no_edits_when_lines_changed_or_nothing_changes() -> None:
    buf = TextBuffer(SOURCE)
    stale = LineFix(1, 1, "    f = None", "    f = open(other)")
    assert fix_edits(buf, stale) is None
    assert fix_edits(buf, make_fix(buf, 3, 3, "    return data")) is None
    assert make_fix(buf, 5, 99, "x") is None


def test_fix_validation_rejects_broken_syntax_and_accepts_repairs() -> None:
    doc = SyntaxDocument(SOURCE, SPECS["python"], REGISTRY)
    buf = doc.buffer
    assert not fix_adds_errors(doc.parse_bytes, doc.tree, buf, make_fix(buf, 1, 3, FIXED))
    assert fix_adds_errors(doc.parse_bytes, doc.tree, buf, make_fix(buf, 1, 1, "    f = open(path"))
    assert fix_adds_errors(doc.parse_bytes, doc.tree, buf, make_fix(buf, 1, 1, "  f = open(path)"), language="python")
    broken = SyntaxDocument("def f(:\n    return 1\n", SPECS["python"], REGISTRY)
    bbuf = broken.buffer
    assert not fix_adds_errors(broken.parse_bytes, broken.tree, bbuf, make_fix(bbuf, 0, 0, "def f():"))


def test_edit_validation_for_brace_languages() -> None:
    doc = SyntaxDocument("int f(int x) {\n  return x;\n}\n", SPECS["c"], REGISTRY)
    line = doc.buffer.line_start(1)
    assert not edit_adds_errors(doc, line, doc.buffer.line_end(1), "  return x + 1;")
    assert edit_adds_errors(doc, line, doc.buffer.line_end(1), "  return (x + 1;")


def test_tidy_replacement() -> None:
    original = ["    x = f(y)"]
    assert tidy_replacement("x = g(y)", original) == "    x = g(y)"
    assert tidy_replacement("```python\nx = g(y)\n```\nexplanation", original) == "    x = g(y)"
    assert tidy_replacement("12 |     x = g(y)\n13 |     z = 1", original) == "    x = g(y)\n    z = 1"
    assert tidy_replacement("    x = g(y)\r\n\r\n", original) == "    x = g(y)"
    assert tidy_replacement("if a:\n    b()", ["    pass"]) == "    if a:\n        b()"


def _open(text: str, name: str = "app.py"):
    store = DocumentStore(REGISTRY, max_parse_bytes=1_000_000)
    return store.open(f"file:///w/{name}", "python", 1, text)


def test_fix_lines_cover_the_whole_statement() -> None:
    doc = _open("def f(xs):\n    total = sum(\n        xs)\n    return total\n")
    assert fix_lines(doc, 1, 1) == (1, 2)
    assert fix_lines(doc, 3, 3) == (3, 3)


def test_ai_fix_is_validated_against_the_document() -> None:
    fixer = AiFixer(Settings(), client=None, health=ModelHealth())  # type: ignore[arg-type]
    doc = _open(SOURCE)
    plan = fixer.plan(doc, 1, 1, "never closed")
    assert plan is not None and plan.messages[-1] == {"role": "assistant", "content": "```python\n"}
    ok = fixer.finish(doc, plan, "    f = open(path, encoding='utf-8')\n")
    assert ok.edits and all(e.span.start_line == 1 for e in ok.edits)
    assert fixer.finish(doc, plan, "    f = open(path\n").edits is None  # does not parse
    assert fixer.finish(doc, plan, "").edits is None
    assert fixer.finish(doc, plan, "    f = '<redacted>'\n").edits is None
    doc.syntax.apply_change((1, 4), (1, 5), "g", "utf-16")  # the line changed meanwhile
    assert fixer.finish(doc, plan, "    f = open(path, encoding='utf-8')\n").edits is None


def test_ai_fix_is_never_planned_for_secret_files_or_huge_ranges() -> None:
    fixer = AiFixer(Settings(), client=None, health=ModelHealth())  # type: ignore[arg-type]
    assert fixer.plan(_open(SOURCE, "id_rsa.py"), 1, 1, "x") is None
    assert fixer.plan(_open(SOURCE), 0, 100, "x") is None
    plan = fixer.plan(_open('KEY = "sk-abcdefghijklmnopqrstuvwxyz0123"\n' + SOURCE), 2, 2, "")
    assert "sk-abc" not in str(plan.messages)
