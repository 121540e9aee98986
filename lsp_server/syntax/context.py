"""Completion context around a cursor: imports, enclosing scopes, nearby signatures.

``cursor_context`` is on the keystroke path, so it only walks the path from the root
to the cursor's leaf (cut at ``MAX_PATH_DEPTH``), scans ±``near_lines`` of text (at
most ``NEAR_BYTES`` each way), and reads the document's incrementally maintained
``Outline`` (never a whole-file query). It works within a ``Deadline`` (the
document's ``budget.context_s``): once that passes, the nearby signatures and the
names from elsewhere stop where they are, so a pathological file gets less context,
never a stalled server. ``window`` and ``would_add_errors`` live in ``window.py`` and
``validate.py`` and are re-exported here.

Multi-line rule: a multi-line completion fits when the cursor is not in a comment or
string and the text after the cursor on its line is empty (with text after the cursor,
``compute(|)``, ``"|"``, the completion ends on that line), or, in a brace language,
is a ``}`` closing the ``{`` just before the cursor (a block body between auto-closed
braces); and either the line before the cursor is blank, or it ends with a block opener
(Python: ``:`` outside brackets, or an open bracket; brace languages: ``{ ( [ =>``), or
the cursor ends a line that starts a definition header (``def f(x)``, ``func main()``,
``int main(void)``). Plain-text documents use the same rules on text alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax.budget import Deadline
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.nodes import NodePath, anchor_path, header_end, in_comment_or_string, node_path
from lsp_server.syntax.queries import ANY_HEADER, COMMENT_MARK, STRING_TYPES
from lsp_server.syntax.validate import would_add_errors
from lsp_server.syntax.window import window

__all__ = ["CursorContext", "RelatedLookup", "cursor_context", "foreign_names", "names_defined_elsewhere", "window",
           "would_add_errors"]

MAX_IMPORTS = 40
MAX_SIGNATURES = 20
MAX_PER_NAME = 3
MAX_FOREIGN = 24
NEAR_BYTES = 16 * 1024  # text scanned for names on each side of the cursor, at most
_LINE_BYTES = 4096  # the part of a (very long) cursor line the text heuristics look at

# (path of the file, names it uses, its comment prefix) -> definitions from other files as
# "<comment> path" + signature blocks, in a stable order (the workspace index answers it)
RelatedLookup = Callable[[str, tuple[str, ...], str], list[str]]
_WORD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")
_TO_WORDS = bytes(ch if ch in _WORD_CHARS else 0x20 for ch in range(256))  # others -> space
_BRACE_OPENERS = ("{", "(", "[", "=>")
_PY_OPENERS = (":", "(", "[", "{")


@dataclass(frozen=True)
class CursorContext:
    """What the completion prompt needs to know about the cursor's surroundings."""

    imports: tuple[str, ...]           # file-level import/include/use/package lines, file order
    scopes: tuple[str, ...]            # enclosing definition headers, outermost first, as indented
    local_signatures: tuple[str, ...]  # same-file definitions used near the cursor, file order
    multiline: bool                    # whether a multi-line completion fits here
    in_comment_or_string: bool


def context_deadline(doc: SyntaxDocument) -> Deadline:
    """A fresh deadline for one request's context work on ``doc``."""
    return Deadline(doc.budget.context_s)


def cursor_context(doc: SyntaxDocument, cursor_byte: int, *, near_lines: int = 40,
                   deadline: Deadline | None = None) -> CursorContext:
    """Build the completion context for ``cursor_byte`` (a byte offset into ``doc.buffer``)."""
    deadline = deadline if deadline is not None else context_deadline(doc)
    cursor = max(0, min(cursor_byte, len(doc.buffer.data)))
    tree = doc.tree
    if tree is None or doc.spec is None:
        in_text = _text_in_comment_or_string(doc, cursor, None)
        return CursorContext((), (), (), _multiline_fits(doc, cursor, in_text), in_text)
    root = tree.root_node
    data = doc.buffer.data
    anchor = anchor_path(root, data, cursor)
    in_tree = in_comment_or_string(root, cursor, data)
    if in_tree is None:  # too deep to tell from the tree
        in_text = _text_in_comment_or_string(doc, cursor, doc.spec.comment_prefix)
    else:
        in_text = in_tree or (
            _line_has_error(doc, root, cursor)
            and _text_in_comment_or_string(doc, cursor, doc.spec.comment_prefix)
        )
    scope_nodes = _enclosing_scopes(doc, anchor, cursor)
    outline = doc.outline
    imports = tuple(outline.imports()[:MAX_IMPORTS])
    scopes = tuple(_scope_header(doc, node) for node in scope_nodes)
    excluded = {node.start_byte for node in scope_nodes}
    signatures = _local_signatures(doc, root, cursor, near_lines, excluded, deadline)
    return CursorContext(imports, scopes, signatures, _multiline_fits(doc, cursor, in_text), in_text)


def _line_has_error(doc: SyntaxDocument, root: tree_sitter.Node, cursor: int) -> bool:
    """Whether the code holding the cursor's line prefix failed to parse (e.g. an
    unterminated string, which tree-sitter does not report as a string)."""
    line_start = doc.buffer.line_start(doc.buffer.row_of_byte(cursor))
    return node_path(root, line_start, cursor).leaf.has_error


# -- scopes ------------------------------------------------------------------------------
def _enclosing_scopes(doc: SyntaxDocument, anchor: NodePath, cursor: int) -> list[tree_sitter.Node]:
    """Definitions whose body holds the cursor, outermost first (only those within the
    path's depth limit)."""
    data = doc.registry.data(doc.spec)
    python = not doc.spec.brace_language
    blank, indent = _cursor_indent(doc, cursor) if python else (False, 0)
    found = []
    for node in anchor.innermost():
        if node.type not in data.scope_types:
            continue
        end = header_end(node, python)
        if end is None or cursor < end:
            continue
        if python:  # on a blank line, indentation decides (as Python would)
            inside = node.start_point[1] < indent if blank else cursor <= node.end_byte
        else:
            inside = cursor < node.end_byte
        if inside:
            found.append(node)
    found.reverse()
    return found


def _cursor_indent(doc: SyntaxDocument, cursor: int) -> tuple[bool, int]:
    """Whether only whitespace precedes the cursor on its line, and that width in bytes."""
    buffer = doc.buffer
    row, col = buffer.point_of_byte(cursor)
    start = buffer.line_start(row)
    before = buffer.data[max(start, cursor - _LINE_BYTES) : start + col]
    if before.strip():
        return False, col
    return True, col


def _scope_header(doc: SyntaxDocument, node: tree_sitter.Node) -> str:
    buffer = doc.buffer
    end = header_end(node, not doc.spec.brace_language) or node.end_byte
    start = buffer.line_start(node.start_point[0])
    return buffer.slice(max(start, end - _LINE_BYTES), end).rstrip()


def _near(doc: SyntaxDocument, cursor: int, rows_before: int, rows_after: int) -> tuple[int, int]:
    """The byte range of ``rows_before``/``rows_after`` lines around ``cursor``, at most
    ``NEAR_BYTES`` each way."""
    buffer = doc.buffer
    row = buffer.row_of_byte(cursor)
    lo = buffer.line_start(max(0, row - rows_before))
    hi = buffer.line_end(min(buffer.line_count - 1, row + rows_after))
    return max(lo, cursor - NEAR_BYTES), max(cursor, min(hi, cursor + NEAR_BYTES))


# -- local signatures ----------------------------------------------------------------------
def _local_signatures(
    doc: SyntaxDocument, root: tree_sitter.Node, cursor: int, near_lines: int, excluded: set[int],
    deadline: Deadline,
) -> tuple[str, ...]:
    lo, hi = _near(doc, cursor, near_lines, near_lines)
    chunk = doc.buffer.data[lo:hi]
    outline = doc.outline
    words = set(chunk.translate(_TO_WORDS).decode("ascii").split())
    sites: dict[str, set[int]] | None = None  # name -> its definitions' name tokens in the chunk
    chosen = []
    for name in sorted(words & outline.names(), key=lambda word: abs(lo + chunk.find(word.encode()) - cursor)):
        if deadline.expired():
            break
        defs = outline.first_definitions(name, MAX_PER_NAME, excluded)
        if not defs:
            continue
        if sites is None:
            sites = {}
            for definition in outline.overlapping(lo, hi):
                sites.setdefault(definition.name, set()).add(definition.name_start)
        if _used_as_identifier(root, chunk, lo, name, sites.get(name, set()), deadline):
            chosen.extend(defs)
    chosen.sort(key=lambda d: d.start)
    return tuple(outline.signature(d) for d in chosen[:MAX_SIGNATURES])


def _used_as_identifier(
    root: tree_sitter.Node, chunk: bytes, base: int, name: str, def_sites: set[int], deadline: Deadline
) -> bool:
    """Whether ``name`` occurs in ``chunk`` as code: not in a comment or string, and not
    merely as the name of its own definition (``def_sites``: where its definitions'
    name tokens are, at least those inside the chunk). False once ``deadline`` passes."""
    needle = name.encode()
    size, length = len(needle), len(chunk)
    at = chunk.find(needle)
    while at >= 0 and not deadline.expired():
        end = at + size
        whole = (at == 0 or chunk[at - 1] not in _WORD_CHARS) and (
            end == length or chunk[end] not in _WORD_CHARS
        )
        node = None
        if whole and base + at not in def_sites:
            node = root.descendant_for_byte_range(base + at, base + end)
            if node is not None and not (_is_text(node.type) or _is_text(_parent_type(node))):
                return True
        if node is not None and node.child_count == 0:
            at = max(at + 1, node.end_byte - base)  # the rest of this comment/string leaf
        else:
            at += 1
        at = chunk.find(needle, at)
    return False


def _is_text(kind: str) -> bool:
    return COMMENT_MARK in kind or kind in STRING_TYPES


def _parent_type(node: tree_sitter.Node) -> str:
    parent = node.parent
    return parent.type if parent is not None else ""


# -- names from elsewhere -------------------------------------------------------------------
def foreign_names(doc: SyntaxDocument, cursor_byte: int, *, lines_before: int = 12, lines_after: int = 2,
                  limit: int = MAX_FOREIGN, deadline: Deadline | None = None) -> tuple[str, ...]:
    """Names used as code near the cursor that this file does not define (candidates for
    definitions in other files), nearest to the cursor first; at most ``limit``."""
    buffer = doc.buffer
    cursor = max(0, min(cursor_byte, len(buffer.data)))
    row = buffer.row_of_byte(cursor)
    return names_defined_elsewhere(doc, max(0, row - lines_before), row + lines_after, cursor, limit=limit,
                                   deadline=deadline)


def names_defined_elsewhere(doc: SyntaxDocument, first_row: int, last_row: int, anchor: int, *,
                            limit: int = MAX_FOREIGN, deadline: Deadline | None = None) -> tuple[str, ...]:
    """Names used as code on rows ``first_row..last_row`` (at most ``NEAR_BYTES`` either
    side of the byte ``anchor``) that this file does not define, nearest to ``anchor``
    first; at most ``limit``, fewer once ``deadline`` passes."""
    tree = doc.tree
    if tree is None or doc.spec is None:
        return ()
    deadline = deadline if deadline is not None else context_deadline(doc)
    buffer = doc.buffer
    lo = max(buffer.line_start(max(0, min(first_row, buffer.line_count - 1))), anchor - NEAR_BYTES)
    hi = min(buffer.line_end(min(buffer.line_count - 1, max(0, last_row))), max(anchor, lo) + NEAR_BYTES)
    hi = max(lo, hi)
    chunk = buffer.data[lo:hi]
    local = doc.outline.names()
    words = chunk.translate(_TO_WORDS).decode("ascii").split()
    ordered: list[tuple[int, str]] = []
    for word in set(words):
        if word in local or len(word) < 3 or word[0].isdigit():
            continue
        at = chunk.rfind(word.encode())
        ordered.append((abs(lo + at - anchor), word))
    ordered.sort()
    root = tree.root_node
    chosen: list[str] = []
    for _distance, word in ordered:
        if deadline.expired():
            break
        use = _named_use(root, chunk, lo, word, deadline)
        if use and use not in chosen:
            chosen.append(use)
            if len(chosen) >= limit:
                break
    return tuple(chosen)


def _named_use(root: tree_sitter.Node, chunk: bytes, base: int, name: str, deadline: Deadline) -> str | None:
    """How ``name`` is used as code in ``chunk``: ``name`` itself, or ``head.name`` when it is
    only ever reached as an attribute (``geometry.area``: resolved through ``geometry``),
    or None if it only occurs in comments and strings or as a keyword (or, once
    ``deadline`` passes, in the occurrences looked at)."""
    needle = name.encode()
    at = chunk.find(needle)
    dotted: str | None = None
    while at >= 0 and not deadline.expired():
        end = at + len(needle)
        if (at == 0 or chunk[at - 1] not in _WORD_CHARS) and (end == len(chunk) or chunk[end] not in _WORD_CHARS):
            node = root.descendant_for_byte_range(base + at, base + end)
            if (node is not None and node.is_named and node.start_byte == base + at and node.end_byte == base + end
                    and not (_is_text(node.type) or _is_text(_parent_type(node)))):
                head = _attribute_head(chunk, at)
                if head is None:
                    return name
                dotted = dotted or (f"{head}.{name}" if head else None)
        at = chunk.find(needle, at + 1)
    return dotted


def _attribute_head(chunk: bytes, at: int) -> str | None:
    """For ``x.name`` / ``x::name`` / ``x->name`` at ``at``: ``x`` ("" when it is not a plain
    name, e.g. ``f().name``); None when ``name`` is not reached through another name."""
    before = chunk[max(0, at - 2):at]
    if before.endswith(b".") or before.endswith(b"::") or before.endswith(b"->"):
        stop = at - (1 if before.endswith(b".") else 2)
        start = stop
        while start > 0 and chunk[start - 1] in _WORD_CHARS:
            start -= 1
        word = chunk[start:stop].decode("ascii", "replace")
        return word if word and not word[0].isdigit() else ""
    return None


# -- multiline -----------------------------------------------------------------------------
def _multiline_fits(doc: SyntaxDocument, cursor: int, in_text: bool) -> bool:
    """Whether a multi-line completion fits at ``cursor`` (rules in the module docstring)."""
    if in_text:
        return False
    before, after = _line_around(doc, cursor)
    spec = doc.spec
    stripped = before.rstrip()
    if after.strip():
        return bool(spec and spec.brace_language and stripped.endswith("{") and after.lstrip().startswith("}"))
    if not before.strip():
        return True
    if spec is None:
        header_line = not after.strip() and bool(ANY_HEADER.match(stripped))
        return stripped.endswith(_BRACE_OPENERS + (":",)) or header_line
    if spec.brace_language:
        opener = stripped.endswith(_BRACE_OPENERS)
    else:
        opener = stripped.endswith(_PY_OPENERS) and (stripped[-1] != ":" or _bracket_depth(stripped) == 0)
    header = doc.registry.data(spec).header
    return opener or (not after.strip() and bool(header.match(stripped)))


def _bracket_depth(text: str) -> int:
    depth = 0
    for ch in _strip_strings(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return depth


def _strip_strings(text: str) -> str:
    return re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", "", text)


def _text_in_comment_or_string(doc: SyntaxDocument, cursor: int, prefix: str | None) -> bool:
    """Text-only guess: an open quote or a line comment before the cursor on its line."""
    before, _after = _line_around(doc, cursor)
    rest = _strip_strings(before)
    prefixes = (prefix,) if prefix else ("#", "//")
    if any(p in rest for p in prefixes):
        return True
    return any(rest.count(q) % 2 == 1 for q in ("\"", "'", "`"))


def _line_around(doc: SyntaxDocument, cursor: int) -> tuple[str, str]:
    """The cursor line's text before and after the cursor, at most ``_LINE_BYTES`` of each
    (the heuristics only need the neighbourhood; a minified line can be megabytes)."""
    buffer = doc.buffer
    row = buffer.row_of_byte(cursor)
    start = max(buffer.line_start(row), cursor - _LINE_BYTES)
    end = min(buffer.line_end(row), cursor + _LINE_BYTES)
    data = buffer.data
    return (data[start:cursor].decode("utf-8", errors="replace"),
            data[cursor:end].decode("utf-8", errors="replace"))
