"""The model's tool calls over the index: ``lookup_symbol(name)`` and ``read_lines(path, start, end)``.

Answers are small JSON-able dicts. Lines are 1-based and inclusive here (what a model
and a human expect); the index itself is 0-based. ``read_lines`` only reads inside
the workspace root, never ignored, secret or binary files, caps the line count and
masks secrets (``lookup_symbol``'s signatures and comments too, masked again as they
leave); any bad argument becomes an ``{"error": ...}`` answer, never an exception.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import looks_binary, split_lines
from lsp_server.index.content import read_files
from lsp_server.index.symbols import Symbol
from lsp_server.index.workspace import WorkspaceIndex

MAX_TEXT_CHARS = 16_000  # read_lines text, at most (the review loop sends at most 6,000 characters of it)
TOOL_SCHEMAS: tuple[dict[str, Any], ...] = (
    {
        "type": "function",
        "function": {
            "name": "lookup_symbol",
            "description": "Find where a function, class, method, type or constant is defined in the "
                           "workspace. Accepts `name`, `Class.method` or `module.name`.",
            "parameters": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_lines",
            "description": "Read lines `start`..`end` (1-based, inclusive) of a workspace file.",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "workspace-relative path"},
                    "start": {"type": "integer", "minimum": 1},
                    "end": {"type": "integer", "minimum": 1},
                },
                "required": ["path", "start", "end"],
            },
        },
    },
)


class IndexTools:
    """Executes the index tool calls for one workspace index."""

    def __init__(self, index: WorkspaceIndex, *, max_results: int = 8, max_lines: int = 120) -> None:
        self.index = index
        self.max_results = max_results
        self.max_lines = max_lines

    def lookup_symbol(self, name: str) -> dict[str, Any]:
        found = self.index.lookup(str(name), limit=self.max_results)
        return {"name": name, "results": [describe(s, self.index.secrets) for s in found]}

    async def read_lines(self, path: str, start: int, end: int) -> dict[str, Any]:
        try:
            first, last = int(start), int(end)
        except (TypeError, ValueError):
            return {"error": "start and end must be integers"}
        if first < 1 or last < first:
            return {"error": "need 1 <= start <= end"}
        last = min(last, first + self.max_lines - 1)
        text = await read_lines(self.index, str(path), first - 1, last - 1, max_lines=self.max_lines)
        if text is None:
            return {"error": f"cannot read {path!s}: outside the workspace, ignored, secret, binary or missing"}
        count = text.count("\n") + 1 if text else 0
        return {"path": str(path), "start": first, "end": first + count - 1, "text": text}

    async def call(self, name: str, arguments: str | dict[str, Any]) -> dict[str, Any]:
        """Dispatch one tool call (``arguments`` as the model sent them: JSON text or a dict)."""
        try:
            args = json.loads(arguments) if isinstance(arguments, str) else dict(arguments)
        except (ValueError, TypeError):
            return {"error": "arguments are not a JSON object"}
        if not isinstance(args, dict):
            return {"error": "arguments are not a JSON object"}
        try:
            if name == "lookup_symbol":
                return self.lookup_symbol(args["name"])
            if name == "read_lines":
                return await self.read_lines(args["path"], args["start"], args["end"])
        except KeyError as missing:
            return {"error": f"missing argument {missing}"}
        return {"error": f"unknown tool {name!r}"}


async def read_lines(index: WorkspaceIndex, path: str | Path, start: int, end: int, *,
                     max_lines: int = 200) -> str | None:
    """Lines ``start..end`` (0-based, inclusive, at most ``max_lines``) of a workspace
    file, secrets masked; None if the path is outside the root, ignored, secret,
    binary, too large or unreadable. Open documents answer with their editor text."""
    rel = index.files.relpath(path)
    files = index.files
    if rel is None or not files.accepts(rel, any_extension=True) or not files.inside(rel) or end < start:
        return None
    text = index.editor_text(rel)
    if text is None:
        [read] = await index.content.in_io(read_files, index.root, [rel])
        data = read.data
        if data is None or read.size > index.files.max_file_bytes or looks_binary(data):
            return None
        text = data.decode("utf-8", errors="replace")
    lines = split_lines(text)  # the editor's lines: not split at form feeds, "\x85" or "\u2028"
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the empty "line" after a final line break
    start = max(0, start)
    end = min(end, start + max_lines - 1, len(lines) - 1)
    # more never leaves (a tool result is cut to MAX_RESULT_CHARS): do not mask megabytes of minified lines
    return index.secrets.mask("\n".join(lines[start:end + 1])[:MAX_TEXT_CHARS], rel)


def describe(symbol: Symbol, secrets: SecretFilter) -> dict[str, Any]:
    """A symbol as the model sees it (1-based lines; signature and doc masked as they leave)."""
    out: dict[str, Any] = {
        "name": symbol.name, "kind": symbol.kind, "path": symbol.path,
        "lines": [symbol.start_line + 1, symbol.end_line + 1], "signature": secrets.mask(symbol.signature, symbol.path),
    }
    if symbol.container:
        out["container"] = symbol.container
    if symbol.doc:
        out["doc"] = secrets.mask_prose(symbol.doc, symbol.path)
    return out
