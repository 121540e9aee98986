"""The outline's items and the tree-sitter queries that find them.

``Definition`` and ``ImportSpan`` hold byte offsets only (texts are sliced from the
buffer on demand) and know how to move across an edit (``shifted``), which is all
``SpanIndex`` needs. ``query_imports`` / ``query_defs`` run the language's "imports"
and "definitions" queries over the whole tree or over one byte range
(``QueryCursor.set_byte_range``) through ``run_query``, which keeps every query
call small:

* patterns start at most ``MAX_QUERY_DEPTH`` levels below the node a query runs on
  (``set_max_start_depth``), so a 100,000-deep expression is not walked;
* tree-sitter's query cursor scans a node's later siblings for every node it enters,
  which is quadratic in an ERROR node holding 100,000 unclosed brackets. So a subtree
  with errors that is not small is not queried whole: the patterns starting at its
  root are (depth 0), its error-free children are (one by one, or one ranged query per
  long run of them), and its children with errors are handled the same way, one
  level down.

Between query calls a ``Deadline`` is checked; past it, the functions return None
instead of partial results. (The query cursor's own progress callback is not used:
py-tree-sitter 0.26.1 keeps a pointer to a stack variable that is out of scope by
the time the callback runs, and a callback after the first match crashes.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import tree_sitter

from lsp_server.syntax.budget import Deadline
from lsp_server.syntax.nodes import header_end, inside_any, iter_children_touching

if TYPE_CHECKING:
    from lsp_server.syntax.document import SyntaxDocument

_FULL_TEXT_MAX_LINES = 12
_NO_BODY_MAX_LINES = 6
_MAX_IMPORT_DEPTH = 32  # an import nested deeper than this is not a file-level one
MAX_QUERY_DEPTH = 64  # patterns start at most this many levels below the query's root
SMALL_SUBTREE = 1024  # a subtree with at most this many nodes is queried whole, errors or not
_LONG_RUN = 8  # error-free children queried through their parent (one ranged query) from this many on
_RUN_STEP = 64  # children queried one by one between two looks at the deadline
_FEW_NAMED = 256

Span = tuple[int, int]


class Definition(NamedTuple):
    """One same-file definition (function, method, class, struct, type...)."""

    name: str
    start: int       # start of the signature (decorators included)
    end: int         # end of the definition
    node_start: int  # start of the definition node proper (matches scope nodes)
    name_start: int  # start of the name token
    sig_end: int     # end of the signature text

    def shifted(self, delta: int) -> Definition:
        return Definition(
            self.name, self.start + delta, self.end + delta, self.node_start + delta,
            self.name_start + delta, self.sig_end + delta,
        )


class ImportSpan(NamedTuple):
    """The byte range of one file-level import statement."""

    start: int
    end: int

    def shifted(self, delta: int) -> ImportSpan:
        return ImportSpan(self.start + delta, self.end + delta)


def run_query(query: tree_sitter.Query, root: tree_sitter.Node, span: Span | None,
              deadline: Deadline | None = None) -> list | None:
    """``QueryCursor.matches`` over ``root`` (restricted to ``span``) in bounded pieces
    (see the module docstring); None when ``deadline`` passed first."""
    lo, hi = span if span is not None else (root.start_byte, root.end_byte)
    found: list = []
    stack = [(root, 0)]
    while stack:
        if deadline is not None and deadline.expired():
            return None
        node, depth = stack.pop()
        if not node.has_error or node.descendant_count <= SMALL_SUBTREE:
            found.extend(_exec(query, node, span, MAX_QUERY_DEPTH - depth))
            continue
        found.extend(_exec(query, node, span, 0))  # patterns that start at this node
        if depth >= MAX_QUERY_DEPTH:
            continue
        run: list[tree_sitter.Node] = []  # consecutive error-free children
        for child in _pattern_children(node, lo, hi):
            if not child.has_error:
                run.append(child)
                continue
            matches = _run_matches(query, node, run, lo, hi, MAX_QUERY_DEPTH - depth, deadline)
            if matches is None:
                return None
            found.extend(matches)
            run = []
            stack.append((child, depth + 1))
        matches = _run_matches(query, node, run, lo, hi, MAX_QUERY_DEPTH - depth, deadline)
        if matches is None:
            return None
        found.extend(matches)
    return found


def _run_matches(query: tree_sitter.Query, parent: tree_sitter.Node, run: list[tree_sitter.Node], lo: int, hi: int,
                 max_depth: int, deadline: Deadline | None = None) -> list | None:
    """Matches inside a run of error-free children of ``parent``: one query per child for
    a short run, else one query on ``parent`` limited to the run's bytes. A ranged query
    scans the parent's children up to the range (about 8 ms in an ERROR node of 60,000
    children, whatever the range), so "short" grows with the parent: a run of fewer than
    1/32 of its children is queried child by child (about 10 us each), asking ``deadline``
    every ``_RUN_STEP`` children (None when it passed)."""
    if len(run) < max(_LONG_RUN, parent.child_count // 32):
        found: list = []
        for index, child in enumerate(run):
            if index % _RUN_STEP == 0 and deadline is not None and deadline.expired():
                return None
            found.extend(_exec(query, child, (lo, hi), max_depth - 1))
        return found
    if deadline is not None and deadline.expired():
        return None
    span = (max(run[0].start_byte, lo), min(run[-1].end_byte, hi))
    return _exec(query, parent, span, max_depth)


def _exec(query: tree_sitter.Query, node: tree_sitter.Node, span: Span | None, max_depth: int) -> list:
    cursor = tree_sitter.QueryCursor(query)
    if span is not None:
        cursor.set_byte_range(span[0], max(span[0], span[1]))
    cursor.set_max_start_depth(max(0, max_depth))
    return cursor.matches(node)


def _pattern_children(node: tree_sitter.Node, lo: int, hi: int) -> Iterator[tree_sitter.Node]:
    """The children of ``node`` touching ``[lo, hi]`` where a pattern can start (not
    leaves), one at a time: the work grows with the range, not with the node. A node
    of anonymous tokens with few named children among them (``x = ((((...``) is read
    through its named children, which tree-sitter lists without an object per token."""
    named = node.named_child_count
    if named <= _FEW_NAMED and named * 4 < node.child_count:
        children: Iterator[tree_sitter.Node] = (
            c for c in node.named_children if c.end_byte >= lo and c.start_byte <= hi)
    else:
        children = iter_children_touching(node, lo, hi)
    return (child for child in children if child.child_count)


def _matches(doc: SyntaxDocument, kind: str, root: tree_sitter.Node, span: Span | None,
             deadline: Deadline | None) -> list | None:
    query = doc.registry.query(doc.spec, kind)
    if query is None:
        return []
    return run_query(query, root, span, deadline)


def query_imports(doc: SyntaxDocument, root: tree_sitter.Node, span: Span | None,
                  deadline: Deadline | None = None) -> list[ImportSpan] | None:
    """File-level imports intersecting ``span`` (None: the whole tree); None when
    ``deadline`` passed first."""
    local = doc.registry.data(doc.spec).local_types
    matches = _matches(doc, "imports", root, span, deadline)
    if matches is None:
        return None
    found = []
    for _, captures in matches:
        for node in captures.get("import", ()):
            if not inside_any(node, local, _MAX_IMPORT_DEPTH):
                found.append(ImportSpan(node.start_byte, node.end_byte))
    return found


def query_defs(doc: SyntaxDocument, root: tree_sitter.Node, span: Span | None,
               deadline: Deadline | None = None) -> list[Definition] | None:
    """Definitions intersecting ``span`` (None: the whole tree), one per name token
    (the widest: a decorated definition rather than its inner function); None when
    ``deadline`` passed first."""
    data = doc.registry.data(doc.spec)
    python = not doc.spec.brace_language
    source = doc.buffer.data
    found: dict[int, Definition] = {}
    matches = _matches(doc, "definitions", root, span, deadline)
    if matches is None:
        return None
    for _, captures in matches:
        outer, name = captures.get("def", [None])[0], captures.get("name", [None])[0]
        if outer is None or name is None:
            continue
        inner = outer
        if outer.type == "decorated_definition":
            inner = outer.child_by_field_name("definition") or outer
        sig_end = _signature_end(inner, python, inner.type in data.full_text_types, source)
        candidate = Definition(
            source[name.start_byte:name.end_byte].decode("utf-8", errors="replace"), outer.start_byte, outer.end_byte,
            inner.start_byte, name.start_byte, sig_end,
        )
        known = found.get(candidate.name_start)
        if known is None or candidate.start < known.start:
            found[candidate.name_start] = candidate
    return list(found.values())


def _signature_end(node: tree_sitter.Node, python: bool, full_text: bool, data: bytes) -> int:
    """Where a definition's signature text ends: the whole node for short record-like
    definitions, else the end of the header, else (no body) the node or its first line."""
    lines = node.end_point[0] - node.start_point[0] + 1
    if full_text and lines <= _FULL_TEXT_MAX_LINES:
        return node.end_byte
    end = header_end(node, python)
    if end is not None:
        return end
    if lines <= _NO_BODY_MAX_LINES:
        return node.end_byte
    breaks = [at for at in (data.find(b"\n", node.start_byte, node.end_byte),
                            data.find(b"\r", node.start_byte, node.end_byte)) if at >= 0]
    return min(breaks) if breaks else node.end_byte  # the first line: up to "\n", "\r\n" or a lone "\r"
