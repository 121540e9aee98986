"""AI action prompts as pure functions of plain values.

Layout, for vLLM's prefix cache and like the completion and review prompts: the stable
material first (system prompt, file name, imports, definitions from other files and from
this file, the enclosing scopes), then the numbered code around the target (the target's
own lines stand as one marker line there, since the request repeats them), and last the
action's rendered prompt template. Code actions continue a prefilled assistant message
(an opening fence, plus the code the answer continues, or ``Why:`` for an answer that
starts with its reason); an explanation has no prefill. Every text is secret-masked by
the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.model.prompts import fenced
from lsp_server.model.review_prompts import numbered

ACTION_PROMPT_VERSION = "actions-1"

ACTION_SYSTEM_PROMPT = (
    "You are mistral-lsp, an AI assistant inside a code editor. The user points at some code and asks for "
    "one change. Use the file, its imports and the definitions shown to match the project's names, types and "
    "style. Write complete, working code in the file's language and indentation, in one fenced code block; "
    "never leave placeholders, never repeat code outside the part you were asked to write, never add "
    "explanations after the code block. Use only APIs the code shown or the language's standard library provide."
)
EXPLAIN_SYSTEM_PROMPT = (
    "You are mistral-lsp, an AI assistant inside a code editor. The user points at some code and asks what it "
    "does. Explain it accurately and concisely in Markdown, for a developer who reads it for the first time. "
    "Use the file, its imports and the definitions shown; say so when something depends on code you cannot see."
)


@dataclass(frozen=True)
class ActionInput:
    """What an action prompt is built from; every text is already secret-masked."""

    path: str
    language: str  # fence tag ("python", "go", ...) or "" for plain text
    request: str  # the action's rendered prompt template
    before: Sequence[tuple[int, str]] = ()  # numbered lines (1-based) above the target
    after: Sequence[tuple[int, str]] = ()  # numbered lines below the target
    target: tuple[int, int] = (0, 0)  # the target's first and last line (1-based)
    imports: Sequence[str] = ()
    related: Sequence[str] = ()  # definitions from other files the code uses (with their path)
    signatures: Sequence[str] = ()  # definitions from this file the code uses
    scopes: Sequence[str] = ()  # enclosing headers (class, impl, ...)
    style: str = ""  # a sample of the file's documentation style (Document)
    prefill: str = ""  # the assistant's prefilled text ("" = none)
    explain: bool = False


def window_text(data: ActionInput) -> str:
    """The numbered code around the target, the target itself as one marker line."""
    last = max([data.target[1], *(n for n, _ in data.after)])
    width = len(str(last))
    first_row, last_row = data.target
    span = f"line {first_row}" if first_row == last_row else f"lines {first_row}-{last_row}"
    marker = f"{'':>{width}} | ... ({span}: the code below) ..."
    return "\n".join(part for part in (numbered(data.before, width), marker, numbered(data.after, width)) if part)


def build_action_prompt(data: ActionInput, system_prompt: str | None = None) -> list[dict[str, Any]]:
    """The chat messages of one action request."""
    parts = [f"File: {data.path}" + (f" ({data.language})" if data.language else "")]
    if data.imports:
        parts.append("Imports of this file:\n" + fenced(data.language, "\n".join(data.imports)))
    if data.related:
        parts.append("Definitions from other files of the project that the code uses:\n"
                     + fenced(data.language, "\n".join(data.related)))
    if data.signatures:
        parts.append("Definitions from this file that the code uses:\n"
                     + fenced(data.language, "\n".join(data.signatures)))
    if data.scopes:
        parts.append("The code is inside:\n" + fenced(data.language, "\n".join(data.scopes)))
    if data.style:
        parts.append("Documentation as this file already writes it:\n" + fenced(data.language, data.style))
    if data.before or data.after:
        parts.append("The file around the code, with line numbers at the left:\n"
                     + fenced(data.language, window_text(data)))
    parts.append(data.request)
    system = system_prompt or (EXPLAIN_SYSTEM_PROMPT if data.explain else ACTION_SYSTEM_PROMPT)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": "\n\n".join(parts)},
    ]
    if data.prefill:
        messages.append({"role": "assistant", "content": data.prefill})
    return messages
