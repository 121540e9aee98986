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

import bisect
import re
from dataclasses import dataclass, field
from pathlib import PurePath


@dataclass(frozen=True, slots=True)
class Profile:
    """How the lines of one kind of file read, for masking (build with ``make_profile``)."""

    name: str
    code: bool  # an unquoted value after ``=`` is an expression, not a literal
    comments: tuple[str, ...]  # line comment markers
    loose_comments: bool  # a marker counts anywhere outside strings (else: at the start or after a space)
    char_quote: bool  # ``'`` delimits one character (C, Go, Rust, Java, C#)
    filename: str  # a file name of this kind, for detect-secrets' per-file-type keyword rules
    comment_re: re.Pattern[str] = field(repr=False, compare=False)  # matches where a comment starts
    token_re: re.Pattern[str] = field(repr=False, compare=False)  # a quote, a literal's prefix or a comment
    value_re: re.Pattern[str] = field(repr=False, compare=False)  # the same, a bracket, "," ";" or "\\"


_PREFIX_TEXT = r"(?:[rRbBuUfF]{1,2}|L|u8|U|[@$]{1,2}|r#+|u8R|LR|R|uR|UR|c)(?=[\"'`])"
_PREFIX = re.compile(_PREFIX_TEXT)


def make_profile(name: str, code: bool, comments: tuple[str, ...], *, loose_comments: bool = True,
                 char_quote: bool = False, filename: str = "") -> Profile:
    markers = "|".join(r"(?<!:)//" if m == "//" else re.escape(m) for m in comments) or r"(?!)"
    comment = f"(?:{markers})" if loose_comments else rf"(?:(?<![^ \t])(?:{markers}))"
    token = rf"[\"'`]|(?<![\w])(?:{_PREFIX_TEXT})|{comment}"
    value = rf"[\"'`()\[\]{{}},;\\]|(?<![\w])(?:{_PREFIX_TEXT})|{comment}"
    return Profile(name, code, comments, loose_comments, char_quote, filename, re.compile(comment), re.compile(token),
                   re.compile(value))


_PY = make_profile("python", True, ("#",), filename="x.py")
_RUBY = make_profile("ruby", True, ("#",), filename="x.rb")
_C = make_profile("c", True, ("//", "/*"), char_quote=True, filename="x.c")
_CPP = make_profile("cpp", True, ("//", "/*"), char_quote=True, filename="x.cpp")
_GO = make_profile("go", True, ("//", "/*"), char_quote=True, filename="x.go")
_RUST = make_profile("rust", True, ("//", "/*"), char_quote=True, filename="x.rs")
_JAVA = make_profile("java", True, ("//", "/*"), char_quote=True, filename="x.java")
_CSHARP = make_profile("csharp", True, ("//", "/*"), char_quote=True, filename="x.cs")
_JS = make_profile("javascript", True, ("//", "/*"), filename="x.js")
_SWIFT = make_profile("swift", True, ("//", "/*"), filename="x.swift")
_PHP = make_profile("php", True, ("//", "/*", "#"), filename="x.php")
_DASH = make_profile("dash-comment", True, ("--",), filename="x.sql")
_HCL = make_profile("hcl", True, ("#", "//", "/*"), filename="x.tf")
_SHELL = make_profile("shell", False, ("#",), loose_comments=False, filename="x.sh")
_YAML = make_profile("yaml", False, ("#",), loose_comments=False, filename="x.yaml")
_TOML = make_profile("toml", False, ("#",), loose_comments=False, filename="x.toml")
_INI = make_profile("ini", False, ("#", ";"), loose_comments=False, filename="x.ini")
_PROPERTIES = make_profile("properties", False, ("#", "!"), loose_comments=False, filename="x.properties")
_JSON = make_profile("json", False, ("//",), loose_comments=False, filename="x.json")
GENERIC = make_profile("generic", False, ("#", "//", "--", ";"), loose_comments=False, filename="x.txt")

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
    j = line.find(delim, body, end_of_line)
    while j >= 0 and j + len(delim) <= end_of_line:
        if escapes:
            slashes = j
            while slashes > body and line[slashes - 1] == "\\":
                slashes -= 1
            if (j - slashes) % 2:  # an escaped quote
                j = line.find(delim, j + 1, end_of_line)
                continue
        elif "@" in prefix and line.startswith(delim * 2, j):  # C# verbatim "" escape
            j = line.find(delim, j + 2, end_of_line)
            continue
        return Literal(i, body, j, j + len(delim), True, delim)
    return Literal(i, body, end_of_line, end_of_line, False, delim)


@dataclass(frozen=True, slots=True)
class Lexed:
    """A line's literals (in order) and where its comment starts (``len(line)``: none)."""

    literals: tuple[Literal, ...]
    comment: int

    def literal_at(self, position: int) -> Literal | None:
        """The literal (quote or prefix) that starts at ``position``, if any."""
        index = bisect.bisect_left(self.literals, position, key=lambda literal: literal.start)
        if index < len(self.literals) and self.literals[index].start == position:
            return self.literals[index]
        return None

    def literal_around(self, position: int) -> Literal | None:
        index = bisect.bisect_right(self.literals, position, key=lambda literal: literal.content_start) - 1
        if index >= 0 and position < self.literals[index].content_end:
            return self.literals[index]
        return None


def comment_marker_at(line: str, i: int, profile: Profile) -> bool:
    """Whether a comment of ``profile`` starts at ``line[i]`` (outside strings)."""
    return profile.comment_re.match(line, i) is not None


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def lex(line: str, profile: Profile) -> Lexed:
    """Literals and comment start of one line (a line of a block comment counts as comment)."""
    stripped = line.lstrip()
    if stripped.startswith(("* ", "*/")) or stripped == "*":
        return Lexed((), len(line) - len(stripped))
    literals: list[Literal] = []
    search = profile.token_re.search
    found = search(line)
    while found is not None:
        i = found.start()
        if line[i] in _QUOTES or line[i] not in "/#;-!":  # a quote, or a literal's prefix
            literal = literal_at(line, i, profile)
            if literal is not None:
                literals.append(literal)
                found = search(line, max(literal.end, i + 1))
                continue
        elif comment_marker_at(line, i, profile):
            return Lexed(tuple(literals), i)
        found = search(line, i + 1)
    return Lexed(tuple(literals), len(line))
