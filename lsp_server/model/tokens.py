"""Token counting with mistral-common's Tekken tokenizer, loaded lazily off the request path.

Until the tokenizer has loaded (2-4 s, in a background thread), counts are a
conservative estimate from the text's length, so no request ever waits for it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from lsp_server.core.heap import freeze_startup_objects

log = logging.getLogger(__name__)

# Tekken averages about 4 characters a token on code; 3.2 errs on the side of fewer
# characters per token so estimated prompts stay inside the budget.
_CHARS_PER_TOKEN_ESTIMATE = 3.2


def estimate_tokens(text: str) -> int:
    return int(len(text) / _CHARS_PER_TOKEN_ESTIMATE) + 1


class TokenCounter:
    """Counts tokens exactly once loaded, estimates before; thread-safe start."""

    def __init__(self) -> None:
        self._raw: Any = None
        self._lock = threading.Lock()
        self._started = False
        self._failed: str | None = None
        self._chunk_counts: dict[str, int] = {}

    @property
    def exact(self) -> bool:
        return self._raw is not None

    @property
    def failure(self) -> str | None:
        return self._failed

    def start_loading(self) -> None:
        """Load the tokenizer in a daemon thread (idempotent)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self.load, name="tokenizer-load", daemon=True).start()

    def load(self) -> None:
        """Load synchronously (the background thread's body; tests call it directly)."""
        try:
            import mistral_common
            from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

            data = Path(mistral_common.__file__).parent / "data"
            files = sorted(data.glob("tekken_*.json"))
            if not files:
                raise FileNotFoundError(f"no tekken tokenizer in {data}")
            tokenizer = MistralTokenizer.from_file(str(files[-1]))
            # start-up is over (core/heap.py); before the counts turn exact, so the one full
            # collection it takes comes before the requests that wait for exact counts
            freeze_startup_objects()
            self._raw = tokenizer.instruct_tokenizer.tokenizer
            log.info("tokenizer loaded (%s)", files[-1].name)
        except Exception as exc:  # noqa: BLE001 - estimates keep working
            self._failed = f"{type(exc).__name__}: {exc}"
            log.warning("tokenizer unavailable, token counts are estimates: %s", self._failed)

    def count(self, text: str) -> int:
        raw = self._raw
        if raw is None:
            return estimate_tokens(text)
        return len(raw.encode(text, bos=False, eos=False))

    def count_cached(self, text: str) -> int:
        """``count`` for large texts that change a little between calls.

        The text is cut into content-defined chunks of lines (a chunk ends after a
        line whose hash says so, or at about 2 KB), and each chunk's count is cached,
        so after a one-character edit only the chunk around it is encoded again.
        The sum can differ from an exact count by a token or two per chunk boundary.
        """
        if self._raw is None:
            return estimate_tokens(text)
        total = 0
        cache = self._chunk_counts
        for chunk in _chunks(text):
            cached = cache.get(chunk)
            if cached is None:
                cached = self.count(chunk)
                if len(cache) > 4096:
                    cache.clear()
                cache[chunk] = cached
            total += cached
        return total


def _chunks(text: str, target: int = 2048) -> list[str]:
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    current: list[str] = []
    size = 0
    for line in lines:
        current.append(line)
        size += len(line)
        if size >= target or hash(line) % 16 == 0:
            out.append("".join(current))
            current, size = [], 0
    if current:
        out.append("".join(current))
    return out
