"""Our own secret rules, line by line: the values of secret-named keys.

``keyword_spans`` finds ``name <sep> value`` wherever ``name`` names a secret (see
``secret_names``), in every form the supported languages and config formats write:
assignments with or without a type (``api_token: str = ...``, ``var token string =``,
``const API_KEY: &str =``, ``char password[] =``), constants, default arguments,
keyword arguments, map and object literals (``"Authorization": ...``, ``'pw' => ...``),
subscripts (``os.environ["API_KEY"] = ...``), header and env pairs
(``.header("X-Api-Key", ...)``, ``setenv("TOKEN", ...)``), setters and C++ initialisers
(``setPassword(...)``, ``secret("...")``), comparisons both ways, ``#define``, and
``KEY=value`` / ``key: value`` inside comments, inside strings (connection strings,
query strings, curl headers) and in config syntax (YAML, TOML, INI, .env,
properties, JSON). Quoted values are masked wherever they are; unquoted ones only
where they are literals (config syntax, comments, inside strings), not in code,
where they are expressions. A value that goes on below its line is reported as a
``Carry`` (``secret_carry``); markup (``<password>``) is ``secret_shapes``' job.

Spans are ``(start, end)`` indices into the line: the text to replace, quotes kept.
"""

from __future__ import annotations

import re

from lsp_server.core.secret_carry import Carry
from lsp_server.core.secret_lexer import Lexed, Literal, Profile, comment_marker_at, lex, literal_at
from lsp_server.core.secret_names import is_literal, is_secret_name, looks_like_code, value_span, words_of
from lsp_server.core.secret_shapes import markup_spans

Span = tuple[int, int]


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
        if compared is not None and (span := value_span(line, *compared.span("v"), name)) is not None:
            spans.append(span)
    if "<" in line or "value" in line:
        spans.extend(markup_spans(line))
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
                span = value_span(line, literal.content_start, literal.content_end, key)
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


def _unquoted(line: str, position: int, limit: int, mode: str, profile: Profile, key: str
              ) -> tuple[list[Span], Carry | None]:
    """An unquoted value: a literal in config syntax, comments and strings; code elsewhere,
    unless it cannot be (``password: s3cr3t-pa55`` in a code file is documentation)."""
    if mode == "code":
        match = _LITERAL_TOKEN.match(line, position, limit)
        if match is None:
            return [], None
        return ([span] if (span := value_span(line, *match.span("v"), key)) is not None else []), None
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
    return ([span] if (span := value_span(line, position, text_end, key)) is not None else []), None


