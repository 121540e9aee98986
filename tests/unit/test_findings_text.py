"""Every Finding cleans the model's texts when it is made (issue 12 items 14 and 15).

Messages keep their line breaks (GitHub annotations carry them as %0A); rules and unit
labels are one line; control characters, lone surrogates and bidi overrides go; lengths are
capped. The fast path (a text that is already clean is returned as it is) must give exactly
what the full cleaning gives, which a seeded random comparison checks.
"""

from __future__ import annotations

import random

from lsp_server.core.findings import (
    MAX_MESSAGE_CHARS,
    MAX_RULE_CHARS,
    Finding,
    Severity,
    Span,
    clean_text,
)

ALPHABET = list("ab \n\t\r\x00\x1b\x7f\xa0\u202e\u2066\u2028\x85\x0b\x0c\u200d\u3000\u200b🙂é世") + ["\ud800"]


def _reference(text: str, limit: int, multiline: bool) -> str:
    """The cleaning spelled out character by character (no fast path, no regular expressions)."""
    import unicodedata

    bidi = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    text = text.replace("\r\n", "\n")
    text = "".join("\n" if c in "\r\x0b\x0c\x85\u2028\u2029" else c for c in text)
    text = "".join(c for c in text if c in "\n\t" or (c not in bidi and unicodedata.category(c) not in ("Cc", "Cs")))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = ("\n" if multiline else " ").join(line for line in lines if line)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def test_clean_text_matches_the_reference_and_is_idempotent() -> None:
    rng = random.Random(17)
    for _ in range(50_000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
        for multiline in (True, False):
            limit = rng.choice([4, 9, 600])
            cleaned = clean_text(text, limit, multiline=multiline)
            assert cleaned == _reference(text, limit, multiline), (text, limit, multiline)
            assert clean_text(cleaned, limit, multiline=multiline) == cleaned


def test_a_finding_cleans_what_it_shows_and_keeps_the_code_it_quotes() -> None:
    quote = "x\t= 1  # \x1b keep"
    finding = Finding("a.py", Span(0, 0, 0, 5), Severity.ERROR, "off\nby\x00one" + "-x" * 100,
                      "first\r\n\r\n  second\u202e line\x07\n" + "y" * 2000, quote, unit="function\nf\x00")
    assert finding.message.startswith("first\nsecond line\nyyy") and len(finding.message) == MAX_MESSAGE_CHARS
    assert finding.message.endswith("…")
    assert "\n" not in finding.rule and "\x00" not in finding.rule and len(finding.rule) <= MAX_RULE_CHARS
    assert finding.unit == "function f"
    assert finding.quote == quote  # the exact text under the span: never rewritten
    assert finding.shifted(3).message == finding.message and finding.without_fix().rule == finding.rule
    empty = Finding("a.py", Span(0, 0, 0, 1), Severity.HINT, "\x00", "m", "q")
    assert empty.rule == "ai-review"
