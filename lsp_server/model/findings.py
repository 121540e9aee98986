"""The review answer's JSON schema, and parsing the model's answer into reported findings.

The schema is sent as vLLM structured output (``response_format`` of type
``json_schema``, strict), so a well-behaved server always answers valid JSON. The
parser is tolerant anyway, because a server without structured outputs, or an
answer cut off at ``max_tokens``, must give fewer findings, never an error:

1. the whole text as JSON; else
2. the first JSON value in it (inside a Markdown fence or before trailing prose); else
3. the complete finding objects of a truncated ``"findings": [ ...`` array.

Each item is then checked on its own: a wrong type, a line below 1, an empty quote or
message drops that item (with a reason); a bad ``fix`` drops just the fix. Messages
and rules are cleaned and capped the way every ``Finding`` is (``core.findings.clean_text``:
no control characters, line breaks kept, at most ``MAX_MESSAGE_CHARS``). An answer
with no findings JSON at all has ``how == "none"``: the caller treats that as a
failed review, never as "no findings". Pure stdlib; positions stay as the model
reported them (1-based) and are anchored to the real text by the review engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lsp_server.core.findings import DEFAULT_RULE, MAX_MESSAGE_CHARS, MAX_RULE_CHARS, clean_text

__all__ = ["DEFAULT_RULE", "FINDINGS_SCHEMA", "MAX_MESSAGE_CHARS", "MAX_RULE_CHARS", "ParsedAnswer",
           "ReportedFinding", "ReportedFix", "parse_findings", "response_format"]

SEVERITIES = ("error", "warning", "info", "hint")
MAX_ITEMS = 50
MAX_QUOTE_CHARS = 400
MAX_FIX_LINES = 200
MAX_REPLACEMENT_CHARS = 20_000

_SEVERITY_WORDS = {
    "critical": "error", "fatal": "error", "high": "error", "severe": "error", "bug": "error",
    "major": "warning", "medium": "warning", "warn": "warning", "moderate": "warning",
    "low": "info", "minor": "info", "note": "info", "information": "info", "informational": "info",
    "suggestion": "hint", "style": "hint", "nit": "hint", "nitpick": "hint", "trivial": "hint",
}
_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?")
_NOT_KEBAB = re.compile(r"[^a-z0-9]+")
_FINDINGS_ARRAY = re.compile(r'"findings"\s*:\s*\[')
_DECODER = json.JSONDecoder()

_FIX_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "start_line": {"type": "integer"},
        "end_line": {"type": "integer"},
        "replacement": {"type": "string"},
    },
    "required": ["start_line", "end_line", "replacement"],
    "additionalProperties": False,
}

FINDINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": "integer"},
                    "quote": {"type": "string"},
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "rule": {"type": "string"},
                    "message": {"type": "string"},
                    "fix": {"anyOf": [_FIX_SCHEMA, {"type": "null"}]},
                },
                "required": ["line", "quote", "severity", "rule", "message", "fix"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["findings"],
    "additionalProperties": False,
}


def response_format(name: str = "review_findings") -> dict[str, Any]:
    """The ``response_format`` body field: strict JSON-schema structured output."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": FINDINGS_SCHEMA, "strict": True}}


@dataclass(frozen=True)
class ReportedFix:
    """Replace lines ``start_line..end_line`` (1-based, inclusive, as reported)."""

    start_line: int
    end_line: int
    replacement: str


@dataclass(frozen=True)
class ReportedFinding:
    """One finding as the model reported it (validated types, unanchored)."""

    line: int
    quote: str
    severity: str
    rule: str
    message: str
    fix: ReportedFix | None = None


@dataclass
class ParsedAnswer:
    """The usable findings of one answer and why anything was dropped."""

    findings: list[ReportedFinding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dropped: int = 0  # items dropped whole
    dropped_fixes: int = 0  # items kept without their fix
    salvaged: bool = False  # the answer was not one clean JSON document
    how: str = "none"  # "json" (the whole answer), "embedded", "truncated" or "none"

    @property
    def found_json(self) -> bool:
        """A complete findings JSON value was in the answer (maybe with prose around it)."""
        return self.how in ("json", "embedded")

    @property
    def failure(self) -> str:
        """Why the answer cannot stand for the unit's review ("" when it can).

        No findings JSON at all, or a findings array cut off before its first item
        was complete: either way the model's verdict is unknown, which is not the
        same as "no findings".
        """
        if self.how == "none":
            return "the model's answer held no findings JSON"
        if self.how == "truncated" and not self.findings and not self.dropped:
            return "the model's answer was cut off before its first finding (raise review.maxTokens)"
        return ""


def parse_findings(text: str) -> ParsedAnswer:
    """Parse a review answer; never raises."""
    answer = ParsedAnswer()
    items, how = _items(text or "")
    answer.salvaged = how != "json"
    answer.how = how if items is not None else "none"  # e.g. ``{}`` is JSON, but holds no findings
    if items is None:
        answer.problems.append("no JSON findings in the answer")
        return answer
    if len(items) > MAX_ITEMS:
        answer.problems.append(f"{len(items) - MAX_ITEMS} findings beyond {MAX_ITEMS} dropped")
        answer.dropped += len(items) - MAX_ITEMS
        items = items[:MAX_ITEMS]
    for index, item in enumerate(items):
        finding, problem = _finding(item)
        if finding is not None:
            answer.findings.append(finding)
            answer.dropped_fixes += bool(problem)
        else:
            answer.dropped += 1
        if problem:
            answer.problems.append(f"item {index}: {problem}")
    return answer


# -- finding the JSON -------------------------------------------------------------------


def _items(text: str) -> tuple[list[Any] | None, str]:
    stripped = text.strip()
    try:
        return _as_items(json.loads(stripped)), "json"
    except ValueError:
        pass
    body = _unfenced(stripped)
    for start in _starts(body):
        try:
            value, _ = _DECODER.raw_decode(body, start)
        except ValueError:
            continue
        items = _as_items(value)
        if items is not None:
            return items, "embedded"
    salvaged = _salvage(body)
    return (salvaged, "truncated") if salvaged is not None else (None, "none")


def _as_items(value: Any) -> list[Any] | None:
    if isinstance(value, dict):
        inner = value.get("findings")
        return inner if isinstance(inner, list) else None
    if isinstance(value, list) and (not value or any(isinstance(v, dict) for v in value)):
        return value
    return None


def _unfenced(text: str) -> str:
    """The inside of the first Markdown code fence (to its end, or to the text's end)."""
    match = _FENCE.search(text)
    if match is None:
        return text
    end = text.find("```", match.end())
    return text[match.end() : end if end >= 0 else len(text)]


def _starts(text: str, limit: int = 50) -> list[int]:
    """Where a JSON object or array may start: the first ``limit`` ``{`` and ``[``, in order."""
    found: list[int] = []
    for index, char in enumerate(text):
        if char in "{[":
            found.append(index)
            if len(found) >= limit:
                break
    return found


def _salvage(text: str) -> list[Any] | None:
    """The complete objects at the start of a cut-off findings array."""
    match = _FINDINGS_ARRAY.search(text)
    key = match is not None
    bracket = match.end() - 1 if match is not None else text.lstrip().find("[")
    if bracket < 0 or (not key and text.lstrip()[:1] != "["):
        return None
    if not key:
        bracket += len(text) - len(text.lstrip())
    items: list[Any] = []
    position = bracket + 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] != "{":
            break
        try:
            value, position = _DECODER.raw_decode(text, position)
        except ValueError:
            break
        items.append(value)
    return items if (items or key) else None


# -- checking one item ----------------------------------------------------------------------


def _finding(item: Any) -> tuple[ReportedFinding | None, str]:
    if not isinstance(item, dict):
        return None, "not an object"
    line = _int(item.get("line"))
    if line is None or line < 1:
        return None, f"bad line {item.get('line')!r}"
    quote = item.get("quote")
    if not isinstance(quote, str) or not quote.strip():
        return None, "missing quote"
    if len(quote) > MAX_QUOTE_CHARS:
        return None, "quote too long"
    message = item.get("message")
    if not isinstance(message, str) or not message.strip():
        return None, "missing message"
    message = clean_text(message, MAX_MESSAGE_CHARS, multiline=True)
    if not message:
        return None, "missing message"
    fix, fix_problem = _fix(item.get("fix"))
    finding = ReportedFinding(
        line=line,
        quote=quote,
        severity=_severity(item.get("severity")),
        rule=_rule(item.get("rule")),
        message=message,
        fix=fix,
    )
    return finding, fix_problem


def _fix(value: Any) -> tuple[ReportedFix | None, str]:
    if value is None:
        return None, ""
    if not isinstance(value, dict):
        return None, "fix is not an object; fix dropped"
    start = _int(value.get("start_line", value.get("startLine")))
    end = _int(value.get("end_line", value.get("endLine")))
    replacement = value.get("replacement")
    if start is None or end is None or not isinstance(replacement, str):
        return None, "fix has wrong types; fix dropped"
    if start < 1 or end < start or end - start >= MAX_FIX_LINES:
        return None, f"fix lines {start}..{end} are not a valid range; fix dropped"
    if len(replacement) > MAX_REPLACEMENT_CHARS:
        return None, "fix replacement too long; fix dropped"
    return ReportedFix(start, end, replacement.replace("\r\n", "\n").removesuffix("\n")), ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _severity(value: Any) -> str:
    if not isinstance(value, str):
        return "warning"
    word = value.strip().lower()
    if word in SEVERITIES:
        return word
    return _SEVERITY_WORDS.get(word, "warning")


def _rule(value: Any) -> str:
    if not isinstance(value, str):
        return DEFAULT_RULE
    rule = _NOT_KEBAB.sub("-", value.strip().lower()).strip("-")
    return rule[:MAX_RULE_CHARS].rstrip("-") or DEFAULT_RULE
