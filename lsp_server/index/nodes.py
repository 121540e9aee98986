"""tree-sitter node helpers for the symbol index: which node a definition is, whether
it is local, what contains it, and its documentation line.

All of them walk a handful of ancestors or siblings of one node, never the tree,
and stop after ``_MAX_STEPS`` (``Node.parent`` and the sibling links cost time
proportional to the node's depth or position, so an unbounded walk over a
pathological tree would be quadratic).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import tree_sitter

from lsp_server.index.patterns import ATTRIBUTE_TYPES, CLASS_CONTAINERS, FUNCTION_TYPES, SCOPE_CONTAINERS, WRAPPER_TYPES
from lsp_server.syntax.nodes import inside_any

Node = tree_sitter.Node

_DOC_CHARS = 200
_MAX_STEPS = 256  # ancestors or siblings looked at, at most
_STRING_PREFIX = re.compile(r"^[rRbBuUfF]*(\"\"\"|'''|\"|')")
_COMMENT_PREFIXES = ("/**", "/*!", "/*", "///", "//!", "//", "#")


def widest_node(root: Node, start: int, end: int) -> Node | None:
    """The outermost node spanning exactly ``[start, end)`` (or the smallest covering it)."""
    node = root.descendant_for_byte_range(start, end)
    if node is None:
        return None
    for _ in range(_MAX_STEPS):
        parent = node.parent
        if parent is None or parent.start_byte != start or parent.end_byte != end:
            break
        node = parent
    return node


def is_local(node: Node) -> bool:
    """Whether ``node`` sits inside a function body (so it is not a workspace symbol);
    anything nested deeper than ``_MAX_STEPS`` counts as local."""
    return inside_any(node, FUNCTION_TYPES, _MAX_STEPS)


def container_of(node: Node, name_start: int) -> tuple[str, bool]:
    """The dotted names of the classes / impls / namespaces around ``node``, and whether
    the innermost is a class-like one (so a function there is a method)."""
    names: list[str] = []
    member: bool | None = None
    if node.type == "method_declaration" and node.child_by_field_name("receiver") is not None:
        receiver = _receiver_type(node.child_by_field_name("receiver"))
        if receiver:
            names.append(receiver)
            member = True
    name_node = node.descendant_for_byte_range(name_start, name_start)
    if name_node is not None and name_node.parent is not None and name_node.parent.type == "qualified_identifier":
        scope = name_node.parent.child_by_field_name("scope")
        if scope is not None:
            names.append(_bare_type(_text(scope)).replace("::", "."))
            member = True
    parent = node.parent
    for _ in range(_MAX_STEPS):
        if parent is None:
            break
        field = CLASS_CONTAINERS.get(parent.type) or SCOPE_CONTAINERS.get(parent.type)
        if field is not None:
            name = _bare_type(_text(parent.child_by_field_name(field)))
            if name:
                names.append(name)
                if member is None:
                    member = parent.type in CLASS_CONTAINERS
        parent = parent.parent
    return ".".join(reversed(names)), bool(member)


def _receiver_type(receiver: Node | None) -> str:
    """The type name of a Go method receiver ``(p *Point[T])`` -> ``Point``."""
    stack = [receiver] if receiver is not None else []
    for _ in range(_MAX_STEPS):
        if not stack:
            break
        node = stack.pop(0)
        if node.type == "type_identifier":
            return _text(node)
        stack.extend(node.named_children)
    return ""


def _bare_type(text: str) -> str:
    """``Point<T>`` -> ``Point``; whitespace squeezed out."""
    return "".join(text.split("<", 1)[0].split())


def python_docstring(node: Node) -> str:
    """The first line of a Python function's or class's docstring ("" if none)."""
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return ""
    first = body.named_children[0]
    if first.type != "expression_statement" or first.named_child_count == 0:
        return ""
    string = first.named_children[0]
    if string.type != "string":
        return ""
    text = _STRING_PREFIX.sub("", _text(string).strip())
    text = text.rstrip("\"'")
    return _first_line(text.splitlines())


def leading_comment(node: Node) -> str:
    """The first line of the comment block right above ``node`` (or above the statement
    wrapping it: ``export``, ``const (...)``, ``type ...``), skipping attributes/decorators."""
    anchor = node
    for _ in range(_MAX_STEPS):
        found = _comment_block(anchor)
        if found:
            return found
        parent = anchor.parent
        if parent is None or parent.type not in WRAPPER_TYPES or _prev_named(anchor) is not None:
            return ""
        anchor = parent
    return ""


def _prev_named(node: Node) -> Node | None:
    sibling = node.prev_named_sibling
    for _ in range(_MAX_STEPS):
        if sibling is None or sibling.type not in ATTRIBUTE_TYPES:
            return sibling
        sibling = sibling.prev_named_sibling
    return sibling


def _comment_block(anchor: Node) -> str:
    row = anchor.start_point.row
    sibling = anchor.prev_named_sibling
    for _ in range(_MAX_STEPS):
        if sibling is None or sibling.type not in ATTRIBUTE_TYPES:
            break
        row = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    block: list[Node] = []
    while (sibling is not None and "comment" in sibling.type and sibling.end_point.row >= row - 1
           and len(block) < _MAX_STEPS):
        before = sibling.prev_sibling
        if before is not None and "comment" not in before.type and before.end_point.row == sibling.start_point.row:
            break  # a trailing comment of the previous statement
        block.append(sibling)
        row = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    lines: list[str] = []
    for comment in reversed(block):
        lines.extend(_text(comment).splitlines())
    return _first_line(_strip_comment(line) for line in lines)


def _strip_comment(line: str) -> str:
    text = line.strip()
    for prefix in _COMMENT_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if text.endswith("*/"):
        text = text[:-2]
    text = text.strip()
    if text.startswith("*"):
        text = text[1:].strip()
    return text


def _first_line(lines: Iterable[str]) -> str:
    for line in lines:
        text = line.strip()
        if text and not text.startswith("@"):
            return text if len(text) <= _DOC_CHARS else text[:_DOC_CHARS] + "..."
    return ""


def _text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8", errors="replace")
