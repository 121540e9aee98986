"""Small tree-sitter node helpers shared by the outline, context and validation code.

Everything here works on byte offsets of a UTF-8 parse and touches only the nodes
on one root-to-leaf path (or the error-carrying subtrees), never the whole tree.

Paths are found top-down with a ``TreeCursor`` and cut at ``MAX_PATH_DEPTH``:
tree-sitter nodes do not store their parent, so ``Node.parent`` costs time
proportional to the node's depth, and a walk up from the bottom of a 100,000-deep tree (``1 + 1 + ... + 1``) is quadratic. A path
that was cut says so (``NodePath.complete``), and callers fall back to what the text
alone tells.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import tree_sitter

from lsp_server.syntax.budget import MAX_PATH_DEPTH
from lsp_server.syntax.queries import COMMENT_MARK, INTERPOLATION_TYPES, STRING_TYPES

Node = tree_sitter.Node
_FEW_CHILDREN = 16  # list these directly; walk a cursor through longer child lists
_TEXT_LEVELS = 8  # a comment or string holding the cursor is at most this far above its leaf


class NodePath(NamedTuple):
    """The nodes from the root down to the smallest node spanning a byte range
    (outermost first), and whether the walk got there (False: cut at the depth limit)."""

    nodes: list[Node]
    complete: bool

    @property
    def leaf(self) -> Node:
        return self.nodes[-1]

    def innermost(self) -> Iterator[Node]:
        """The nodes of the path, innermost first."""
        return reversed(self.nodes)


def node_path(root: Node, lo: int, hi: int | None = None, *, limit: int = MAX_PATH_DEPTH) -> NodePath:
    """The path to the node ``root.descendant_for_byte_range(lo, hi)`` would give,
    at most ``limit`` nodes long (cheap: one cursor step per level)."""
    hi = lo if hi is None else hi
    nodes = [root]
    cursor = root.walk()
    while len(nodes) < limit:
        if cursor.goto_first_child_for_byte(lo) is None:
            return NodePath(nodes, True)
        while True:
            child = cursor.node
            start, end = child.start_byte, child.end_byte
            if lo < start:  # this child and every later one start after the range
                return NodePath(nodes, True)
            if end < hi or (end < lo if start == end else end <= lo):
                if cursor.goto_next_sibling():
                    continue
                return NodePath(nodes, True)
            nodes.append(child)
            break
    return NodePath(nodes, cursor.node.child_count == 0)


def header_end(node: Node, python: bool) -> int | None:
    """Byte offset just after a definition's header: after the ``:`` in Python, after
    the body's opening ``{`` in brace languages. None when there is no body."""
    if python:
        body = node.child_by_field_name("body")
        if body is None:
            return None
        colon = None
        for child in node.children:
            if child.start_byte >= body.start_byte:
                break
            if child.type == ":":
                colon = child
        return colon.end_byte if colon is not None else body.start_byte
    current: Node | None = node.child_by_field_name("body") or node
    for _ in range(4):
        if current is None or current.child_count == 0:
            return None
        for index in (0, 1):
            child = current.child(index)
            if child is not None and child.type == "{":
                return child.end_byte
        current = current.child(current.child_count - 1)
    return None


def child_at_or_after(node: Node, offset: int) -> Node | None:
    """The first child of ``node`` that ends after ``offset``, or None.

    Goes through a TreeCursor: ``Node.first_child_for_byte`` wraps a null node instead
    of returning None when there is no such child, and touching it segfaults (0.25/0.26).
    """
    if node.child_count == 0:
        return None
    cursor = node.walk()
    if cursor.goto_first_child_for_byte(offset) is None:
        return None
    return cursor.node


def anchor_path(root: Node, data: bytes, cursor: int) -> NodePath:
    """The path to the leaf at the last non-whitespace byte before ``cursor`` (the root
    alone if there is none)."""
    pos = _last_non_space(data, cursor)
    if pos < 0:
        return NodePath([root], True)
    return node_path(root, pos, pos + 1)


def _last_non_space(data: bytes, cursor: int) -> int:
    end = cursor
    while end > 0:
        start = max(0, end - 4096)
        stripped = data[start:end].rstrip()
        if stripped:
            return start + len(stripped) - 1
        end = start
    return -1


def inside_any(node: Node, types: frozenset[str], limit: int) -> bool:
    """Whether an ancestor of ``node`` has one of ``types``; a node more than ``limit``
    levels deep counts as inside (each ``parent`` step costs the node's depth)."""
    parent = node.parent
    for _ in range(limit):
        if parent is None:
            return False
        if parent.type in types:
            return True
        parent = parent.parent
    return parent is not None


def in_comment_or_string(root: Node, cursor: int, data: bytes) -> bool | None:
    """Whether text typed at ``cursor`` would land inside a comment or a string literal
    (``data``: the parsed bytes); None when the tree is too deep here to tell."""
    path = node_path(root, max(cursor - 1, 0), cursor)
    if not path.complete:
        return None
    for level, current in enumerate(path.innermost()):
        if level >= _TEXT_LEVELS:
            return False
        kind = current.type
        if kind in INTERPOLATION_TYPES and current.start_byte < cursor < current.end_byte:
            return False
        if COMMENT_MARK in kind:
            if current.start_byte >= cursor:
                return False
            head = data[current.start_byte:current.start_byte + 2]
            line_comment = head[:1] == b"#" or head == b"//"
            return cursor < current.end_byte or (line_comment and cursor == current.end_byte)
        if kind in STRING_TYPES and current.start_byte < cursor:
            if cursor < current.end_byte:
                return True
            last = current.child(current.child_count - 1) if current.child_count else None
            if cursor == current.end_byte and last is not None and last.is_missing:
                return True
    return False


def end_of_text_at(root: Node, at: int, limit: int) -> int:
    """Where the comment or string literal around byte ``at`` ends (the outermost one, when
    it ends by ``limit``); ``at`` itself when ``at`` is in code, or the tree is too deep
    here to tell. A scan of the text that starts at the result starts outside literals."""
    path = node_path(root, at, at + 1)
    if not path.complete:
        return at
    end = at
    for current in path.innermost():
        kind = current.type
        if (COMMENT_MARK in kind or kind in STRING_TYPES) and current.start_byte < at < current.end_byte <= limit:
            end = max(end, current.end_byte)
    return end


def errors_in(root: Node, lo: int, hi: int, limit: int | None = None) -> list[tuple[int, int, bool]]:
    """ERROR and MISSING nodes intersecting ``[lo, hi]`` as (start, end, is_missing),
    descending only into subtrees that carry an error, and in each only into the
    children touching ``[lo, hi]`` (found by a TreeCursor, not by listing them all).
    With ``limit``, stops once that many are found."""
    found: list[tuple[int, int, bool]] = []
    stack: list[Iterator[Node]] = [iter((root,))]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        if node.is_missing:
            found.append((node.start_byte, node.end_byte, True))
        elif node.is_error:
            found.append((node.start_byte, node.end_byte, False))
        elif node.has_error:
            stack.append(iter_children_touching(node, lo, hi))
            continue
        else:
            continue
        if limit is not None and len(found) >= limit:
            break
    return found


def children_touching(node: Node, lo: int, hi: int) -> list[Node]:
    """The children of ``node`` with ``end_byte >= lo and start_byte <= hi``, in order."""
    return list(iter_children_touching(node, lo, hi))


def iter_children_touching(node: Node, lo: int, hi: int) -> Iterator[Node]:
    """``children_touching``, one at a time.

    A node with few children is listed directly; otherwise a TreeCursor jumps near
    ``lo`` and steps back over any earlier child still ending at or after ``lo``.
    """
    count = node.child_count
    if count == 0:
        return
    if count <= _FEW_CHILDREN:
        yield from (c for c in node.children if c.end_byte >= lo and c.start_byte <= hi)
        return
    cursor = node.walk()
    if lo <= node.start_byte:
        cursor.goto_first_child()
    else:
        if cursor.goto_first_child_for_byte(max(lo - 1, 0)) is None:
            cursor.goto_last_child()
        while cursor.node.end_byte >= lo and cursor.goto_previous_sibling():
            pass
    while True:
        child = cursor.node
        if child.start_byte > hi:
            return
        if child.end_byte >= lo:
            yield child
        if not cursor.goto_next_sibling():
            return
