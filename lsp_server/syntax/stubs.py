"""Stub bodies, for Implement with AI: is a function's body only placeholders, and which rows
does an implementation replace?

A stub body holds nothing but placeholders: nothing at all, ``pass``, ``...``,
``raise NotImplementedError``, ``todo!()``/``unimplemented!()``, ``panic("TODO")``,
``throw new Error("not implemented")``, ``throw new UnsupportedOperationException()``,
``throw std::logic_error("not implemented")``, a TODO comment, or an IDE's generated
``// TODO`` plus a trivial ``return``. Empty constructors and destructors are not stubs.
``python_slot`` and ``brace_slot`` say where the new body goes (``StubSlot``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

import tree_sitter

from lsp_server.syntax.document import SyntaxDocument

Node = tree_sitter.Node

TODO = re.compile(r"(?i)\b(?:todo|fixme|xxx|not\s+(?:yet\s+)?implemented|unimplemented|implement\s+(?:me|this))\b")
_TRIVIAL_RETURN = re.compile(
    r"return(?:\s+(?:null|nil|None|nullptr|NULL|undefined|0|0\.0|0L|false|False|\"\"|''|\{\}|\[\]|Ok\(\(\)\)))?;?")
_STUBS: MappingProxyType[str, tuple[re.Pattern[str], ...]] = MappingProxyType({
    "python": (re.compile(r"pass|\.\.\.|raise\s+NotImplementedError(?:\(.*\))?", re.S),),
    "rust": (re.compile(r"(?:todo|unimplemented)!\s*[(\[{].*[)\]}];?", re.S),
             re.compile(r"panic!\s*\((?P<msg>.*)\);?", re.S)),
    "go": (re.compile(r"panic\((?P<msg>.*)\)", re.S),),
    "javascript": (re.compile(r"throw\s+(?:new\s+)?(?:\w+\.)?\w*Error\s*\((?P<msg>.*)\);?", re.S),
                   re.compile(r"throw\s+(?P<msg>[\"'`].*[\"'`]);?", re.S)),
    "java": (re.compile(r"throw\s+new\s+(?:java\.lang\.)?UnsupportedOperationException\s*\(.*\);", re.S),
             re.compile(r"throw\s+new\s+\w*(?:Exception|Error)\s*\((?P<msg>.*)\);", re.S)),
    "c": (re.compile(r"throw\s+(?:std::)?\w+\s*\((?P<msg>.*)\);", re.S),
          re.compile(r"(?:assert\s*\(\s*(?:0|false)\b.*\)|abort\s*\(\s*\));", re.S)),
})


@dataclass(frozen=True)
class StubSlot:
    """Where an implementation goes: it replaces rows ``first..last``; ``head`` is the text of
    ``first`` kept before the new body and ``tail`` the text of ``last`` kept after it
    (either may be empty, then the row is wholly replaced). ``prefix`` is the function's text
    up to the new body (what the model continues), ``indent`` the body's indentation."""

    first: int
    last: int
    head: str
    tail: str
    prefix: str
    indent: str


def node_text(node: Node | None) -> str:
    return (node.text or b"").decode("utf-8", errors="replace") if node is not None else ""


def is_docstring(node: Node) -> bool:
    return node.type == "expression_statement" and node.named_child_count == 1 \
        and node.named_children[0].type in ("string", "concatenated_string")


def _placeholder(family: str, text: str) -> bool:
    text = text.strip()
    for pattern in _STUBS.get(family, ()):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        message = match.groupdict().get("msg")
        if message is None or TODO.search(message) or message.strip() in ("", '""', "''"):
            return True
    return False


def stub_body(node: Node, family: str, statements: list[Node], comments: list[Node]) -> bool:
    todo_comment = any(TODO.search(node_text(c)) for c in comments)
    if family == "python" and statements and is_docstring(statements[0]):
        statements = statements[1:]
        if not statements:
            return True  # only a docstring
    if not statements:
        if comments:
            return todo_comment
        return not _constructor(node)
    for statement in statements:
        text = node_text(statement).strip()
        if _placeholder(family, text):
            continue
        if todo_comment and _TRIVIAL_RETURN.fullmatch(text):
            continue
        return False
    return True


def _constructor(node: Node) -> bool:
    if node.type == "constructor_declaration":
        return True
    if node_text(node.child_by_field_name("name")) == "constructor":
        return True
    declarator = node.child_by_field_name("declarator")
    inner = node_text(declarator.child_by_field_name("declarator")) if declarator is not None else ""
    parts = inner.split("::")
    return inner.startswith("~") or (len(parts) >= 2 and parts[-1].lstrip("~") == parts[-2])


def python_slot(doc: SyntaxDocument, node: Node, body: Node, statements: list[Node], comments: list[Node],
                 start_row: int, doc_rows: tuple[int, int] | None, body_indent: str, indent: str) -> StubSlot:
    buffer = doc.buffer
    colon = next((c for c in node.children if c.type == ":" and c.end_byte <= body.start_byte), None)
    if colon is not None and body.start_point[0] == colon.start_point[0]:  # def f(x): ...
        row = colon.start_point[0]
        head = buffer.slice(buffer.line_start(row), colon.end_byte)
        prefix = rows_text(doc, start_row, row - 1) + head + "\n"
        return StubSlot(row, max(row, body.end_point[0]), head, "", prefix, body_indent)
    placeholders = [n for n in [*statements, *comments] if not (doc_rows and n.start_point[0] <= doc_rows[1])]
    if not placeholders:  # only a docstring: the body goes after it
        row = doc_rows[1] if doc_rows else body.end_point[0]
        head = buffer.line_text(row)
        return StubSlot(row, row, head, "", rows_text(doc, start_row, row), body_indent)
    first = min(n.start_point[0] for n in placeholders)
    last = max(n.end_point[0] for n in placeholders)
    return StubSlot(first, last, "", "", rows_text(doc, start_row, first - 1), body_indent)


def brace_slot(doc: SyntaxDocument, node: Node, body: Node, statements: list[Node], comments: list[Node],
                start_row: int, doc_rows: tuple[int, int] | None, body_indent: str, indent: str) -> StubSlot | None:
    buffer = doc.buffer
    opener, closer = body.child(0), body.child(body.child_count - 1)
    if opener is None or closer is None or opener.type != "{" or closer.type != "}" or closer.is_missing:
        return None
    first, last = opener.start_point[0], closer.start_point[0]
    head = buffer.slice(buffer.line_start(first), opener.end_byte)
    close_line = buffer.line_text(last)
    before_close = buffer.slice(buffer.line_start(last), closer.start_byte)
    tail = (before_close if not before_close.strip() and last != first else indent) + close_line[len(before_close):]
    prefix = rows_text(doc, start_row, first - 1) + head + "\n"
    return StubSlot(first, last, head, tail, prefix, body_indent)


def rows_text(doc: SyntaxDocument, first: int, last: int) -> str:
    """Rows ``first..last`` joined with newlines, plus a trailing newline ("" when none)."""
    buffer = doc.buffer
    return "".join(buffer.line_text(row) + "\n" for row in range(first, last + 1))
