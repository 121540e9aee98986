"""Answers completion requests without the model when an earlier answer still fits.

Two cases: the same request again (same line text around the cursor and the same
prompt), and the user typing into the last suggestion (typed-ahead): when the
characters typed since are the start of the suggestion, the rest of it is still the
answer. Entries are per document and bounded in number.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedCompletion:
    """A suggestion made at (row, line_prefix | line_suffix)."""

    row: int
    line_prefix: str
    line_suffix: str
    text: str


class CompletionCache:
    """Per-document suggestions plus an LRU of prompts already answered."""

    def __init__(self, max_prompts: int = 256) -> None:
        self._last: dict[str, CachedCompletion] = {}
        self._prompts: OrderedDict[str, str] = OrderedDict()
        self._max_prompts = max_prompts

    def remember(self, uri: str, entry: CachedCompletion, prompt_key: str | None) -> None:
        if entry.text:
            self._last[uri] = entry
        if prompt_key is not None:
            self._prompts[prompt_key] = entry.text
            self._prompts.move_to_end(prompt_key)
            while len(self._prompts) > self._max_prompts:
                self._prompts.popitem(last=False)

    def typed_ahead(self, uri: str, row: int, line_prefix: str, line_suffix: str) -> str | None:
        """The rest of the last suggestion if the user has typed its beginning."""
        last = self._last.get(uri)
        if last is None or last.row != row or last.line_suffix != line_suffix:
            return None
        if not line_prefix.startswith(last.line_prefix):
            return None
        typed = line_prefix[len(last.line_prefix) :]
        if not last.text.startswith(typed):
            return None
        rest = last.text[len(typed) :]
        return rest or None

    def prompt(self, key: str) -> str | None:
        text = self._prompts.get(key)
        if text is not None:
            self._prompts.move_to_end(key)
        return text

    def forget(self, uri: str) -> None:
        self._last.pop(uri, None)

    def clear(self) -> None:
        self._last.clear()
        self._prompts.clear()
