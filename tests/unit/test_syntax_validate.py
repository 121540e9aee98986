"""would_add_errors(): catches broken completions, accepts partial but sane ones."""

from __future__ import annotations

import pytest

from lsp_server.syntax.context import would_add_errors
from lsp_server.syntax.languages import LanguageRegistry

from .test_syntax_samples import big_python, make_doc

PY = "import os\n\n\ndef total(items):\n    result = 0\n    <|>\n    return result\n"
JS = "function total(items) {\n  let result = 0;\n  <|>\n  return result;\n}\n"
GO = "package main\n\nfunc total(items []int) int {\n\tresult := 0\n\t<|>\n\treturn result\n}\n"
RUST = "fn total(items: &[i32]) -> i32 {\n    let mut result = 0;\n    <|>\n    result\n}\n"
CPP = "int total(const std::vector<int> &items) {\n    int result = 0;\n    <|>\n    return result;\n}\n"


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


def check(registry: LanguageRegistry, name: str | None, text: str, insert: str) -> bool:
    doc, cursor = make_doc(name, text, registry)
    before = (doc.buffer.data, str(doc.tree.root_node) if doc.tree else None, doc.version)
    result = would_add_errors(doc, cursor, insert)
    assert (doc.buffer.data, str(doc.tree.root_node) if doc.tree else None, doc.version) == before
    return result


BREAKS = [
    ("python", PY, "result += sum(items))"),      # unbalanced )
    ("python", PY, "@@@ %%% $$"),                  # garbage tokens
    ("python", PY, "def (x:"),                     # def nonsense
    ("python", PY, "result = = 1"),
    ("javascript", JS, "result += foo(items));"),
    ("javascript", JS, "@@@ ###"),
    ("javascript", JS, "}"),                       # closes the function early
    ("go", GO, "result += len(items))"),
    ("rust", RUST, "let x = ;"),
    ("cpp", CPP, "result += items.size());"),
]
FINE = [
    ("python", PY, "result += sum(items)"),
    ("python", PY, "for x in items:"),             # a block opener alone
    ("python", PY, "for x in items:\n        result += x"),
    ("python", PY, "if result > 10:\n        "),
    ("python", PY, "result = compute("),           # opens a call the user continues
    ("javascript", JS, "if (items.length) {"),     # a block opener alone
    ("javascript", JS, "for (const x of items) {\n    result += x;\n  }"),
    ("javascript", JS, "const f = (x) =>"),
    ("javascript", JS, "result += 1;"),
    ("go", GO, "for _, x := range items {"),
    ("go", GO, "result += len(items)"),
    ("rust", RUST, "for x in items {"),
    ("rust", RUST, "result += items.len() as i32;"),
    ("cpp", CPP, "if (items.empty()) {"),
    ("cpp", CPP, "result += static_cast<int>(items.size());"),
]


@pytest.mark.parametrize(("name", "text", "insert"), BREAKS)
def test_detects_new_errors(registry: LanguageRegistry, name: str, text: str, insert: str) -> None:
    assert check(registry, name, text, insert) is True


@pytest.mark.parametrize(("name", "text", "insert"), FINE)
def test_accepts_sane_completions(registry: LanguageRegistry, name: str, text: str, insert: str) -> None:
    assert check(registry, name, text, insert) is False


@pytest.mark.parametrize(("name", "text"), [
    ("python", "def broken(:\n    <|>\n"),
    ("javascript", "function f( {\n  <|>\n"),
    ("go", "package main\n\nfunc f() {\n\tx := (1\n\t<|>\n}\n"),
])
def test_already_broken_region_is_not_judged(registry: LanguageRegistry, name: str, text: str) -> None:
    assert check(registry, name, text, "@@@ ))) garbage") is False


def test_plain_text_and_empty_insertions(registry: LanguageRegistry) -> None:
    assert check(registry, None, "hello <|>world\n", ")))") is False
    assert check(registry, "python", PY, "") is False


def test_large_file_uses_the_enclosing_top_level_region(registry: LanguageRegistry) -> None:
    source = big_python()
    broken = source + "\n\ndef tail_broken(:\n    pass\n"  # an error far from the cursor
    doc, _ = make_doc("python", broken, registry)
    anchor = broken.index("    def compare(self, other, context=None):")
    cursor = len(broken[: broken.index("\n", anchor) + 1].encode("utf-8"))
    assert would_add_errors(doc, cursor, "        x = (1, 2))\n") is True
    assert would_add_errors(doc, cursor, "        x = (1, 2)\n") is False


def test_region_parse_agrees_with_the_whole_file_trial_parse(monkeypatch) -> None:
    """In a large file the region is judged on its own; it must reach the same verdicts."""
    from lsp_server.engines.documents import DocumentStore
    from lsp_server.syntax import validate
    from lsp_server.syntax.languages import LanguageRegistry

    unit = ("\n\nclass Handler{n}:\n    def handle(self, item):\n        self.seen += 1\n        total = len([item])\n"
            "        return bool(total)\n\n\ndef process_{n}(records, limit={n}):\n    counts = {{}}\n"
            "    for record in records[:limit]:\n        counts[record] = 1\n    return counts\n")
    text = "import os\n" + "".join(unit.format(n=n) for n in range(300))
    assert len(text.encode()) > validate.SMALL_FILE_BYTES
    doc = DocumentStore(LanguageRegistry(), max_parse_bytes=10**8).open("file:///w/big.py", "python", 1, text)
    anchors = ["        self.seen += 1", "    for record in records[:limit]:", "        return bool(total)"]
    inserts = ["\n        self.count = 0", " + 1", "(", "\n        if item:", '\n        x = """', "\n    y = 1",
               "\n        return", " and", ")", "\n        for x in range(3):\n            pass", "pass"]
    rows = text.split("\n")
    checked = 0
    verdicts = set()
    for anchor in anchors:
        row = rows.index(anchor, len(rows) // 2)
        cursor = len("\n".join(rows[: row + 1]).encode())
        for insert in inserts:
            fast = validate.would_add_errors(doc.syntax, cursor, insert)
            with monkeypatch.context() as patch:
                patch.setattr(validate, "REGION_PARSE_BYTES", -1)  # force the whole-file trial parse
                slow = validate.would_add_errors(doc.syntax, cursor, insert)
            assert fast == slow, (anchor, insert, fast, slow)
            verdicts.add(fast)
            checked += 1
    assert checked == len(anchors) * len(inserts) and verdicts == {True, False}


def test_region_parse_agrees_in_a_brace_language(monkeypatch) -> None:
    from lsp_server.engines.documents import DocumentStore
    from lsp_server.syntax import validate
    from lsp_server.syntax.languages import LanguageRegistry

    unit = ("\n\nfunction handle{n}(items) {{\n  let total = 0;\n  for (const x of items) {{\n    total += x;\n  }}\n"
            "  return total;\n}}\n\nclass Box{n} {{\n  open() {{\n    return {n};\n  }}\n}}\n")
    text = "const fs = require('fs');\n" + "".join(unit.format(n=n) for n in range(300))
    doc = DocumentStore(LanguageRegistry(), max_parse_bytes=10**8).open("file:///w/big.js", "javascript", 1, text)
    rows = text.split("\n")
    verdicts = set()
    for anchor in ("  let total = 0;", "    total += x;", "    return 150;"):
        row = rows.index(anchor, len(rows) // 3)
        cursor = len("\n".join(rows[: row + 1]).encode())
        for insert in ["\n  const y = 1;", " +", "\n  if (total) {", "\n  }", " }", "\n  return `", ");", "\n  foo(bar"]:
            fast = validate.would_add_errors(doc.syntax, cursor, insert)
            with monkeypatch.context() as patch:
                patch.setattr(validate, "REGION_PARSE_BYTES", -1)
                slow = validate.would_add_errors(doc.syntax, cursor, insert)
            assert fast == slow, (anchor, insert, fast, slow)
            verdicts.add(fast)
    assert verdicts == {True, False}



@pytest.mark.parametrize("text, insert", [
    ("x = 1\n", " pass"),
    ("class A:\n    def f(self):\n        self.seen += 1\n", " pass"),
    ("def f():\n    return 1\n", "pass"),
])
def test_a_hidden_missing_token_counts_as_an_error(text: str, insert: str) -> None:
    """tree-sitter reports `x = 1 pass` with a MISSING _newline that no node exposes."""
    doc, _ = make_doc("python", text)
    cursor = len(text.encode()) - 1  # before the last newline
    assert would_add_errors(doc, cursor, insert)
    assert not would_add_errors(doc, cursor, "  # fine")


def test_a_hidden_missing_token_in_a_large_file_region() -> None:
    text = "import os\n" + "".join(f"\n\ndef f{n}(x):\n    y = x + {n}\n    return y\n" for n in range(800))
    doc, _ = make_doc("python", text)
    cursor = text.index("    y = x + 400") + len("    y = x + 400")
    assert would_add_errors(doc, cursor, " pass")
    assert not would_add_errors(doc, cursor, " * 2")
