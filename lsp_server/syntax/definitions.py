"""The outline's items and the tree-sitter queries that find them.

``Definition`` and ``ImportSpan`` hold byte offsets only (texts are sliced from the
buffer on demand) and know how to move across an edit (``shifted``), which is all
``SpanIndex`` needs. ``query_imports`` / ``query_defs`` run the language's "imports"
and "definitions" queries over the whole tree or over one byte range
(``QueryCursor.set_byte_range``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import tree_sitter

from .nodes import ancestors, header_end

if TYPE_CHECKING:
    from .document import SyntaxDocument

_FULL_TEXT_MAX_LINES = 12
_NO_BODY_MAX_LINES = 6

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


def definition_key(definition: Definition) -> tuple[int, int]:
    """File order of definitions (a name token belongs to one definition)."""
    return definition.start, definition.name_start


def span_key(span: ImportSpan) -> tuple[int, int]:
    return span.start, span.end


def _matches(doc: SyntaxDocument, kind: str, root: tree_sitter.Node, span: Span | None) -> list:
    query = doc.registry.query(doc.spec, kind)
    if query is None:
        return []
    cursor = tree_sitter.QueryCursor(query)
    if span is not None:
        cursor.set_byte_range(span[0], span[1])
    return cursor.matches(root)


def query_imports(doc: SyntaxDocument, root: tree_sitter.Node, span: Span | None) -> list[ImportSpan]:
    """File-level imports intersecting ``span`` (None: the whole tree)."""
    local = doc.registry.data(doc.spec).local_types
    found = []
    for _, captures in _matches(doc, "imports", root, span):
        for node in captures.get("import", ()):
            parents = ancestors(node.parent)
            if not any(parent.type in local for parent in parents):
                found.append(ImportSpan(node.start_byte, node.end_byte))
    return found


def query_defs(doc: SyntaxDocument, root: tree_sitter.Node, span: Span | None) -> list[Definition]:
    """Definitions intersecting ``span`` (None: the whole tree), one per name token
    (the widest: a decorated definition rather than its inner function)."""
    data = doc.registry.data(doc.spec)
    python = not doc.spec.brace_language
    source = doc.buffer.data
    found: dict[int, Definition] = {}
    for _, captures in _matches(doc, "definitions", root, span):
        outer, name = captures.get("def", [None])[0], captures.get("name", [None])[0]
        if outer is None or name is None:
            continue
        inner = outer
        if outer.type == "decorated_definition":
            inner = outer.child_by_field_name("definition") or outer
        sig_end = _signature_end(inner, python, inner.type in data.full_text_types, source)
        candidate = Definition(
            name.text.decode("utf-8", errors="replace"), outer.start_byte, outer.end_byte,
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
