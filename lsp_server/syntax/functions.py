"""Functions in a syntax tree, for the AI actions: which function holds a position, its
header, body, documentation, and whether its body is a stub.

``function_at`` walks up from one leaf (never the whole tree) to the innermost function
or method around a byte offset and describes it as a ``FunctionInfo``: its rows (with
decorators, attributes and ``export`` wrappers), its name, the rows of its doc comment or
docstring, its body's delimiters, and, when the body is a stub, the rows an
implementation replaces (``StubSlot``).

What counts as a stub body, and where an implementation goes, is ``stubs.py``'s. A function
is only worth implementing when something says what it should do: a docstring or doc
comment, a comment in the body, parameters, or a name of at least two words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

import tree_sitter

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.queries import COMMENT_MARK
from lsp_server.syntax.stubs import StubSlot, brace_slot, is_docstring, node_text, python_slot, stub_body

Node = tree_sitter.Node

FUNCTION_TYPES: MappingProxyType[str, frozenset[str]] = MappingProxyType({
    "python": frozenset({"function_definition"}),
    "javascript": frozenset({"function_declaration", "generator_function_declaration", "method_definition",
                             "function_expression", "arrow_function", "function"}),
    "go": frozenset({"function_declaration", "method_declaration"}),
    "rust": frozenset({"function_item"}),
    "java": frozenset({"method_declaration", "constructor_declaration"}),
    "c": frozenset({"function_definition"}),
})
_FAMILY = MappingProxyType({"typescript": "javascript", "tsx": "javascript", "cpp": "c"})
_WRAPPERS = frozenset({"decorated_definition", "export_statement"})
_SELF_PARAMS = frozenset({"self", "cls", "&self", "&mut self", "mut self", "this", "void"})


@dataclass(frozen=True)
class FunctionInfo:
    """A function or method: rows are 0-based and inclusive."""

    name: str
    start_row: int  # with decorators, attributes, ``export``
    def_row: int  # the row where the function node itself starts
    end_row: int
    header_last_row: int  # the row holding the end of the header (Python ``:``, or the body's ``{``)
    indent: str  # indentation of the function's first row
    body_indent: str  # indentation of its body's lines (derived when the body has none)
    doc_rows: tuple[int, int] | None  # the docstring (Python) or doc comment above it
    one_line: bool  # the body starts on the header's row (``def f(): ...``, ``f() {}``)
    described: bool  # something says what it should do
    stub: StubSlot | None  # set when the body is a stub

    @property
    def rows(self) -> tuple[int, int]:
        return self.start_row, self.end_row


def _family(name: str) -> str:
    return _FAMILY.get(name, name)


def function_at(doc: SyntaxDocument, start: int, end: int | None = None) -> FunctionInfo | None:
    """The innermost function holding bytes ``start..end`` (end defaults to start)."""
    tree, spec = doc.tree, doc.spec
    if tree is None or spec is None:
        return None
    family = _family(spec.name)
    types = FUNCTION_TYPES.get(family)
    if types is None:
        return None
    data = doc.buffer.data
    end = start if end is None else end
    lo = max(0, min(start, len(data)))
    hi = max(lo, min(end, len(data)))
    for probe in _probes(doc, lo, hi):
        node = tree.root_node.descendant_for_byte_range(probe, max(probe, hi - 1) if hi > probe else probe)
        while node is not None:
            found = _function_in(node, types)
            if found is not None and found.child_by_field_name("body") is not None \
                    and _outer(found).start_byte <= probe and found.end_byte >= max(hi, probe):
                return _describe(doc, found, family)
            node = node.parent
    return None


def _probes(doc: SyntaxDocument, lo: int, hi: int) -> list[int]:
    """Where to look for a cursor: at it, and (for a cursor in a line's indentation or past its
    end) at the line's first and last characters, which a node holds."""
    if hi > lo:
        return [lo]
    buffer = doc.buffer
    row = buffer.row_of_byte(lo)
    line_start, line_end = buffer.line_start(row), buffer.line_end(row)
    text = buffer.data[line_start:line_end]
    stripped = text.strip(b" \t")
    if not stripped:
        return [lo]
    first = line_start + len(text) - len(text.lstrip(b" \t"))
    last = line_start + len(text.rstrip(b" \t")) - 1
    return list(dict.fromkeys([lo, min(max(lo, first), last), first, last]))


def _function_in(node: Node, types: frozenset[str]) -> Node | None:
    """``node`` if it is a function, or the function it declares (``const f = () => {}``,
    ``export function``, a decorated definition)."""
    for _ in range(3):
        if node.type in types:
            return node
        inner = None
        for field in ("value", "declaration", "definition"):
            inner = node.child_by_field_name(field)
            if inner is not None:
                break
        if inner is None and node.type in ("lexical_declaration", "variable_declaration") and node.named_child_count == 1:
            inner = node.named_children[0]
        if inner is None:
            return None
        node = inner
    return node if node.type in types else None


def _outer(node: Node) -> Node:
    outer = node
    while outer.parent is not None and outer.parent.type in _WRAPPERS:
        outer = outer.parent
    if outer.parent is not None and outer.parent.type == "variable_declarator":  # const f = () => {}
        declaration = outer.parent.parent
        if declaration is not None and declaration.type in ("lexical_declaration", "variable_declaration"):
            outer = declaration
            if outer.parent is not None and outer.parent.type == "export_statement":
                outer = outer.parent
    return outer


def _start_row(node: Node) -> int:
    """The first row of the function with attributes above it (Rust ``#[...]``)."""
    row = node.start_point[0]
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type == "attribute_item" and sibling.end_point[0] >= row - 1:
        row = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    return row


def _name(node: Node) -> str:
    name = node.child_by_field_name("name")
    if name is not None:
        return node_text(name)
    parent = node.parent
    if parent is not None and parent.type in ("variable_declarator", "pair", "assignment_expression"):
        key = parent.child_by_field_name("name") or parent.child_by_field_name("key") \
            or parent.child_by_field_name("left")
        if key is not None:
            return node_text(key)
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    inner = declarator.child_by_field_name("declarator") if declarator is not None else None
    return node_text(inner).rsplit("::", 1)[-1] if inner is not None else ""


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _statements(body: Node) -> tuple[list[Node], list[Node]]:
    """The body's statements and comments (Go wraps statements in a ``statement_list``)."""
    statements: list[Node] = []
    comments: list[Node] = []
    for child in body.named_children:
        items = child.named_children if child.type == "statement_list" else [child]
        for item in items:
            (comments if COMMENT_MARK in item.type else statements).append(item)
    return statements, comments


def _doc_rows(doc: SyntaxDocument, node: Node, outer: Node, family: str, statements: list[Node]
              ) -> tuple[int, int] | None:
    if family == "python":
        if statements and is_docstring(statements[0]):
            return statements[0].start_point[0], statements[0].end_point[0]
        return None
    first_row = _start_row(outer)
    comment = outer.prev_sibling
    while comment is not None and comment.type == "attribute_item":
        comment = comment.prev_sibling
    rows: tuple[int, int] | None = None
    expected = first_row - 1
    while comment is not None and COMMENT_MARK in comment.type and _last_row(comment) == expected:
        text = node_text(comment).lstrip()
        doc_style = text.startswith(("/**", "///", "//!")) or family in ("go", "c")
        if not doc_style or text.startswith("/**/"):
            break
        rows = (comment.start_point[0], rows[1] if rows else _last_row(comment))
        expected = comment.start_point[0] - 1
        comment = comment.prev_sibling
    return rows


def _last_row(node: Node) -> int:
    """The last row a node's text is on (a line comment may end at column 0 of the next row)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row


def _parameters(node: Node) -> Node | None:
    found = node.child_by_field_name("parameters")
    declarator = node.child_by_field_name("declarator")
    while found is None and declarator is not None:
        found = declarator.child_by_field_name("parameters")
        declarator = declarator.child_by_field_name("declarator")
    return found


def _described(node: Node, name: str, doc_rows: tuple[int, int] | None, comments: list[Node]) -> bool:
    if doc_rows is not None or any(node_text(c).strip("/#* \t\n") for c in comments):
        return True
    words = [w for w in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    if len(words) >= 2:
        return True
    parameters = _parameters(node)
    if parameters is None:
        return False
    params = [node_text(p).strip() for p in parameters.named_children if COMMENT_MARK not in p.type]
    return any(p and p not in _SELF_PARAMS for p in params)


def _describe(doc: SyntaxDocument, node: Node, family: str) -> FunctionInfo:
    buffer = doc.buffer
    body = node.child_by_field_name("body")
    assert body is not None
    outer = _outer(node)
    start_row = _start_row(outer)
    name = _name(node)
    statements, comments = _statements(body)
    if family == "python":  # a comment right after the ``:`` is the function's, not the block's
        comments = [c for c in node.children if COMMENT_MARK in c.type and c.start_byte < body.start_byte
                    and c.start_point[0] > node.start_point[0]] + comments
    doc_rows = _doc_rows(doc, node, outer, family, statements)
    indent = _indent_of(buffer.line_text(start_row))
    python = family == "python"
    if python:
        colon = next((c for c in node.children if c.type == ":" and c.end_byte <= body.start_byte), None)
        header_last = (colon or body).start_point[0]
    else:
        opener = body.child(0)
        header_last = (opener if opener is not None and opener.type == "{" else body).start_point[0]
    one_line = body.start_point[0] == header_last
    body_indent = _body_indent(doc, body, indent, header_last, python)
    stub = None
    if stub_body(node, family, statements, comments):
        prefix_row = doc_rows[0] if doc_rows and not python and doc_rows[0] < start_row else start_row
        stub = (python_slot if python else brace_slot)(doc, node, body, statements, comments, prefix_row,
                                                         doc_rows, body_indent, indent)
    return FunctionInfo(
        name=name,
        start_row=start_row,
        def_row=start_row,
        end_row=node.end_point[0],
        header_last_row=header_last,
        indent=indent,
        body_indent=body_indent,
        doc_rows=doc_rows,
        one_line=one_line,
        described=_described(node, name, doc_rows, comments),
        stub=stub,
    )


def _body_indent(doc: SyntaxDocument, body: Node, indent: str, header_last: int, python: bool) -> str:
    buffer = doc.buffer
    for row in range(header_last + 1, min(body.end_point[0] + (1 if python else 0), buffer.line_count)):
        line = buffer.line_text(row)
        if line.strip() and (python or not line.strip().startswith("}")):
            found = _indent_of(line)
            if len(found) > len(indent) or (found.startswith(indent) and found != indent):
                return found
    unit = "\t" if indent.startswith("\t") or (not indent and _tabs(doc)) else "    "
    if unit == "    " and indent and not indent.startswith("\t"):
        unit = " " * (4 if len(indent) % 4 == 0 else 2)
    return indent + unit


def _tabs(doc: SyntaxDocument) -> bool:
    buffer = doc.buffer
    sample = [buffer.line_text(row) for row in range(min(buffer.line_count, 400))]
    tabs = sum(1 for line in sample if line.startswith("\t"))
    spaces = sum(1 for line in sample if line.startswith(" "))
    return tabs > spaces or (not spaces and doc.spec is not None and doc.spec.name == "go")


