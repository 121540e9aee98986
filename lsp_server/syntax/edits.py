"""Would replacing a byte range break the syntax? A trial parse for fixes.

``replacement_adds_errors`` edits a copy of a tree as if ``data[start:end]`` were
replaced, reparses incrementally, and says True when the result has more ERROR /
MISSING nodes than before, or has some inside the replaced text where there were
none. A fix may repair a broken file (fewer errors is fine). The tree and bytes may
be a snapshot taken before an ``await`` (trees from ``SyntaxDocument.tree`` are never
mutated later); ``edit_adds_errors`` is the same for a live document.

For Python, tree-sitter accepts some indentation Python rejects (an inconsistent
dedent), so when the top-level statements around the edit parse with ``ast`` (parse
only, nothing is executed) they must still parse afterwards.

Bounded like the rest of the editor path: the trial parse follows the document's
budget (``snapshot_parser``, ``SyntaxDocument.parse_bytes``; a parse that does not
finish in time answers "no new errors"), errors are counted up to ``MAX_ERRORS``
(a file with more is too broken to compare), the ``ast`` check is left out for
statements longer than ``MAX_AST_BYTES``, and an edit deeper in the tree than
``MAX_PATH_DEPTH`` is not judged at all.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable

import tree_sitter

from lsp_server.core.text import tree_bytes
from lsp_server.syntax.budget import Deadline
from lsp_server.syntax.document import SyntaxDocument, parse_within
from lsp_server.syntax.nodes import children_touching, errors_in, node_path

Parse = Callable[[bytes, tree_sitter.Tree], "tree_sitter.Tree | None"]
MAX_ERRORS = 2000
MAX_AST_BYTES = 256 * 1024


def _point(data: bytes, offset: int) -> tuple[int, int]:
    row = data.count(b"\n", 0, offset)
    return row, offset - (data.rfind(b"\n", 0, offset) + 1)


def python_parses(data: bytes) -> bool:
    """Whether Python's own parser accepts ``data`` (an AST parse; no code runs)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, "<fix>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting: too deep to judge
        return False
    return True


def replacement_adds_errors(
    parse: Parse, tree: tree_sitter.Tree, data: bytes, start: int, end: int, new_text: str,
    *, python: bool = False,
) -> bool:
    """True if replacing ``data[start:end]`` with ``new_text`` adds syntax errors."""
    start = max(0, min(start, len(data)))
    end = max(start, min(end, len(data)))
    if not node_path(tree.root_node, start).complete:
        return False  # too deep to judge: ``Tree.edit`` costs the depth at the edit
    new = new_text.encode("utf-8", errors="surrogatepass")
    new_data = tree_bytes(data[:start] + new + data[end:])  # rows as tree-sitter and LSP count them
    data = tree_bytes(data)
    start_point = _point(data, start)
    old_end_point = _point(data, end)
    new_end_point = _point(new_data, start + len(new))
    edited = tree.copy()
    edited.edit(
        start_byte=start, old_end_byte=end, new_end_byte=start + len(new),
        start_point=start_point, old_end_point=old_end_point, new_end_point=new_end_point,
    )
    new_tree = parse(new_data, edited)
    if new_tree is None:
        return False
    before = errors_in(tree.root_node, 0, len(data), limit=MAX_ERRORS)
    after = errors_in(new_tree.root_node, 0, len(new_data), limit=MAX_ERRORS + 1)
    if len(before) < MAX_ERRORS and len(after) > len(before):
        return True
    region_was_clean = not errors_in(tree.root_node, start, end, limit=1)
    if region_was_clean and errors_in(new_tree.root_node, start, start + len(new), limit=1):
        return True
    if not python or before:
        return False
    old_lo, old_hi = _top_level_span(tree.root_node, start, end)
    new_lo, new_hi = _top_level_span(new_tree.root_node, start, start + len(new))
    if max(old_hi - old_lo, new_hi - new_lo) > MAX_AST_BYTES:
        return False
    return python_parses(data[old_lo:old_hi]) and not python_parses(new_data[new_lo:new_hi])


def _top_level_span(root: tree_sitter.Node, lo: int, hi: int) -> tuple[int, int]:
    """The bytes of the top-level statements touching ``[lo, hi]`` (they compile on their own)."""
    first, last = lo, hi
    for child in children_touching(root, lo, hi):
        first, last = min(first, child.start_byte), max(last, child.end_byte)
    return first, last


def edit_adds_errors(doc: SyntaxDocument, start: int, end: int, new_text: str) -> bool:
    """``replacement_adds_errors`` on a live document's current tree (False for plain text)."""
    tree = doc.tree
    if tree is None:
        return False
    python = doc.spec is not None and doc.spec.name == "python"
    return replacement_adds_errors(doc.parse_bytes, tree, doc.buffer.data, start, end, new_text, python=python)


def snapshot_parser(doc: SyntaxDocument) -> Parse | None:
    """A parse function with its own parser, safe to use after the document moves on;
    each parse within the document's ``budget.validate_s`` (None when it runs out)."""
    if doc.spec is None:
        return None
    parser = doc.registry.parser(doc.spec)
    if parser is None:
        return None
    seconds = doc.budget.validate_s
    return lambda data, old: parse_within(parser, tree_bytes(data), old, Deadline(seconds))
