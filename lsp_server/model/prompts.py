"""Completion prompts as pure functions of plain values.

Layout, for vLLM's prefix cache: the stable material comes first (system prompt,
file name, imports, definitions from other files, signatures), then the code before the cursor (which only
changes at its end while the user types), then the cursor marker and the code
after it, and last the short per-request instruction. The assistant message is
prefilled with an opening fence and the lines leading up to the cursor, so the
chat model continues the code instead of talking about it.

No stop strings are sent: the model may answer with a fence of its own
("```python" then code), and a "```" (or, for one line, "\n") stop string would cut
that answer down to nothing before the cleaner sees it. The streaming cleaner
(``model/cleaning.py``) stops the stream at the same places instead (the closing
fence, the end of the line, the end of the block), and closing the stream makes
vLLM abort the generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.core.text import as_lf, split_lines

PROMPT_VERSION = "completion-1"
CURSOR = "<CURSOR>"

DEFAULT_SYSTEM_PROMPT = (
    "You are mistral-lsp, a code completion engine inside a code editor. "
    "You are shown a file with the marker <CURSOR> where the user's cursor is. "
    "Write only the code that belongs at the cursor: continue exactly from the last "
    "character before <CURSOR>, match the file's style and indentation, and do not "
    "repeat code that already follows the cursor. Never explain, never apologise, "
    "never add prose. Close the code block with ``` when the completion is done."
)


@dataclass(frozen=True)
class CompletionInput:
    """What the prompt is built from; every text is already secret-masked."""

    path: str
    language: str  # fence tag ("python", "go", ...) or "" for plain text
    before: str  # code window before the cursor (ends at the cursor)
    after: str  # code window after the cursor
    multiline: bool
    imports: Sequence[str] = ()  # import lines not already inside `before`
    scopes: Sequence[str] = ()  # enclosing headers not already inside `before`
    signatures: Sequence[str] = ()  # same-file definitions used near the cursor
    related: Sequence[str] = ()  # definitions from other files used near the cursor (with their path)
    system_prompt: str | None = None


@dataclass(frozen=True)
class ChatPrompt:
    """A chat request's messages plus what the assistant was prefilled with."""

    messages: list[dict[str, Any]]
    prefill: str = ""  # the text the model continues after; "" = no prefill
    prefill_code: str = ""  # the code part of the prefill (without the fence line)


def fenced(language: str, code: str) -> str:
    """``code`` in a Markdown fence, each line break written as ``\\n`` (a file's ``\\r\\n`` or
    lone ``\\r`` too: the model sees the lines the editor shows)."""
    return f"```{language}\n{as_lf(code)}\n```"


def _prefill_code(before: str) -> str:
    """The current line up to the cursor, plus earlier lines until one has content."""
    lines = split_lines(before)
    taken: list[str] = []
    for line in reversed(lines[-4:]):
        taken.append(line)
        if line.strip():
            break
    return "\n".join(reversed(taken))


def build_completion_prompt(data: CompletionInput) -> ChatPrompt:
    """The chat messages for one completion request."""
    parts: list[str] = [f"File: {data.path}" + (f" ({data.language})" if data.language else "")]
    if data.imports:
        parts.append("Imports of this file:\n" + fenced(data.language, "\n".join(data.imports)))
    if data.related:
        parts.append(
            "Definitions from other files of the project used near the cursor:\n"
            + fenced(data.language, "\n".join(data.related))
        )
    if data.signatures:
        parts.append(
            "Definitions from this file used near the cursor:\n"
            + fenced(data.language, "\n".join(data.signatures))
        )
    if data.scopes:
        parts.append("The cursor is inside:\n" + fenced(data.language, "\n".join(data.scopes)))
    parts.append("The code, with the cursor marked " + CURSOR + ":\n" + fenced(
        data.language, f"{data.before}{CURSOR}{data.after}"
    ))
    if data.multiline:
        parts.append(
            "Complete the code at " + CURSOR + ": finish the current statement or block "
            "(several lines if needed), then stop."
        )
    else:
        parts.append(
            "Complete the code at " + CURSOR + " on the current line only: "
            "write the rest of this line and nothing after it."
        )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": data.system_prompt or DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]
    code = _prefill_code(data.before)
    if not code.strip():
        # Start of a file: nothing to continue from; the model opens its own fence.
        return ChatPrompt(messages=messages)
    prefill = f"```{data.language}\n{code}"
    messages.append({"role": "assistant", "content": prefill})
    return ChatPrompt(messages=messages, prefill=prefill, prefill_code=code)
