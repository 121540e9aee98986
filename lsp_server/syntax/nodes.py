"""Small tree-sitter node helpers shared by the outline, context and validation code.

Everything here works on byte offsets of a UTF-8 parse and touches only the nodes
on one root-to-leaf path (or the error-carrying subtrees), never the whole tree.
"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter

from .queries import COMMENT_MARK, INTERPOLATION_TYPES, STRING_TYPES

Node = tree_sitter.Node
_FEW_CHILDREN = 16  # list these directly; walk a cursor through longer child lists


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


def anchor_node(root: Node, data: bytes, cursor: int) -> Node:
    """The leaf at the last non-whitespace byte before ``cursor`` (root if none)."""
    pos = _last_non_space(data, cursor)
    if pos < 0:
        return root
    return root.descendant_for_byte_range(pos, pos + 1) or root


def _last_non_space(data: bytes, cursor: int) -> int:
    end = cursor
    while end > 0:
        start = max(0, end - 4096)
        stripped = data[start:end].rstrip()
        if stripped:
            return start + len(stripped) - 1
        end = start
    return -1


def ancestors(node: Node | None) -> Iterator[Node]:
    """``node`` and its ancestors, innermost first."""
    while node is not None:
        yield node
        node = node.parent


def in_comment_or_string(root: Node, cursor: int) -> bool:
    """Whether text typed at ``cursor`` would land inside a comment or a string literal."""
    node = root.descendant_for_byte_range(max(cursor - 1, 0), cursor)
    for current in ancestors(node):
        kind = current.type
        if kind in INTERPOLATION_TYPES and current.start_byte < cursor < current.end_byte:
            return False
        if COMMENT_MARK in kind:
            if current.start_byte >= cursor:
                return False
            line_comment = current.text[:1] == b"#" or current.text[:2] == b"//"
            return cursor < current.end_byte or (line_comment and cursor == current.end_byte)
        if kind in STRING_TYPES and current.start_byte < cursor:
            if cursor < current.end_byte:
                return True
            last = current.child(current.child_count - 1) if current.child_count else None
            if cursor == current.end_byte and last is not None and last.is_missing:
                return True
    return False


def errors_in(root: Node, lo: int, hi: int) -> list[tuple[int, int, bool]]:
    """ERROR and MISSING nodes intersecting ``[lo, hi]`` as (start, end, is_missing),
    descending only into subtrees that carry an error, and in each only into the
    children touching ``[lo, hi]`` (found by a TreeCursor, not by listing them all)."""
    found: list[tuple[int, int, bool]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            found.append((node.start_byte, node.end_byte, True))
            continue
        if node.is_error:
            found.append((node.start_byte, node.end_byte, False))
            continue
        if not node.has_error:
            continue
        stack.extend(
            child for child in children_touching(node, lo, hi) if child.has_error or child.is_missing
        )
    return found


def children_touching(node: Node, lo: int, hi: int) -> list[Node]:
    """The children of ``node`` with ``end_byte >= lo and start_byte <= hi``, in order.

    A node with few children is listed directly; otherwise a TreeCursor jumps near
    ``lo`` and steps back over any earlier child still ending at or after ``lo``.
    """
    if lo <= node.start_byte and hi >= node.end_byte:
        return node.children  # the range covers them all
    if node.child_count <= _FEW_CHILDREN:
        return [c for c in node.children if c.end_byte >= lo and c.start_byte <= hi]
    cursor = node.walk()
    if cursor.goto_first_child_for_byte(max(lo - 1, 0)) is None:
        cursor.goto_last_child()
    while cursor.node.end_byte >= lo and cursor.goto_previous_sibling():
        pass
    found = []
    while True:
        child = cursor.node
        if child.start_byte > hi:
            break
        if child.end_byte >= lo:
            found.append(child)
        if not cursor.goto_next_sibling():
            break
    return found
