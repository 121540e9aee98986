"""Which names hold secrets, and which values are not secrets (placeholders, names, code).

Pure judgement, no scanning: ``is_secret_name`` splits an identifier, a header name
or a config key into words (snake, kebab, dotted and camel case) and asks whether
one names a credential (``password``, ``api_key``, ``Authorization``,
``DEFAULT_PASSPHRASE``) while the last does not say it is only metadata about one
(``password_field``, ``token_url``, ``AUTH_TYPE``). ``is_placeholder`` tells values
that stand for a secret without being one (``""``, ``${DB_PASSWORD}``, ``<your key>``,
``changeme``, ``"X-API-Key"``, ``f"Bearer {token}"``) from real ones, and
``looks_like_code`` tells unquoted values that are expressions or references.
"""

from __future__ import annotations

import re

# One word of a name names a secret by itself.
SECRET_WORDS = frozenset({
    "password", "passwords", "passwd", "pwd", "passphrase", "passcode", "passwort", "contraseña",
    "contrasena", "secret", "secrets", "token", "apikey", "apikeys", "auth", "authorization",
    "credential", "credentials", "creds", "cred", "privatekey", "accesskey", "secretkey", "authkey",
    "authtoken", "accesstoken", "refreshtoken", "bearer", "jwt", "cookie", "dsn", "sas", "hmac",
})
# "key" names a secret after one of these ("api_key", "SIGNING_KEY", "clientKey").
KEY_QUALIFIERS = frozenset({
    "api", "access", "secret", "private", "priv", "signing", "sign", "client", "master", "encryption",
    "enc", "account", "service", "session", "db", "database", "app", "consumer", "hmac", "shared",
    "license", "storage", "subscription", "auth", "admin", "root", "deploy", "ssh", "gpg", "pgp",
    "aes", "jwt", "webhook", "decryption", "crypt", "cipher", "license", "partner", "merchant",
})
# A name ending in one of these is about a secret, not the secret (``password_field``).
METADATA_WORDS = frozenset({
    "type", "types", "kind", "mode", "method", "methods", "scheme", "schemes", "name", "names", "url",
    "urls", "uri", "endpoint", "endpoints", "host", "port", "path", "paths", "file", "filename", "files",
    "dir", "directory", "field", "fields", "label", "prefix", "suffix", "len", "length", "size",
    "count", "limit", "max", "min", "env", "var", "variable", "id", "ids", "regex", "re", "pattern",
    "format", "fmt", "hint", "prompt", "message", "msg", "error", "errors", "placeholder", "help",
    "description", "desc", "title", "expiry", "expires", "expiration", "expire", "ttl", "timeout",
    "lifetime", "age", "interval", "policy", "provider", "providers", "backend", "class", "cls",
    "module", "version", "enabled", "required", "valid", "validator", "validation", "strength",
    "rule", "rules", "manager", "factory", "handler", "callback", "fn", "func", "function", "view",
    "views", "form", "widget", "input", "changed", "exists", "attempts", "retries", "flag", "bits",
    "location", "param", "parameter", "index", "idx", "column", "table", "cache", "store", "usage",
    "scope", "scopes", "audience", "issuer", "algorithm", "alg", "encoding", "charset", "icon",
    "style", "samesite", "domain", "secure", "httponly", "lock", "level", "reset", "ref", "source",
    "src", "loader", "generator", "builder", "parser", "reader", "writer", "counter", "dialog",
    "button", "page", "route", "router", "controller", "schema", "model", "serializer",
})
# Words a value may consist of and still be a name, not a secret ("X-API-Key", "password").
_NAME_VOCABULARY = SECRET_WORDS | {"x", "api", "key", "access", "id", "header", "basic", "client", "private",
                                   "session", "refresh", "user", "username", "new", "old", "current", "confirm"}
# Whole values that are placeholders.
_PLACEHOLDERS = frozenset({
    "changeme", "changeit", "changethis", "replaceme", "todo", "tbd", "fixme", "example", "sample",
    "dummy", "placeholder", "redacted", "hidden", "none", "null", "nil", "undefined", "notset",
    "unset", "empty", "default", "xxx", "foo", "bar", "foobar", "mask", "masked", "removed",
})
_LITERALS = frozenset({"true", "false", "null", "none", "nil", "undefined", "yes", "no", "on", "off", "~"})
_AUTH_SCHEMES = ("bearer", "basic", "token", "digest", "apikey", "key", "sso-key", "otp")

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z\u00c0-\u024f]+|[0-9]+")
# Interpolations and format fields: ${x} {{x}} {x} #{x} %(x)s %s $x $(x) {} ... (an interpolation
# with a literal inside, ${btoa("user:pw")}, is code that holds a value: not a placeholder)
_TEMPLATE = re.compile(
    r"\$\{[^}\"'`]*\}|\{\{[^}\"'`]*\}\}|#\{[^}\"'`]*\}|\{[^{}\"'`]*\}|%\([^)]*\)[-#0 +]*\d*[sdrfxi]"
    r"|%[-#0 +]*\d*[sdrfxiv]|\$\([^)\"'`]*\)|\$[A-Za-z_]\w*|@\{[^}\"'`]*\}|\{\}"
)
_YOUR = re.compile(r"(?i)^(?:your|enter|insert|some)[-_ .]?(?:[a-z]+[-_ .]?){0,3}"
                   r"(?:key|token|secret|password|pass|passphrase|pwd|credentials?)(?:[-_ .]?here)?$|^.*[-_ ]here$")
_SEPARATORS = re.compile(r"[\W_]+")
_TEMPLATE_CHARS = re.compile(r"[{$%@]")
_ALNUM = re.compile(r"[^\W_]")
_DIGIT = re.compile(r"\d")
_REPEATED = re.compile(r"^(.)\1{2,}$")
_MASKING_CHARS = re.compile(r"^[*xX#•.\-_ ]{3,}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_DOTTED_NAME = re.compile(r"^[a-z][a-z0-9_\-]*(?:\.[a-z][a-z0-9_\-]*)+$")
_CALL_OR_INDEX = re.compile(r"^[A-Za-z_][\w.:]*\s*[(\[<]|^new\s+\w")
_DOTTED_REF = re.compile(r"^(?:[A-Za-z_]\w*(?:\.|::|->))+[A-Za-z_]\w*$")
_SIGILS = ("$", "@", "&", "*", "!", "%", "{", "[", "(")


def words_of(name: str) -> list[str]:
    """The lower-cased words of an identifier, header name or config key."""
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether an assignment to ``name`` (or a key ``name``) holds a credential."""
    words = words_of(name)
    if not words or words[-1] in METADATA_WORDS:
        return False
    for index, word in enumerate(words):
        if word in SECRET_WORDS:
            return True
        if word == "key" and index > 0 and words[index - 1] in KEY_QUALIFIERS:
            return True
        if word == "pass" and (index > 0 or len(words) == 1):  # db_pass, SMTP_PASS; not pass_rate
            return True
        if len(word) > 6 and word.endswith(("password", "passwd", "passphrase", "token", "secret", "apikey",
                                            "secretkey", "privatekey", "accesskey", "pwd")):
            return True
        if len(word) > 8 and word.startswith(("password", "passwd", "passphrase", "apikey", "secretkey",
                                              "privatekey", "accesskey", "authtoken")):
            return True
    return False


def strip_scheme(value: str) -> int:
    """Length of a leading auth scheme word and its spaces ("Bearer " -> 7), else 0."""
    head, _, rest = value.partition(" ")
    if rest and head.lower() in _AUTH_SCHEMES:
        return len(value) - len(rest.lstrip(" "))
    return 0


def is_placeholder(value: str, key: str = "") -> bool:
    """True when ``value`` stands for a secret without being one (or is a name)."""
    text = value.strip()
    if not text or "<redacted>" in text:
        return True
    bare = _TEMPLATE.sub("", text) if _TEMPLATE_CHARS.search(text) else text
    bare = bare[strip_scheme(bare):] if " " in bare else bare
    if not _ALNUM.search(bare):
        return True  # only interpolations, scheme words and punctuation: f"Bearer {token}"
    if bare.lower() in _AUTH_SCHEMES:
        return True
    lowered = text.lower().strip(" .")
    if lowered in _PLACEHOLDERS or _REPEATED.match(text) or _MASKING_CHARS.match(text):
        return True
    if text[0] == "<" and text[-1] == ">" or text.startswith(("${", "{{", "%(")) and text[-1] in "})s":
        return True
    if text[0] == "[" and text[-1] == "]" and "redact" in lowered:
        return True
    if lowered.startswith(("your", "enter", "insert", "some")) or lowered.endswith("here"):
        if _YOUR.match(text):
            return True
    words = words_of(text)
    if words and not _DIGIT.search(text) and all(word in _NAME_VOCABULARY for word in words):
        return True  # "X-API-Key", "Authorization", "password": a name, not a value
    if text.isupper() and _ENV_NAME.match(text) and is_secret_name(text):
        return True  # "DB_PASSWORD": the name of an environment variable
    if "." in text and _DOTTED_NAME.match(text) and any(w in SECRET_WORDS for w in words):
        return True  # "spring.datasource.password": a config key
    return bool(key) and _SEPARATORS.sub("", text).lower() == _SEPARATORS.sub("", key).lower()


def is_literal(value: str) -> bool:
    """A language or config literal (``true``, ``null``, ``None``, ``~``), not a secret."""
    return value.strip().lower() in _LITERALS


def looks_like_code(value: str, *, dotted_is_code: bool = True) -> bool:
    """An unquoted value that is an expression or reference: a call, subscript, sigil
    (``$VAR``, ``!Ref``, ``*alias``), dotted reference (``settings.DB_PASSWORD``)."""
    text = value.strip()
    if not text:
        return True
    if text.startswith(_SIGILS) or _CALL_OR_INDEX.match(text):
        return True
    return dotted_is_code and bool(_DOTTED_REF.match(text))


def value_span(line: str, start: int, end: int, key: str) -> tuple[int, int] | None:
    """The part of ``line[start:end]`` (a value) to mask, if any: none for a placeholder, and
    not a leading auth scheme word (``Bearer ``)."""
    content = line[start:end]
    if is_placeholder(content, key):
        return None
    start += strip_scheme(content)
    return (start, end) if end > start else None
