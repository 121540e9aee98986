"""Texts that keep thousands of brackets open are not parsed on the editor path (issue 12 item 9).

At the end of a run of brackets opened and never closed, tree-sitter's error recovery runs for a
time proportional to the run with no callback (2.4 s at 250,000 ``f(`` in Go): no slice and no
GIL hand-over can cut it short. ``syntax.nesting`` bounds the run from above, and budgeted
documents and the paced index treat such a text as plain text until the brackets are closed.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.completion_plan import plan_completion
from lsp_server.engines.documents import DocumentStore
from lsp_server.index.extract import SymbolExtractor
from lsp_server.index.pacing import Pacer, drive, run
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.document import SyntaxDocument, settle
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.nesting import MAX_UNCLOSED, open_run, too_deep
from tests.worst_inputs import LANGUAGES, big_file

EXT = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go", "rust": "rs",
       "java": "java", "c": "c", "cpp": "cpp"}
HEAD = {"python": "x = ", "javascript": "const x = ", "typescript": "const x = ", "tsx": "const x = ",
        "go": "package p\n\nvar x = ", "rust": "fn main() {\n    let x = ", "java": "class A {\n    int x = ",
        "c": "int x = ", "cpp": "auto x = "}


def _exact_run(data: bytes) -> int:
    depth = lowest = best = 0
    for byte in data:
        if byte in b"([{":
            depth += 1
        elif byte in b")]}":
            depth -= 1
        lowest = min(lowest, depth)
        best = max(best, depth - lowest)
    return best


@pytest.fixture
def store(editor_store: DocumentStore) -> DocumentStore:
    return editor_store


# -- the count ---------------------------------------------------------------------------

def test_the_count_of_ordinary_shapes() -> None:
    assert open_run(b"") == 0
    assert open_run(b"x = 1") == 0
    assert 2 <= open_run(b"f(a[1], {b: 2})") <= 2 + 512  # an upper bound, at most 512 above the truth
    assert open_run(b"(" * 10_000) == 10_000
    assert 3000 <= open_run(b"f(" * 3000 + b"1" + b")" * 3000) <= 3000 + 512  # deep, even when closed
    assert 5000 <= open_run(b")" * 5000 + b"(" * 5000) <= 5000 + 512  # closers first do not hide the run
    assert open_run(b"((((", [(0, 2), (2, 4)]) == 4  # spans read one after the other
    assert open_run(b"((xx((", [(0, 2)]) == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"(", b")", b"[", b"]", b"{", b"}", b"x", b"((((", b"))))"]), max_size=3000))
def test_the_count_never_underestimates(parts: list[bytes]) -> None:
    data = b"".join(parts)
    exact = _exact_run(data)
    assert exact <= open_run(data) <= exact + 512


def test_real_code_is_far_below_the_limit() -> None:
    for language in LANGUAGES:
        assert not too_deep(big_file(language, 512 * 1024).encode())


# -- documents ---------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_document_that_keeps_too_many_brackets_open_is_plain_text(store: DocumentStore,
                                                                          language: str) -> None:
    text = HEAD[language] + "f(" * (MAX_UNCLOSED + 500) + "\n"
    uri = f"file:///w/deep.{EXT[language]}"
    doc = store.open(uri, language, 1, text)
    assert await settle(doc.syntax, timeout_s=10)
    assert doc.syntax.tree is None and not doc.syntax.parsing
    assert doc.syntax.outline.definitions() == []
    plan = plan_completion(doc, len(doc.syntax.buffer.data), budget_tokens=2048, count_tokens=len,
                           secrets=SecretFilter([]), system_prompt=None)
    assert plan.prompt_key
    # closing them makes it code again
    row = doc.syntax.buffer.line_count - 1
    store.change(uri, 2, [((row, 0), (row, 0), "1" + ")" * (MAX_UNCLOSED + 500) + "\n")], "utf-16")
    assert await settle(doc.syntax, timeout_s=30)
    # (a balanced but 4,500-deep call still keeps that many open on the way: still plain text)
    assert doc.syntax.tree is None
    store.change(uri, 3, [(None, None, HEAD[language] + "f(1)\n")], "utf-16")  # the whole text replaced
    assert await settle(doc.syntax, timeout_s=10)
    assert doc.syntax.tree is not None


async def test_a_paste_of_a_deep_run_into_a_parsed_document(store: DocumentStore) -> None:
    uri = "file:///w/paste.go"
    doc = store.open(uri, "go", 1, big_file("go", 20_000))
    assert await settle(doc.syntax, timeout_s=10)
    assert doc.syntax.tree is not None
    row = doc.syntax.buffer.line_count - 1
    store.change(uri, 2, [((row, 0), (row, 0), "var y = " + "f(" * 20_000 + "\n")], "utf-16")
    assert await settle(doc.syntax, timeout_s=10)
    assert doc.syntax.tree is None and not doc.syntax.parsing
    store.change(uri, 3, [((row, 0), (row + 1, 0), "")], "utf-16")  # undone
    assert await settle(doc.syntax, timeout_s=10)
    assert doc.syntax.tree is not None and not doc.syntax.tree.root_node.has_error


async def test_a_few_more_brackets_typed_one_by_one_are_parsed(store: DocumentStore) -> None:
    uri = "file:///w/typed.py"
    doc = store.open(uri, "python", 1, "x = " + "(" * 100 + "\n")
    assert await settle(doc.syntax, timeout_s=10)
    for version in range(2, 12):
        store.change(uri, version, [((0, 4), (0, 4), "(")], "utf-16")
        assert doc.syntax.tree is not None or doc.syntax.parsing
    assert await settle(doc.syntax, timeout_s=10)
    assert doc.syntax.tree is not None


def test_documents_without_a_budget_parse_any_text(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument("package p\n\nvar x = " + "f(" * (MAX_UNCLOSED * 2) + "\n", SPECS["go"], registry)
    assert doc.tree is not None  # the CLI review: no event loop to keep free


async def test_the_paced_index_skips_such_a_text_and_the_cli_indexes_it(registry: LanguageRegistry) -> None:
    extractor = SymbolExtractor(registry)
    text = "def f(a):\n    return a\n\n\nx = " + "g(" * (MAX_UNCLOSED * 2) + "\n"
    paced = await drive(extractor.steps(text, SPECS["python"], "/w/deep.py", Pacer()), Pacer())
    assert paced.rows == ()
    whole = run(extractor.steps(text, SPECS["python"], "/w/deep.py", None))
    assert [symbol.name for symbol in whole.symbols][:1] == ["f"]


async def test_each_document_says_how_the_server_reads_it(registry: LanguageRegistry) -> None:
    """``OpenDocument.syntax_mode``, which ``mistral-lsp.status`` lists under ``syntax``."""
    store = DocumentStore(registry, max_parse_bytes=40_000, budget=SyntaxBudget(tree_bytes=20_000))
    assert store.open("file:///w/a.py", "python", 1, "x = 1\n").syntax_mode == "tree"
    assert store.open("file:///w/b.py", "python", 1, big_file("python", 30_000)).syntax_mode == "window"
    assert store.open("file:///w/c.py", "python", 1, "x = 1\n" * 8000).syntax_mode == "plain text: over maxFileBytes"
    assert store.open("file:///w/d.py", "python", 1, "x\x00\x01\x02" * 100).syntax_mode == "plain text: binary"
    notes = store.open("file:///w/e.txt", "plaintext", 1, "words\n")
    assert notes.syntax_mode == "plain text: no grammar for plaintext"
    deep = store.open("file:///w/f.py", "python", 1, "x = " + "f(" * (MAX_UNCLOSED + 10) + "\n")
    assert deep.syntax.tree is None and deep.syntax_mode == "plain text: too many brackets open"
    await store.aclose()
