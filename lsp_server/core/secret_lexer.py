"""A one-line lexer for the secret filter: string literals, comments, file profiles.

No parser (masking runs on arbitrary fragments: a window's first line may start
inside a string). ``Profile`` says, from a file's name, how its lines read: whether
an unquoted value after ``=`` is code (Python, Go, ...) or a literal (YAML, INI,
.env, shell), which markers start a comment, and whether ``'`` only delimits
one-character literals (C, Go, Rust, Java). ``literal_at`` reads one string literal
with its prefix (``f"..."``, ``r#"..."#``, ``@"..."``, triple quotes, backticks);
``lex`` finds a line's literals and where its comment starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True, slots=True)
class Profile:
    """How the lines of one kind of file read, for masking."""

    name: str
    code: bool  # an unquoted value after ``=`` is an expression, not a literal
    comments: tuple[str, ...]  # line comment markers
    loose_comments: bool = True  # a marker counts anywhere outside strings (else: at the start or after a space)
    char_quote: bool = False  # ``'`` delimits one character (C, Go, Rust, Java, C#)
    filename: str = ""  # a file name of this kind, for detect-secrets' per-file-type keyword rules


_PY = Profile("python", True, ("#",), filename="x.py")
_RUBY = Profile("ruby", True, ("#",), filename="x.rb")
_C = Profile("c", True, ("//", "/*"), char_quote=True, filename="x.c")
_CPP = Profile("cpp", True, ("//", "/*"), char_quote=True, filename="x.cpp")
_GO = Profile("go", True, ("//", "/*"), char_quote=True, filename="x.go")
_RUST = Profile("rust", True, ("//", "/*"), char_quote=True, filename="x.rs")
_JAVA = Profile("java", True, ("//", "/*"), char_quote=True, filename="x.java")
_CSHARP = Profile("csharp", True, ("//", "/*"), char_quote=True, filename="x.cs")
_JS = Profile("javascript", True, ("//", "/*"), filename="x.js")
_SWIFT = Profile("swift", True, ("//", "/*"), filename="x.swift")
_PHP = Profile("php", True, ("//", "/*", "#"), filename="x.php")
_DASH = Profile("dash-comment", True, ("--",), filename="x.sql")
_HCL = Profile("hcl", True, ("#", "//", "/*"), filename="x.tf")
_SHELL = Profile("shell", False, ("#",), loose_comments=False, filename="x.sh")
_YAML = Profile("yaml", False, ("#",), loose_comments=False, filename="x.yaml")
_TOML = Profile("toml", False, ("#",), loose_comments=False, filename="x.toml")
_INI = Profile("ini", False, ("#", ";"), loose_comments=False, filename="x.ini")
_PROPERTIES = Profile("properties", False, ("#", "!"), loose_comments=False, filename="x.properties")
_JSON = Profile("json", False, ("//",), loose_comments=False, filename="x.json")
GENERIC = Profile("generic", False, ("#", "//", "--", ";"), loose_comments=False, filename="x.txt")

_BY_SUFFIX = {
    **dict.fromkeys((".py", ".pyi", ".pyw", ".pyx"), _PY),
    **dict.fromkeys((".rb", ".rake", ".gemspec", ".ex", ".exs", ".r", ".pl", ".pm", ".jl", ".nim"), _RUBY),
    **dict.fromkeys((".c", ".h"), _C),
    **dict.fromkeys((".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".ino", ".m", ".mm", ".cu"), _CPP),
    ".go": _GO,
    ".rs": _RUST,
    **dict.fromkeys((".java", ".kt", ".kts", ".scala", ".sc", ".groovy", ".gradle"), _JAVA),
    **dict.fromkeys((".cs", ".fs"), _CSHARP),
    **dict.fromkeys((".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte",
                     ".dart"), _JS),
    ".swift": _SWIFT,
    ".php": _PHP,
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm"), _DASH),
    **dict.fromkeys((".tf", ".tfvars", ".hcl"), _HCL),
    **dict.fromkeys((".sh", ".bash", ".zsh", ".fish", ".ps1", ".psm1", ".bat", ".cmd", ".envrc", ".mk"), _SHELL),
    **dict.fromkeys((".yaml", ".yml", ".eyaml"), _YAML),
    ".toml": _TOML,
    **dict.fromkeys((".ini", ".cfg", ".conf", ".cnf", ".env", ".service", ".desktop", ".gitconfig"), _INI),
    **dict.fromkeys((".properties", ".prefs"), _PROPERTIES),
    **dict.fromkeys((".json", ".jsonc", ".json5", ".ipynb"), _JSON),
}
_BY_NAME = {"dockerfile": _SHELL, "makefile": _SHELL, "containerfile": _SHELL, "gemfile": _RUBY,
            "rakefile": _RUBY, "vagrantfile": _RUBY, "jenkinsfile": _JAVA}


def profile_for(path: str) -> Profile:
    """The profile of a file named ``path`` (GENERIC when the name says nothing)."""
    if not path:
        return GENERIC
    pure = PurePath(path)
    name = pure.name.lower()
    found = _BY_SUFFIX.get(pure.suffix.lower()) or _BY_NAME.get(name.split(".", 1)[0])
    if found is None and name.startswith(".env"):
        return _INI
    return found or GENERIC


@dataclass(frozen=True, slots=True)
class Literal:
    """A string literal: ``line[start:end]`` whole, ``line[content_start:content_end]`` inside."""

    start: int
    content_start: int
    content_end: int
    end: int
    closed: bool
    delim: str  # the closing delimiter


_PREFIX = re.compile(r"(?:[rRbBuUfF]{1,2}|L|u8|U|[@$]{1,2}|r#+|u8R|LR|R|uR|UR|c)(?=[\"'`])")
_QUOTES = "\"'`"


def literal_at(line: str, i: int, profile: Profile, *, limit: int | None = None) -> Literal | None:
    """The literal starting at ``line[i]`` (a quote, or a prefix such as ``f``, ``r#``, ``@``)."""
    end_of_line = len(line) if limit is None else limit
    q = i
    prefix = ""
    if line[i] not in _QUOTES:
        if i > 0 and _word_char(line[i - 1]):
            return None
        match = _PREFIX.match(line, i, end_of_line)
        if match is None:
            return None
        prefix = match.group(0)
        q = match.end()
    quote = line[q]
    if prefix.startswith("r#"):
        delim = '"' + prefix[1:]
        body = q + 1
    elif prefix.endswith("R") and line.startswith('"(', q):
        delim, body = ')"', q + 2
    elif line.startswith(quote * 3, q) and quote != "`":
        delim, body = quote * 3, q + 3
    else:
        delim, body = quote, q + 1
        if quote == "'" and profile.char_quote and not prefix:
            close = line.find("'", body + (line[body:body + 1] == "\\"), body + 12)
            if close < 0 or close >= end_of_line:
                return None  # a Rust lifetime or a stray apostrophe, not a literal
    escapes = "@" not in prefix and not (quote == "`" and profile.name == "go")
    j = body
    while j < end_of_line:
        ch = line[j]
        if ch == "\\" and escapes:
            j += 2
            continue
        if line.startswith(delim, j):
            if "@" in prefix and line.startswith(delim * 2, j):  # C# verbatim "" escape
                j += 2
                continue
            return Literal(i, body, j, j + len(delim), True, delim)
        j += 1
    return Literal(i, body, min(j, end_of_line), min(j, end_of_line), False, delim)


@dataclass(frozen=True, slots=True)
class Lexed:
    """A line's literals (in order) and where its comment starts (``len(line)``: none)."""

    literals: tuple[Literal, ...]
    comment: int

    def literal_around(self, position: int) -> Literal | None:
        for literal in self.literals:
            if literal.content_start <= position < literal.content_end:
                return literal
        return None


def comment_marker_at(line: str, i: int, profile: Profile) -> bool:
    """Whether a comment of ``profile`` starts at ``line[i]`` (outside strings)."""
    for marker in profile.comments:
        if line.startswith(marker, i):
            if marker == "//" and i > 0 and line[i - 1] == ":":
                continue  # a URL's scheme, not a comment
            if profile.loose_comments or i == 0 or line[i - 1] in " \t" or not line[:i].strip():
                return True
    return False


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def lex(line: str, profile: Profile) -> Lexed:
    """Literals and comment start of one line (a line of a block comment counts as comment)."""
    stripped = line.lstrip()
    if stripped.startswith(("* ", "*/")) or stripped == "*":
        return Lexed((), len(line) - len(stripped))
    literals: list[Literal] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch in _QUOTES or ((ch.isalpha() or ch in "@$") and (i == 0 or not _word_char(line[i - 1]))
                             and _PREFIX.match(line, i) is not None):
            literal = literal_at(line, i, profile)
            if literal is not None:
                literals.append(literal)
                i = literal.end if literal.end > i else i + 1
                continue
        if comment_marker_at(line, i, profile):
            return Lexed(tuple(literals), i)
        i += 1
    return Lexed(tuple(literals), n)
