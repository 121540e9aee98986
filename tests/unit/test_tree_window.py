"""A large editor document's tree covers a window around where the user works (issue 12 item 9).

Freeing a tree is one C call that holds the GIL (60-70 ms for a 3.9 MB file, 75 ms for 1 MB of
nested calls), so an editor document parses at most ``SyntaxBudget.tree_bytes`` of its text:
a window around the focus (a request's position, the last edit), plus the file's head, through
tree-sitter's included ranges. These tests use a small ``tree_bytes`` so the files stay small.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import ByteEdit
from lsp_server.engines.completion_plan import plan_completion
from lsp_server.engines.documents import DocumentStore
from lsp_server.syntax.budget import SyntaxBudget
from lsp_server.syntax.context import cursor_context
from lsp_server.syntax.document import SyntaxDocument, settle
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.nodes import errors_in
from lsp_server.syntax.tree_window import HEAD_BYTES, TreeWindow, window_around
from lsp_server.syntax.validate import would_add_errors
from tests.worst_inputs import LANGUAGES, big_file, long_line

TREE_BYTES = 64 * 1024
EXT = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go", "rust": "rs",
       "java": "java", "c": "c", "cpp": "cpp"}


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


@pytest.fixture
async def store(registry: LanguageRegistry):  # noqa: ANN201 - an async generator fixture
    made = DocumentStore(registry, max_parse_bytes=10**8, budget=SyntaxBudget(tree_bytes=TREE_BYTES))
    yield made
    await made.aclose()


def _edit(start: int, old_end: int, new_end: int) -> ByteEdit:
    return ByteEdit(start, old_end, new_end, (0, start), (0, old_end), (0, new_end))


def _is_line_start(data: bytes, offset: int) -> bool:
    return offset == 0 or offset == len(data) or data[offset - 1:offset] == b"\n"


async def _settled(doc: SyntaxDocument) -> None:
    assert await settle(doc, timeout_s=30.0)


# -- choosing a window -------------------------------------------------------------------

def test_a_text_no_larger_than_the_window_is_covered_whole() -> None:
    data = big_file("python", 10_000).encode()
    window = window_around(data, 5000, len(data))
    assert (window.head, window.start, window.end) == (0, 0, len(data))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("where", [0.0, 0.3, 0.5, 0.97, 1.0])
def test_windows_hold_the_focus_and_cut_at_statements(language: str, where: float) -> None:
    data = big_file(language, 400_000).encode()
    focus = int(len(data) * where)
    window = window_around(data, focus, TREE_BYTES)
    assert window.covers(focus, len(data))  # well inside: the next request there keeps the tree
    assert TREE_BYTES - 2 * window.margin <= window.end - window.start <= TREE_BYTES
    spans = window.spans(len(data))  # in order and apart, as tree-sitter's included ranges must be
    assert all(a < b <= c for (a, b), (c, _d) in zip(spans, spans[1:]))
    for cut in (window.start, window.end, window.head):
        assert _is_line_start(data, cut)
    # the cuts fall at lines of the least indentation around them (top level, or class members)
    for cut in (window.start, window.end):
        if 0 < cut < len(data):
            line = data[cut:data.index(b"\n", cut)]
            indent = len(line) - len(line.lstrip())
            assert indent == (2 if language == "java" else 0), line
    if window.start > TREE_BYTES // 4:
        assert 0 < window.head <= min(HEAD_BYTES, TREE_BYTES // 4)
    else:
        assert window.start == 0 and window.head == 0


def test_one_long_line_is_cut_at_character_boundaries() -> None:
    data = ("x = [" + "'é€𝄞', " * 200_000 + "]\n").encode()
    for focus in (1, 700_001, len(data) // 2, len(data) - 3):
        window = window_around(data, focus, TREE_BYTES)
        assert window.covers(focus, len(data))
        for cut in (window.start, window.end):
            assert cut == len(data) or (data[cut] & 0xC0) != 0x80  # never inside a character
        data[window.start:window.end].decode("utf-8")


def test_windows_move_with_edits() -> None:
    window = TreeWindow(100, 1000, 2000)
    assert window.shifted(_edit(2500, 2600, 2500)) == window                    # after it: nothing moves
    assert window.shifted(_edit(1500, 1500, 1510)) == TreeWindow(100, 1000, 2010)  # inside: it grows
    assert window.shifted(_edit(500, 600, 500)) == TreeWindow(100, 900, 1900)      # before it: it moves
    assert window.shifted(_edit(10, 10, 15)) == TreeWindow(105, 1005, 2005)       # inside the head
    assert window.shifted(_edit(900, 1100, 900)) == TreeWindow(100, 900, 1800)     # across its start
    assert window.shifted(_edit(1000, 1000, 1005)) == TreeWindow(100, 1005, 2005)  # at its start: outside
    headed = TreeWindow(100, 1000, 2000, 256, ((300, 320),))
    assert headed.shifted(_edit(200, 200, 210)).headers == ((310, 330),)  # block-opening lines move too
    assert headed.shifted(_edit(500, 500, 510)).headers == ((300, 320),)
    assert headed.span == 100 + 20 + 1000


def test_a_focus_near_an_inner_edge_moves_the_window() -> None:
    size, edge = 10 * TREE_BYTES, 2048
    middle = TreeWindow(0, 100_000, 100_000 + TREE_BYTES, edge)
    assert middle.covers(100_000 + edge, size)
    assert not middle.covers(100_000 + edge - 1, size)
    assert not middle.covers(100_000 + TREE_BYTES - edge + 1, size)
    assert TreeWindow(0, 0, TREE_BYTES, edge).covers(0, size)  # the file's own start needs no margin
    assert TreeWindow(16, size - TREE_BYTES, size, edge).covers(size, size)


# -- documents ---------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_large_documents_tree_covers_a_window_in_file_positions(store: DocumentStore,
                                                                       language: str) -> None:
    text = big_file(language, 400_000)
    doc = store.open(f"file:///w/big.{EXT[language]}", language, 1, text)
    syntax = doc.syntax
    await _settled(syntax)
    assert syntax.windowed and syntax.window is not None and syntax.window.start == 0
    middle = len(syntax.buffer.data) // 2
    assert not syntax.focus(middle)  # elsewhere: the window moves, the tree is dropped meanwhile
    assert syntax.tree is None
    await _settled(syntax)
    window = syntax.window
    assert window is not None and window.start <= middle <= window.end and window.head > 0
    tree = syntax.tree
    assert tree is not None
    root = tree.root_node
    assert root.end_byte <= window.end
    data = syntax.buffer.data
    for child in root.named_children:  # nodes at their places in the whole file
        assert child.start_byte < window.head or window.start <= child.start_byte
        assert child.text == data[child.start_byte:child.end_byte]
        assert child.start_point == syntax.buffer.point_of_byte(child.start_byte)
    # the head and the window join as whole statements: no error anywhere but a class-wrapped
    # file's missing closing brace at the window's end
    found = errors_in(root, 0, len(data))
    assert all(start >= window.end - 64 for start, _end, _missing in found) if language == "java" else not found
    # the outline holds the window's definitions and the head's
    names = {d.name for d in syntax.outline.definitions()}
    assert "f_0" in names
    inside = data[window.start:window.end].decode()
    first = next(n for n in ("f_%d" % i for i in range(20_000)) if f" {n}(" in inside)
    assert first in names
    assert len(names) < text.count("f_") / 4


async def test_focus_inside_the_window_keeps_the_tree(store: DocumentStore) -> None:
    doc = store.open("file:///w/a.py", "python", 1, big_file("python", 300_000))
    await _settled(doc.syntax)
    tree = doc.syntax.tree
    assert doc.syntax.focus(TREE_BYTES // 2)
    assert doc.syntax.tree is tree


async def test_small_documents_and_unbudgeted_ones_parse_whole(registry: LanguageRegistry,
                                                               store: DocumentStore) -> None:
    small = store.open("file:///w/s.py", "python", 1, big_file("python", TREE_BYTES - 1000))
    await _settled(small.syntax)
    assert not small.syntax.windowed and small.syntax.focus(10**9)
    whole = SyntaxDocument(big_file("python", 300_000), SPECS["python"], registry)  # the CLI's and the index's
    assert not whole.windowed
    assert whole.tree is not None and whole.tree.root_node.end_byte == len(whole.buffer.data)


async def test_edits_keep_a_windows_tree_the_tree_of_its_text(store: DocumentStore) -> None:
    """Seeded edits inside, before and after the window; after each, the tree equals a fresh
    parse of the same ranges of the text as it is now."""
    text = big_file("typescript", 300_000)
    uri = "file:///w/edit.ts"
    doc = store.open(uri, "typescript", 1, text)
    syntax = doc.syntax
    await _settled(syntax)
    rng = random.Random(12)
    snippets = ["x", "\n", "const k = 1;\n", "}", "(", "function g() {\n  return 2;\n}\n", ""]
    for version in range(2, 40):
        data = syntax.buffer.data
        window = syntax.window
        assert window is not None
        where = rng.choice([window.start + window.margin + 10, (window.start + window.end) // 2,
                            window.end - window.margin - 10, rng.randrange(len(data))])
        row, column = syntax.buffer.position_at(where, "utf-16")
        span = rng.choice([0, 0, 1, 5])
        store.change(uri, version, [((row, column), (row, column + span), rng.choice(snippets))], "utf-16")
        await _settled(syntax)
        tree = syntax.tree
        assert tree is not None
        window = syntax.window
        assert window is not None and window.covers(syntax.buffer.offset_at(row, column, "utf-16"),
                                                    len(syntax.buffer.data))
        assert [(r.start_byte, r.end_byte) for r in tree.included_ranges][-1] == (window.start, window.end)
        assert str(tree.root_node) == str(syntax.full_parse().root_node)  # the same ranges, parsed afresh


async def test_an_edit_elsewhere_moves_the_window_there(store: DocumentStore) -> None:
    uri = "file:///w/far.go"
    doc = store.open(uri, "go", 1, big_file("go", 400_000))
    syntax = doc.syntax
    await _settled(syntax)
    far = syntax.buffer.line_count - 10
    store.change(uri, 2, [((far, 0), (far, 0), "// here\n")], "utf-16")
    await _settled(syntax)
    window = syntax.window
    assert window is not None and window.end == len(syntax.buffer.data)
    node = syntax.tree.root_node.descendant_for_byte_range(syntax.buffer.line_start(far) + 3,
                                                           syntax.buffer.line_start(far) + 3)
    assert node is not None and node.type == "comment"


async def test_a_document_that_shrinks_or_grows_past_the_limit_changes_its_cover(store: DocumentStore) -> None:
    uri = "file:///w/grow.py"
    small = big_file("python", 20_000)
    doc = store.open(uri, "python", 1, small)
    syntax = doc.syntax
    await _settled(syntax)
    assert not syntax.windowed
    end = syntax.buffer.line_count
    store.change(uri, 2, [((end, 0), (end, 0), big_file("python", 200_000))], "utf-16")  # a paste
    await _settled(syntax)
    assert syntax.windowed and syntax.window is not None
    assert syntax.window.end - syntax.window.start <= TREE_BYTES
    store.change(uri, 3, [((end, 0), (syntax.buffer.line_count, 0), "")], "utf-16")  # undone
    await _settled(syntax)
    assert not syntax.windowed
    tree = syntax.tree
    assert tree is not None and str(tree.root_node) == str(syntax.full_parse().root_node)


async def test_completions_in_a_large_file_use_the_tree_where_the_cursor_is(store: DocumentStore) -> None:
    text = big_file("python", 400_000)
    doc = store.open("file:///w/c.py", "python", 1, text)
    await _settled(doc.syntax)
    data = doc.syntax.buffer.data
    cursor = data.index(b"    return c\n", len(data) // 2) + len(b"    return ")
    secrets = SecretFilter([])
    first = plan_completion(doc, cursor, budget_tokens=2048, count_tokens=len, secrets=secrets, system_prompt=None)
    assert first.prompt_key  # planned with plain-text context while the window moves
    await _settled(doc.syntax)
    assert doc.syntax.tree is not None
    plan_completion(doc, cursor, budget_tokens=2048, count_tokens=len, secrets=secrets, system_prompt=None)
    start = data.rindex(b"\ndef ", 0, cursor) + 1
    header = data[start:data.index(b"\n", start)].decode()
    assert any(header in scope for scope in cursor_context(doc.syntax, cursor).scopes)


async def test_validation_in_a_window_sees_new_errors(store: DocumentStore) -> None:
    doc = store.open("file:///w/v.c", "c", 1, big_file("c", 400_000))
    syntax = doc.syntax
    data = syntax.buffer.data
    cursor = data.index(b"    return c;\n", len(data) // 2)
    syntax.focus(cursor)
    await _settled(syntax)
    assert syntax.window is not None and syntax.window.covers(cursor, len(data))
    assert would_add_errors(syntax, cursor, "    int d = (c + ;\n")
    assert not would_add_errors(syntax, cursor, "    int d = c + 1;\n")


async def test_a_long_line_file_gets_a_window_too(store: DocumentStore) -> None:
    doc = store.open("file:///w/l.js", "javascript", 1, long_line("javascript", 300_000))
    syntax = doc.syntax
    await _settled(syntax)
    assert syntax.windowed and syntax.tree is not None
    middle = len(syntax.buffer.data) // 2
    syntax.focus(middle)
    await _settled(syntax)
    window = syntax.window
    assert window is not None and window.start <= middle <= window.end
    node = syntax.tree.root_node.descendant_for_byte_range(middle, middle)
    assert node is not None and node.start_byte >= window.start


async def test_closing_a_document_while_its_window_moves(store: DocumentStore) -> None:
    uri = "file:///w/x.rs"
    doc = store.open(uri, "rust", 1, big_file("rust", 400_000))
    doc.syntax.focus(len(doc.syntax.buffer.data) // 2)
    store.change(uri, 2, [((3, 0), (3, 0), "// top\n")], "utf-16")  # and back to the top
    store.close(uri)
    await asyncio.sleep(0.05)
    assert store.get(uri) is None


GIANT_CLASS = {
    "python": ("import os\n\n\nclass Big(Base):\n",
               "    def m_{i}(self, x):\n        y = x + {i}\n        return y\n\n", "", "class Big"),
    "java": ("package p;\n\nimport a.b;\n\npublic class Big {\n  static class Inner {\n",
             "    int m_{i}(int x) {{\n      return x + {i};\n    }}\n\n", "  }\n}\n", "static class Inner"),
    "typescript": ("import { a } from './a';\n\nexport class Big {\n",
                   "  m_{i}(x: number): number {{\n    return x + {i};\n  }}\n\n", "}\n", "export class Big"),
}


@pytest.mark.parametrize("language", sorted(GIANT_CLASS))
async def test_a_window_inside_a_class_that_fills_the_file_keeps_the_class(store: DocumentStore,
                                                                          language: str) -> None:
    """The lines opening the blocks around the window are in the tree: the methods parse as
    methods, and a completion in one knows its class."""
    head, unit, tail, header = GIANT_CLASS[language]
    text = head + "".join(unit.format(i=i) for i in range(4000)) + tail
    doc = store.open(f"file:///w/giant.{EXT[language]}", language, 1, text)
    syntax = doc.syntax
    data = syntax.buffer.data
    cursor = data.index(b"return ", len(data) // 2)
    syntax.focus(cursor)
    await _settled(syntax)
    window = syntax.window
    assert window is not None and window.headers and window.covers(cursor, len(data))
    assert header.encode() in data[window.headers[-1][0]:window.headers[-1][1]]
    tree = syntax.tree
    assert tree is not None
    found = errors_in(tree.root_node, 0, len(data))
    assert all(start >= window.end - 64 for start, _end, _missing in found)  # (only the unclosed class at the end)
    scopes = cursor_context(syntax, cursor).scopes
    assert any(header in scope for scope in scopes), scopes


@pytest.mark.parametrize("eol", ["\r", "\r\n"])
async def test_files_with_other_line_ends_are_cut_at_their_line_starts(store: DocumentStore, eol: str) -> None:
    """LSP and the tree read a lone ``\\r`` as a line break: so do the window's cuts."""
    text = big_file("python", 400_000).replace("\n", eol)
    doc = store.open("file:///w/cr.py", "python", 1, text)
    syntax = doc.syntax
    data = syntax.buffer.data
    syntax.focus(len(data) // 2)
    await _settled(syntax)
    window = syntax.window
    assert window is not None and window.head > 0
    for cut in (window.head, window.start, window.end):
        assert data[cut - 1:cut] == eol[-1:].encode() and data[cut:cut + 4] == b"def "
    tree = syntax.tree
    assert tree is not None and not errors_in(tree.root_node, 0, len(data))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_window_cut_inside_a_long_line_takes_no_block_lines(language: str) -> None:
    """A cut inside a line (no line start near it) is no indented line: the spans stay in
    order, apart, and within the window's size wherever the cut lands (on a space or not)."""
    data = long_line(language, 300_000).encode()
    for focus in range(len(data) // 2, len(data) // 2 + 9):  # the cut lands on each byte of "1234567, "
        window = window_around(data, focus, TREE_BYTES)
        assert window.headers == ()
        spans = window.spans(len(data))
        assert all(a < b <= c for (a, b), (c, _d) in zip(spans, spans[1:]))
        assert sum(b - a for a, b in spans) <= TREE_BYTES + window.head
