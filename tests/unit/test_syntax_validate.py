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
