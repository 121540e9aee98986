"""Pathological input never breaks or stalls the syntax layer: deep nesting of every
kind in every grammar, files of ERROR nodes, very long lines.

These tests assert behaviour, not speed: inputs deeper than Python's recursion limit
complete without RecursionError and give a sane context; every tree-sitter query runs
on a bounded piece of the tree; paths and parses are cut where the budget says and
pick up where they stopped. Timings live in scripts/bench_worst_case.py.
"""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest
import tree_sitter

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.completion_plan import plan_completion
from lsp_server.engines.documents import DocumentStore
from lsp_server.engines.review_plan import plan_review
from lsp_server.index.extract import SymbolExtractor
from lsp_server.model.tokens import estimate_tokens
from lsp_server.syntax import definitions
from lsp_server.syntax import outline as outline_module
from lsp_server.syntax.budget import MAX_PATH_DEPTH, Deadline, SyntaxBudget
from lsp_server.syntax.context import cursor_context, foreign_names, window
from lsp_server.syntax.document import SyntaxDocument, settle
from lsp_server.syntax.edits import edit_adds_errors, python_parses
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.nodes import errors_in, node_path
from lsp_server.syntax.outline import Outline
from lsp_server.syntax.units import split_units
from lsp_server.syntax.validate import would_add_errors
from tests.worst_inputs import (
    LANGUAGES,
    balanced_calls,
    big_file,
    error_soup,
    long_line,
    nested_blocks,
    nested_literal,
    operator_chain,
    unclosed,
    unclosed_blocks,
    unclosed_comment,
    unclosed_string,
)

SECRETS = SecretFilter(DEFAULT_SECRET_GLOBS)
# Deeper than Python's recursion limit: any recursive walk over these trees fails.
DEPTH = max(3 * sys.getrecursionlimit(), 3000)
DEEP = {
    "unclosed_parens": lambda lang: unclosed(lang, DEPTH),
    "unclosed_braces": lambda lang: unclosed(lang, DEPTH, "{"),
    "balanced_calls": lambda lang: balanced_calls(lang, DEPTH),
    "nested_literal": lambda lang: nested_literal(lang, DEPTH),
    "operator_chain": lambda lang: operator_chain(lang, DEPTH),
    "nested_blocks": lambda lang: nested_blocks(lang, 300),
    "unclosed_blocks": lambda lang: unclosed_blocks(lang, 2000),
    "unclosed_string": lambda lang: unclosed_string(lang, 500),
    "unclosed_comment": lambda lang: unclosed_comment(lang, 500),
    "error_soup": lambda lang: error_soup(lang, 500),
    "long_line": lambda lang: long_line(lang, 60_000),
}


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


def _positions(data: bytes) -> list[int]:
    """Start, a quarter, the middle, three quarters and the end (on character boundaries)."""
    found = []
    for at in (0, len(data) // 4, len(data) // 2, 3 * len(data) // 4, len(data)):
        while 0 < at < len(data) and (data[at] & 0xC0) == 0x80:
            at -= 1
        found.append(at)
    return found


@pytest.mark.parametrize("case", sorted(DEEP))
@pytest.mark.parametrize("language", LANGUAGES)
def test_deep_and_broken_inputs_give_a_sane_context(registry: LanguageRegistry, language: str, case: str) -> None:
    text = DEEP[case](language)
    doc = SyntaxDocument(text, SPECS[language], registry)
    assert doc.tree is not None
    data = doc.buffer.data
    for cursor in _positions(data):
        context = cursor_context(doc, cursor)
        assert isinstance(context.in_comment_or_string, bool) and isinstance(context.multiline, bool)
        assert all(isinstance(item, str) for item in context.imports + context.scopes + context.local_signatures)
        start, end = window(doc, cursor, 4000, 1000)
        assert 0 <= start <= cursor <= end <= len(data)
        assert isinstance(would_add_errors(doc, cursor, "value = compute(1, 2)\n"), bool)
        assert all(isinstance(name, str) for name in foreign_names(doc, cursor))
    assert isinstance(doc.outline.definitions(), list)
    for unit in split_units(doc):
        assert unit.rows == tuple(sorted(unit.rows)) and unit.rows[-1] < doc.buffer.line_count
    plan = plan_review(doc, f"w/case.{language}", secrets=SECRETS, fingerprint="f")
    assert all(unit.messages for unit in plan.units)
    symbols = SymbolExtractor(registry).extract(text, SPECS[language], f"w/case.{language}")
    assert symbols.language == language


@pytest.mark.parametrize("language", LANGUAGES)
def test_editing_a_deep_document_keeps_text_and_tree_in_step(registry: LanguageRegistry, language: str) -> None:
    """Edits at the bottom of a tree deeper than ``MAX_PATH_DEPTH`` make the next parse
    start from scratch (``Tree.edit`` there would cost the depth); the result is still
    the tree of the current text."""
    text = operator_chain(language, DEPTH)
    doc = SyntaxDocument(text, SPECS[language], registry)
    assert doc.tree is not None
    head = text.index("1")  # the bottom of the left-deep chain
    at = (text.count("\n", 0, head), head - (text.rfind("\n", 0, head) + 1))
    for step in range(3):
        doc.apply_change(at, at, "2", "utf-16")
        text = text[:head] + "2" + text[head:]
        assert doc.buffer.text == text
        assert str(doc.tree.root_node) == str(doc.full_parse().root_node), step
    assert doc.deltas_since(doc.version - 1) is None  # a fresh parse, not an incremental one


def test_paths_are_cut_at_the_depth_limit(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument(operator_chain("python", DEPTH), SPECS["python"], registry)
    root = doc.tree.root_node
    deep = node_path(root, 4)  # the first ``1``: at the bottom of the left-deep chain
    assert not deep.complete and len(deep.nodes) == MAX_PATH_DEPTH
    assert all(deep.nodes[i].start_byte <= 4 < deep.nodes[i].end_byte for i in range(len(deep.nodes)))
    shallow = node_path(root, len(doc.buffer.data) - 2)  # the last ``1``: near the top
    assert shallow.complete and shallow.leaf.type == "integer"
    assert shallow.leaf == root.descendant_for_byte_range(len(doc.buffer.data) - 2, len(doc.buffer.data) - 2)


@pytest.mark.parametrize("language", LANGUAGES)
def test_node_path_finds_what_descendant_for_byte_range_finds(registry: LanguageRegistry, language: str) -> None:
    from tests.unit.test_syntax_samples import SAMPLES

    text = SAMPLES[language].replace("<|>", "x")
    doc = SyntaxDocument(text, SPECS[language], registry)
    root, data = doc.tree.root_node, doc.buffer.data
    for lo in range(0, len(data), 7):
        for hi in (lo, lo + 1, lo + 5):
            hi = min(hi, len(data))
            path = node_path(root, lo, hi)
            assert path.complete
            assert path.leaf == root.descendant_for_byte_range(lo, hi), (lo, hi)


def test_queries_never_run_whole_on_a_wide_error_node(registry: LanguageRegistry, monkeypatch) -> None:
    """The query cursor scans a node's later siblings for each node it enters, which is
    quadratic in an ERROR node of 100,000 unclosed brackets: such a node is only ever
    queried for the patterns that start at it (max start depth 0)."""
    calls: list[tuple[tree_sitter.Node, int]] = []
    real = definitions._exec

    def spy(query, node, span, max_depth):
        calls.append((node, max_depth))
        return real(query, node, span, max_depth)

    monkeypatch.setattr(definitions, "_exec", spy)
    for language in ("python", "javascript", "go", "cpp"):
        doc = SyntaxDocument(unclosed(language, 100_000), SPECS[language], registry)
        root = doc.tree.root_node
        assert root.has_error and root.descendant_count > 100_000
        calls.clear()
        assert definitions.query_defs(doc, root, None) == []
        assert definitions.query_imports(doc, root, (0, 5000)) is not None
        assert calls
        for node, max_depth in calls:
            assert 0 <= max_depth <= definitions.MAX_QUERY_DEPTH
            if node.has_error and node.descendant_count > definitions.SMALL_SUBTREE:
                assert max_depth == 0, (language, node.type, node.descendant_count)


@pytest.mark.parametrize("language", LANGUAGES)
def test_bounded_queries_find_what_one_query_finds(registry: LanguageRegistry, language: str) -> None:
    """A big file with a few syntax errors: the query by pieces finds the same definitions
    as one query over the whole tree."""
    text = big_file(language, 60_000)
    lines = text.split("\n")
    for at in (len(lines) // 5, len(lines) // 2, 4 * len(lines) // 5):
        lines[at] += " ) ] ;"  # local errors
    text = "\n".join(lines)
    doc = SyntaxDocument(text, SPECS[language], registry)
    root = doc.tree.root_node
    assert root.has_error and root.descendant_count > definitions.SMALL_SUBTREE
    query = registry.query(SPECS[language], "definitions")
    reference = tree_sitter.QueryCursor(query).matches(root)

    def names(matches) -> set[tuple[int, int]]:
        return {(c["def"][0].start_byte, c["name"][0].start_byte) for _, c in matches if "def" in c and "name" in c}

    expected = names(reference)
    assert len(expected) > 100
    assert names(definitions.run_query(query, root, None)) == expected
    chunked: list = []
    for lo in range(0, len(doc.buffer.data), 4096):
        chunked.extend(definitions.run_query(query, root, (lo, lo + 4096)))
    assert names(chunked) == expected


@pytest.mark.parametrize("language", ["javascript", "java", "cpp", "go"])
def test_queries_in_a_wide_error_node_find_what_one_query_finds(registry: LanguageRegistry, language: str) -> None:
    """Blocks opened and never closed: one ERROR node with thousands of children, whose
    error-free runs are queried child by child or through the parent (by the run's length
    against the parent's width). Pieces and the whole find what one plain query finds."""
    doc = SyntaxDocument(unclosed_blocks(language, 3000), SPECS[language], registry)
    root = doc.tree.root_node
    assert root.has_error
    query = registry.query(SPECS[language], "definitions")

    def found(matches) -> set[tuple[int, int, int]]:
        return {(index, c["def"][0].start_byte, c["name"][0].start_byte)
                for index, c in matches if "def" in c and "name" in c}

    expected = found(tree_sitter.QueryCursor(query).matches(root))
    whole = found(definitions.run_query(query, root, None))
    chunked: list = []
    for lo in range(0, len(doc.buffer.data), 4096):
        chunked.extend(definitions.run_query(query, root, (lo, lo + 4096)))
    assert found(chunked) == whole
    assert whole == expected


def test_a_query_in_a_wide_error_node_stops_inside_a_run(registry: LanguageRegistry, monkeypatch) -> None:
    """The deadline is asked inside the children of a wide ERROR node (before each run,
    and every few children queried one by one), not only once per node: 4 KB of unclosed
    blocks held the loop for 50 ms otherwise."""
    doc = SyntaxDocument(unclosed_blocks("javascript", 20_000), SPECS["javascript"], registry)
    root = doc.tree.root_node
    query = registry.query(SPECS["javascript"], "definitions")
    calls: list[int] = []
    real = definitions._exec
    monkeypatch.setattr(definitions, "_exec", lambda *args: calls.append(1) or real(*args))
    span = (200_000, 240_000)
    assert definitions.run_query(query, root, span) is not None
    unbounded = len(calls)
    calls.clear()
    ticks = iter(range(10**6))
    deadline = Deadline(4.5, clock=lambda: float(next(ticks)))  # expires at the fifth look
    assert definitions.run_query(query, root, span, deadline) is None
    assert 0 < len(calls) < unbounded


def test_a_forced_outline_range_too_slow_for_a_slice_is_cut_in_two(registry: LanguageRegistry, monkeypatch) -> None:
    """A background slice gives the first queued range ``FORCED_S``; a range that needs
    longer is halved for the next slices, down to a size finished in one go, so the queue
    drains in short slices and the tables end up as a fresh outline's."""
    monkeypatch.setattr(outline_module, "FORCED_S", 0.0)  # every range above the minimum is too slow
    text = unclosed_blocks("javascript", 2000)
    doc = SyntaxDocument(text, SPECS["javascript"], registry, budget=SyntaxBudget(parse_s=None, outline_s=0.0))
    assert doc.tree is not None and doc.outline.definitions() == []
    rounds = 0
    while not doc.outline.complete:
        doc.outline.refresh(Deadline(0.0))
        rounds += 1
    assert rounds > 2 * len(text) // outline_module.CHUNK_BYTES  # ranges were cut, not finished whole
    fresh = SyntaxDocument(text, SPECS["javascript"], registry)
    assert [(d.name, d.start) for d in doc.outline.definitions()] == [
        (d.name, d.start) for d in fresh.outline.definitions()]


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_a_dropped_document_leaves_no_garbage_cycle(registry: LanguageRegistry, language: str) -> None:
    """A document, its outline (which refers back to it) and the outline's entries and
    blocks (which refer to each other) are freed when the last reference goes: a cycle
    left them, and the tree, to a full garbage collection at some later keystroke."""
    text = big_file(language, 200_000)
    gc.collect()
    gc.disable()
    try:
        doc = SyntaxDocument(text, SPECS[language], registry)
        assert len(doc.outline.definitions()) > 1000
        doc.apply_change((0, 0), (0, 0), "x = 1\n" if language == "python" else "let x = 1;\n", "utf-16")
        assert doc.tree is not None and doc.outline.definitions()
        del doc
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_halted_parse_resumes_and_queues_edits(registry: LanguageRegistry) -> None:
    """With no time at all, the synchronous parse stops at tree-sitter's first progress
    callback: the tree is unavailable (plain-text behaviour), edits keep coming, and the
    parse finished later in slices is the tree of the final text."""
    text = big_file("python", 200_000)
    doc = SyntaxDocument(text, SPECS["python"], registry, budget=SyntaxBudget(parse_s=0.0))
    assert doc.tree is None and doc.parsing
    assert cursor_context(doc, 10).imports == () and doc.outline.definitions() == []
    for index in range(5):
        doc.apply_change((0, 0), (0, 0), f"x{index} = 1\n", "utf-16")
        text = f"x{index} = 1\n" + text
    slices = 0
    while not doc.parse_step(0.0005):
        slices += 1
    assert slices > 1 and not doc.parsing
    assert doc.buffer.text == text
    assert str(doc.tree.root_node) == str(doc.full_parse().root_node)
    assert doc.deltas_since(doc.version - 1)[-1].changed is None  # a slow parse: changes unknown
    doc.outline.refresh(Deadline.never())
    assert doc.outline.complete
    fresh = SyntaxDocument(text, SPECS["python"], registry)
    assert [(d.name, d.start) for d in doc.outline.definitions()] == [
        (d.name, d.start) for d in Outline(fresh).definitions()]


def test_outline_works_through_its_queue_in_slices(registry: LanguageRegistry) -> None:
    """Readers with no time left queue the whole file; refreshes with no time at all
    still finish a range each, and edits made meanwhile are taken into account."""
    text = big_file("javascript", 120_000)
    doc = SyntaxDocument(text, SPECS["javascript"], registry, budget=SyntaxBudget(parse_s=None, outline_s=0.0))
    assert doc.tree is not None
    assert doc.outline.definitions() == [] and not doc.outline.complete
    doc.apply_change((0, 0), (0, 0), "function first() {}\n", "utf-16")
    text = "function first() {}\n" + text
    assert doc.tree is not None
    rounds = 0
    while not doc.outline.complete:
        doc.outline.refresh(Deadline(0.0))
        rounds += 1
    assert rounds > 10
    names = [d.name for d in doc.outline.definitions()]
    fresh = SyntaxDocument(text, SPECS["javascript"], registry)
    assert names == [d.name for d in fresh.outline.definitions()]
    assert names[0] == "first"


def test_fix_checks_on_deep_python_do_not_raise(registry: LanguageRegistry) -> None:
    assert python_parses(b"x = " + b"(" * DEPTH + b"1" + b")" * DEPTH) is False
    doc = SyntaxDocument("def f():\n    return " + "[" * DEPTH + "]" * DEPTH + "\n", SPECS["python"], registry)
    assert isinstance(edit_adds_errors(doc, 0, 8, "def g():"), bool)
    assert isinstance(edit_adds_errors(doc, 20, 21, "("), bool)


def test_errors_in_stops_at_its_limit(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument(error_soup("javascript", 2000), SPECS["javascript"], registry)
    root = doc.tree.root_node
    everything = errors_in(root, 0, len(doc.buffer.data))
    assert len(everything) > 100
    assert len(errors_in(root, 0, len(doc.buffer.data), limit=1)) == 1
    assert len(errors_in(root, 0, len(doc.buffer.data), limit=50)) == 50


async def test_open_documents_settle_in_the_background(registry: LanguageRegistry) -> None:
    """The server's store: opening a file hands its parse and outline to a background
    task in slices; a completion plan made meanwhile falls back to plain text; once
    settled, the context is complete. Closing the document stops its task."""
    store = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget(parse_s=0.0))
    text = big_file("python", 300_000) + "\ndef last(a, b):\n    return f_1(a, b)\n"
    doc = store.open("file:///w/big.py", "python", 1, text)
    assert doc.syntax.parsing
    plan = plan_completion(doc, len(doc.syntax.buffer.data), budget_tokens=2048, count_tokens=estimate_tokens,
                           secrets=SECRETS, system_prompt=None)
    assert plan.prompt.messages  # planned without a tree
    for _ in range(2000):
        if not doc.syntax.parsing and doc.syntax.outline.complete:
            break
        await asyncio.sleep(0.005)
    assert not doc.syntax.parsing and doc.syntax.outline.complete
    context = cursor_context(doc.syntax, len(doc.syntax.buffer.data) - 1)
    assert context.scopes == ("def last(a, b):",) and "def f_1(a, b):" in context.local_signatures
    other = store.open("file:///w/other.py", "python", 1, big_file("python", 300_000))
    store.close(other.uri)
    await asyncio.sleep(0.05)
    assert other.syntax.parsing  # its background task was stopped
    await store.aclose()


async def test_a_document_over_the_size_limit_is_settled_at_once(registry: LanguageRegistry) -> None:
    """A file above maxFileBytes is plain text: no tree, no outline to wait for. Its
    outline reads complete without a refresh (the benchmark waited for it forever)."""
    store = DocumentStore(registry, max_parse_bytes=1_000, budget=SyntaxBudget())
    doc = store.open("file:///w/big.py", "python", 1, "def f(x):\n    return x\n" * 200)
    try:
        assert doc.too_large and doc.syntax.spec is None and not doc.syntax.parsing
        assert doc.syntax.outline.complete and doc.syntax.outline.definitions() == []
        assert await asyncio.wait_for(settle(doc.syntax, timeout_s=1.0), 2)
    finally:
        await store.aclose()


async def test_settle_gives_up_after_its_timeout(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument(error_soup("rust", 3000), SPECS["rust"], registry, budget=SyntaxBudget(parse_s=0.0))
    assert not await settle(doc, 0.0005, timeout_s=0.0)
    assert await settle(doc)
    assert doc.tree is not None and doc.outline.complete


async def test_one_settle_drives_a_document_at_a_time(registry: LanguageRegistry, monkeypatch) -> None:
    """A completion or a review waiting for a document the store is settling waits for
    that driver instead of running a second slice per turn of the event loop."""
    doc = SyntaxDocument(error_soup("go", 3000), SPECS["go"], registry, budget=SyntaxBudget(parse_s=0.0))
    calls: list[tuple[object, bool]] = []
    real = SyntaxDocument.settle_step

    def step(self, seconds):
        done = real(self, seconds)
        calls.append((asyncio.current_task(), done))
        return done

    monkeypatch.setattr(SyntaxDocument, "settle_step", step)
    results = await asyncio.gather(settle(doc), settle(doc, timeout_s=30), settle(doc))
    assert results == [True, True, True] and doc.tree is not None and doc.outline.complete
    unfinished = [task for task, done in calls if not done]
    assert len(unfinished) > 3 and len(set(unfinished)) == 1  # one driver did all the slices
    assert not doc.driven


async def test_the_store_task_stays_the_one_driver_and_hands_over_when_stopped(registry: LanguageRegistry,
                                                                              monkeypatch) -> None:
    """The server's case: the store's background task drives a document it just opened;
    a completion and a review that wait for the same document (``settle``) run no slice
    of their own while it drives. When the driver stops (the document is closed), a
    waiting ``settle`` takes over and finishes; nothing is left marked as driven."""
    store = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget(parse_s=0.0))
    calls: list[tuple[object, bool]] = []
    driving = asyncio.Event()
    real = SyntaxDocument.settle_step

    def step(self, seconds):
        done = real(self, seconds)
        calls.append((asyncio.current_task(), done))
        driving.set()
        return done

    monkeypatch.setattr(SyntaxDocument, "settle_step", step)
    doc = store.open("file:///w/soup.go", "go", 1, error_soup("go", 3000))
    await driving.wait()  # the store's task has run its first slice
    store_task = calls[0][0]
    assert store_task is not asyncio.current_task() and doc.syntax.driven
    waiters = [asyncio.ensure_future(settle(doc.syntax, timeout_s=60)) for _ in range(2)]
    assert await asyncio.gather(*waiters) == [True, True]
    unfinished = {task for task, done in calls if not done}
    assert unfinished == {store_task}  # every slice that did work was the store's
    assert not doc.syntax.driven and doc.syntax.outline.complete

    calls.clear()
    driving.clear()
    other = store.open("file:///w/other.go", "go", 1, error_soup("go", 3000))
    await driving.wait()
    first_driver = calls[0][0]
    waiter = asyncio.ensure_future(settle(other.syntax, timeout_s=60))
    store.close(other.uri)  # cancels the store's task mid-drive
    assert await waiter
    assert other.syntax.tree is not None and other.syntax.outline.complete and not other.syntax.driven
    drivers = {task for task, done in calls if not done}
    assert first_driver in drivers and waiter in drivers  # the waiter took over the rest
    await store.aclose()
