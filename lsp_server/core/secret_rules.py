"""Our own secret rules, line by line: what detect-secrets does not cover.

``keyword_spans`` finds ``name <sep> value`` wherever ``name`` names a secret (see
``secret_names``), in every form the supported languages and config formats write:
assignments with or without a type (``api_token: str = ...``, ``var token string =``,
``const API_KEY: &str =``, ``char password[] =``), constants, default arguments,
keyword arguments, map and object literals (``"Authorization": ...``, ``'pw' => ...``),
subscripts (``os.environ["API_KEY"] = ...``), header and env pairs
(``.header("X-Api-Key", ...)``, ``setenv("TOKEN", ...)``), setters and C++ initialisers
(``setPassword(...)``, ``secret("...")``), comparisons, ``#define``, and
``KEY=value`` / ``key: value`` inside comments, inside strings (connection strings,
query strings, curl headers) and in config syntax (YAML, TOML, INI, .env,
properties, JSON). Quoted values are masked wherever they are; unquoted ones only
where they are literals (config syntax, comments, inside strings), not in code,
where they are expressions. A value that continues on the next lines (a triple
quoted string, a YAML block scalar, ``KEY = \\``) is reported as a ``Carry``.

``pattern_spans`` adds token formats the library lacks, credentials in URLs,
``Bearer``/``Basic`` credentials, XML elements and lines that are nothing but a
long base64 run (the body of a key block whose header is out of view).

Spans are ``(start, end)`` indices into the line: the text to replace, quotes kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from .secret_lexer import Lexed, Literal, Profile, comment_marker_at, lex, literal_at
from .secret_names import (
    is_literal,
    is_placeholder,
    is_secret_name,
    looks_like_code,
    strip_scheme,
    words_of,
)

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Carry:
    """What goes on below this line. A secret value: ``next`` (the next line's literals),
    ``close`` (every line up to ``delim``), ``indent`` (lines indented deeper than
    ``indent``), ``named`` (a ``value:`` within ``indent`` lines) or ``pem`` (a key
    block). Or a multi-line ``string`` or ``comment`` that ends at ``delim``."""

    kind: str
    delim: str = ""
    indent: int = 0


GATE = re.compile(
    r"(?i)pass|pwd|secret|token|auth|cred|contrase|cookie|dsn|bearer|jwt|hmac|(?:api|access|private|priv|sign"
    r"|signing|client|master|encryption|enc|account|service|session|db|database|app|consumer|shared|license"
    r"|storage|subscription|admin|root|deploy|ssh|gpg|pgp|aes|webhook|decryption|crypt|cipher|partner|merchant)"
    r"[\W_]?key"
)
# The same words, lower-case only, for a quick look at a lower-cased line.
_LOWER_GATE = re.compile(GATE.pattern.removeprefix("(?i)").replace("[\\W_]", "[^a-z0-9]"))
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.$@")
_AFTER_KEY = re.compile(
    r"""(?P<close>[?!]?(?:\\?["'`])?\]?(?:\[\d*\])?)
        (?P<type>(?:[ \t]*:[ \t]*|[ \t]+)(?![=:])[\w.\[\]<>*&,' ]{1,60}?(?=[ \t]*(?:=(?![=>~])|:=)))?
        [ \t]*
        (?P<sep>:=|=>|===|!==|==|!=|\|\||\?\?|=(?![=~])|:(?!:)|,|\(|\{(?=\s*[@$]?[A-Za-z0-9]{0,3}["'`])
           |[ \t](?=[ \t]*[@$]?[A-Za-z]{0,3}["'`]))
        [ \t]*""",
    re.X,
)
_COMPARED = re.compile(r"""(?P<q>["'`])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)[ \t]*"""
                       r"(?:===?|!==?|\.(?:equals|equalsIgnoreCase|Equals|compare|eq)\()[ \t]*[\w.$@]*$")
_FLAG_SEP = re.compile(r"=|[ \t]+(?=[^\s-])")
_LOOKUP_VERBS = frozenset({
    "get", "getenv", "fetch", "load", "read", "lookup", "find", "require", "query", "getattr", "environ",
    "env", "config", "setting", "settings", "param", "params", "option", "options", "header", "headers",
    "cookie", "cookies", "has", "is", "delete", "remove", "del", "unset", "pop", "check", "validate",
    "print", "log", "hash", "encrypt", "decrypt", "mask", "redact", "contains", "includes", "must",
})
# Calls that only wrap or convert their argument: ``String::from("...")``, ``SecretStr("...")``.
_WRAPPERS = frozenset({
    "from", "new", "str", "string", "bytes", "bytearray", "b64decode", "decode", "unhexlify", "fromhex",
    "secret", "secretstr", "secretstring", "secretbytes", "some", "ok", "sensitive", "buffer", "utf8", "cstr",
    "cstring", "of", "valueof", "to", "into", "owned", "literal", "const", "static", "protect", "password",
})
_CREDENTIAL_LIKE = re.compile(r"^(?=\S{6,}$)(?=.*(?:\d|[^\w\s]|[a-z][A-Z]|[A-Z][a-z].*[A-Z]))")
# One token mixing letters, digits and symbols, alone to the end of the line: not an expression.
_LITERAL_TOKEN = re.compile(r"(?P<v>(?=[^\s,;]*[A-Za-z])(?=[^\s,;]*\d)(?=[^\s,;]*[-+/@!#%^&*~=])"
                            r"(?![^\s,;]*[(\[.])[^\s,;'\"`]+)[ \t]*[,;]?[ \t]*$")
_STOP_UNQUOTED = frozenset(" \t;&,\"'`)]}<>|")
_BLOCK_SCALAR = re.compile(r"^[|>][+-]?\d*[ \t]*(?:#.*)?$")
_NAMED = re.compile(r"^\s*-?\s*(?:name|key)\s*:\s*[\"']?([A-Za-z_][\w.\-]*)[\"']?\s*$")
_NAMED_VALUE = re.compile(r"^\s*-?\s*value\s*:\s*(?P<v>\S.*?)\s*$")
_XML = re.compile(r"<(?P<tag>[\w:.\-]+)(?:\s[^<>]*)?>(?P<v>[^<>]+)</(?P=tag)>")
_KEY_VALUE_ATTRS = re.compile(
    r"""(?:key|name)\s*=\s*["'](?P<name>[^"']+)["']\s+value\s*=\s*(?P<q>["'])(?P<v>[^"']*)(?P=q)""")
_USER_OPTION = re.compile(r"(?:^|\s)(?:-u|--user|--proxy-user|-U)[ =]+[\"']?[^\s:'\"]+:(?P<v>[^\s'\"]+)")
_URL_CREDENTIALS = re.compile(r"://[^/\s:@'\"`]+:(?P<v>[^/\s@'\"`]+)@")
_AUTH_SCHEME = re.compile(r"(?i)\b(?:bearer|basic|digest|token)[ \t]+(?P<v>[A-Za-z0-9._~+/\-]{8,}=*)")
_TOKEN_FORMATS = re.compile(
    r"\b(?:AIza[0-9A-Za-z_\-]{35}|github_pat_\w{40,}|gh[pousr]_[A-Za-z0-9]{30,}|glpat-[\w\-]{20,}"
    r"|sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_\-]{20,}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|dop_v1_[a-f0-9]{64}"
    r"|xox[abposre]-[A-Za-z0-9\-]{10,}|A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA)[0-9A-Z]{16}|pypi-[\w\-]{50,}"
    r"|eyJ[\w\-]{8,}\.eyJ[\w\-]{8,}\.[\w\-]{8,}|SG\.[\w\-]{16,}\.[\w\-]{16,})"
)
_TOKEN_GATE = re.compile(r"AIza|_pat_|gh[pousr]_|glpat|sk-|k_live|k_test|hf_|npm_|shp|dop_|xox|A[KSGIRN][A-Z]A|pypi-"
                         r"|eyJ|SG\.")
_BASE64_LINE = re.compile(r"^[ \t]*[\"'`]?(?P<v>[A-Za-z0-9+/]{40,}={0,2})(?:\\n)?[\"'`]?[ \t]*[,;+.\\]?[ \t]*$")


def _entropy(data: str) -> float:
    size = len(data)
    return -sum(c / size * math.log2(c / size) for c in Counter(data).values())


def _name_around(line: str, position: int) -> tuple[int, int]:
    start = position
    while start > 0 and line[start - 1] in _NAME_CHARS:
        start -= 1
    end = position
    while end < len(line) and line[end] in _NAME_CHARS and line[end] not in "$@":
        end += 1
    while end > start and line[end - 1] in ".-":
        end -= 1
    return start, end


def _last_segment(name: str) -> str:
    return re.split(r"\.|->|::", name)[-1].lstrip("-$@:")


def has_secret_word(low: str) -> bool:
    """Whether a lower-cased line holds a word that may name a secret (``GATE``, fast)."""
    return _LOWER_GATE.search(low) is not None


def keyword_spans(line: str, profile: Profile, mode: str = "", low: str = "") -> tuple[list[Span], Carry | None]:
    """Values of secret-named keys on ``line`` (callers check ``GATE`` first). ``mode``
    (``interior``, ``comment``) says the line lies inside a multi-line string or comment;
    ``low`` is the line lower-cased, if at hand."""
    spans: list[Span] = []
    carry: Carry | None = None
    lexed: Lexed | None = None
    seen: set[int] = set()
    hits = _LOWER_GATE.finditer(low) if low and len(low) == len(line) else GATE.finditer(line)
    limit = len(line.rstrip("\r\n"))
    for hit in hits:
        start, end = _name_around(line, hit.start())
        if start in seen or end <= start:
            continue
        seen.add(start)
        name = line[start:end]
        if not is_secret_name(_last_segment(name)):
            continue
        lexed = lexed or lex(line, profile)
        found, more = _key_value(line, start, end, name, profile, lexed, mode, limit)
        spans.extend(found)
        carry = more or carry
        compared = _COMPARED.search(line, max(0, start - 200), start)  # "x" == password, "x".equals(pw)
        if compared is not None and (span := _content_span(line, *compared.span("v"), name)) is not None:
            spans.append(span)
    if "<" in line or "value" in line:
        spans.extend(_markup_spans(line))
    return spans, carry


def _key_value(line: str, start: int, end: int, name: str, profile: Profile, lexed: Lexed, base: str,
               limit: int) -> tuple[list[Span], Carry | None]:
    quoted = False
    inside = lexed.literal_around(start)
    base = base or ("code" if profile.code else "config")
    if start >= lexed.comment:
        mode = "comment"
    elif inside is not None:
        content = line[inside.content_start:inside.content_end].strip().lstrip("-$@:")
        if content == name.lstrip("-$@:"):
            quoted, end = True, inside.content_end
            mode = base
        else:
            mode, limit = "interior", inside.content_end
    else:
        mode = base
    after = _AFTER_KEY.match(line, end, limit)
    if after is None or (quoted and not after.group("close").strip("?!]").endswith(("'", '"', "`"))):
        if name.startswith("-") and mode != "code":  # --password VALUE in a comment, a script, a string
            flag = _FLAG_SEP.match(line, end, limit)
            if flag is not None:
                return _unquoted(line, flag.end(), limit, "comment", profile, name)
        if mode == "config" and line.lstrip().lower().startswith(("env ", "setenv ")):  # Dockerfile ENV K V
            flag = _FLAG_SEP.match(line, end, limit)
            if flag is not None:
                return _unquoted(line, flag.end(), limit, mode, profile, name)
        return [], None
    sep = after.group("sep").strip() or " "
    if sep == "," and not quoted and not _last_segment(name).isupper():  # ("API_KEY", v) or (CURLOPT_PASSWORD, v)
        return [], None
    if sep in ("(", "{"):
        if quoted or mode == "comment" or (words_of(_last_segment(name)) or [""])[0] in _LOOKUP_VERBS:
            return [], None
        return _value(line, after.end(), limit, mode, profile, name, lexed, call=True)
    return _value(line, after.end(), limit, mode, profile, name, lexed)


def _value(line: str, position: int, limit: int, mode: str, profile: Profile, key: str, lexed: Lexed, *,
           call: bool = False) -> tuple[list[Span], Carry | None]:
    """The secret parts of the value expression at ``position`` (to its end on this line)."""
    rest = line[position:limit].strip()
    if not rest or rest in ("(", "\\", "[", "{", "(\\") or comment_marker_at(line, position, profile):
        if mode in ("code", "config") and not call:
            return [], Carry("next")
        return [], None
    if mode == "config" and _BLOCK_SCALAR.match(rest):
        return [], Carry("indent", indent=len(line) - len(line.lstrip(" \t-")))
    spans: list[Span] = []
    stack: list[tuple[str, int, str]] = [("(", position, "group")] if call else []
    found_literal = False
    comments = mode not in ("comment", "interior")
    search = profile.value_re.search
    found = search(line, position, limit)
    while found is not None:
        i = found.start()
        ch = line[i]
        if comments and comment_marker_at(line, i, profile):
            break
        literal = (lexed.literal_at(i) if mode != "interior" else None) or _literal(line, i, limit, profile, mode)
        if literal is not None:
            found_literal = True
            if _is_value_literal(line, literal, stack, limit):
                span = _content_span(line, literal.content_start, literal.content_end, key)
                if span is not None:
                    spans.append(span)
            if not literal.closed:
                carry = Carry("close", delim=literal.delim) if len(literal.delim) > 1 or literal.delim == "`" else None
                return spans, carry
            found = search(line, max(literal.end, i + 1), limit)
            continue
        if ch in "([{":
            stack.append((ch, i, _call_kind(line, i) if ch == "(" else "group"))
        elif ch in ")]}":
            if not stack:
                break
            stack.pop()
            if call and not stack:
                break
        elif ch in ",;" and not stack:
            break
        found = search(line, i + 1, limit)
    if found_literal or call:
        return spans, None
    return _unquoted(line, position, limit, mode, profile, key)


def _literal(line: str, i: int, limit: int, profile: Profile, mode: str) -> Literal | None:
    ch = line[i]
    if ch == "\\" and mode == "interior" and i + 1 < limit and line[i + 1] in "\"'":
        close = line.find("\\" + line[i + 1], i + 2, limit)  # {\"password\": \"x\"} inside a string
        end = close if close >= 0 else limit
        return Literal(i, i + 2, end, end + 2 if close >= 0 else limit, close >= 0, "\\" + line[i + 1])
    if ch in "\"'`" or ch.isalpha() or ch in "@$":
        return literal_at(line, i, profile, limit=limit)
    return None


def _call_kind(line: str, paren: int) -> str:
    """What the parenthesis at ``line[paren]`` opens: ``group`` (no callee), ``lookup``
    (reads a value by name: ``environ.get(``), ``wrapper`` (``String::from(``) or ``call``."""
    start = paren
    while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_.:"):
        start -= 1
    words = words_of(_last_segment(line[start:paren].rstrip(":")))
    if not words:
        return "group"
    if words[0] in _LOOKUP_VERBS:
        return "lookup"
    return "wrapper" if words[-1] in _WRAPPERS else "call"


def _is_value_literal(line: str, literal: Literal, stack: list[tuple[str, int, str]], limit: int) -> bool:
    """Whether a literal in a secret's value expression is (part of) the value: not the
    name it is read by (``cfg["password"]``, ``getenv("TOKEN", ...)``'s first argument),
    and not an argument of an unrelated call unless it looks like a credential."""
    if not stack:
        return True
    opener, at, kind = stack[-1]
    first = not line[at + 1:literal.start].strip()
    if opener == "[" and first and line[literal.end:limit].lstrip().startswith("]"):
        return False
    if kind == "lookup" and first:
        return False
    if any(frame[2] == "call" for frame in stack):
        return bool(_CREDENTIAL_LIKE.match(line[literal.content_start:literal.content_end]))
    return True


def _content_span(line: str, start: int, end: int, key: str) -> Span | None:
    """The part of a literal's content to mask (after an auth scheme word), if any."""
    content = line[start:end]
    if is_placeholder(content, key):
        return None
    start += strip_scheme(content)
    return (start, end) if end > start else None


def _unquoted(line: str, position: int, limit: int, mode: str, profile: Profile, key: str
              ) -> tuple[list[Span], Carry | None]:
    """An unquoted value: a literal in config syntax, comments and strings; code elsewhere,
    unless it cannot be (``password: s3cr3t-pa55`` in a code file is documentation)."""
    if mode == "code":
        match = _LITERAL_TOKEN.match(line, position, limit)
        if match is None:
            return [], None
        return ([span] if (span := _content_span(line, *match.span("v"), key)) is not None else []), None
    if mode == "config":
        comment = profile.comment_re.search(line, position, limit)
        end = comment.start() if comment is not None else limit
    else:
        end = position
        while end < limit and line[end] not in _STOP_UNQUOTED:
            end += 1
        if line[position:end].lower() in ("bearer", "basic", "token", "digest") and end < limit:
            return _unquoted(line, end + 1, limit, mode, profile, key)
    text = line[position:end].rstrip()
    text_end = position + len(text)
    while text_end > position and line[text_end - 1] in ",;":
        text_end -= 1
    text = line[position:text_end]
    if not text or is_literal(text) or looks_like_code(text, dotted_is_code=mode != "config"):
        return [], None
    return ([span] if (span := _content_span(line, position, text_end, key)) is not None else []), None


def _markup_spans(line: str) -> list[Span]:
    """``<password>x</password>`` and ``<add key="ApiKey" value="x"/>``."""
    spans: list[Span] = []
    for match in _XML.finditer(line):
        if is_secret_name(match.group("tag")) and not is_placeholder(match.group("v")):
            spans.append(match.span("v"))
    for match in _KEY_VALUE_ATTRS.finditer(line):
        if is_secret_name(match.group("name")) and not is_placeholder(match.group("v")):
            spans.append(match.span("v"))
    return spans


def pattern_spans(line: str, low: str) -> list[Span]:
    """Token formats, URL credentials, auth scheme credentials, bare base64 lines
    (``low``: the line lower-cased)."""
    spans: list[Span] = []
    if _TOKEN_GATE.search(line):
        spans.extend(match.span() for match in _TOKEN_FORMATS.finditer(line))
    if "://" in line and "@" in line:
        for match in _URL_CREDENTIALS.finditer(line):
            if not is_placeholder(match.group("v")):
                spans.append(match.span("v"))
    if "-u" in line or "-U" in line:  # curl -u user:password
        for match in _USER_OPTION.finditer(line):
            if not is_placeholder(match.group("v")):
                spans.append(match.span("v"))
    schemes = "bearer" in low or "basic" in low or "digest" in low or "token" in low
    for match in _AUTH_SCHEME.finditer(line) if schemes else ():
        value = match.group("v")
        if (any(c.isdigit() for c in value) or value.endswith("=") or value.lower() != value
                and value.upper() != value) and not is_placeholder(value):
            spans.append(match.span("v"))
    if len(line) >= 40:
        match = _BASE64_LINE.match(line)
        if match is not None and _entropy(match.group("v")) > 4.5:
            spans.append(match.span("v"))
    return spans


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
             if (span := _content_span(line, literal.content_start, literal.content_end, "")) is not None]
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
