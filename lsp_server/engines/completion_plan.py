"""From an open document and a cursor to a ready model request (synchronous, no I/O).

Everything a completion needs from the document is taken here, before any
``await``: the token-budgeted code window, the syntax context, the chat prompt, and
what the cleaner needs to know about the text around the cursor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.documents import OpenDocument
from lsp_server.model.cleaning import CleanContext
from lsp_server.model.linemachine import PREFIX_SCAN_CHARS
from lsp_server.model.prompts import ChatPrompt, CompletionInput, build_completion_prompt
from lsp_server.syntax.context import RelatedLookup, cursor_context, foreign_names, window
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.nodes import end_of_text_at

# Bytes of code per token used to turn a token budget into a first window guess.
_BYTES_PER_TOKEN_GUESS = 3.4
_SUFFIX_SHARE = 0.1
_FOLLOWING_LINES = 20
_RELATED_SHARE = 0.2  # at most this share of the budget for definitions from other files
_PRECEDING_LINES = 40  # lines above the cursor an answer may restate
_INDENT_SAMPLE = 100  # lines each side of the cursor that show the file's indentation (>= the two above)
_STYLE_VOTES = 3  # indented lines nearest the cursor that decide between tabs and spaces
_TAB_LANGUAGES = frozenset({"go"})  # indented with tabs when the file shows nothing else


@dataclass(frozen=True)
class CompletionPlan:
    """One completion request, fixed before the model is asked."""

    uri: str
    version: int
    cursor_byte: int
    row: int
    line_prefix: str
    line_suffix: str
    multiline: bool
    prompt: ChatPrompt
    clean: CleanContext
    prompt_tokens: int
    prompt_key: str


def detect_indent_unit(lines: list[str], cursor: int | None = None, default: str = "    ") -> str:
    """The indentation unit (a tab, or a run of spaces) of the code around ``lines[cursor]``.

    Tabs or spaces: the cursor line's own leading whitespace when it has some (even
    on a blank line: the editor put it there), else a vote of the nearest
    ``_STYLE_VOTES`` indented lines, so a file mixing both follows the block being
    written. The width of a space unit: the most common step between consecutive
    lines. ``default`` when nothing is indented (Go is tab-indented by gofmt).
    """
    style = _indent_style(lines, cursor)
    if style is None or style == "\t":
        return style or default
    widths: dict[int, int] = {}
    previous = 0
    for line in lines:
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        if not stripped or lead.startswith("\t"):
            continue
        step = abs(len(lead) - previous)
        if step in (2, 3, 4, 8):
            widths[step] = widths.get(step, 0) + 1
        previous = len(lead)
    if not widths:
        return "    "
    return " " * max(widths, key=lambda w: (widths[w], w == 4))


def _indent_style(lines: list[str], cursor: int | None) -> str | None:
    """A tab or a space: what indents the lines nearest ``cursor`` (all lines when it is None).

    None when no line is indented."""
    if cursor is not None and 0 <= cursor < len(lines):
        own = lines[cursor][: len(lines[cursor]) - len(lines[cursor].lstrip(" \t"))]
        if own.startswith("\t") or len(own) > 1:
            return own[0]
        order = sorted(range(len(lines)), key=lambda i: abs(i - cursor))
    else:
        order = list(range(len(lines)))
    tabs = spaces = 0
    for i in order:
        line = lines[i]
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        if not stripped or not (lead.startswith("\t") or len(lead) > 1):
            continue  # blank, not indented, or one space (" * " of a block comment)
        if lead.startswith("\t"):
            tabs += 1
        else:
            spaces += 1
        if cursor is not None and tabs + spaces >= _STYLE_VOTES:
            break
    if not tabs and not spaces:
        return None
    return "\t" if tabs > spaces else " "


def plan_completion(
    doc: OpenDocument,
    cursor_byte: int,
    *,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    secrets: SecretFilter,
    system_prompt: str | None,
    related: RelatedLookup | None = None,
) -> CompletionPlan:
    """Build the request for a completion at ``cursor_byte`` within ``budget_tokens``.

    ``related(path, names, comment_prefix)`` gives definitions from other files for names
    used near the cursor; they get at most ``_RELATED_SHARE`` of the budget."""
    syntax = doc.syntax
    syntax.focus(cursor_byte)  # (a tree over other text of a large file is dropped: plain text this time)
    buf = syntax.buffer
    row, _ = buf.point_of_byte(cursor_byte)
    line_prefix = buf.slice(buf.line_start(row), cursor_byte)
    line_suffix = buf.slice(cursor_byte, buf.line_end(row))
    context = cursor_context(syntax, cursor_byte)
    scan_from = _scan_start(syntax, line_prefix, cursor_byte)
    multiline = context.multiline and not context.in_comment_or_string

    related_defs = _related(doc, cursor_byte, related, int(budget_tokens * _RELATED_SHARE), count_tokens)
    extras = [*context.imports, *context.scopes, *context.local_signatures, *related_defs]
    fixed_tokens = count_tokens(system_prompt or "") + count_tokens("\n".join(extras)) + 160
    code_tokens = max(budget_tokens - fixed_tokens, 128)
    code_bytes = int(code_tokens * _BYTES_PER_TOKEN_GUESS)
    for _attempt in range(4):
        suffix_bytes = int(code_bytes * _SUFFIX_SHARE)
        start, end = window(syntax, cursor_byte, code_bytes - suffix_bytes, suffix_bytes)
        before = buf.slice(start, cursor_byte)
        after = buf.slice(cursor_byte, end)
        used = count_tokens(before) + count_tokens(after)
        if used <= code_tokens:
            break
        code_bytes = int(code_bytes * code_tokens / used * 0.95)

    language = doc.spec.name if doc.spec else ""
    path = doc.path
    masked_before, masked_after = secrets.mask_split(before, after, path)
    data = CompletionInput(
        path=path.rsplit("/", 1)[-1] if "/" in path else path,
        language=language,
        before=masked_before,
        after=masked_after,
        multiline=multiline,
        imports=[secrets.mask(i, path) for i in context.imports if i not in before],
        scopes=[secrets.mask(s, path) for s in context.scopes if s not in before],
        signatures=[secrets.mask(s, path) for s in context.local_signatures if s not in before and s not in after],
        related=[secrets.mask(r, path) for r in related_defs],
        system_prompt=system_prompt,
    )
    prompt = build_completion_prompt(data)
    first = max(0, row - _INDENT_SAMPLE)  # the lines around the cursor, read once
    sample = [buf.line_text(r) for r in range(first, min(buf.line_count, row + 1 + _INDENT_SAMPLE))]
    at = row - first
    following = tuple(sample[at + 1 : at + 1 + _FOLLOWING_LINES])
    preceding = tuple(sample[max(0, at - _PRECEDING_LINES) : at])
    clean = CleanContext(
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        following_lines=following,
        multiline=multiline,
        indent_unit=detect_indent_unit(sample, at, "\t" if language in _TAB_LANGUAGES else "    "),
        brace_language=bool(doc.spec and doc.spec.brace_language),
        eol=buf.eol(),
        preceding_lines=preceding,
        scan_from=scan_from,
    )
    key = hashlib.sha1(
        json.dumps([prompt.messages, multiline], ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    return CompletionPlan(
        uri=doc.uri,
        version=doc.version,
        cursor_byte=cursor_byte,
        row=row,
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        multiline=multiline,
        prompt=prompt,
        clean=clean,
        prompt_tokens=fixed_tokens + used,
        prompt_key=key,
    )


def _scan_start(syntax: SyntaxDocument, line_prefix: str, cursor_byte: int) -> int:
    """Where the cleaner's bracket scan of a long cursor line may start (characters into
    ``line_prefix``): it reads the last ``PREFIX_SCAN_CHARS`` only, and where that cut
    falls inside a string or comment (a template literal in minified code) the scan
    starts where the literal ends, so it does not read the code after it as text."""
    cut = len(line_prefix) - PREFIX_SCAN_CHARS
    if cut <= 0:
        return 0
    tree = syntax.tree
    if tree is None:
        return cut
    cut_byte = cursor_byte - len(line_prefix[cut:].encode("utf-8"))
    moved = end_of_text_at(tree.root_node, cut_byte, cursor_byte)
    if moved <= cut_byte:
        return cut
    return cut + len(syntax.buffer.data[cut_byte:moved].decode("utf-8", errors="replace"))


def _related(doc: OpenDocument, cursor_byte: int, lookup: RelatedLookup | None, budget: int,
             count_tokens: Callable[[str], int]) -> list[str]:
    """Definitions from other files for the names near the cursor, within ``budget`` tokens."""
    if lookup is None or doc.spec is None:
        return []
    names = foreign_names(doc.syntax, cursor_byte)
    if not names:
        return []
    return within_budget(lookup(doc.path, names, doc.spec.comment_prefix), budget, count_tokens)


def within_budget(blocks: list[str], budget: int, count_tokens: Callable[[str], int]) -> list[str]:
    """The blocks, in order, that fit in ``budget`` tokens together (a block too big is skipped)."""
    kept: list[str] = []
    used = 0
    for block in blocks:
        cost = count_tokens(block)
        if used + cost > budget:
            continue
        kept.append(block)
        used += cost
    return kept
