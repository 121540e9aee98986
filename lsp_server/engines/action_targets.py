"""What an AI action works on, found cheaply from where the user points (no model, no I/O).

``pick_target`` tries an action's scopes in order: a non-empty selection (its whole lines), the
function around the cursor, the whole file, or the stub body of the function around the
cursor (Implement, only when something says what the function should do). ``doc_slot`` says
where a function's documentation goes in its language's convention (a Python docstring in the
body; a doc comment above the function elsewhere), replacing the one it has; ``slot_text``
joins kept text and new lines into the replacement of a slot's rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsp_server.config_actions import ActionSpec
from lsp_server.core.findings import lines_hash
from lsp_server.engines.documents import OpenDocument
from lsp_server.syntax.functions import FunctionInfo, function_at

DOC_STYLES = {
    "python": "Python docstring",
    "javascript": "JSDoc comment (/** ... */)",
    "typescript": "TSDoc comment (/** ... */)",
    "tsx": "TSDoc comment (/** ... */)",
    "go": "GoDoc comment (// lines, the first starting with the function's name)",
    "rust": "rustdoc comment (/// lines, Markdown)",
    "java": "Javadoc comment (/** ... */ with @param, @return and @throws)",
    "c": "Doxygen comment",
    "cpp": "Doxygen comment",
}
_PY_QUOTE = re.compile(r'^\s*[rRuU]?("""|\'\'\')')


@dataclass(frozen=True)
class Target:
    """Rows ``first..last`` (0-based, inclusive) an action works on, and what they are."""

    scope: str  # "selection" | "function" | "file" | "stub"
    first: int
    last: int
    name: str = ""
    function: FunctionInfo | None = None
    selection: tuple[int, int] | None = None  # the selected bytes


@dataclass(frozen=True)
class Slot:
    """Rows ``first..last`` replaced by ``head`` + new lines + ``tail`` (kept text, may be empty)."""

    first: int
    last: int
    head: str
    tail: str
    indent: str  # the indentation of the new lines
    prefill: str  # the code the model continues (after the opening fence)
    opener: str = ""  # the start of the new text that was prefilled ('\"\"\"', '/**', '///', '// Name')


def digest(doc: OpenDocument, first: int, last: int) -> str:
    """What rows ``first..last`` read, as a short hash (to check them after an ``await``)."""
    buffer = doc.syntax.buffer
    last = min(last, buffer.line_count - 1)
    return lines_hash([buffer.line_text(row) for row in range(first, last + 1)])


def language_of(doc: OpenDocument) -> str:
    """The registry's language name, or the editor's language id for plain-text documents."""
    return doc.spec.name if doc.spec is not None else (doc.language_id or "").lower()


def applies_to(spec: ActionSpec, doc: OpenDocument) -> bool:
    if not spec.languages:
        return True
    names = {language_of(doc), (doc.language_id or "").lower()}
    return any(name in names for name in spec.languages)


def selection_rows(doc: OpenDocument, start: int, end: int) -> tuple[int, int] | None:
    """The whole lines of a selection with text in it (an end at column 0 leaves its line out)."""
    buffer = doc.syntax.buffer
    if end <= start or not buffer.slice(start, end).strip():
        return None
    first, (last, column) = buffer.row_of_byte(start), buffer.point_of_byte(end)
    if column == 0 and last > first:
        last -= 1
    return first, last


class Place:
    """Where the user points: bytes ``start..end`` of a document, and the function there
    (looked up once, however many actions ask)."""

    def __init__(self, doc: OpenDocument, start: int, end: int) -> None:
        self.doc, self.start, self.end = doc, start, end
        doc.syntax.focus(start)  # a large file's tree covers where the user points
        self._function: FunctionInfo | None | bool = False

    @property
    def function(self) -> FunctionInfo | None:
        if self._function is False:
            self._function = function_at(self.doc.syntax, self.start, self.end)
        return self._function  # type: ignore[return-value]


def pick_target(place: Place, spec: ActionSpec) -> Target | None:
    """The first of the action's scopes that fits the place; None: the action is not offered."""
    if not applies_to(spec, place.doc):
        return None
    for scope in spec.scopes:
        target = _scope_target(place, scope, spec.output)
        if target is not None:
            return target
    return None


def _scope_target(place: Place, scope: str, output: str) -> Target | None:
    doc, start, end = place.doc, place.start, place.end
    buffer = doc.syntax.buffer
    if scope == "selection":
        rows = selection_rows(doc, start, end)
        return Target("selection", rows[0], rows[1], selection=(start, end)) if rows else None
    if scope == "file":
        last = buffer.line_count - 1
        while last > 0 and not buffer.line_text(last).strip():
            last -= 1
        return Target("file", 0, last) if buffer.data.strip() else None
    function = place.function
    if function is None:
        return None
    if scope == "function":
        if function.stub is not None and output in ("replace", "insert-before", "insert-after", "explain"):
            return None  # nothing to optimise, explain or rewrite in a stub: Implement it
        return Target("function", function.start_row, function.end_row, function.name, function)
    if scope == "stub" and function.stub is not None and function.described:
        return Target("stub", function.stub.first, function.stub.last, function.name, function)
    return None


def body_slot(function: FunctionInfo) -> Slot | None:
    stub = function.stub
    if stub is None:
        return None
    return Slot(stub.first, stub.last, stub.head, stub.tail, stub.indent, stub.prefix)


def doc_slot(doc: OpenDocument, function: FunctionInfo) -> Slot | None:
    """Where ``function``'s documentation goes; None when its language has no convention here."""
    language = language_of(doc)
    buffer = doc.syntax.buffer
    rows = function.doc_rows
    if language == "python":
        if function.one_line:
            return None
        header = "".join(buffer.line_text(row) + "\n" for row in range(function.start_row, function.header_last_row + 1))
        quote = _python_quote(doc, rows)
        opener = quote
        if rows is not None:
            return Slot(rows[0], rows[1], "", "", function.body_indent, header + function.body_indent + opener, opener)
        row = function.header_last_row
        return Slot(row, row, buffer.line_text(row), "", function.body_indent,
                    header + function.body_indent + opener, opener)
    if language not in DOC_STYLES:
        return None
    opener = _comment_opener(doc, language, function)
    indent = function.indent
    if rows is not None:
        return Slot(rows[0], rows[1], "", "", indent, indent + opener, opener)
    row = function.start_row
    return Slot(row, row, "", buffer.line_text(row), indent, indent + opener, opener)


def _python_quote(doc: OpenDocument, rows: tuple[int, int] | None) -> str:
    buffer = doc.syntax.buffer
    if rows is not None:
        found = _PY_QUOTE.match(buffer.line_text(rows[0]))
        if found:
            return found.group(1)
    text = buffer.text
    return "'''" if text.count("'''") > text.count('"""') else '"""'


def _comment_opener(doc: OpenDocument, language: str, function: FunctionInfo) -> str:
    if language == "go":
        return f"// {function.name}" if function.name else "//"
    if language == "rust":
        return "///"
    if language in ("c", "cpp"):
        text = doc.syntax.buffer.text
        return "///" if text.count("\n///") > text.count("/**") else "/**"
    return "/**"


def doc_style(doc: OpenDocument, opener: str) -> str:
    language = language_of(doc)
    style = DOC_STYLES.get(language, "doc comment")
    if language in ("c", "cpp"):
        style += " (/// lines)" if opener == "///" else " (/** ... */ with @brief, @param and @return)"
    return style


def slot_text(slot: Slot, lines: list[str]) -> str:
    """The replacement of the slot's rows: kept head, the new lines, kept tail."""
    parts = ([slot.head] if slot.head else []) + lines + ([slot.tail] if slot.tail else [])
    return "\n".join(parts)


def style_sample(doc: OpenDocument, function: FunctionInfo, limit: int = 60) -> str:
    """Another function's documentation in this file, to show the style to match ("" if none)."""
    buffer = doc.syntax.buffer
    for definition in doc.syntax.outline.definitions()[:limit]:
        other = function_at(doc.syntax, definition.name_start)
        if other is None or other.doc_rows is None or other.start_row == function.start_row:
            continue
        first, last = other.doc_rows
        if last - first <= 30:
            return "\n".join(buffer.line_text(row) for row in range(first, last + 1))
    return ""
