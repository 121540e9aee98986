"""Long parses of the server's documents run in the store's parse thread (issue 12 item 9).

A slice on the event loop cannot be halted inside one token: a file-long unclosed comment
held the loop for 150 ms in one lexer step. A parse known to be long (the first parse of a
big file, or one that did not fit in a slice) runs in a worker thread, which hands the GIL
to the loop at each read and progress callback. The worker owns the parser while it runs:
edits wait for the next parse, a full replacement or closing the document stops it, and the
tree that results is always the tree of the text as it is now.
"""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from lsp_server.engines.documents import DocumentStore
from lsp_server.syntax import document as document_module
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.document import WORKER_BYTES, SyntaxDocument, settle
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from tests.worst_inputs import big_file, unclosed_comment, unclosed_string


@pytest.fixture
def store(editor_store: DocumentStore) -> DocumentStore:
    return editor_store


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool, bool]]:
    """Every parse the documents run: (thread name, ended with a tree, its job was cancelled)."""
    seen: list[tuple[str, bool, bool]] = []
    real_parse, real_job = document_module._parse, document_module._parse_job  # noqa: SLF001

    def parse(parser, data, old_tree, progress=None):  # noqa: ANN001, ANN202
        tree = None
        try:
            tree = real_parse(parser, data, old_tree, progress)  # a halt returns None or raises ValueError
            return tree
        finally:
            if threading.current_thread() is threading.main_thread():
                seen.append(("loop", tree is not None, False))

    def job(parser, job):  # noqa: ANN001, ANN202
        tree, seconds = real_job(parser, job)
        seen.append((threading.current_thread().name, tree is not None, job.cancelled))
        return tree, seconds

    monkeypatch.setattr(document_module, "_parse", parse)
    monkeypatch.setattr(document_module, "_parse_job", job)
    return seen


def _same_tree(doc: SyntaxDocument) -> bool:
    tree = doc.tree
    return tree is not None and str(tree.root_node) == str(doc.full_parse().root_node)


async def _until(predicate, seconds: float = 30.0) -> None:  # noqa: ANN001
    for _ in range(int(seconds / 0.002)):
        if predicate():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("timed out")


@pytest.mark.parametrize(("language", "make"), [
    ("javascript", lambda: unclosed_comment("javascript", 20_000)),
    ("c", lambda: unclosed_comment("c", 20_000)),
    ("rust", lambda: unclosed_string("rust", 20_000)),
    ("python", lambda: big_file("python", 300_000)),
])
async def test_a_big_first_parse_runs_in_the_worker_not_on_the_loop(store: DocumentStore, parses: list,
                                                                    language: str, make) -> None:  # noqa: ANN001
    text = make()
    assert len(text.encode()) >= WORKER_BYTES
    doc = store.open(f"file:///w/a.{SPECS[language].name}", language, 1, text)
    assert doc.syntax.tree is None and doc.syntax.parsing  # a request meanwhile: plain text, no slice
    assert await asyncio.wait_for(settle(doc.syntax), 60)
    assert _same_tree(doc.syntax) and doc.syntax.outline.complete
    assert [p for p in parses if p[0] == "loop"] == [], "the loop parsed some of it"
    assert [p[1] for p in parses] == [True] and parses[0][0].startswith("mistral-lsp-parse")


async def test_a_small_document_parses_on_the_loop(store: DocumentStore, parses: list) -> None:
    doc = store.open("file:///w/a.py", "python", 1, "def f(x):\n    return x\n" * 50)
    assert doc.syntax.tree is not None
    assert parses == [("loop", True, False)]


async def test_a_parse_that_does_not_fit_in_a_slice_goes_on_in_the_worker(registry: LanguageRegistry,
                                                                          parses: list) -> None:
    text = big_file("python", 40_000)  # under WORKER_BYTES: its first slice is on the loop
    store = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget(parse_s=0.0))
    try:
        doc = store.open("file:///w/a.py", "python", 1, text)
        assert doc.syntax.tree is None  # halted at the first progress call
        assert await asyncio.wait_for(settle(doc.syntax), 60)
        assert _same_tree(doc.syntax)
        assert parses[0] == ("loop", False, False)  # the halted slice
        assert [p[0][:17] for p in parses[1:]] == ["mistral-lsp-parse"]  # resumed in the worker
    finally:
        await store.aclose()


async def test_edits_during_a_worker_parse_wait_for_the_next_parse(store: DocumentStore, parses: list) -> None:
    """The worker's parse goes on (its tree is the base of an incremental parse of the
    edits); meanwhile no slice touches the parser and requests see no tree."""
    text = unclosed_comment("go", 20_000)  # about a second of parsing
    doc = store.open("file:///w/a.go", "go", 1, text)
    await _until(lambda: doc.syntax.worker_busy)
    for version in range(2, 6):
        store.change(doc.uri, version, [((0, 0), (0, 0), f"var v{version} = {version}\n")], "utf-16")
        assert doc.syntax.tree is None and doc.syntax.worker_busy  # no slice, no tree
    assert await asyncio.wait_for(settle(doc.syntax), 60)
    assert doc.syntax.buffer.text.startswith("var v5 = 5\nvar v4 = 4\n")
    assert _same_tree(doc.syntax)
    assert parses[0][1:] == (True, False) and parses[0][0] != "loop", "the first parse ran to its end"
    assert len(parses) >= 2 and parses[-1][1], "then the edits were parsed"
    assert doc.syntax.deltas_since(doc.syntax.version - 1)[0].edits, "incrementally, from the worker's tree"


async def test_a_full_replacement_during_a_worker_parse(store: DocumentStore, parses: list) -> None:
    doc = store.open("file:///w/a.rs", "rust", 1, unclosed_string("rust", 20_000))
    await _until(lambda: doc.syntax.worker_busy)
    store.change(doc.uri, 2, [(None, None, "fn main() {\n    let x = 1;\n}\n")], "utf-16")
    assert await asyncio.wait_for(settle(doc.syntax), 60)
    assert _same_tree(doc.syntax) and "function_item" in str(doc.syntax.tree.root_node)
    assert parses[0][2], "the replaced text's parse was cancelled"


async def test_closing_a_document_stops_its_worker_parse(store: DocumentStore, parses: list) -> None:
    doc = store.open("file:///w/a.go", "go", 1, unclosed_comment("go", 20_000))
    await _until(lambda: doc.syntax.worker_busy)
    store.close(doc.uri)
    await _until(lambda: bool(parses))
    assert parses == [(parses[0][0], False, True)]  # halted by the cancellation, no tree
    await _until(lambda: not doc.syntax.worker_busy)
    assert doc.syntax.parsing


async def test_closing_the_store_during_a_worker_parse(registry: LanguageRegistry, parses: list) -> None:
    store = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget())
    doc = store.open("file:///w/a.go", "go", 1, unclosed_comment("go", 20_000))
    await _until(lambda: doc.syntax.worker_busy)
    await store.aclose()
    await _until(lambda: bool(parses))
    assert parses[0][2] and not parses[0][1]


async def test_a_failed_worker_parse_falls_back_to_slices_on_the_loop(store: DocumentStore,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(document_module, "_parse_job", lambda parser, job: (None, 0.0))
    doc = store.open("file:///w/a.py", "python", 1, big_file("python", 200_000))
    assert await asyncio.wait_for(settle(doc.syntax), 60)
    assert _same_tree(doc.syntax)
    assert "worker parse failed" in caplog.text
    assert not doc.syntax.wants_worker()


async def test_random_edits_racing_worker_parses_end_on_the_final_texts_tree(store: DocumentStore,
                                                                           parses: list) -> None:
    """Edits and full replacements land at random moments: before, during and after worker
    parses (a replacement cancels a running job). Whatever the interleaving, the settled
    tree is a fresh parse of the final text, and the text is what the edits made."""
    rng = random.Random(7)
    text = big_file("python", 150_000)
    doc = store.open("file:///w/a.py", "python", 1, text)
    expected = text
    for version in range(2, 40):
        if rng.random() < 0.1:  # a full replacement: cancels a running worker job
            expected = big_file("python", rng.choice([70_000, 150_000]))
            store.change(doc.uri, version, [(None, None, expected)], "utf-16")
        else:
            lines = expected.split("\n")
            row = rng.randrange(len(lines))
            insert = rng.choice(["x = (", ")\n", "def g():\n    pass\n", "'''", "'''\n", "# c\n", "\n"])
            store.change(doc.uri, version, [((row, 0), (row, 0), insert)], "utf-16")
            at = sum(len(line) + 1 for line in lines[:row])  # ASCII: UTF-16 columns are characters
            expected = expected[:at] + insert + expected[at:]
        if rng.random() < 0.3:
            await asyncio.sleep(rng.choice([0, 0.001, 0.01, 0.05]))
    assert await asyncio.wait_for(settle(doc.syntax), 120)
    assert doc.syntax.buffer.text == expected
    assert _same_tree(doc.syntax)
    assert doc.syntax.outline.complete
    assert any(thread != "loop" for thread, _tree, _cancelled in parses), "worker parses took part"


async def test_a_settle_that_times_out_leaves_the_worker_job_running(registry: LanguageRegistry,
                                                                     parses: list) -> None:
    """The job belongs to the document, not to the caller that started it: a completion's
    bounded wait ends on time, and the parse it started finishes for the next caller."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mistral-lsp-parse") as worker:
        doc = SyntaxDocument(unclosed_comment("go", 20_000), SPECS["go"], registry, budget=SyntaxBudget(),
                             worker=worker)
        assert not await settle(doc, timeout_s=0.01)
        assert doc.worker_busy and not doc.driven
        assert await asyncio.wait_for(settle(doc), 60)
        assert _same_tree(doc)
        assert [p[1:] for p in parses] == [(True, False)], "one worker parse, run to its end"


async def test_a_document_whose_worker_job_was_cancelled_parses_afresh(registry: LanguageRegistry,
                                                                       parses: list) -> None:
    """Should a document live on after its job was cancelled, the next settle starts a new
    job instead of resuming the cancelled one (which would halt at once, again and again)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mistral-lsp-parse") as worker:
        doc = SyntaxDocument(unclosed_comment("go", 20_000), SPECS["go"], registry, budget=SyntaxBudget(),
                             worker=worker)
        assert not await settle(doc, timeout_s=0.01)
        doc.cancel_worker()
        assert await asyncio.wait_for(settle(doc), 60)
        assert _same_tree(doc)
        assert [p[1:] for p in parses] == [(False, True), (True, False)]
