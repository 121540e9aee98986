"""Secret values that go on below their line, and lines that lie inside something.

A line can leave a ``Carry`` for the lines below it: a secret value that goes on
(the next line's literal after ``TOKEN = (``, every line up to a closing triple quote, the
lines of a YAML block scalar, the ``value:`` after ``- name: DB_PASSWORD``, a private
key's body) or a multi-line string or block comment, inside which config syntax
counts (``password: x`` in a docstring). ``continued`` masks a line under a carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsp_server.core.secret_lexer import Profile, lex
from lsp_server.core.secret_names import is_literal, is_placeholder, is_secret_name, looks_like_code, value_span

Span = tuple[int, int]

_NAMED = re.compile(r"^\s*-?\s*(?:name|key)\s*:\s*[\"']?([A-Za-z_][\w.\-]*)[\"']?\s*$")
_NAMED_VALUE = re.compile(r"^\s*-?\s*value\s*:\s*(?P<v>\S.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Carry:
    """What goes on below this line. A secret value: ``next`` (the next line's literals),
    ``close`` (every line up to ``delim``), ``indent`` (lines indented deeper than
    ``indent``), ``named`` (a ``value:`` within ``indent`` lines) or ``pem`` (a key
    block). Or a multi-line ``string`` or ``comment`` that ends at ``delim``."""

    kind: str
    delim: str = ""
    indent: int = 0


def continued(line: str, carry: Carry, profile: Profile) -> tuple[list[Span], Carry | None, int]:
    """Mask ``line`` as the continuation of a value: (spans, carry on, how much of the line
    the continuation took: the rest, ``line[taken:]``, is scanned as a line of its own)."""
    body_start = len(line) - len(line.lstrip(" \t"))
    body_end = len(line.rstrip(" \t\r\n"))
    whole = len(line)
    if carry.kind == "close":
        close = line.find(carry.delim)
        if close < 0:
            return ([(body_start, body_end)] if body_end > body_start else []), carry, whole
        return ([(body_start, close)] if close > body_start else []), None, close + len(carry.delim)
    if carry.kind == "indent":
        if body_end == body_start:
            return [], carry, whole
        if body_start > carry.indent:
            return [(body_start, body_end)], carry, whole
        return [], None, 0
    if carry.kind == "named":
        match = _NAMED_VALUE.match(line)
        if match is not None:
            value = match.group("v")
            if not (is_literal(value) or is_placeholder(value) or looks_like_code(value, dotted_is_code=False)):
                return [match.span("v")], None, 0
            return [], None, 0
        return [], (Carry("named", indent=carry.indent - 1) if carry.indent > 1 else None), 0
    # "next": the value is on this line
    lexed = lex(line, profile)
    spans = [span for literal in lexed.literals
             if (span := value_span(line, literal.content_start, literal.content_end, "")) is not None]
    if not lexed.literals and not profile.code and body_end > body_start:
        value = line[body_start:body_end]  # a config value on the line below its key
        if not (":" in value or "=" in value or is_literal(value) or is_placeholder(value)
                or looks_like_code(value, dotted_is_code=False)):
            spans.append((body_start, body_end))
    last = lexed.literals[-1] if lexed.literals else None
    if last is not None and not last.closed and len(last.delim) > 1:
        return spans, Carry("close", delim=last.delim), whole
    return spans, None, 0


def open_block(line: str, profile: Profile) -> Carry | None:
    """A multi-line string or block comment that ``line`` opens and leaves open (code
    files): the lines below are read as its inside (``string``: config syntax counts)."""
    if not profile.code or not ('"""' in line or "'''" in line or "`" in line or "/*" in line or '#"' in line
                                or '"(' in line):
        return None
    lexed = lex(line, profile)
    last = lexed.literals[-1] if lexed.literals else None
    if last is not None and not last.closed and (len(last.delim) > 1 or last.delim == "`"):
        return Carry("string", delim=last.delim)
    if line.startswith("/*", lexed.comment) and "*/" not in line[lexed.comment + 2:]:
        return Carry("comment", delim="*/")
    return None


def named_carry(line: str, profile: Profile) -> Carry | None:
    """``- name: DB_PASSWORD`` (Kubernetes, compose, CI env lists): the value follows."""
    if profile.code or "name" not in line and "key" not in line:
        return None
    match = _NAMED.match(line)
    if match is not None and is_secret_name(match.group(1)):
        return Carry("named", indent=2)
    return None
