"""Generated token ids -> text deltas, cut at the first stop sequence, as vLLM streams them.

Each token's bytes go through an incremental UTF-8 decoder, so a character split
across tokens (emoji, CJK) is emitted whole, never as a replacement character. Stop
sequences follow the OpenAI API: the answer ends before the first occurrence, which
is not included. Text that could still turn out to be the start of a stop sequence
is held back until the next token decides it. Pure Python.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence


class TextAssembler:
    """Feed token ids one by one; each ``feed`` returns the text that is now final."""

    def __init__(self, token_bytes: Callable[[int], bytes], stop: Sequence[str] = ()) -> None:
        self._token_bytes = token_bytes
        self._stops = tuple(s for s in stop if s)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # decoded, not yet emitted (may start a stop sequence)
        self.text = ""  # everything emitted so far
        self.stopped = False  # a stop sequence ended the answer

    def feed(self, token_id: int) -> str:
        """The new final text after ``token_id`` ("" while held back or after a stop)."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(self._token_bytes(token_id))
        return self._release(final=False)

    def finish(self) -> str:
        """The rest, at the end of the generation (held-back text is final now)."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(b"", final=True)
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        cut = self._first_stop()
        if cut is not None:
            out, self._pending, self.stopped = self._pending[:cut], "", True
        elif final:
            out, self._pending = self._pending, ""
        else:
            keep = self._stop_prefix_len()
            out = self._pending[: len(self._pending) - keep]
            self._pending = self._pending[len(out):]
        self.text += out
        return out

    def _first_stop(self) -> int | None:
        hits = [i for i in (self._pending.find(s) for s in self._stops) if i >= 0]
        return min(hits) if hits else None

    def _stop_prefix_len(self) -> int:
        """The longest end of the pending text that a stop sequence starts with."""
        best = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if stop.startswith(self._pending[-n:]):
                    best = n
                    break
        return best
